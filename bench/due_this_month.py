"""Time "due this month" (members.queries.due_items) for a 基层党委 of 500 branches, 20,000 members.

    uv run python bench/due_this_month.py                                                   # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/due_this_month.py
    uv run python bench/due_this_month.py --runs 20                                         # quicker

Builds in bulk one 基层党委 → 25 党总支 → 20 党支部 each (500 branches), 40 people per branch
(20,000): about 75% full members, 8% probationary (admitted over the last 14 months, half of
those past probation with the 转正 meeting held), 5% applicants (half talked to), 7% activists
(activist dates over two years, so a sixth of them have a review this month) and 5% candidates
(a third had their 支部大会), with their recorded development steps (≈ 24,000 rows for the two
党委). A second 党委 of the same size sits beside it, so the scope filter matters.

Then times, over --runs runs, `due_items(committee, month, today)` — two index-backed queries
(the members: talk, activist review, end of probation; the recorded meetings awaiting approval)
and the Python that turns their rows into items — for the whole 党委 and for one 党支部.
Target: ≤ 100 ms for the 党委.
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
from datetime import date, timedelta
from pathlib import Path

TARGET_MS = 100.0
TODAY = date(2026, 6, 15)
BRANCHES = 500
PER_BRANCH = 40


def build(committees: int = 2) -> list:
    """Two 党委 of 500 branches and 20,000 people each; returns the 党委."""
    from django.db import connection, transaction

    from dangqun.members.choices import Status
    from dangqun.members.models import DevelopmentStep, PartyMember
    from dangqun.members.rules import add_months, add_years
    from dangqun.orgs.choices import OrgKind
    from dangqun.orgs.models import Organization, encode_segment

    rng = random.Random(20260615)
    orgs: list[Organization] = []

    def add(name: str, kind: str, parent: Organization | None) -> Organization:
        pk = len(orgs) + 1
        org = Organization(
            pk=pk,
            name=name,
            kind=kind,
            parent=parent,
            path=(parent.path if parent else "") + encode_segment(pk),
            depth=parent.depth + 1 if parent else 0,
        )
        orgs.append(org)
        return org

    street = add("幸福街道", OrgKind.STREET, None)
    tops, branches = [], []
    for c in range(committees):
        top = add(f"第{c + 1}党委", OrgKind.PARTY_COMMITTEE, street)
        tops.append(top)
        for g in range(25):
            general = add(f"第{g + 1}党总支", OrgKind.GENERAL_BRANCH, top)
            branches += [add(f"第{c + 1}-{g + 1}-{b + 1}党支部", OrgKind.BRANCH, general) for b in range(20)]

    def day_between(a: date, b: date) -> date:
        return a + timedelta(days=rng.randrange((b - a).days + 1))

    members: list[PartyMember] = []
    steps: list[tuple[int, int, date]] = []  # (member index, step, date)
    pk = 0
    for branch in branches:
        for _ in range(PER_BRANCH):
            pk += 1
            roll = rng.random()
            m = {"pk": pk, "name": f"党员{pk}", "name_pinyin": f"dangyuan{pk} dy", "branch_id": branch.pk}
            if roll < 0.05:  # applicants
                m["status"] = Status.APPLICANT
                m["applied_on"] = day_between(TODAY - timedelta(days=180), TODAY - timedelta(days=1))
                m["imported_through_step"] = 1
                if rng.random() < 0.5:
                    m["talked_on"] = m["applied_on"] + timedelta(days=rng.randrange(5, 40))
                    m["imported_through_step"] = 2
            elif roll < 0.12:  # activists
                m["status"] = Status.ACTIVIST
                m["activist_on"] = day_between(TODAY - timedelta(days=730), TODAY - timedelta(days=10))
                m["applied_on"] = m["activist_on"] - timedelta(days=90)
                m["imported_through_step"] = 3
            elif roll < 0.17:  # candidates
                m["status"] = Status.CANDIDATE
                m["candidate_on"] = day_between(TODAY - timedelta(days=360), TODAY - timedelta(days=30))
                m["activist_on"] = add_years(m["candidate_on"], -1) - timedelta(days=10)
                m["applied_on"] = m["activist_on"] - timedelta(days=90)
                m["imported_through_step"] = 7
                if rng.random() < 0.33:
                    steps.append(
                        (len(members), 15, day_between(m["candidate_on"], TODAY - timedelta(days=1)))
                    )
            elif roll < 0.25:  # probationary
                m["status"] = Status.PROBATIONARY
                m["admitted_on"] = day_between(TODAY - timedelta(days=420), TODAY - timedelta(days=10))
                m["probation_ends_on"] = add_years(m["admitted_on"], 1)
                m["imported_through_step"] = 18
                if m["probation_ends_on"] < TODAY and rng.random() < 0.5:
                    met = day_between(m["probation_ends_on"], TODAY)
                    steps.append((len(members), 23, met))
            else:  # full members
                m["status"] = Status.FULL
                m["admitted_on"] = day_between(date(1980, 1, 1), date(2025, 1, 1))
                m["probation_ends_on"] = m["full_on"] = add_years(m["admitted_on"], 1)
                m["imported_through_step"] = 25
            members.append(PartyMember(**m))
    # Step rows of the people in development: 19, 20, 21 of probationary members as well.
    extra = []
    for i, m in enumerate(members):
        if m.status == Status.PROBATIONARY:
            extra += [(i, n, add_months(m.admitted_on, 1)) for n in (19, 20, 21)]
        elif m.status == Status.CANDIDATE:
            extra += [(i, n, m.candidate_on + timedelta(days=n)) for n in range(8, 15)]
    rows = [
        DevelopmentStep(member_id=members[i].pk, step=n, done_on=on, data={}, flags=[])
        for i, n, on in steps + extra
    ]
    with transaction.atomic():
        Organization.objects.bulk_create(orgs, batch_size=2000)
        PartyMember.objects.bulk_create(members, batch_size=2000)
        DevelopmentStep.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return (
        [Organization.objects.get(pk=t.pk) for t in tops],
        Organization.objects.get(pk=branches[0].pk),
        len(rows),
    )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    result = None
    for _ in range(min(3, runs)):  # warm the caches and the connection
        result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
    return statistics.median(times), p95, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="timed runs (default 50)")
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-due-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"  # no query log: measure what production runs
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
    from collections import Counter

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dangqun.core.rulesets import ruleset_for
    from dangqun.members.queries import due_items

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        (committee, _other), branch, step_rows = build()
        version = (
            connection.cursor().connection.info.server_version if connection.vendor == "postgresql" else ""
        )
        engine = f"PostgreSQL {version}" if version else f"SQLite {connection.Database.sqlite_version}"
        print(
            f"{engine}: 2 党委 × {BRANCHES} 党支部 × {PER_BRANCH} people = "
            f"{2 * BRANCHES * PER_BRANCH:,} people, "
            f"{step_rows:,} step rows (built in {time.perf_counter() - t0:.1f} s); today {TODAY}"
        )
        for label, org in (
            ("党委 (500 branches, 20,000 people)", committee),
            ("one 党支部 (40 people)", branch),
        ):
            rules = ruleset_for(org, TODAY, prefix="party.dev.")
            with CaptureQueriesContext(connection) as ctx:
                due_items(org, TODAY, TODAY, rules)
            med, p95, items = timed(
                lambda org=org, rules=rules: due_items(org, TODAY, TODAY, rules), opts.runs
            )
            kinds = Counter(i.kind for i in items)
            print(
                f"  {label:<34} median {med:7.2f} ms   p95 {p95:7.2f} ms   {len(items):,} items "
                f"({sum(i.overdue for i in items):,} overdue), {len(ctx.captured_queries)} queries"
            )
            print("    " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        med_rules, p95_rules, _ = timed(lambda: ruleset_for(committee, TODAY, prefix="party.dev."), opts.runs)
        print(f"  + reading the rule set: median {med_rules:.2f} ms, p95 {p95_rules:.2f} ms")
        print(f"target: <= {TARGET_MS:.0f} ms for the 党委")
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
