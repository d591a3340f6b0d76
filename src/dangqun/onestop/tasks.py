"""Telling the applicant about each change of their application, after the transaction commits.

In-app (core.notifications.notify, one key per application event), e-mail when the applicant has
an address (sent only when the in-app notice was new, so a retried job does not mail twice), and
an outgoing webhook when settings.ONESTOP_WEBHOOK_URL is set: one WebhookDelivery row per event
(unique key), signed with HMAC-SM3 over the body (header X-Dangqun-Signature: sm3=<hex>),
delivered by a huey task with exponential backoff; a per-delivery lock and the delivered stamp
make sure it is never sent twice.

Hourly, the 容缺逾期 scan (actions.flag_missed_deficiencies) flags applications whose deadline for
minor materials has passed, once each; staff decide.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task
from huey.exceptions import RetryTask, TaskLockedException

from dangqun.core.locks import expiring_lock
from dangqun.core.notifications import notify
from dangqun.core.webhooks import TIMEOUT, post_signed

from .choices import Outcome, State
from .models import Application, Event, WebhookDelivery

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 30  # seconds: 30, 60, 120 … about 1 hour before the last try
LOCK_SECONDS = 3 * TIMEOUT  # longer than one send; a killed sender's lock ends by itself
LOST_AFTER = timedelta(minutes=2)  # a delivery never tried by then lost its job
SWEEP_AFTER_SECONDS = 60  # an announcement still pending after this was lost on the way
SWEEP_BATCH = 2000


def webhook_url() -> str:
    return getattr(settings, "ONESTOP_WEBHOOK_URL", "") or os.environ.get("ONESTOP_WEBHOOK_URL", "")


def webhook_secret() -> str:
    return getattr(settings, "ONESTOP_WEBHOOK_SECRET", "") or os.environ.get("ONESTOP_WEBHOOK_SECRET", "")


def message_for(app: Application, event: Event) -> tuple[str, str]:
    name = app.item.name
    number = app.number or ""
    texts = {
        "submit": _("已收到您的申请，承诺办结日期 %(d)s。") % {"d": app.promised_due},
        "accept": (
            _("您的申请已受理（容缺受理）。请于 %(d)s（含当日）前补齐：%(m)s。%(c)s")
            % {
                "d": event.data.get("deficiency_due"),
                "m": "、".join(event.data.get("deficient", [])),
                "c": event.data.get("consequence", ""),
            }
            if event.data.get("deficiency_due")
            else _("您的申请已受理。")
        ),
        "deficiency_missed": _("容缺材料补齐期限 %(d)s 已过，以下材料仍未补齐：%(m)s。%(c)s")
        % {
            "d": event.data.get("deficiency_due", ""),
            "m": "、".join(event.data.get("missing", [])),
            "c": event.note,
        },
        "refuse": _("您的申请不予受理：%(r)s") % {"r": app.reasons},
        "notice": _("请按一次性告知补正材料：%(n)s") % {"n": event.note},
        "correct": _("已收到补正材料，继续办理。"),
        "stop": _("办理暂停计时（%(r)s），暂停期间不计入办理时限。") % {"r": event.data.get("reason", "")},
        "resume": _("办理恢复计时，承诺办结日期 %(d)s。") % {"d": app.promised_due},
        "extend": _("办理期限已延长，新的办结期限 %(d)s。理由：%(r)s")
        % {"d": app.decision_due, "r": event.note},
        "decide": (
            _("审批结果：准予。")
            if app.outcome == Outcome.APPROVED
            else _("审批结果：不予。理由：%(r)s") % {"r": app.reasons}
        ),
        "deliver": _("已办结，结果已送达。"),
        "withdraw": _("您已撤回申请。"),
    }
    title = _("【%(item)s】%(state)s") % {"item": name, "state": State(app.state).label}
    return title, f"{_('办件编号')} {number}：{texts.get(event.action, '')}"


@db_task()
def announce(app_id: int, event_id: int) -> None:
    app = Application.objects.select_related("item", "applicant").filter(pk=app_id).first()
    event = Event.objects.filter(pk=event_id, application_id=app_id).first()
    if app is None or event is None:
        return
    title, body = message_for(app, event)
    url = reverse("onestop:application", args=[app.pk])
    new = notify([app.applicant], f"onestop:{app.pk}:{event.pk}", title, body, url)
    if new and app.applicant.email:
        send_mail(title, body, None, [app.applicant.email], fail_silently=True)
    target = webhook_url()
    if target:
        payload = {
            "event": event.action,
            "number": app.number,
            "item": app.item.code,
            "state": app.state,
            "at": event.at.isoformat(),
            "promised_due": app.promised_due.isoformat() if app.promised_due else None,
        }
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    key=f"onestop:{app.pk}:{event.pk}", application=app, url=target, payload=payload
                )
        except IntegrityError:
            delivery = WebhookDelivery.objects.get(key=f"onestop:{app.pk}:{event.pk}")
        if delivery.delivered_at is None:
            deliver_webhook(delivery.pk)
    Event.objects.filter(pk=event_id, pending_announce=True).update(pending_announce=False)


@db_periodic_task(crontab(minute="*"))
def sweep_unannounced() -> int:
    """Announce the events whose job was lost (a killed worker, the queue down at commit time).

    announce() is idempotent (one notification per key, one webhook delivery per key), so an
    event swept while its own job is still running is not told twice.
    """
    cutoff = timezone.now() - timedelta(seconds=SWEEP_AFTER_SECONDS)
    pending = list(
        Event.objects.filter(pending_announce=True, at__lt=cutoff)
        .order_by("at")
        .values_list("application_id", "pk")[:SWEEP_BATCH]
    )
    for app_id, event_id in pending:
        announce.call_local(app_id, event_id)
    return len(pending)


@db_periodic_task(crontab(minute="7"))
def flag_missed_deficiencies() -> int:
    """容缺逾期, every hour (idempotent: each application is flagged and told once): the flag
    appears within the hour after midnight whatever the worker's clock zone."""
    from .actions import flag_missed_deficiencies as flag

    return flag()


