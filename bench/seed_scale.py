"""Time `dangqun seed --scale N` on a fresh SQLite database.

    uv run python bench/seed_scale.py                 # 1,000,000 residents (target: <= 600 s)
    uv run python bench/seed_scale.py --scale 100000  # a quicker run

Creates a temporary DANGQUN_DATA_DIR, migrates it, runs the seed (its progress bar goes to
stderr), then prints the elapsed seconds, residents per second and the database size. The
temporary directory is removed unless --keep is given. Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 600


def dangqun(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "dangqun.cli", *args], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=int, default=1_000_000, help="residents to create (default 1,000,000)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="residents per transaction")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-seed-bench-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PYTEST_VERSION"}}
    env |= {"DANGQUN_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "dangqun.config.settings"}
    env["PYTHONWARNINGS"] = "ignore"  # the SQLite W047 system-check note is not a figure
    try:
        dangqun("migrate", "-v0", "--skip-checks", env=env)
        seed = ["seed", "--scale", str(opts.scale)]
        if opts.batch_size:
            seed += ["--batch-size", str(opts.batch_size)]
        started = time.perf_counter()
        dangqun(*seed, env=env)
        elapsed = time.perf_counter() - started

        db = data_dir / "dangqun.sqlite3"
        with sqlite3.connect(db) as conn:
            users = conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0]
        size = sum(p.stat().st_size for p in data_dir.glob("dangqun.sqlite3*"))
        print()
        print(f"seed --scale {opts.scale:,}: {elapsed:.1f} s (whole command, incl. start-up)")
        print(f"  {opts.scale / elapsed:,.0f} residents/s; {users:,} users in the database")
        print(f"  database {size / 2**20:,.0f} MiB ({db})")
        verdict = "within" if elapsed <= TARGET_SECONDS else "OVER"
        print(f"  target for 1,000,000: <= {TARGET_SECONDS} s; this run is {verdict} it")
    finally:
        if opts.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
