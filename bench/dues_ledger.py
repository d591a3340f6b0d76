"""Time the monthly dues ledger (members.queries.dues_ledger) over 100,000 party members.

    uv run python bench/dues_ledger.py                                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/dues_ledger.py
    uv run python bench/dues_ledger.py --members 20000                                   # quicker

Builds in bulk 100 党支部 of 1,000 members each (9 in 10 full, 1 in 10 probationary admitted
during the year), a dues rate for last year and this year for everyone (from
members.rules.monthly_dues over random salaries and pensions), and payments: most members pay
month by month or a quarter at once, some fall behind, about 2% stop paying for half a year.
Then times, over --runs runs, the ledger for one month: the amount due per member and per
branch, what is paid, the arrears over the last 12 months and the 6-month lapse flag.

With DATABASE_URL pointing at PostgreSQL a scratch database is created next to the named one
and dropped at the end (bench/subtree.py's scratch_postgres). Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

TARGET_S = 10.0
BRANCH_SIZE = 1000
MONTH = date(2026, 6, 1)


RATE_COLUMNS = (
    "member_id",
    "year",
    "category",
    "base",
    "rate",
    "monthly_amount",
    "quarterly_approved_by",
    "hardship_approved_by",
    "set_at",
)
PAYMENT_COLUMNS = (
    "member_id",
    "period_start",
    "period_end",
    "months",
    "amount",
    "amount_due",
    "paid_on",
    "method",
    "large_payment",
    "idempotency_key",
    "note",
    "recorded_at",
)


def insert(model: type, columns: tuple[str, ...], rows: list[tuple], batch: int = 20_000) -> None:
    """Plain executemany into the model's table (values already in database form)."""
    from django.db import connection

    sql = 'INSERT INTO "{}" ({}) VALUES ({})'.format(  # noqa: S608 — names from the model's metadata
        model._meta.db_table, ", ".join(f'"{c}"' for c in columns), ", ".join(["%s"] * len(columns))
    )
    ops = connection.ops
    cleaned = [
        tuple(ops.adapt_decimalfield_value(v) if isinstance(v, Decimal) else v for v in row) for row in rows
    ]
    with connection.cursor() as cursor:
        for i in range(0, len(cleaned), batch):
            cursor.executemany(sql, cleaned[i : i + batch])


