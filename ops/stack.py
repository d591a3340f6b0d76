"""dangqun as in production, on one machine: nginx (TLS) → gunicorn → PostgreSQL, huey on Redis.

    uv run python ops/stack.py                   # up until Ctrl-C: https://127.0.0.1:8443/
    uv run python ops/stack.py --app-processes 2 --consumers 2 --port 9443

What it does (docs/operations.md, "Production-shaped run"):
- a data directory (default: a fresh temporary one) with generated secrets (SECRET_KEY, the field
  key in a 0600 file, a self-signed TLS certificate for 127.0.0.1) — nothing secret in the repo;
- a scratch PostgreSQL database next to DATABASE_URL (default the local server's `test`), dropped
  at the end unless --keep; migrate, collectstatic, the demo street (`dangqun seed`, run with the
  same keys), then `manage.py check --deploy` under DANGQUN_ENV=production, printed;
- gunicorn (gthread) processes, each with --workers workers, on loopback ports; nginx from Debian
  terminating TLS, serving /static/ itself, balancing over the gunicorn processes; huey consumers
  on Redis (the scheduler runs on the first only: periodic jobs are enqueued once);
- a webhook receiver counting the signed one-stop deliveries per delivery key;
- a supervisor loop restarting whatever dies (as systemd's Restart=always would).

Used by ops/prove.py (load, faults, scale-out). Loopback only; everything stops with the process.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"
NGINX_CONF = """\
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {run}/body;
  proxy_temp_path {run}/proxy;
  fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi;
  scgi_temp_path {run}/scgi;
  client_max_body_size 25m;
  server_tokens off;
  upstream dangqun {{
{upstreams}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{http_port};
    return 301 https://$host:{port}$request_uri;
  }}
  # The load generator stands in for many residents behind a trusted load balancer: its
  # X-Forwarded-For names the resident (in production, list your balancer here, or nothing).
  set_real_ip_from 127.0.0.1;
  real_ip_header X-Forwarded-For;
  server {{
    listen 127.0.0.1:{port} ssl http2;  # Debian 12: nginx 1.22
    ssl_certificate {run}/tls.crt;
    ssl_certificate_key {run}/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /static/ {{ alias {static}/; expires 30d; add_header X-Content-Type-Options nosniff; }}
    location / {{
      proxy_pass http://dangqun;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_next_upstream error timeout;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """Counts the one-stop webhook deliveries per X-Dangqun-Delivery key (duplicates show as > 1)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        counts, lock = self.counts, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    counts[self.headers.get("X-Dangqun-Delivery", "")] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


class Stack:
    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        database_url: str = "",
        redis_db: int = 13,
        app_processes: int = 1,
        workers: int = 2,
        threads: int = 4,
        consumers: int = 1,
        port: int = 0,
        scale: int = 600,
        keep: bool = False,
    ) -> None:
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="dangqun-prod-"))
        self.run_dir = self.data_dir / "run"
        self.given_db = database_url or os.environ.get("DATABASE_URL") or DEFAULT_PG
        self.redis = f"redis://127.0.0.1:6379/{redis_db}"
        self.app_processes, self.workers, self.threads = app_processes, workers, threads
        self.consumers, self.scale, self.keep = consumers, scale, keep
        self.port = port or free_port()
        self.http_port = free_port()
        self.app_ports = [free_port() for _ in range(app_processes)]
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: Counter[str] = Counter()
        self.receiver = WebhookReceiver()
        self.db_name = f"dangqun_prod_{os.getpid()}"
        self.database_url = ""
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- set-up -----------------------------------------------------------------------------

    def env(self, production: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
        env.update(
            DJANGO_SETTINGS_MODULE="dangqun.config.settings",
            DANGQUN_ENV="production" if production else "demo",
            DANGQUN_DATA_DIR=str(self.data_dir),
            SECRET_KEY=(self.run_dir / "secret_key").read_text(),
            FIELD_ENCRYPTION_KEY_FILE=str(self.run_dir / "field.key"),
            CERT_SM2_KEY_FILE=str(self.run_dir / "sm2.key"),
            DATABASE_URL=self.database_url,
            HUEY_URL=self.redis,
            REDIS_URL=self.redis,
            HUEY_IMMEDIATE="0",
            TRUSTED_PROXY_COUNT="1",  # nginx
            ALLOWED_HOSTS="127.0.0.1,localhost",
            CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{self.port}",
            ONESTOP_WEBHOOK_URL=self.receiver.url,
            ONESTOP_WEBHOOK_SECRET="ops-webhook-secret",
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        if not production:
            env.pop("FIELD_ENCRYPTION_KEY_FILE")
            env["FIELD_ENCRYPTION_KEY"] = (self.run_dir / "field.key").read_text()
        return env

    def manage(self, *args: str, production: bool = True, capture: bool = False) -> str:
        out = subprocess.run(
            [PYTHON, "-m", "dangqun.cli", *args],
            env=self.env(production),
            check=True,
            text=True,
            stdout=subprocess.PIPE if capture else None,
        )
        return out.stdout or ""

    def prepare(self) -> None:
        import psycopg
        import redis

        self.run_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run_dir / sub).mkdir(exist_ok=True)
        (self.run_dir / "secret_key").write_text(secrets.token_urlsafe(50))
        key = self.run_dir / "field.key"
        key.write_text(secrets.token_hex(32))
        key.chmod(0o600)
        sm2 = self.run_dir / "sm2.key"  # certificate signing key: below the SM2 group order n
        sm2.write_text(next(k for k in iter(lambda: secrets.token_hex(32), "") if k[:2] < "fe"))
        sm2.chmod(0o600)
        openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        openssl += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl += ["-keyout", str(self.run_dir / "tls.key")]
        subprocess.run(
            [*openssl, "-out", str(self.run_dir / "tls.crt")],
            check=True,
            capture_output=True,
        )
        parts = urlsplit(self.given_db)
        admin = urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.database_url = urlunsplit(parts._replace(path=f"/{self.db_name}"))
        redis.Redis.from_url(self.redis).flushdb()
        say(f"database {self.db_name}; queue and cache {self.redis}; data {self.data_dir}")
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        say("seeding the demo street (demo passwords: a load lab, not a live system)")
        self.manage("seed", "--no-progress", "--scale", str(self.scale), production=False, capture=True)
        say("manage.py check --deploy (DANGQUN_ENV=production)")
        print(self.manage("check", "--deploy", "--fail-level", "WARNING", capture=True).strip())

    # --- processes --------------------------------------------------------------------------

    def _spawn(self, name: str) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 — owned by the child
        if name.startswith("app"):
            port = self.app_ports[int(name[3:])]
            cmd = [PYTHON, "-m", "gunicorn", "dangqun.config.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            cmd += [
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
            ]
            cmd += [
                "--keep-alive",
                "30",
                "--backlog",
                "1024",
                "--log-level",
                "warning",
                "--graceful-timeout",
                "5",
            ]
        elif name.startswith("huey"):
            cmd = [
                PYTHON,
                "-m",
                "dangqun.cli",
                "run_huey",
                "--workers",
                "4",
                "--worker-type",
                "thread",
                "--quiet",
            ]
            if name != "huey0":
                cmd.append("--no-periodic")  # one scheduler: periodic jobs enqueued once
        else:
            cmd = [
                "nginx",
                "-c",
                str(self.run_dir / "nginx.conf"),
                "-p",
                str(self.run_dir),
                "-g",
                "daemon off;",
            ]
        self.procs[name] = subprocess.Popen(
            cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self) -> None:
        upstreams = "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in self.app_ports)
        (self.run_dir / "nginx.conf").write_text(
            NGINX_CONF.format(
                run=self.run_dir,
                upstreams=upstreams,
                port=self.port,
                http_port=self.http_port,
                static=self.data_dir / "static",
            )
        )
        for i in range(self.app_processes):
            self._spawn(f"app{i}")
        for i in range(self.consumers):
            self._spawn(f"huey{i}")
        self._spawn("nginx")
        self.wait_until_up()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        say(
            f"up: https://127.0.0.1:{self.port}/  ({self.app_processes} gunicorn × {self.workers} workers × "
            f"{self.threads} threads, {self.consumers} huey consumer(s), nginx TLS)"
        )

    def wait_until_up(self, timeout: float = 60) -> None:
        import http.client
        import ssl

        deadline = time.monotonic() + timeout
        context = ssl._create_unverified_context()  # noqa: S323 — our own self-signed loopback certificate
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=2, context=context)
                conn.request("GET", "/api/v1/services?q=sb")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"the stack did not answer in {timeout:.0f} s; logs in {self.run_dir}")

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for name, proc in list(self.procs.items()):
                if proc.poll() is not None and not self._stop.is_set():
                    self.restarts[name] += 1
                    self._spawn(name)

    def worker_pids(self, app: int = 0) -> list[int]:
        master = self.procs[f"app{app}"].pid
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill(self, name: str) -> None:
        os.kill(self.procs[name].pid, signal.SIGKILL)

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.receiver.close()

    def cleanup(self) -> None:
        import psycopg
        import redis

        if self.keep:
            say(f"kept: database {self.db_name}, data {self.data_dir}")
            return
        if self.database_url:
            admin = urlunsplit(urlsplit(self.given_db)._replace(scheme="postgresql"))
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        redis.Redis.from_url(self.redis).flushdb()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops like Ctrl-C; a second signal while stopping is ignored, so cleanup completes."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--app-processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database and data directory")
    opts = parser.parse_args()
    stack = Stack(
        port=opts.port,
        app_processes=opts.app_processes,
        workers=opts.workers,
        consumers=opts.consumers,
        keep=opts.keep,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):  # children and the database go too
        signal.signal(sig, interrupt)
    try:
        stack.prepare()
        stack.start()
        print(json.dumps({"url": f"https://127.0.0.1:{stack.port}/", "logs": str(stack.run_dir)}))
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        stack.cleanup()


if __name__ == "__main__":
    main()
