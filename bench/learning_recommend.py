"""Recommendation latency for one member (50,000 items, 100,000 members) and the daily batch.

    uv run python bench/learning_recommend.py                              # 50,000 items, 100,000 members
    uv run python bench/learning_recommend.py --items 5000 --members 10000 # a quick run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/learning_recommend.py

Builds the world of bench/learning_common.py in a temporary database, then times:
  * building the per-process item index (TF-IDF over the token columns → truncated SVD);
  * `recommend.recommendations(user, 10)` for --samples random members on the live path
    (required items, the member's records, co-study neighbours, branch popularity, ranking),
    before any batch (p50/p95/p99);
  * the daily batch (`recommend.run_batch`) for every member, with its phases;
  * the same call on the stored path after the batch, and the HTTP API
    (`GET /api/v1/learning/recommendations`) through Django's test client.
Targets: p95 ≤ 50 ms for one member; the batch ≤ 5 minutes. Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from learning_common import build_world, percentile, setup_django

TARGET_MS = 50


def timed(fn, samples):
    times = []
    for s in samples:
        t = time.perf_counter()
        fn(s)
        times.append((time.perf_counter() - t) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    print(
        f"  {label:<34} p50 {percentile(times, 50):6.1f} ms   p95 {percentile(times, 95):6.1f} ms   "
        f"p99 {percentile(times, 99):6.1f} ms   (n={len(times)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=50000)
    parser.add_argument("--members", type=int, default=100000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--skip-batch", action="store_true")
    opts = parser.parse_args()
    done = setup_django("dangqun-learning-bench-")
    try:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from dangqun.learning import recommend

        world = build_world(items=opts.items, members=opts.members)
        User = get_user_model()
        rng = random.Random(7)
        sample_ids = rng.sample(world["uids"], min(opts.samples, len(world["uids"])))
        users = list(User.objects.filter(pk__in=sample_ids))
        t = time.monotonic()
        recommend.current()
        print(
            f"item index: {time.monotonic() - t:.1f} s for {opts.items:,} items "
            f"({recommend.current().index.emb.shape[1]} dimensions)"
        )
        recommend.recommendations(users[0], 10)  # warm
        print("one member, 10 recommendations:")
        report("live (no batch yet)", timed(lambda u: recommend.recommendations(u, 10), users))
        if not opts.skip_batch:
            t = time.monotonic()
            result = recommend.run_batch(chunk=2000)
            total = time.monotonic() - t
            print(
                f"daily batch: {result['learners']:,} members in {total:.1f} s "
                f"({total / 60:.2f} min; target 5 min) — phases: history {result['history_seconds']} s, "
                f"co-study {result['costudy_seconds']} s, ranking {result['rank_seconds']} s, "
                f"writes {result['write_seconds']} s, the rest reading profiles and branch popularity"
            )
            recommend.current()
            report("stored (after the batch)", timed(lambda u: recommend.recommendations(u, 10), users))
            # a member who just studied something: their stored list is stale, ranked live
            from django.utils import timezone

            from dangqun.learning.models import LearnerProfile

            LearnerProfile.objects.filter(user__in=users).update(changed_at=timezone.now())
            report("live (after the batch)", timed(lambda u: recommend.recommendations(u, 10), users))
        client = Client()
        api_times = []
        for u in users[:100]:
            client.force_login(u)
            t0 = time.perf_counter()
            response = client.get("/api/v1/learning/recommendations?limit=10")
            api_times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content  # noqa: S101 — a broken run is no figure
        report("HTTP API (test client)", api_times)
        print(f"  target p95 <= {TARGET_MS} ms per member")
    finally:
        done()


if __name__ == "__main__":
    sys.exit(main())
