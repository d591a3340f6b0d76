"""Latency of a branch roster page (/members/branch/<id>/) over HTTP, through gunicorn.

    uv run python bench/member_roster.py                   # 1,000 members, 15 s of load
    uv run python bench/member_roster.py --seconds 30 --clients 8

Server: gunicorn, 2 workers of the gthread class (4 threads each, keep-alive), DEBUG off,
against a fresh SQLite database in a temporary directory (migrated first). The branch gets
1,000 members through the Excel import (every status, 3 党小组, Chinese names), and a branch
secretary is signed in (a session cookie, as a browser would send it).

Load: --clients processes, each with one keep-alive HTTP/1.1 connection sending requests back
to back for --seconds (bench/calendar_http.py's raw-socket client). The requests mix what a
secretary does: page through the roster (50 a page), search by pinyin initials or full pinyin,
filter by status or 党小组. Every response must be a 200 with the results section.
Prints requests/s and latency p50/p95/p99. Target: p95 ≤ 150 ms. Never fails on time.
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from calendar_http import free_port, percentile, read_response

TARGET_P95_MS = 150
MEMBERS = 1000
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美玉兰红霞平刚桂英建国志文斌浩宇欣怡子涵梓轩晨阳"


def setup(data_dir: Path) -> None:
    """Runs in a child process with the benchmark's environment: data, a signed-in secretary."""
    import warnings

    import django

    django.setup()
    from datetime import date, timedelta
    from io import BytesIO

    from django.core.management import call_command
    from django.test import Client
    from openpyxl import Workbook

    from dangqun.accounts.choices import Role
    from dangqun.accounts.models import RoleGrant, User
    from dangqun.core.validators import id_check_char
    from dangqun.members.exporting import COLUMNS
    from dangqun.members.importing import do_import_members
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call_command("migrate", verbosity=0)
    rng = random.Random(7)
    root = User.objects.create_superuser("bench", "bench@example.org", "Bench-Passw0rd!")
    street = do_create_organization(name="幸福街道", kind=OrgKind.STREET, parent=None, actor=root)
    committee = do_create_organization(
        name="幸福街道党工委", kind=OrgKind.PARTY_COMMITTEE, parent=street, actor=root
    )
    branch = do_create_organization(
        name="和平社区第一党支部", kind=OrgKind.BRANCH, parent=committee, actor=root
    )
    groups = [
        do_create_organization(name=g, kind=OrgKind.GROUP, parent=branch, actor=root)
        for g in ("第一党小组", "第二党小组", "第三党小组")
    ]
    headers = [c.header for c in COLUMNS]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员名册")
    ws.append(headers)
    statuses = ["入党申请人", "入党积极分子", "发展对象", "预备党员"] + ["正式党员"] * 6
    names = []
    for n in range(MEMBERS):
        born = date(1950, 1, 1) + timedelta(days=n * 11)
        first17 = f"320102{born:%Y%m%d}{n % 900 + 100:03d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        names.append(name)
        status = statuses[n % len(statuses)]
        row = {
            "姓名": name,
            "身份证号": first17 + id_check_char(first17),
            "手机号": f"139{n:08d}",
            "党支部": branch.name,
            "党小组": groups[n % 3].name,
            "身份": status,
            "职务": "党员" if n % 7 else "组织委员",
            "党费类别": "在职" if status == "正式党员" else None,
        }
        if status in ("入党申请人", "入党积极分子", "发展对象"):
            row["递交入党申请书日期"] = date(2022, 3, 1)
        if status in ("入党积极分子", "发展对象"):
            row["列为入党积极分子日期"] = date(2022, 6, 1)
        if status == "发展对象":
            row["列为发展对象日期"] = date(2023, 7, 1)
        if status in ("预备党员", "正式党员"):
            row["接收为预备党员日期"] = (
                date(2025, 9, 1) if status == "预备党员" else date(2000 + n % 20, 7, 1)
            )
        ws.append([row.get(h) for h in headers])
    out = BytesIO()
    wb.save(out)
    report = do_import_members(out.getvalue(), actor=root)
    secretary = User.objects.create_user(username="secretary", password="Bench-Passw0rd!", full_name="李书记")
    RoleGrant.objects.create(user=secretary, role=Role.BRANCH_SECRETARY, organization=branch)
    client = Client()
    client.force_login(secretary)
    (data_dir / "setup.json").write_text(
        json.dumps(
            {
                "branch": branch.pk,
                "groups": [g.pk for g in groups],
                "session": client.cookies["sessionid"].value,
                "names": names,
                "created": report.created,
            }
        )
    )


