"""Production refuses to start with the demo secret or encryption key."""

import os
import subprocess
import sys

import pytest

STRONG_SECRET = "x" * 50
STRONG_KEY = "ab" * 32
CHECK = "import dangqun.config.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "PYTEST_VERSION", "DANGQUN_ENV"}
    }
    environ.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import dangqun.config.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        ],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("secret", "key", "missing"),
    [
        (None, STRONG_KEY, "SECRET_KEY"),
        (STRONG_SECRET, None, "FIELD_ENCRYPTION_KEY"),
        ("short", STRONG_KEY, "SECRET_KEY"),
        (STRONG_SECRET, "abcd", "FIELD_ENCRYPTION_KEY"),
    ],
)
def test_production_refuses_to_start_without_real_secrets(tmp_path, secret, key, missing):
    env = {"DANGQUN_ENV": "production", "DANGQUN_DATA_DIR": str(tmp_path)}
    if secret:
        env["SECRET_KEY"] = secret
    if key:
        env["FIELD_ENCRYPTION_KEY"] = key
    result = load_settings(**env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_starts_with_real_secrets_and_secure_cookies(tmp_path):
    result = load_settings(
        DANGQUN_ENV="production",
        DANGQUN_DATA_DIR=str(tmp_path),
        SECRET_KEY=STRONG_SECRET,
        FIELD_ENCRYPTION_KEY=STRONG_KEY,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
