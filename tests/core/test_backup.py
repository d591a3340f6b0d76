"""dangqun backup / restore round trip, as an operator runs it: real commands in a subprocess on a
real database file (SQLite) and, when the suite runs on PostgreSQL, on a scratch PostgreSQL
database with pg_dump / pg_restore. Same counts, same content digests, audit chain intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

DANGQUN = [sys.executable, "-m", "django"]


def run(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 — our own command line
        [*DANGQUN, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr[-2000:]
    return result


def shell(env: dict, code: str) -> str:
    return run(env, "shell", "-c", code).stdout.strip().splitlines()[-1]


@pytest.fixture
def scratch_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_VERSION", "PYTEST_XDIST_WORKER")}
    env.update(DJANGO_SETTINGS_MODULE="dangqun.config.settings", DANGQUN_DATA_DIR=str(tmp_path / "data"))
    env.pop("DATABASE_URL", None)
    given = os.environ.get("DATABASE_URL", "")
    dropper = None
    if given.startswith(("postgres://", "postgresql://")):
        import psycopg

        name = f"dq_backup_{uuid.uuid4().hex[:8]}"
        admin = given.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = given.rsplit("/", 1)[0] + "/" + name

        def dropper():
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    yield env
    if dropper:
        dropper()


def test_backup_restore_round_trip(scratch_env, tmp_path):
    env = scratch_env
    run(env, "migrate", "-v0")
    run(env, "seed", "--scale", "20", "--members", "36", "--no-progress")
    media = Path(env["DANGQUN_DATA_DIR"]) / "media" / "proof.txt"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_text("上传的材料", encoding="utf-8")
    before = shell(env, "from dangqun.accounts.models import User; print(User.objects.count())")

    target = tmp_path / "backup"
    out = run(env, "backup", str(target)).stdout
    assert "已备份" in out
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["accounts_user"]["rows"] == int(before)
    assert manifest["audit_head"]
    assert run(env, "backup", str(target), check=False).returncode != 0  # never over a backup

    # Lose data and files after the backup.
    shell(env, "from dangqun.feedback.models import Message; print(Message.objects.all().delete()[0])")
    shell(
        env,
        "from dangqun.accounts.models import User as U; "
        "print(U.objects.filter(username='resident').update(full_name='改过'))",
    )
    media.unlink()

    refused = run(env, "restore", str(target), check=False)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr
    restored = run(env, "restore", str(target), "--yes")
    assert "已恢复并校验" in restored.stdout
    assert media.read_text(encoding="utf-8") == "上传的材料"
    assert (
        shell(
            env,
            "from dangqun.accounts.models import User as U; "
            "print(U.objects.get(username='resident').full_name)",
        )
        != "改过"
    )
    assert "审计链校验通过" in run(env, "audit", "verify").stdout


def test_a_restore_that_does_not_match_its_manifest_fails(scratch_env, tmp_path):
    env = scratch_env
    run(env, "migrate", "-v0")
    target = tmp_path / "backup"
    run(env, "backup", str(target))
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"]["core_rulevalue"]["rows"] += 1  # a backup that lost a row
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = run(env, "restore", str(target), "--yes", check=False)
    assert result.returncode == 1
    assert "core_rulevalue" in result.stderr