def send_once(delivery_id: int) -> bool:
    """Send one delivery unless it was delivered; True when delivered (now or before)."""
    with expiring_lock(f"onestop-webhook-{delivery_id}", LOCK_SECONDS):
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if delivery is None or delivery.delivered_at is not None:
            return True
        delivery.attempts += 1
        ok, error = post_signed(
            delivery.url, delivery.payload, secret=webhook_secret(), delivery=delivery.key
        )
        if ok:
            delivery.delivered_at = timezone.now()
        delivery.last_error = error
        delivery.save(update_fields=["attempts", "delivered_at", "last_error"])
        return ok


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    try:
        if send_once(delivery_id):
            return
    except TaskLockedException:
        return  # another worker is sending this very delivery right now
    attempts = WebhookDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 0
    if attempts < MAX_ATTEMPTS:
        raise RetryTask(delay=BASE_DELAY * 2 ** (attempts - 1))
    log.error("onestop webhook %s given up after %s attempts", delivery_id, attempts)


@db_periodic_task(crontab(minute="*"))
def retry_stale_webhooks() -> int:
    """Catch deliveries whose job was lost (a killed worker): every minute those never tried
    within LOST_AFTER, every tenth minute also those whose retry job was lost."""
    now = timezone.now()
    stale = Q(attempts=0, created_at__lt=now - LOST_AFTER)
    if now.minute % 10 == 0:
        stale |= Q(created_at__lt=now - timedelta(minutes=10))
    waiting = WebhookDelivery.objects.filter(stale, delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
    pending: list[Any] = list(waiting.values_list("pk", flat=True)[:500])
    for pk in pending:
        deliver_webhook(pk)
    return len(pending)
