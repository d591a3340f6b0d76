"""Push fan-out to 100,000 recipients: in-app, e-mail digest and RSS, then a re-run.

    uv run python bench/learning_push.py                   # 100,000 recipients
    uv run python bench/learning_push.py --members 20000

Builds 100,000 learners (half with an e-mail address; locmem mail backend) under one street,
a source with approved products, and a push to the whole street over in-app + e-mail + RSS,
run in-process (tasks.run_push, as the huey worker runs it). Prints the time of the fan-out
(delivery rows), the in-app notifications, the digests, and of a second run that must send
nothing. Target: ≤ 2 minutes for 100,000 recipients. Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import sys
import time

from learning_common import build_world, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100000)
    opts = parser.parse_args()
    done = setup_django("dangqun-learning-push-")
    try:
        from django.core import mail

        from dangqun.core.models import Notification
        from dangqun.learning import actions, tasks
        from dangqun.learning.models import Delivery, Push

        world = build_world(items=100, members=opts.members, records=False)
        admin = world["admin"]
        source = actions.do_create_source(
            organization=world["street"], title="基准推送", body="正文。" * 20, actor=admin
        )
        for p in source.products.all():
            actions.do_approve_product(p, actor=admin)
        push = Push.objects.create(
            source=source,
            audience=[{"org": world["street"].pk, "posts": [], "ages": []}],
            channels=["in_app", "email", "rss"],
        )
        mail.outbox = []
        t = time.monotonic()
        tasks.run_push.call_local(push.pk)
        first = time.monotonic() - t
        n = Delivery.objects.filter(push=push).count()
        print(
            f"first run: {first:.1f} s for {Delivery.objects.filter(push=push, channel='in_app').count():,} "
            f"recipients — {n:,} deliveries, {Notification.objects.count():,} in-app notifications, "
            f"{len(mail.outbox):,} digest mails (target 2 min)"
        )
        t = time.monotonic()
        tasks.run_push.call_local(push.pk)
        again = time.monotonic() - t
        print(
            f"re-run: {again:.1f} s — deliveries {Delivery.objects.filter(push=push).count():,} (unchanged), "
            f"notifications {Notification.objects.count():,}, mails {len(mail.outbox):,}"
        )
    finally:
        done()


if __name__ == "__main__":
    sys.exit(main())
