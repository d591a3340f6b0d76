"""Backups that can be checked: the database (SQLite online backup or pg_dump), the uploaded and
issued files, and a manifest of what they hold (row counts and a content digest per table, the
audit chain head). `restore` puts them back and checks the result against the manifest.

A backup is a directory:  manifest.json · db.sqlite3 | db.dump · media.tar
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from .crypto import sm3_hex

FORMAT = 1


class BackupError(Exception):
    pass


def _tables() -> list[Any]:
    """Every concrete model with a table of its own, in a stable order."""
    models = [m for m in apps.get_models(include_auto_created=True) if not m._meta.proxy and m._meta.managed]
    return sorted(models, key=lambda m: m._meta.db_table)


def _row_text(values: tuple) -> str:
    return json.dumps(values, default=str, ensure_ascii=False, sort_keys=True)


def inventory() -> dict[str, dict[str, Any]]:
    """Per table: rows and an SM3 digest of every row's values in primary-key order."""
    out: dict[str, dict[str, Any]] = {}
    for model in _tables():
        fields = [f.attname for f in model._meta.concrete_fields]
        digest_input: list[str] = []
        count = 0
        for values in model._base_manager.order_by("pk").values_list(*fields).iterator(chunk_size=5000):
            digest_input.append(_row_text(values))
            count += 1
        out[model._meta.db_table] = {"rows": count, "sm3": sm3_hex("\n".join(digest_input).encode())}
    return out


def _audit_head() -> dict[str, Any]:
    from .models import AuditEvent

    last = AuditEvent.objects.exclude(digest="").order_by("-seq").values("seq", "digest").first()
    return last or {}


def _db() -> dict[str, Any]:
    return settings.DATABASES["default"]


def backup(target: Path) -> dict[str, Any]:
    """Write a backup into the new directory `target`; returns its manifest."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"目标目录 {target} 不是空的，请换一个。")
    target.mkdir(parents=True, exist_ok=True)
    from .audit import seal

    seal()  # the chain's head in the manifest covers every event made so far
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "engine": connection.vendor,
        "tables": inventory(),
        "audit_head": _audit_head(),
    }
    if connection.vendor == "sqlite":
        # The online backup API copies a consistent snapshot while the platform keeps running.
        src = sqlite3.connect(_db()["NAME"])
        dst = sqlite3.connect(target / "db.sqlite3")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    elif connection.vendor == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target / "db.dump"), *_pg_args()])
    else:
        raise BackupError(f"不支持的数据库：{connection.vendor}")
    media = Path(settings.MEDIA_ROOT)
    with tarfile.open(target / "media.tar", "w") as tar:
        if media.is_dir():
            tar.add(media, arcname=".")
    (target / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def _pg_args() -> list[str]:
    db = _db()
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    return args


def _run(cmd: list[str]) -> None:
    env = {**os.environ}
    if _db().get("PASSWORD"):
        env["PGPASSWORD"] = _db()["PASSWORD"]
    if shutil.which(cmd[0]) is None:
        raise BackupError(
            f"找不到 {cmd[0]}：请安装 PostgreSQL 客户端（apt-get install -y postgresql-client）。"
        )
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败：{result.stderr.strip()[:500]}")


@dataclass
class Check:
    ok: bool
    differences: list[str]


def compare(manifest: dict[str, Any]) -> Check:
    """The live database against a manifest: same tables, counts and digests, same audit head."""
    now = inventory()
    diffs = []
    for table, expected in manifest["tables"].items():
        got = now.get(table)
        if got is None:
            diffs.append(f"{table}: 缺少此表")
        elif got != expected:
            same = "一致" if got["sm3"] == expected["sm3"] else "不同"
            diffs.append(f"{table}: 行数 {got['rows']} / 备份 {expected['rows']}，内容摘要{same}")
    if _audit_head() != manifest.get("audit_head", {}):
        diffs.append("审计链末端与备份不同")
    return Check(not diffs, diffs)


def restore(source: Path) -> Check:
    """Replace the database and the files with the backup in `source`, then check them."""
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise BackupError(f"{source} 不是 dangqun 备份（没有 manifest.json）。")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError("备份格式版本不受支持。")
    if manifest["engine"] != connection.vendor:
        raise BackupError(f"备份来自 {manifest['engine']}，当前数据库是 {connection.vendor}。")
    connections.close_all()
    if connection.vendor == "sqlite":
        src = sqlite3.connect(source / "db.sqlite3")
        dst = sqlite3.connect(_db()["NAME"])
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *_pg_args(),
                str(source / "db.dump"),
            ]
        )
    media = Path(settings.MEDIA_ROOT)
    if media.exists():
        shutil.rmtree(media)
    media.mkdir(parents=True)
    with tarfile.open(source / "media.tar") as tar:
        tar.extractall(media, filter="data")
    return compare(manifest)
