"""Shared set-up of the learning benchmarks: a temporary database and a generated world.

The world: one street, one party committee and `members / 500` branches (500 learners each);
`items` published items whose texts follow the offline evaluation's generator (12 topics, a
vocabulary of 40 words per topic plus 200 shared words; learning/evaluation.py); `members`
learners with a post and a hidden topic preference; each finished 4–20 items drawn by that
preference (about 12 on average). Rows are bulk-inserted (the point is to time the reads), with
the search columns filled as the actions fill them.
"""

from __future__ import annotations

import datetime
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def setup_django(prefix: str) -> Callable[[], None]:
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ["HUEY_IMMEDIATE"] = "1"
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call_command("migrate", verbosity=0)

    def done() -> None:
        cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)

    return done


def build_world(*, items: int, members: int, records: bool = True, seed: int = 2026) -> dict:
    import numpy as np
    from django.db import transaction
    from django.utils import timezone

    from dangqun.accounts.choices import Role
    from dangqun.accounts.models import RoleGrant, User
    from dangqun.learning.choices import Post, Topic
    from dangqun.learning.evaluation import TOPIC_POSTS
    from dangqun.learning.models import ContentItem, LearnerProfile, Requirement, StudyRecord
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    t0 = time.monotonic()
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    admin = User.objects.create_superuser("bench_admin", "b@example.org", "x")
    street = do_create_organization(name="基准街道", kind=OrgKind.STREET, parent=None, actor=admin)
    committee = do_create_organization(
        name="基准党工委", kind=OrgKind.PARTY_COMMITTEE, parent=street, actor=admin
    )
    n_branches = max(1, members // 500)
    branches = [
        do_create_organization(
            name=f"第{i + 1}党支部",
            kind=OrgKind.BRANCH,
            parent=committee,
            actor=admin,
            is_village_or_community=i % 3 == 0,
        )
        for i in range(n_branches)
    ]
    topics = list(Topic.values)
    vocab = {t: [f"{t}词{k}" for k in range(40)] for t in topics}
    common = [f"通用词{k}" for k in range(200)]
    now = timezone.now()
    rows = []
    for i in range(items):
        t = topics[i % len(topics)]
        words = rng.sample(vocab[t], 8) + rng.sample(common, 4)
        posts = rng.sample(TOPIC_POSTS[t], min(len(TOPIC_POSTS[t]), rng.randint(1, 2)))
        rows.append(
            ContentItem(
                kind="article",
                title=f"{Topic(t).label}学习材料{i + 1}",
                topic=t,
                posts=posts,
                summary="",
                body="",
                minutes=30,
                status="published",
                search_name=" ".join(words[:4]),
                search_text=" ".join(words[4:]),
                published_at=now - datetime.timedelta(days=rng.uniform(0, 365)),
            )
        )
    with transaction.atomic():
        ContentItem.objects.bulk_create(rows, batch_size=5000)
    item_ids = np.array(list(ContentItem.objects.order_by("pk").values_list("pk", flat=True)))
    t_items = time.monotonic()
    posts = [p for p in Post.values if p != Post.OTHER]
    users = [
        User(
            username=f"bl{i:06d}",
            password="!",
            full_name=f"学员{i}",
            email=f"bl{i}@example.org" if i % 2 == 0 else "",
        )
        for i in range(members)
    ]
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=5000)
    uids = list(User.objects.filter(username__startswith="bl").order_by("pk").values_list("pk", flat=True))
    grants, profiles = [], []
    user_posts = []
    for k, uid in enumerate(uids):
        br = branches[k % n_branches]
        post = rng.choice(posts)
        user_posts.append(post)
        grants.append(RoleGrant(user_id=uid, role=Role.MEMBER, organization=br))
        profiles.append(LearnerProfile(user_id=uid, branch=br, post=post))
    with transaction.atomic():
        RoleGrant.objects.bulk_create(grants, batch_size=5000)
        LearnerProfile.objects.bulk_create(profiles, batch_size=5000)
    t_users = time.monotonic()
    n_records = 0
    if records:
        # Per topic, the items and the cumulative appeal: a draw is a topic by the learner's
        # preference, then an item of it by appeal (searchsorted), without a 50,000-wide choice.
        appeal = 1.0 / (1 + nrng.random(items) * 20) ** 1.2
        topic_items = [np.arange(k, items, len(topics)) for k in range(len(topics))]
        cums = [np.cumsum(appeal[ix]) / appeal[ix].sum() for ix in topic_items]
        batch = []
        for uid in uids:
            pref = nrng.dirichlet([0.3] * len(topics))
            drawn = nrng.choice(len(topics), size=rng.randint(4, 20), p=pref)
            chosen = dict.fromkeys(
                int(topic_items[t][min(len(cums[t]) - 1, np.searchsorted(cums[t], nrng.random()))])
                for t in drawn
            )
            for j, c in enumerate(chosen):
                at = now - datetime.timedelta(days=80 - j)
                batch.append(
                    StudyRecord(
                        user_id=uid,
                        item_id=int(item_ids[c]),
                        opened_at=at,
                        finished_at=at,
                        seconds_spent=1800,
                        credited_seconds=1800,
                        year=at.year,
                    )
                )
            if len(batch) >= 50000:
                with transaction.atomic():
                    StudyRecord.objects.bulk_create(batch, batch_size=5000)
                n_records += len(batch)
                batch = []
        with transaction.atomic():
            StudyRecord.objects.bulk_create(batch, batch_size=5000)
        n_records += len(batch)
        Requirement.objects.create(
            organization=committee,
            item_id=int(item_ids[0]),
            year=now.year,
            due_on=now.date().replace(month=12, day=31),
        )
    t_records = time.monotonic()
    print(
        f"world: {items:,} items ({t_items - t0:.1f} s), {members:,} learners in {n_branches} branches "
        f"({t_users - t_items:.1f} s), {n_records:,} study records ({t_records - t_users:.1f} s)"
    )
    return {"street": street, "committee": committee, "branches": branches, "uids": uids, "admin": admin}


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]
