"""Distribution jobs: fan a push out to its recipients per channel, send, retry, never twice.

Each (push, channel, target) is one Delivery row under a unique constraint: the fan-out inserts
with ignore_conflicts, so running a push again adds rows only for recipients who are new, and a
row is sent only while pending. Channels:

* in-app — core.notifications.notify (unique per recipient and key), the phone card and the
  short summary; marked sent in the same transaction;
* e-mail digest — pending rows are bundled per recipient into one mail (send_email_digest, run
  after each push and every hour); a recipient without an address is marked skipped;
* RSS/Atom — one row per push (target "feed"): the web article appears in /learning/feed/;
* webhook — one row per push (target "webhook"), POSTed as JSON signed with HMAC-SM3 (the
  onestop scheme: header X-Dangqun-Signature: sm3=<hex>), retried with exponential backoff.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task
from huey.exceptions import RetryTask, TaskLockedException

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.locks import expiring_lock
from dangqun.core.notifications import notify
from dangqun.core.webhooks import TIMEOUT, post_signed
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import Channel, DeliveryStatus, ProductKind
from .models import Delivery, LearnerProfile, Product, Push

log = logging.getLogger(__name__)

CHUNK = 5000
MAX_ATTEMPTS = 8
BASE_DELAY = 30


def webhook_url() -> str:
    return getattr(settings, "LEARNING_WEBHOOK_URL", "") or os.environ.get("LEARNING_WEBHOOK_URL", "")


def webhook_secret() -> str:
    return getattr(settings, "LEARNING_WEBHOOK_SECRET", "") or os.environ.get("LEARNING_WEBHOOK_SECRET", "")


def ensure_profiles(org: Organization) -> int:
    """Learners of the subtree without a profile get one (so that a push reaches every member)."""
    from .actions import ensure_profile
    from .queries import learner_branch

    lo, hi = org.subtree_range()
    missing = (
        RoleGrant.objects.filter(
            role__in=[Role.MEMBER, Role.BRANCH_SECRETARY],
            organization__path__gte=lo,
            organization__path__lt=hi,
            user__learner_profile__isnull=True,
            user__is_active=True,
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    ids = list(missing)
    if not ids:
        return 0
    from dangqun.accounts.models import User

    simple = []
    for user in (
        User.objects.filter(pk__in=ids)
        .select_related("party_member__branch")
        .prefetch_related("grants__organization")
    ):
        if getattr(user, "party_member", None) is not None:
            ensure_profile(user)
        else:
            user.__dict__["_grant_cache"] = list(user.grants.all())
            simple.append(
                LearnerProfile(
                    user=user,
                    branch=learner_branch(user),
                    is_cadre=any(g.role == Role.BRANCH_SECRETARY for g in user.grants.all()),
                )
            )
    LearnerProfile.objects.bulk_create(simple, ignore_conflicts=True, batch_size=2000)
    return len(ids)


def recipients(push: Push) -> list[int]:
    """The union of the push's audience segments (user ids), minus those who hid its topic."""
    today = timezone.localdate()
    orgs = Organization.objects.in_bulk([s["org"] for s in push.audience])
    q = Q(pk__in=[])
    for seg in push.audience:
        org = orgs.get(seg["org"])
        if org is None:
            continue
        lo, hi = org.subtree_range()
        part = Q(branch__path__gte=lo, branch__path__lt=hi)
        if seg.get("posts"):
            part &= Q(post__in=seg["posts"])
        if seg.get("ages"):
            ages = Q(pk__in=[])
            for group in seg["ages"]:
                after, until = R.birth_range(group, today)
                a = Q()
                if after:
                    a &= Q(user__birth_date__gt=after)
                if until:
                    a &= Q(user__birth_date__lte=until)
                ages |= a
            part &= ages
        q |= part
    for org in orgs.values():
        ensure_profiles(org)
    ids = LearnerProfile.objects.filter(q, user__is_active=True).values_list("user_id", "hidden_topics")
    return sorted(uid for uid, hidden in ids if not (push.topic and push.topic in (hidden or [])))


def _products(push: Push) -> dict[str, Product]:
    return {p.kind: p for p in push.source.products.all()}


@db_task()
def run_push(push_id: int) -> dict[str, int]:
    """Fan out and send. Safe to run any number of times."""
    push = Push.objects.select_related("source").filter(pk=push_id).first()
    if push is None:
        return {}
    users = recipients(push)
    channels = push.channels
    per_user = [c for c in channels if c in (Channel.IN_APP, Channel.EMAIL)]
    for i in range(0, len(users), CHUNK):
        part = users[i : i + CHUNK]
        Delivery.objects.bulk_create(
            [Delivery(push=push, channel=c, target=f"u:{u}", recipient_id=u) for c in per_user for u in part],
            ignore_conflicts=True,
            batch_size=CHUNK,
        )
    for c, target in ((Channel.RSS, "feed"), (Channel.WEBHOOK, "webhook")):
        if c in channels:
            Delivery.objects.bulk_create(
                [Delivery(push=push, channel=c, target=target)], ignore_conflicts=True
            )
    Push.objects.filter(pk=push.pk).update(last_run_at=timezone.now(), recipients=len(users))
    sent = {}
    if Channel.IN_APP in channels:
        sent["in_app"] = send_in_app(push)
    if Channel.RSS in channels:
        sent["rss"] = Delivery.objects.filter(
            push=push, channel=Channel.RSS, status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=1)
    if Channel.WEBHOOK in channels:
        for pk in Delivery.objects.filter(
            push=push, channel=Channel.WEBHOOK, status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True):
            deliver_webhook(pk)
    if Channel.EMAIL in channels:
        sent["email"] = email_digest()
    return sent


