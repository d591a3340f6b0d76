"""Time subtree and ancestor queries on a 10,000-node organization tree.

    uv run python bench/subtree.py                 # SQLite, in a temporary data directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/subtree.py
    uv run python bench/subtree.py --runs 50       # quicker

Builds the tree in bulk (primary keys pre-assigned, paths from orgs.models.encode_segment):
street → 25 communities (each a service hall with 3 windows) and 25 party committees →
4 党总支 each → 20 党支部 each → 3–4 党小组 each = 10,000 nodes. Then, for a node at every
depth, times `dangqun.orgs.queries.subtree(org)` three ways — `.count()`, the primary keys
only (`values_list("pk")`, what a scope filter needs) and the full fetch to a list of model
instances — and `ancestors(org)` to a list, over --runs runs each, and prints median and p95
in milliseconds, plus the query plan of the subtree range scan.

With DATABASE_URL pointing at PostgreSQL the script creates a scratch database next to the
named one (dropped at the end), so it never touches the data in `test`. Prints figures;
never fails on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TARGET_MS = 5.0
NODES = 10_000


def scratch_postgres(url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the server of `url`; returns its URL and a function dropping it."""
    import psycopg

    name = f"dangqun_bench_subtree_{os.getpid()}"
    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def build_tree() -> dict[str, object]:
    """10,000 organizations with realistic fan-out, inserted in bulk. Returns sample nodes."""
    from django.db import connection, transaction

    from dangqun.orgs.choices import OrgKind
    from dangqun.orgs.models import Organization, encode_segment

    nodes: list[Organization] = []

    def add(name: str, kind: str, parent: Organization | None) -> Organization:
        pk = len(nodes) + 1
        org = Organization(
            pk=pk,
            name=name,
            kind=kind,
            parent=parent,
            path=(parent.path if parent else "") + encode_segment(pk),
            depth=parent.depth + 1 if parent else 0,
        )
        nodes.append(org)
        return org

    street = add("幸福街道", OrgKind.STREET, None)
    for c in range(25):
        community = add(f"第{c + 1}社区", OrgKind.COMMUNITY, street)
        hall = add(f"第{c + 1}社区党群服务中心", OrgKind.SERVICE_HALL, community)
        for w in range(3):
            add(f"{w + 1}号窗口", OrgKind.WINDOW, hall)
    branches = []
    for p in range(25):
        committee = add(f"第{p + 1}党委", OrgKind.PARTY_COMMITTEE, street)
        for g in range(4):
            general = add(f"第{g + 1}党总支", OrgKind.GENERAL_BRANCH, committee)
            for b in range(20):
                branches.append(add(f"第{b + 1}党支部", OrgKind.BRANCH, general))
    groups_left = NODES - len(nodes)
    for i, branch in enumerate(branches):  # 3 or 4 groups each, 10,000 nodes in all
        share = groups_left // (len(branches) - i)
        for k in range(share):
            add(f"第{k + 1}党小组", OrgKind.GROUP, branch)
        groups_left -= share
    assert len(nodes) == NODES  # noqa: S101 — the benchmark's own arithmetic

    with transaction.atomic():
        Organization.objects.bulk_create(nodes, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "postgresql":
            from django.core.management.color import no_style

            for sql in connection.ops.sequence_reset_sql(no_style(), [Organization]):
                cursor.execute(sql)

    mid_committee = [n for n in nodes if n.kind == OrgKind.PARTY_COMMITTEE][12]
    general = next(n for n in nodes if n.kind == OrgKind.GENERAL_BRANCH and n.parent_id == mid_committee.pk)
    branch = next(n for n in nodes if n.kind == OrgKind.BRANCH and n.parent_id == general.pk)
    leaf = next(n for n in reversed(nodes) if n.kind == OrgKind.GROUP)
    samples = {
        "root 街道": street,
        "党委 (depth 1)": mid_committee,
        "党总支 (depth 2)": general,
        "党支部 (depth 3)": branch,
        "党小组 leaf (depth 4)": leaf,
    }
    return {label: Organization.objects.get(pk=n.pk) for label, n in samples.items()}


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, object]:
    for _ in range(min(5, runs)):  # warm the caches and the connection
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
    parser.add_argument("--runs", type=int, default=200, help="timed runs per query (default 200)")
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-subtree-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"  # no query log: measure what production runs
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"], cleanup = scratch_postgres(given)
    else:
        os.environ.pop("DATABASE_URL", None)

    import warnings

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dangqun.orgs import queries

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        samples = build_tree()
        version = (
            connection.cursor().connection.info.server_version if connection.vendor == "postgresql" else ""
        )
        engine = f"PostgreSQL {version}" if version else f"SQLite {connection.Database.sqlite_version}"
        print(f"{engine}: {NODES:,} organizations; {opts.runs} runs per query; times in ms (median / p95)")
        heads = ["count()", "pks only", "full list", "ancestors"]
        print(f"{'node':<22}{'rows':>7}  " + "  ".join(f"{h:>15}" for h in heads))
        for label, org in samples.items():
            qs = lambda org=org: queries.subtree(org)  # noqa: E731
            count_med, count_p95, rows = timed(lambda qs=qs: qs().count(), opts.runs)
            pk_med, pk_p95, _ = timed(lambda qs=qs: list(qs().values_list("pk", flat=True)), opts.runs)
            full_med, full_p95, _ = timed(lambda qs=qs: list(qs()), opts.runs)
            anc_med, anc_p95, _ = timed(lambda org=org: list(queries.ancestors(org)), opts.runs)
            cells = [(count_med, count_p95), (pk_med, pk_p95), (full_med, full_p95), (anc_med, anc_p95)]
            print(f"{label:<20}{rows:>9,}  " + "  ".join(f"{m:>7.2f} / {p:>5.2f}" for m, p in cells))
        print(f"target: a subtree query <= {TARGET_MS} ms")
        sql, params = queries.subtree(samples["党委 (depth 1)"]).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                ("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params
            )
            plan = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
        print("plan of subtree():", *plan, sep="\n  ")
    finally:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
