"""Load, faults and scale-out on the production-shaped stack (ops/stack.py). Loopback only, bounded.

    uv run python ops/prove.py load     [--rate 200] [--seconds 60]
    uv run python ops/prove.py faults   [--rate 200] [--seconds 120]   # as root: restarts PostgreSQL
    uv run python ops/prove.py scaleout [--rate 400] [--seconds 45]
    uv run python ops/prove.py fuzz     [--examples 100]

load      the mix of ops/locustfile.py at --rate requests/s through nginx (TLS) → gunicorn
          (2 workers) → PostgreSQL, huey on Redis; prints per operation: requests, errors,
          throughput, p50 / p95 / p99. Target: 0 errors and p95 ≤ 300 ms at 200 requests/s.
faults    the same load while, at 25 % / 45 % / 65 % of the run, a gunicorn worker and the huey
          consumer are killed with SIGKILL (the supervisor restarts the consumer, gunicorn its
          worker) and PostgreSQL is restarted (pg_ctlcluster; needs root). Then waits for the
          stack to catch up and checks the ledger of acknowledged submissions against the
          database: 0 lost, 0 duplicated; every submission announced exactly once (in-app
          notification, signed webhook seen by the receiver), and the audit chain verifies.
fuzz      schemathesis over the whole OpenAPI spec as every persona, deeper than CI: calls and
          statuses per persona, server errors (target 0), spec violations.
scaleout  a saturating load against 1 gunicorn process + 1 huey consumer, then 2 + 2 (one worker
          each): throughput of both and their ratio, and the same exactly-once checks.

Figures are printed, never asserted: the machine they run on decides them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import ROOT, Stack, interrupt, say

DRAIN_TIMEOUT_S = 300


def fixtures(stack: Stack, residents: int = 200) -> Path:
    out = stack.run_dir / "fixtures.json"
    text = subprocess.run(
        [sys.executable, str(ROOT / "ops" / "fixtures.py"), "prepare", str(residents)],
        env=stack.env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    out.write_text(text.strip().splitlines()[-1])
    return out


def run_locust(stack: Stack, fixtures_file: Path, rate: int, seconds: int, tag: str) -> list[dict]:
    prefix = stack.run_dir / f"locust-{tag}"
    env = dict(os.environ, LOAD_FIXTURES=str(fixtures_file), LOAD_LEDGER=str(stack.run_dir / "ledger.jsonl"))
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "ops" / "locustfile.py"), "--headless"]
    cmd += ["-u", str(rate), "-r", str(max(rate // 5, 1)), "-t", f"{seconds}s", "--stop-timeout", "100"]
    cmd += ["--host", f"https://127.0.0.1:{stack.port}", "--csv", str(prefix), "--only-summary"]
    cmd += ["--loglevel", "WARNING"]
    subprocess.run(cmd, env=env, check=False, stdout=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def print_stats(rows: list[dict], seconds: int) -> dict:
    print(
        f"  {'operation':<16}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
    )
    total = {}
    for row in rows:
        print(
            f"  {row['Name']:<16}{int(row['Request Count']):>9,}{int(row['Failure Count']):>8}"
            f"{float(row['Requests/s']):>8.1f}{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}"
        )
        if row["Name"] == "Aggregated":
            total = row
    return total


def drain(stack: Stack) -> dict:
    """Wait until every announcement went out (the sweep catches lost ones), then verify."""
    ledger = stack.run_dir / "ledger.jsonl"
    ledger.touch()
    received = stack.run_dir / "received.json"
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        received.write_text(json.dumps(dict(stack.receiver.counts)))
        report = json.loads(
            subprocess.run(
                [sys.executable, str(ROOT / "ops" / "fixtures.py"), "verify", str(ledger), str(received)],
                env=stack.env(),
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        settled = not report["announcements_pending"] and not report["webhooks_undelivered"]
        if settled or time.monotonic() > deadline:
            return report
        time.sleep(10)


def print_checks(report: dict) -> None:
    for key, value in report.items():
        print(f"  {key.replace('_', ' '):<28}{value:,}" if isinstance(value, int) else f"  {key:<28}{value}")


def faults_during(stack: Stack, seconds: int, log: list[str]) -> threading.Thread:
    def run() -> None:
        start = time.monotonic()

        def at(share: float) -> None:
            time.sleep(max(0.0, start + seconds * share - time.monotonic()))

        at(0.25)
        worker = stack.worker_pids()[0]
        os.kill(worker, 9)
        log.append(f"{time.monotonic() - start:5.1f} s  kill -9 gunicorn worker {worker}")
        at(0.45)
        pid = stack.procs["huey0"].pid
        stack.kill("huey0")
        log.append(f"{time.monotonic() - start:5.1f} s  kill -9 huey consumer {pid} (supervisor restarts it)")
        at(0.65)
        t0 = time.monotonic()
        cluster = sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else ""
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
            capture_output=True,
            text=True,
            check=False,
        )
        what = "restarted" if done.returncode == 0 else f"NOT restarted ({done.stderr.strip()[:80]})"
        log.append(f"{t0 - start:5.1f} s  PostgreSQL {what} in {time.monotonic() - t0:.1f} s")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def session(opts: argparse.Namespace, *, app_processes: int, workers: int, consumers: int, tag: str) -> dict:
    stack = Stack(
        app_processes=app_processes, workers=workers, consumers=consumers, scale=opts.scale, keep=opts.keep
    )
    try:
        stack.prepare()
        stack.start()
        fixtures_file = fixtures(stack)
        say(f"{tag}: {opts.rate} requests/s offered for {opts.seconds} s")
        log: list[str] = []
        chaos = faults_during(stack, opts.seconds, log) if opts.command == "faults" else None
        rows = run_locust(stack, fixtures_file, opts.rate, opts.seconds, tag)
        if chaos:
            chaos.join()
        total = print_stats(rows, opts.seconds)
        for line in log:
            print(f"  fault at {line}")
        if stack.restarts:
            print(f"  restarted by the supervisor: {dict(stack.restarts)}")
        say("waiting for the jobs to catch up, then checking the ledger")
        report = drain(stack)
        print_checks(report)
        return {"total": total, "report": report}
    finally:
        stack.stop()
        stack.cleanup()


def fuzz(examples: int) -> None:
    """schemathesis over the whole OpenAPI spec as every persona (tests/test_api_fuzz.py), deeper
    than CI; prints calls and statuses per persona and the server errors (target 0)."""
    from collections import Counter, defaultdict

    report = Path(tempfile.mkdtemp(prefix="dangqun-fuzz-")) / "calls.tsv"
    env = dict(os.environ, FUZZ_EXAMPLES=str(examples), FUZZ_REPORT=str(report))
    cmd = [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"]
    done = subprocess.run([*cmd, str(ROOT / "tests" / "test_api_fuzz.py")], env=env, check=False, cwd=ROOT)
    calls: dict[str, Counter[int]] = defaultdict(Counter)
    operations = set()
    for line in report.read_text(encoding="utf-8").splitlines() if report.exists() else []:
        persona, operation, status = line.split("\t")
        calls[persona][int(status)] += 1
        operations.add(operation)
    print(f"fuzz: {len(operations)} operations, up to {examples} examples each ({report}), per persona:")
    for persona, statuses in sorted(calls.items()):
        shown = ", ".join(f"{code}: {n:,}" for code, n in sorted(statuses.items()))
        print(f"  {persona:<17}{sum(statuses.values()):>7,} calls   {shown}")
    errors = sum(n for statuses in calls.values() for code, n in statuses.items() if code >= 500)
    print(f"  server errors: {errors}; spec violations: {'none' if done.returncode == 0 else 'see above'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["load", "faults", "scaleout", "fuzz"])
    parser.add_argument("--examples", type=int, default=100, help="fuzz: examples per operation")
    parser.add_argument("--rate", type=int, default=0, help="requests/s offered (locust users at 1/s each)")
    parser.add_argument("--seconds", type=int, default=0)
    parser.add_argument("--scale", type=int, default=600, help="residents in the demo street")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    opts = parser.parse_args()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a stopped run still stops its stack, drops its database
        signal.signal(sig, interrupt)
    if opts.command == "fuzz":
        return fuzz(opts.examples)
    defaults = {"load": (200, 60), "faults": (200, 120), "scaleout": (400, 45)}[opts.command]
    opts.rate = opts.rate or defaults[0]
    opts.seconds = min(opts.seconds or defaults[1], 600)
    os.environ.setdefault("TMPDIR", tempfile.gettempdir())
    print(
        f"dangqun {opts.command}: {os.cpu_count()} CPUs (load generator included), PostgreSQL, Redis, nginx"
    )
    if opts.command != "scaleout":
        session(opts, app_processes=1, workers=2, consumers=1, tag=opts.command)
        return
    one = session(opts, app_processes=1, workers=1, consumers=1, tag="one")
    two = session(opts, app_processes=2, workers=1, consumers=2, tag="two")
    a, b = float(one["total"]["Requests/s"]), float(two["total"]["Requests/s"])
    print(f"scale-out: {a:.1f} → {b:.1f} requests/s, × {b / a:.2f} (target ≥ 1.6 where CPU allows)")


if __name__ == "__main__":
    main()