def article_url(push: Push) -> str:
    return reverse("learning:article", args=[push.pk])


def send_in_app(push: Push) -> int:
    products = _products(push)
    card, sms = products.get(ProductKind.CARD), products.get(ProductKind.SMS)
    title = card.title if card else push.source.title
    body = sms.body if sms else ""
    url = article_url(push)
    sent = 0
    while True:
        pending = list(
            Delivery.objects.filter(
                push=push, channel=Channel.IN_APP, status=DeliveryStatus.PENDING
            ).values_list("pk", "recipient_id")[:CHUNK]
        )
        if not pending:
            return sent
        with transaction.atomic():
            notify([u for _pk, u in pending], f"learning:push:{push.pk}", title, body, url)
            Delivery.objects.filter(pk__in=[pk for pk, _u in pending]).update(
                status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=1
            )
        sent += len(pending)


@db_task()
def send_email_digest() -> int:
    return email_digest()


def email_digest() -> int:
    """One mail per recipient with every pending article; rows marked sent (or skipped) with it."""
    sent = 0
    connection = get_connection()
    while True:
        pending = list(
            Delivery.objects.filter(channel=Channel.EMAIL, status=DeliveryStatus.PENDING)
            .select_related("recipient", "push__source")
            .order_by("recipient_id", "pk")[:CHUNK]
        )
        if not pending:
            return sent
        by_user: dict[int, list[Delivery]] = defaultdict(list)
        for d in pending:
            by_user[d.recipient_id].append(d)
        webs = {
            p.source_id: p
            for p in Product.objects.filter(
                source_id__in={d.push.source_id for d in pending}, kind=ProductKind.WEB
            )
        }
        base = getattr(settings, "SITE_URL", "").rstrip("/")
        for deliveries in by_user.values():
            user = deliveries[0].recipient
            ids = [d.pk for d in deliveries]
            if not user or not user.email:
                Delivery.objects.filter(pk__in=ids).update(
                    status=DeliveryStatus.SKIPPED, attempts=1, last_error=_("无电子邮箱")
                )
                continue
            lines = []
            for d in deliveries:
                web = webs.get(d.push.source_id)
                lines.append(f"《{web.title if web else d.push.source.title}》 {base}{article_url(d.push)}")
            with transaction.atomic():
                # Claim first: a concurrent digest skips rows it cannot claim, so nobody gets two mails.
                claimed = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).update(
                    status=DeliveryStatus.SENT, sent_at=timezone.now(), attempts=1
                )
                if claimed != len(ids):
                    transaction.set_rollback(True)
                    continue
                send_mail(
                    _("学习推送摘要（%(n)s 篇）") % {"n": len(lines)},
                    "\n".join(lines),
                    None,
                    [user.email],
                    connection=connection,
                )
            sent += len(ids)


def _webhook_payload(push: Push) -> dict[str, Any]:
    products = _products(push)
    card, sms, web = (products.get(k) for k in (ProductKind.CARD, ProductKind.SMS, ProductKind.WEB))
    return {
        "push": push.pk,
        "source": push.source_id,
        "title": card.title if card else push.source.title,
        "card": card.body if card else "",
        "summary": sms.body if sms else "",
        "article_url": article_url(push),
        "web_title": web.title if web else "",
        "topic": push.topic,
        "recipients": push.recipients,
    }


def send_webhook_once(delivery_id: int) -> bool:
    with expiring_lock(f"learning-webhook-{delivery_id}", 3 * TIMEOUT):
        d = Delivery.objects.select_related("push__source").filter(pk=delivery_id).first()
        if d is None or d.status == DeliveryStatus.SENT:
            return True
        d.attempts += 1
        ok, error = post_signed(
            webhook_url(),
            _webhook_payload(d.push),
            secret=webhook_secret(),
            delivery=f"learning:{d.push_id}:{d.pk}",
        )
        if ok:
            d.status, d.sent_at = DeliveryStatus.SENT, timezone.now()
        elif d.attempts >= MAX_ATTEMPTS:
            d.status = DeliveryStatus.FAILED
        d.last_error = error
        d.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return ok


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    try:
        if send_webhook_once(delivery_id):
            return
    except TaskLockedException:
        return
    attempts = Delivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
    if attempts < MAX_ATTEMPTS:
        raise RetryTask(delay=BASE_DELAY * 2 ** (attempts - 1))
    log.error("learning webhook %s given up after %s attempts", delivery_id, attempts)


@db_periodic_task(crontab(minute="7"))
def retry_pending_deliveries() -> int:
    """Every hour: the e-mail digest, and webhooks whose job was lost (a killed worker)."""
    cutoff = timezone.now() - timedelta(minutes=10)
    stale = list(
        Delivery.objects.filter(
            channel=Channel.WEBHOOK, status=DeliveryStatus.PENDING, created_at__lt=cutoff
        ).values_list("pk", flat=True)[:500]
    )
    for pk in stale:
        deliver_webhook(pk)
    for push_id in set(
        Delivery.objects.filter(
            channel=Channel.IN_APP, status=DeliveryStatus.PENDING, created_at__lt=cutoff
        ).values_list("push_id", flat=True)[:100]
    ):
        push = Push.objects.select_related("source").get(pk=push_id)
        send_in_app(push)
    return email_digest() + len(stale)


@db_periodic_task(crontab(hour="2", minute="30"))
def daily_recommendations() -> dict[str, Any]:
    """The nightly batch of everybody's recommendations (see recommend.run_batch)."""
    from .recommend import run_batch

    return run_batch()