def request_paths(info: dict, count: int, seed: int) -> list[str]:
    from pypinyin import lazy_pinyin

    rng = random.Random(seed)
    base = f"/members/branch/{info['branch']}/"
    pages = -(-MEMBERS // 50)
    paths = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.5:
            paths.append(f"{base}?page={rng.randint(1, pages)}")
        elif roll < 0.7:
            syllables = lazy_pinyin(rng.choice(info["names"]))
            q = "".join(s[0] for s in syllables) if rng.random() < 0.5 else "".join(syllables)
            paths.append(f"{base}?q={q}")
        elif roll < 0.85:
            paths.append(f"{base}?status=full&page={rng.randint(1, 12)}")
        else:
            paths.append(f"{base}?group={rng.choice(info['groups'])}&page={rng.randint(1, 7)}")
    return paths


def client(port: int, seconds: float, seed: int, info: dict) -> tuple[int, int, list[float], str]:
    cookie = f"sessionid={info['session']}"
    requests = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nAccept: text/html\r\n\r\n".encode()
        for p in request_paths(info, 500, seed)
    ]
    ok = errors = 0
    latencies: list[float] = []
    first_error = ""
    sock: socket.socket | None = None
    buf = b""
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        try:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = b""
            sock.sendall(requests[i % len(requests)])
            status, body, closes, buf = read_response(sock, buf)
            if status == 200 and b'id="roster-results"' in body:
                ok += 1
            else:
                errors += 1
                first_error = first_error or f"{status} {body[:200].decode(errors='replace')}"
            if closes:
                sock.close()
                sock = None
        except (OSError, ValueError, IndexError) as exc:
            errors += 1
            first_error = first_error or repr(exc)
            if sock is not None:
                sock.close()
            sock = None
        latencies.append(time.perf_counter() - t0)
        i += 1
    if sock is not None:
        sock.close()
    return ok, errors, latencies, first_error


def wait_until_up(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)  # the server is still starting
    raise SystemExit("gunicorn did not answer in time")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds")
    parser.add_argument(
        "--clients", type=int, default=4, help="load-generator processes, one connection each"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--setup", help=argparse.SUPPRESS)  # internal: the data, in a child process
    args = parser.parse_args()
    if args.setup:
        setup(Path(args.setup))
        return

    tmp = Path(tempfile.mkdtemp(prefix="dangqun-bench-roster-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dangqun.config.settings",
        "DANGQUN_DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
        "DEBUG": "0",
        "HUEY_IMMEDIATE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("PYTEST_VERSION", None)
    server = None
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--setup", str(tmp)], env=env, check=True)
        (tmp / "static").mkdir(exist_ok=True)
        info = json.loads((tmp / "setup.json").read_text())
        print(
            f"SQLite, {info['created']:,} members imported into one branch "
            f"(setup {time.perf_counter() - t0:.1f} s); "
            f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
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
            str(args.threads),
            "--keep-alive",
            "10",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
        server = subprocess.Popen(cmd, env=env)
        wait_until_up(port, server)
        with ProcessPoolExecutor(args.clients) as pool:
            n = args.clients
            list(pool.map(client, [port] * n, [1.0] * n, range(n), [info] * n))  # warm-up
            started = time.perf_counter()
            results = list(pool.map(client, [port] * n, [args.seconds] * n, range(100, 100 + n), [info] * n))
            elapsed = time.perf_counter() - started
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = [lat for r in results for lat in r[2]]
    p95 = percentile(latencies, 95) * 1000
    print(
        f"gunicorn gthread 2 workers × {args.threads} threads, {args.clients} clients, {args.seconds:.0f} s: "
        f"{ok / elapsed:.0f} req/s; p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms; {ok} ok, {errors} errors"
    )
    if errors:
        print("  first error:", next(r[3] for r in results if r[1]))
    verdict = "within" if p95 <= TARGET_P95_MS else "above"
    print(f"target: p95 <= {TARGET_P95_MS} ms; this run is {verdict} it")
    print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
