"""Idempotent submissions per second through HTTP (gunicorn, 2 workers) on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/onestop_submit.py
    DATABASE_URL=... uv run python bench/onestop_submit.py --seconds 20 --clients 12
    uv run python bench/onestop_submit.py            # SQLite (one writer at a time: lower)

Creates a scratch database next to the one named (never that database itself: bench/subtree.py's
scratch_postgres), migrates it, and builds a street with a department and a window, one service
item whose only material is shared data (uploads disabled: 免提交 ID card), and --users residents
with bearer tokens. Starts gunicorn (2 workers, gthread × --threads) on a free port and drives
`POST /api/v1/services/{code}/applications` with an Idempotency-Key from --clients processes,
each on its own keep-alive connection. Retries are part of the load: a share of submissions is
sent again on the same connection (--retry), and a share is sent twice at once on two
connections (--race), as a client whose first attempt timed out would.

Prints new submissions per second, requests per second (retries included), latency, and the
duplicate check: per Idempotency-Key every answer must carry the same application number, and
the database must hold exactly one application per key. Target: ≥ 300 submissions/s and 0
duplicates. Never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from calendar_http import free_port, percentile, read_response  # bench/ is on sys.path

TARGET = 300
HARD_LIMIT_S = 90


def request(path: str, token: str, key: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def client(args: tuple) -> dict:
    """One load process: submissions back to back, some retried, some raced on a 2nd connection."""
    port, path, tokens, seconds, retry, race, seed, warmup = args
    rnd = random.Random(seed)
    body = json.dumps({"form": {"applicant_name": "测试居民"}, "consent": True}).encode()
    socks = [connect(port), connect(port)]
    bufs = [b"", b""]
    answers: dict[str, set[str]] = {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    new = sent = 0
    end = time.perf_counter() + seconds
    i = 0

    def exchange(which: list[int], raw: bytes) -> list[tuple[int, bytes]]:
        for w in which:
            socks[w].sendall(raw)
        out = []
        for w in which:
            status, payload, closes, bufs[w] = read_response(socks[w], bufs[w])
            if closes:
                socks[w].close()
                socks[w], bufs[w] = connect(port), b""
            out.append((status, payload))
        return out

    while time.perf_counter() < end:
        token = tokens[i % len(tokens)]
        key = f"s{seed}-{i}"
        raw = request(path, token, key, body)
        roll = rnd.random()
        plan = [[0, 1]] if roll < race else [[0], [0]] if roll < race + retry else [[0]]
        for which in plan:
            t0 = time.perf_counter()
            try:
                results = exchange(which, raw)
            except (OSError, ValueError) as exc:
                errors.append(repr(exc))
                socks = [connect(port), connect(port)]
                bufs = [b"", b""]
                continue
            latencies.append(time.perf_counter() - t0)
            for status, payload in results:
                sent += 1
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    data = json.loads(payload)
                    answers.setdefault(f"{token}:{key}", set()).add(data["number"])
                    new += status == 201
                elif len(errors) < 5:
                    errors.append(f"{status} {payload[:200].decode(errors='replace')}")
        i += 1
    for s in socks:
        s.close()
    if warmup:
        return {}
    return {
        "new": new,
        "sent": sent,
        "latencies": latencies,
        "statuses": statuses,
        "errors": errors,
        "answers": {k: sorted(v) for k, v in answers.items()},
    }


def redis_scratch(url: str) -> str:
    """`url` when a Redis answers there (its database is emptied first), else ''."""
    if not url:
        return ""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.flushdb()
        return url
    except Exception:
        return ""


def setup(users: int) -> tuple[str, list[str]]:
    """The street, the item and the residents with tokens; returns the item code and tokens."""
    from dangqun.accounts.choices import Role
    from dangqun.accounts.models import RoleGrant, User
    from dangqun.accounts.tokens import issue_token
    from dangqun.core.validators import id_check_char
    from dangqun.onestop.actions import do_save_item
    from dangqun.onestop.rules import implementation_code
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    root = User.objects.create_superuser("bench_root", "root@example.org", "x" * 20)
    # Promised dates in December reach into next year: load the bundled example schedule.
    from django.utils import timezone

    from dangqun.core.calendar_actions import import_example_year

    import_example_year(timezone.localdate().year + 1, actor="bench")

    def org(name: str, kind: str, parent):
        return do_create_organization(name=name, kind=kind, parent=parent, actor=root)

    street = org("幸福街道", OrgKind.STREET, None)
    community = org("和平社区", OrgKind.COMMUNITY, street)
    dept = org("社会保障服务所", OrgKind.DEPARTMENT, street)
    hall = org("政务服务大厅", OrgKind.SERVICE_HALL, street)
    window = org("1号窗口", OrgKind.WINDOW, hall)
    code = "200010001000"
    credit = "11330106MB0000001G"
    do_save_item(
        None,
        actor=root,
        code=code,
        implementation_code=implementation_code(credit, "5", code),
        name="社会保障卡申领",
        department=dept,
        receiving_org=window,
        implementer_credit_code=credit,
        item_type="20",
        handling_mode="2",
        promised_limit_days=10,
        channels=["web"],
        result_type="certificate",
        form_schema={
            "fields": [
                {"name": "applicant_name", "label": "申请人姓名", "type": "text", "required": True},
                {
                    "name": "id_number",
                    "label": "身份证号",
                    "type": "id_number",
                    "required": True,
                    "prefill": "id_number",
                },
            ]
        },
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    tokens = []
    for n in range(users):
        first17 = f"110105199001{(n % 28) + 1:02d}{n:03d}"[:17]
        user = User.objects.create_user(
            username=f"bench_r{n}",
            password=None,
            full_name=f"居民{n}",
            id_number=first17 + id_check_char(first17),
        )
        RoleGrant.objects.create(user=user, role=Role.RESIDENT, organization=community)
        tokens.append(issue_token(user, name="bench")[0])
    return code, tokens


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by gunicorn (master and workers), by PostgreSQL's processes on this
    machine, and stolen from this VM: throughput swings with the machine, CPU per request less."""
    import psutil

    def used(procs) -> float:
        total = 0.0
        for proc in procs:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass  # a process ended meanwhile
        return total

    server = psutil.Process(server_pid)
    postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]
    return {
        "gunicorn": used([server, *server.children(recursive=True)]),
        "postgres": used(postgres),
        "steal": getattr(psutil.cpu_times(), "steal", 0.0),
    }


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early ({proc.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/services?q=sb")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)  # the server is still starting
    raise SystemExit("gunicorn did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--retry", type=float, default=0.2, help="share of submissions sent again")
    parser.add_argument("--race", type=float, default=0.05, help="share sent twice at once")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/14", help="scratch Redis database ('' for none)"
    )
    opts = parser.parse_args()
    opts.seconds = min(opts.seconds, HARD_LIMIT_S)

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-submit-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"
    os.environ["HUEY_IMMEDIATE"] = "0"  # jobs queue for a consumer, as in production
    # The job queue and the cache as production runs them at this rate: Redis (docs/operations.md),
    # in a scratch database number emptied at the end. Without Redis: huey's SQLite queue on tmpfs
    # (every submission enqueues its announcement; an fsync per enqueue on disk would be measured
    # instead of the application) and per-process caches.
    shm = Path("/dev/shm")  # noqa: S108 — a private mkdtemp inside it, removed at the end
    queue_dir = Path(tempfile.mkdtemp(prefix="dangqun-submit-huey-", dir=shm if shm.is_dir() else None))
    redis_url = redis_scratch(opts.redis)
    if redis_url:
        os.environ["HUEY_URL"] = os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.setdefault("HUEY_URL", f"sqlite:///{queue_dir / 'huey.sqlite3'}")
    where = f"Redis {redis_url}" if redis_url else "SQLite queue on tmpfs, per-process cache"
    print(f"queue and cache: {where}")
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        from subtree import scratch_postgres

        os.environ["DATABASE_URL"], cleanup = scratch_postgres(given)
    else:
        os.environ.pop("DATABASE_URL", None)

    import warnings

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    server = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        code, tokens = setup(opts.users)
        engine = connection.vendor
        connections.close_all()
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "dangqun.config.wsgi:application",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            str(opts.threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--keep-alive",
            "10",
            "--backlog",
            "256",
        ]
        server = subprocess.Popen(cmd, env=os.environ.copy())
        wait_until_up(port, server)
        path = f"/api/v1/services/{code}/applications"
        per = [tokens[c :: opts.clients] or tokens for c in range(opts.clients)]
        with ProcessPoolExecutor(opts.clients) as pool:
            list(
                pool.map(
                    client, [(port, path, per[c], 1.0, 0, 0, 900 + c, True) for c in range(opts.clients)]
                )
            )
            cpu_before = cpu_seconds(server.pid)
            started = time.perf_counter()
            results = list(
                pool.map(
                    client,
                    [
                        (port, path, per[c], opts.seconds, opts.retry, opts.race, c, False)
                        for c in range(opts.clients)
                    ],
                )
            )
            elapsed = time.perf_counter() - started
            cpu_after = cpu_seconds(server.pid)
        new = sum(r["new"] for r in results)
        sent = sum(r["sent"] for r in results)
        latencies = [lat for r in results for lat in r["latencies"]]
        statuses: dict[int, int] = {}
        for r in results:
            for s, n in r["statuses"].items():
                statuses[s] = statuses.get(s, 0) + n
        answers = {k: v for r in results for k, v in r["answers"].items()}
        conflicting = [k for k, v in answers.items() if len(v) > 1]
        from dangqun.onestop.models import Application

        warm_and_timed = Application.objects.count()
        keys_in_db = (
            Application.objects.exclude(idempotency_key=None)
            .values("created_by", "idempotency_key")
            .distinct()
            .count()
        )
        numbers = Application.objects.values("number").distinct().count()
        load = os.getloadavg()[0]
        print(
            f"{engine}: gunicorn 2 workers × {opts.threads} threads, {opts.clients} clients, "
            f"{opts.seconds:.0f} s (load average {load:.1f} on {os.cpu_count()} CPUs)"
        )
        print(
            f"  {new / elapsed:7.1f} submissions/s   ({new:,} new applications; "
            f"{sent / elapsed:.1f} requests/s including retries)"
        )
        print(
            f"  latency p50 {percentile(latencies, 50) * 1000:.1f} ms  "
            f"p95 {percentile(latencies, 95) * 1000:.1f} ms  "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms (a raced pair counts once)"
        )
        print(f"  statuses {dict(sorted(statuses.items()))}")
        dupes = len(conflicting) + (warm_and_timed - keys_in_db) + (warm_and_timed - numbers)
        print(
            f"  duplicates: {dupes} (keys answered with two numbers: {len(conflicting)}; "
            f"applications {warm_and_timed:,} vs distinct keys {keys_in_db:,} "
            f"vs distinct numbers {numbers:,})"
        )
        cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        per = max(sent, 1)
        print(
            f"  CPU per request: gunicorn {cpu['gunicorn'] / per * 1000:.1f} ms, PostgreSQL "
            f"{cpu['postgres'] / per * 1000:.1f} ms (stolen by the host: "
            f"{cpu['steal'] / elapsed / (os.cpu_count() or 1):.0%} of the CPUs)"
        )
        errors = [e for r in results for e in r["errors"]][:3]
        if errors:
            print("  first errors: " + " | ".join(errors))
        print(f"  target: >= {TARGET} submissions/s with 0 duplicates")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(queue_dir, ignore_errors=True)
        redis_scratch(redis_url)  # empties the scratch database


if __name__ == "__main__":
    sys.exit(main())