def build(members: int, seed: int) -> tuple[int, int, int]:
    """Branches, members, rates and payments in bulk; returns the row counts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from dangqun.members import rules as R
    from dangqun.members.choices import DuesCategory, PaymentMethod, Status
    from dangqun.members.models import DuesPayment, DuesRate, PartyMember
    from dangqun.orgs.choices import OrgKind
    from dangqun.orgs.models import Organization, encode_segment

    rnd = random.Random(seed)
    now = timezone.now()
    rules = R.default_ruleset(MONTH)
    orgs: list[Organization] = []

    def org(name: str, kind: str, parent: Organization | None) -> Organization:
        pk = len(orgs) + 1
        o = Organization(
            pk=pk,
            name=name,
            kind=kind,
            parent=parent,
            path=(parent.path if parent else "") + encode_segment(pk),
            depth=parent.depth + 1 if parent else 0,
        )
        orgs.append(o)
        return o

    street = org("幸福街道", OrgKind.STREET, None)
    n_branches = max(1, members // BRANCH_SIZE)
    committees = [org(f"第{i + 1}党委", OrgKind.PARTY_COMMITTEE, street) for i in range(5)]
    branches = [org(f"第{b + 1}党支部", OrgKind.BRANCH, committees[b % 5]) for b in range(n_branches)]

    people: list[PartyMember] = []
    rates: list[DuesRate] = []
    payments: list[DuesPayment] = []
    first_month = R.add_months(MONTH, -11)
    for i in range(members):
        pk = i + 1
        probationary = rnd.random() < 0.1
        admitted = (
            date(MONTH.year, rnd.randint(1, 5), rnd.randint(1, 28)) if probationary else date(2010, 7, 1)
        )
        people.append(
            PartyMember(
                pk=pk,
                name=f"党员{pk}",
                branch=branches[i % n_branches],
                status=Status.PROBATIONARY if probationary else Status.FULL,
                admitted_on=admitted,
                full_on=None if probationary else date(2011, 7, 1),
                imported_through_step=18 if probationary else 25,
            )
        )
        category = DuesCategory.RETIRED if rnd.random() < 0.3 else DuesCategory.EMPLOYED
        for year in (MONTH.year - 1, MONTH.year):
            income = Decimal(rnd.randint(150000, 1500000)) / 100
            base, rate, amount = R.monthly_dues(category, income, rules)
            rates.append((pk, year, category, base, rate, amount, "", "", now))
        # Payment habits: 60% monthly, 30% a quarter at once, 8% behind by a few months, 2% lapsed.
        habit = rnd.random()
        start = max(first_month, R.month_of(admitted))
        stop = (
            R.add_months(MONTH, -6)
            if habit > 0.98
            else R.add_months(MONTH, -rnd.randint(1, 3))
            if habit > 0.9
            else MONTH
        )
        step = 3 if 0.6 <= habit < 0.9 else 1
        m = start
        while m <= stop:
            months = min(step, (stop.year - m.year) * 12 + stop.month - m.month + 1)
            amount = Decimal("45.00") * months
            method = PaymentMethod.QUARTERLY if months == 3 else PaymentMethod.MONTHLY
            end = R.add_months(m, months - 1)
            payments.append(
                (pk, m, end, months, amount, amount, m, method, False, f"b-{pk}-{m:%Y%m}", "", now)
            )
            m = R.add_months(m, months)

    with transaction.atomic():
        Organization.objects.bulk_create(orgs, batch_size=2000)
        PartyMember.objects.bulk_create(people, batch_size=5000)
        # Rates and payments (a million rows) go in with executemany: model instances would
        # spend minutes in Python building what the ledger only reads.
        insert(DuesRate, RATE_COLUMNS, rates)
        insert(DuesPayment, PAYMENT_COLUMNS, payments)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(people), len(rates), len(payments)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000, help="party members (default 100,000)")
    parser.add_argument("--runs", type=int, default=3, help="timed ledger runs (default 3)")
    parser.add_argument("--seed", type=int, default=20260601)
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-dues-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"  # no query log: measure what production runs
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        from subtree import scratch_postgres  # bench/ is on sys.path when run as a script

        os.environ["DATABASE_URL"], cleanup = scratch_postgres(given)
    else:
        os.environ.pop("DATABASE_URL", None)

    import warnings

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dangqun.members.queries import dues_ledger

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        started = time.perf_counter()
        n_members, n_rates, n_payments = build(opts.members, opts.seed)
        built = time.perf_counter() - started
        version = (
            connection.cursor().connection.info.server_version if connection.vendor == "postgresql" else ""
        )
        engine = f"PostgreSQL {version}" if version else f"SQLite {connection.Database.sqlite_version}"
        print(f"{engine}: built {n_members:,} members, {n_rates:,} rates, {n_payments:,} payments", end="")
        print(f" in {built:.1f} s")
        times = []
        for _ in range(opts.runs):
            started = time.perf_counter()
            ledger = dues_ledger(MONTH)
            times.append(time.perf_counter() - started)
        branches = ledger.branches.values()
        due = sum(b.due for b in branches)
        paid = sum(b.paid for b in branches)
        arrears = sum(b.arrears_amount for b in branches)
        unpaid = sum(b.unpaid_members for b in branches)
        lapses = sum(b.suspected_lapses for b in branches)
        print(
            f"ledger for {MONTH:%Y-%m}: {len(ledger.rows):,} members in {len(ledger.branches):,} branches; "
            f"median {statistics.median(times):.2f} s, best {min(times):.2f} s over {opts.runs} runs"
        )
        print(f"  due {due:,.2f} yuan, paid {paid:,.2f}, outstanding {due - paid:,.2f}")
        print(
            f"  {unpaid:,} members unpaid; 12-month arrears {arrears:,.2f}; {lapses:,} flagged 疑似自行脱党"
        )
        print(f"target: <= {TARGET_S:.0f} s for 100,000 members")
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
