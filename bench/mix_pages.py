"""CPU per request of three requests of the load mix (ops/locustfile.py), in-process.

    uv run python bench/mix_pages.py                       # seeds a throwaway demo street
    uv run python bench/mix_pages.py --keep                # keep the data directory (path printed)
    uv run python bench/mix_pages.py --data-dir DIR        # reuse a kept one (no seeding)
    uv run python bench/mix_pages.py --data-dir DIR --profile guide   # cProfile of one kind
                                                       # (PSTATS_FILTER=regex narrows the listing)

Seeds the demo street as ops/prove.py does (`dangqun seed --scale 600`, then ops/fixtures.py
prepare: bearer tokens for the demo accounts and the load item), submits --applications
applications to the load item as residents (the staff queue has rows, as during a load run),
then sends the locustfile's requests through Django's test client:

* guide page — `GET /services/<code>/` anonymous, over the first 60 active items (as the load);
* learning — `GET /api/v1/learning/recommendations?limit=10` as the demo member (bearer token);
* staff queue — `GET /api/v1/queue?page_size=20` as the window and the department administrator.

After a warm-up, --rounds alternating rounds of --per-round requests of each kind; per round the
CPU of this process (time.process_time) per request. This VM's speed swings by ±30 %, so
the kinds alternate and the median and the best round are printed. Also prints the queries per
request. Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(data_dir: Path, fresh: bool, applications: int) -> dict:
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"
    os.environ.pop("PYTEST_VERSION", None)
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["HUEY_IMMEDIATE"] = "1"
    import django

    django.setup()
    import json

    from django.core.management import call_command

    fixtures_file = data_dir / "fixtures.json"
    if fresh:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
            t = time.monotonic()
            call_command("seed", "--no-progress", "--scale", "600", stdout=open(os.devnull, "w"))  # noqa: SIM115
        sys.path.insert(0, str(ROOT / "ops"))
        from fixtures import prepare

        fixtures = prepare(20)
        print(f"seeded the demo street in {time.monotonic() - t:.1f} s")
        submit(fixtures, applications)
        fixtures_file.write_text(json.dumps(fixtures))
    return json.loads(fixtures_file.read_text())


def submit(fixtures: dict, n: int) -> None:
    """n applications to the load item through the API, as the load's residents do."""
    import json
    import uuid

    from django.test import Client

    client = Client()
    body = json.dumps({"form": {"applicant_name": "压测居民"}, "consent": True})
    residents = fixtures["tokens"]["residents"]
    for i in range(n):
        _name, token = residents[i % len(residents)]
        r = client.post(
            f"/api/v1/services/{fixtures['item']}/applications",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code in (200, 201), r.content  # noqa: S101 — a broken run is no figure


def kinds(fixtures: dict):
    from django.test import Client

    client = Client()
    tokens = fixtures["tokens"]
    guides = fixtures["guides"]
    state = {"g": 0, "q": 0}

    def guide():
        state["g"] += 1
        return client.get(f"/services/{guides[state['g'] % len(guides)]}/")

    def learning():
        return client.get(
            "/api/v1/learning/recommendations?limit=10",
            headers={"Authorization": f"Bearer {tokens['member']}"},
        )

    def queue():
        state["q"] += 1
        who = ("window", "dept_admin")[state["q"] % 2]
        return client.get("/api/v1/queue?page_size=20", headers={"Authorization": f"Bearer {tokens[who]}"})

    return {"guide page": guide, "learning": learning, "staff queue": queue}


def queries_of(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200, response.content[:500]  # noqa: S101
    return len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="a kept data directory (no seeding)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--profile", default="", help="cProfile one kind: guide, learning or queue")
    opts = parser.parse_args()
    fresh = opts.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-mix-")) if fresh else opts.data_dir
    try:
        fixtures = setup(data_dir, fresh, opts.applications)
        requests = kinds(fixtures)
        for fn in requests.values():  # warm-up: templates, the indexes, the per-process caches
            for _ in range(30):
                response = fn()
                assert response.status_code == 200, response.content[:500]  # noqa: S101
        if opts.profile:
            import cProfile
            import pstats

            fn = next(f for name, f in requests.items() if opts.profile in name)
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(opts.per_round):
                fn()
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(os.environ.get("PSTATS_FILTER", ""), 60)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
            return
        per: dict[str, list[float]] = {name: [] for name in requests}
        for _round in range(opts.rounds):
            for name, fn in requests.items():
                t = time.process_time()
                for _ in range(opts.per_round):
                    fn()
                per[name].append((time.process_time() - t) * 1000 / opts.per_round)
        print(f"CPU per request (ms), {opts.rounds} rounds × {opts.per_round} requests, in-process (SQLite)")
        for name, fn in requests.items():
            runs = per[name]
            print(
                f"  {name:<12} median {statistics.median(runs):5.2f}   best {min(runs):5.2f}   "
                f"worst {max(runs):5.2f}   queries {queries_of(fn)}"
            )
    finally:
        if fresh and not opts.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif fresh:
            print(f"data kept in {data_dir} (reuse with --data-dir)")


if __name__ == "__main__":
    sys.exit(main())
