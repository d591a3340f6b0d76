"""Rows per second of the Excel roster import (members.importing.do_import_members).

    uv run python bench/member_import.py                                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/member_import.py
    uv run python bench/member_import.py --sizes 2000                                      # quicker

In-process (no HTTP): a fresh database with a 基层党委 of 10 党支部 (2 党小组 each) and a street
administrator. For each size (default 5,000 and 20,000 rows) it writes a roster .xlsx the way
the export does (openpyxl write-only, the export's headers; every status, real dates, phones,
groups, 1 row in 100 with an error), then times, end to end from the file's bytes:

- check  — `dry_run=True`: the file checks, reading every row, the checks against the records;
- import — `valid_only=True`: the same, then the bulk insert, the counters and the audit event,
           in one transaction (the figure the target is about);
- again  — the same file once more: every person is found by the ID blind index, nothing new.

Target: ≥ 2,000 rows/s for the import. With DATABASE_URL pointing at PostgreSQL a scratch
database is created next to the named one and dropped at the end. Prints; never fails on time.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

TARGET_ROWS_PER_S = 2000
STATUSES = ["入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员", "正式党员", "正式党员"]


def id_for(n: int) -> str:
    from dangqun.core.validators import id_check_char

    born = date(1950, 1, 1) + timedelta(days=n // 900)
    first17 = f"510104{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_check_char(first17)


def roster_bytes(rows: int, first: int, branches: list[str]) -> bytes:
    from openpyxl import Workbook

    from dangqun.members.exporting import COLUMNS

    headers = [c.header for c in COLUMNS]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员名册")
    ws.append(headers)
    for i in range(rows):
        n = first + i
        status = STATUSES[n % len(STATUSES)]
        row = {
            "姓名": f"导入{n}",
            "身份证号": id_for(n) if i % 100 != 50 else id_for(n)[:-1] + "Z",  # 1% bad
            "手机号": f"139{n:08d}",
            "党支部": branches[n % len(branches)],
            "党小组": "第一党小组" if n % 2 else "第二党小组",
            "身份": status,
            "职业": "职员",
        }
        if status in ("入党申请人", "入党积极分子", "发展对象"):
            row["递交入党申请书日期"] = date(2022, 3, 1)
        if status in ("入党积极分子", "发展对象"):
            row["列为入党积极分子日期"] = date(2022, 6, 1)
        if status == "发展对象":
            row["列为发展对象日期"] = date(2023, 7, 1)
        if status == "预备党员":
            row["接收为预备党员日期"] = date(2025, 9, 1)
        if status == "正式党员":
            row["接收为预备党员日期"] = date(2015, 7, 1)
            row["转为正式党员日期"] = date(2016, 7, 1)
            row["党费类别"] = "在职"
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000], help="rows per file")
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-import-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"
    os.environ["HUEY_IMMEDIATE"] = "1"  # the audit seal runs after commit, as in a test
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        sys.path.insert(0, str(Path(__file__).parent))
        from subtree import scratch_postgres

        os.environ["DATABASE_URL"], cleanup = scratch_postgres(given)
    else:
        os.environ.pop("DATABASE_URL", None)

    import warnings

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dangqun.accounts.models import User
    from dangqun.members.importing import do_import_members
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        admin = User.objects.create_superuser("bench", "bench@example.org", "Bench-Passw0rd!")
        street = do_create_organization(name="幸福街道", kind=OrgKind.STREET, parent=None, actor=admin)
        committee = do_create_organization(
            name="幸福街道党工委", kind=OrgKind.PARTY_COMMITTEE, parent=street, actor=admin
        )
        names = []
        for b in range(10):
            branch = do_create_organization(
                name=f"第{b + 1}党支部", kind=OrgKind.BRANCH, parent=committee, actor=admin
            )
            for g in ("第一党小组", "第二党小组"):
                do_create_organization(name=g, kind=OrgKind.GROUP, parent=branch, actor=admin)
            names.append(branch.name)
        version = (
            connection.cursor().connection.info.server_version if connection.vendor == "postgresql" else ""
        )
        engine = f"PostgreSQL {version}" if version else f"SQLite {connection.Database.sqlite_version}"
        print(
            f"{engine}; {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        first = 0
        for size in opts.sizes:
            t0 = time.perf_counter()
            data = roster_bytes(size, first, names)
            first += size
            print(
                f"{size:,} rows: file {len(data) / 1024:,.0f} KiB, "
                f"written in {time.perf_counter() - t0:.1f} s"
            )
            for label, kwargs in (
                ("check", {"dry_run": True}),
                ("import", {"valid_only": True}),
                ("again", {"valid_only": True}),
            ):
                t0 = time.perf_counter()
                report = do_import_members(data, actor=admin, **kwargs)
                elapsed = time.perf_counter() - t0
                print(
                    f"  {label:<7}{elapsed:7.2f} s  {size / elapsed:8,.0f} rows/s   "
                    f"created {report.created:,}, unchanged {report.unchanged:,}, "
                    f"error rows {report.error_rows:,}"
                )
        print(f"target: >= {TARGET_ROWS_PER_S:,} rows/s for the import")
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
