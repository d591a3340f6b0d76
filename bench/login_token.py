"""Login and token throughput, in-process (Django test Client, one thread, no sockets).

    uv run python bench/login_token.py                  # 20 logins of each kind, 2,000 API requests
    uv run python bench/login_token.py --logins 50 --requests 5000

Runs against a temporary SQLite database (migrated first) with the *real* password hasher
(PBKDF2-SHA256, Django's default iteration count; the MD5 hasher is only used under pytest).
Measures, each in a single thread through the whole middleware stack:

* one PBKDF2 password check on its own (the floor under every login),
* page logins: POST /accounts/login/ for a resident (password only; new session, audit),
* token issuance: POST /api/v1/auth/token (password check, audit, token row),
* token-authenticated API reads: GET /api/v1/me with `Authorization: Bearer …`
  (SM3 digest lookup, no password hashing).

Each call is timed in wall-clock and in this process's CPU time; the CPU figure is what a
server core pays and stays stable when other processes load the machine. PBKDF2 and the
logins are measured in interleaved rounds so that outside load hits them alike.
Audit sealing is queued to huey (as in production without HUEY_IMMEDIATE), not run inline.
Prints figures only; never fails on time. Logins scale with cores (each is CPU-bound in
OpenSSL's PBKDF2), so a server's login capacity ≈ cores / PBKDF2 time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _setup(data_dir: Path) -> None:
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dangqun.config.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    Path(os.environ["DANGQUN_DATA_DIR"], "static").mkdir(exist_ok=True)


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"benchmark aborted: {what}")


class Samples:
    """Wall-clock and CPU time of each call. CPU time (this process only) is what a login costs
    a server core; it does not grow when other processes compete for the machine."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def measure(self, call) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        call()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def __str__(self) -> str:
        wall_ms = statistics.median(self.wall) * 1000
        return (
            f"{len(self.wall) / sum(self.wall):8.1f}/s wall  median {wall_ms:7.2f} ms"
            f"  | CPU median {self.cpu_median * 1000:7.2f} ms → {1 / self.cpu_median:8.1f}/s per core"
            f"  (n={len(self.wall)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=20, help="page logins and token issues, each")
    parser.add_argument("--requests", type=int, default=2000, help="token-authenticated GET /api/v1/me")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dangqun-bench-") as tmp:
        _setup(Path(tmp))
        from django.conf import settings
        from django.contrib.auth.hashers import get_hasher
        from django.test import Client

        from dangqun.accounts.models import User

        password = "Bench-Passw0rd!"  # a fixed demo password for a throwaway database
        user = User.objects.create_user("bench_resident", password=password, full_name="压测居民")
        hasher = get_hasher()
        print("dangqun login/token benchmark — in-process, Django test Client, 1 thread, SQLite (WAL)")
        print(f"password hasher: {hasher.algorithm}, {getattr(hasher, 'iterations', '?'):,} iterations")
        print(f"python {sys.version.split()[0]}, cpu count {os.cpu_count()}")
        if "MD5" in settings.PASSWORD_HASHERS[0]:
            print("warning: the MD5 test hasher is active; figures are not representative")

        body = json.dumps({"username": user.username, "password": password})
        client = Client()
        tokens: list[str] = []

        def pbkdf2_check() -> None:
            _expect(user.check_password(password), "password check")

        def page_login() -> None:  # a fresh client each time: a new session per login
            response = Client().post("/accounts/login/", {"login": user.username, "password": password})
            _expect(response.status_code == 302, f"page login answered {response.status_code}")

        def token_issue() -> None:
            response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
            _expect(response.status_code == 200, f"token endpoint answered {response.status_code}")
            tokens.append(response.json()["token"])

        # Interleaved rounds, so that load from other processes hits all three alike.
        pbkdf2, pages, issues = Samples(), Samples(), Samples()
        for _ in range(args.logins):
            pbkdf2.measure(pbkdf2_check)
            pages.measure(page_login)
            issues.measure(token_issue)
        print(f"\nPBKDF2 check_password alone          {pbkdf2}")
        print(f"page logins  POST /accounts/login/   {pages}")
        print(f"token issues POST /api/v1/auth/token {issues}")
        print(
            f"  PBKDF2 is {pbkdf2.cpu_median / pages.cpu_median:.0%} of a page login's CPU and "
            f"{pbkdf2.cpu_median / issues.cpu_median:.0%} of a token issue's; "
            f"one core does at most {1 / pbkdf2.cpu_median:.1f} logins/s"
        )

        # 4. Token-authenticated reads.
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[0]}"}
        for _ in range(20):  # warm up (URL resolver, the first last_used_at write)
            client.get("/api/v1/me", **headers)

        def api_read() -> None:
            response = client.get("/api/v1/me", **headers)
            _expect(response.status_code == 200, f"/api/v1/me answered {response.status_code}")

        reads = Samples()
        for _ in range(args.requests):
            reads.measure(api_read)
        print(f"API reads    GET /api/v1/me (bearer) {reads}")
        per_read, per_login = reads.cpu_median * 1000, issues.cpu_median * 1000
        print(
            f"\nA bearer request costs {per_read:.2f} ms, a login {per_login:.0f} ms: clients should keep "
            f"their token for its lifetime ({settings.API_TOKEN_TTL_HOURS} h), not log in per request."
        )


if __name__ == "__main__":
    main()
