"""帮办代办 with a recorded, revocable authorization; 跨省通办 forwarding; announcements and the
signed webhook; the demo catalog seed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from dangqun.core.crypto import webhook_signature
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import Notification
from dangqun.onestop import actions, tasks
from dangqun.onestop.choices import CrossRegion, State
from dangqun.onestop.models import Application, Authorization, ServiceItem, WebhookDelivery

from .conftest import ID_NUMBER, save_item


@pytest.fixture
def authorization(window_staff, applicant, simple_item, tree):
    return actions.do_authorize_agent(
        principal=applicant,
        item=simple_item,
        org=tree.window,
        valid_until=timezone.localdate() + timedelta(days=30),
        basis="本人到窗口签署授权委托书",
        actor=window_staff,
    )


def test_staff_apply_for_a_resident_under_an_authorization_the_resident_sees(
    client, window_staff, applicant, simple_item, calendar_2027, django_capture_on_commit_callbacks
):
    client.force_login(window_staff)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            reverse("onestop:assist"),
            {
                "principal": ID_NUMBER,
                "item": simple_item.code,
                "valid_until": (timezone.localdate() + timedelta(days=7)).isoformat(),
                "basis": "本人到窗口签署授权委托书",
            },
        )
    app = Application.objects.get()
    assert r.url == reverse("onestop:application", args=[app.pk])
    assert (app.applicant, app.created_by, app.channel) == (applicant, window_staff, "window")
    assert app.form_data["id_number"] == ID_NUMBER  # pre-filled from the resident's profile
    actions.do_use_shared_material(app, simple_item.materials.get(), actor=window_staff, consent=True)
    done = actions.do_submit_application(app, actor=window_staff).application
    assert done.state == State.SUBMITTED
    # the resident sees the authorization and the application
    client.force_login(applicant)
    mine = client.get(reverse("onestop:mine")).content.decode()
    assert "吴窗口" in mine
    assert simple_item.name in mine
    assert "撤销授权" in mine
    assert client.get(reverse("onestop:application", args=[app.pk])).status_code == 200
    assert Notification.objects.filter(recipient=applicant, key__startswith="onestop:auth:").exists()


def test_a_revoked_authorization_ends_the_agents_access(
    client, window_staff, applicant, simple_item, authorization
):
    app = actions.do_start_application(simple_item, actor=window_staff, authorization=authorization)
    client.force_login(applicant)
    r = client.post(reverse("onestop:revoke", args=[authorization.pk]))
    assert r.status_code == 302
    authorization.refresh_from_db()
    assert authorization.revoked_at is not None
    with pytest.raises(RuleViolation) as err:
        actions.do_start_application(simple_item, actor=window_staff, authorization=authorization)
    assert err.value.code == "authorization_invalid"
    with pytest.raises(RuleViolation):  # the draft is no longer the agent's to touch
        actions.do_save_draft(app, {"applicant_name": "x"}, actor=window_staff)


def test_authorizations_are_checked(window_staff, applicant, simple_item, tree, department_admin, member):
    today = timezone.localdate()
    with pytest.raises(RuleViolation) as err:
        actions.do_authorize_agent(
            principal=applicant,
            item=simple_item,
            org=tree.window,
            valid_until=today - timedelta(days=1),
            basis="",
            actor=window_staff,
        )
    assert {v.code for v in err.value.violations} == {"basis_missing", "valid_until_past"}
    with pytest.raises(PermissionDenied):
        actions.do_authorize_agent(
            principal=applicant,
            item=simple_item,
            org=tree.window,
            valid_until=today,
            basis="签字",
            actor=member,
        )
    auth = actions.do_authorize_agent(
        principal=applicant,
        item=simple_item,
        org=tree.department,
        valid_until=today,
        basis="签字",
        actor=department_admin,
    )
    with pytest.raises(PermissionDenied):  # someone else's authorization
        actions.do_start_application(simple_item, actor=window_staff, authorization=auth)
    assert Authorization.objects.count() == 1


def test_a_proxy_item_is_forwarded_by_the_receiving_window_and_decided_by_the_department(
    client, tree, street_admin, applicant, window_staff, department_admin, calendar_2027
):
    item = save_item(
        tree,
        street_admin,
        code="200010007000",
        name="养老保险关系转移接续",
        cross_region=CrossRegion.PROXY,
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    app = actions.do_create_and_submit(
        item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="x"
    ).application
    actions.do_accept(app, actor=window_staff)
    app.refresh_from_db()
    assert app.forwarded_at is not None
    for user in (window_staff, department_admin):  # both places see the case
        client.force_login(user)
        assert client.get(f"/api/v1/applications/{app.pk}").status_code == 200
    with pytest.raises(PermissionDenied):
        actions.do_decide(app, "denied", actor=window_staff, reasons="x")


# --- announcements and the webhook -----------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Receiver.fail_first:
            _Receiver.fail_first -= 1
            self.send_response(503)
        else:
            _Receiver.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_each_state_change_is_announced_once_and_signed_with_hmac_sm3(
    settings,
    receiver,
    applicant,
    simple_item,
    window_staff,
    django_capture_on_commit_callbacks,
    calendar_2027,
):
    settings.ONESTOP_WEBHOOK_URL, settings.ONESTOP_WEBHOOK_SECRET = receiver, "s3cret"
    with django_capture_on_commit_callbacks(execute=True):
        app = actions.do_create_and_submit(
            simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="w"
        )
    app = app.application
    assert len(_Receiver.received) == 1
    headers, body = _Receiver.received[0]
    assert headers["X-Dangqun-Signature"] == "sm3=" + webhook_signature(body, "s3cret")
    assert json.loads(body)["number"] == app.number
    delivery = WebhookDelivery.objects.get()
    # a retried job neither notifies nor posts again
    event = app.events.get(action="submit")
    tasks.announce.call_local(app.pk, event.pk)
    tasks.send_once(delivery.pk)
    assert len(_Receiver.received) == 1
    assert Notification.objects.filter(recipient=applicant).count() == 1


def test_an_announcement_lost_on_the_way_is_swept_and_sent_once(
    settings, receiver, applicant, simple_item, calendar_2027
):
    """A submission whose announce job never ran (its consumer was killed) is told by the sweep."""
    settings.ONESTOP_WEBHOOK_URL = receiver
    with _announce_jobs_lost():
        submitted = actions.do_create_and_submit(
            simple_item, {}, actor=applicant, consent=True, idempotency_key="lost"
        )
    app = submitted.application
    event = app.events.get(action="submit")
    assert event.pending_announce
    assert not Notification.objects.filter(recipient=applicant).exists()
    assert tasks.sweep_unannounced.call_local() == 0  # too recent: its own job may still run
    long_ago = timezone.now() - timedelta(seconds=tasks.SWEEP_AFTER_SECONDS + 1)
    app.events.filter(pk=event.pk).update(at=long_ago)

    assert tasks.sweep_unannounced.call_local() == 1
    assert tasks.sweep_unannounced.call_local() == 0
    event.refresh_from_db()
    assert not event.pending_announce
    assert Notification.objects.filter(recipient=applicant, key=f"onestop:{app.pk}:{event.pk}").count() == 1
    assert len(_Receiver.received) == 1
    # events that are not for the applicant are never swept
    assert not app.events.exclude(pk=event.pk).filter(pending_announce=True).exists()


class _announce_jobs_lost:
    """Drop the after-commit announce jobs, as a consumer killed mid-job would."""

    def __enter__(self):
        self.original = tasks.announce.func
        tasks.announce.func = lambda *args, **kwargs: None
        return self

    def __exit__(self, *exc):
        tasks.announce.func = self.original


def test_a_failed_webhook_is_retried_with_backoff_until_delivered(
    settings, receiver, applicant, simple_item, calendar_2027
):
    from huey.exceptions import RetryTask

    settings.ONESTOP_WEBHOOK_URL = receiver
    app = actions.do_create_and_submit(
        simple_item, {}, actor=applicant, consent=True, idempotency_key="z"
    ).application
    delivery = WebhookDelivery.objects.create(key="k", application=app, url=receiver, payload={"a": 1})
    _Receiver.fail_first = 1
    with pytest.raises(RetryTask) as retry:
        tasks.deliver_webhook.call_local(delivery.pk)
    assert retry.value.delay == tasks.BASE_DELAY
    tasks.deliver_webhook.call_local(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert delivery.attempts == 2
    assert len(_Receiver.received) == 1


# --- the demo catalog -------------------------------------------------------------------------


def test_seed_catalog_builds_a_realistic_catalog_once(db):
    out = StringIO()
    call_command("seed", "--no-progress", "--scale", "5", stdout=out)  # the demo seed includes it
    assert "新建 70 项" in out.getvalue()
    per_department = dict(ServiceItem.objects.values_list("department__short_name").annotate(n=Count("id")))
    assert set(per_department) == {
        "社保",
        "医保",
        "公积金",
        "户籍",
        "民政",
        "残联",
        "卫健",
        "市场监管",
        "人社",
        "住建",
    }
    assert min(per_department.values()) >= 6
    gjj = ServiceItem.objects.get(name="住房公积金提取（购买自住住房）")
    assert (gjj.statutory_limit_days, gjj.promised_limit_days) == (3, 1)
    assert ServiceItem.objects.get(name="生育登记").handling_mode == "1"
    assert ServiceItem.objects.filter(materials__shared="id_card").distinct().count() > 30
    again = StringIO()
    call_command("seed_catalog", stdout=again)
    assert "跳过 70 项" in again.getvalue()
    assert ServiceItem.objects.count() == 70
    assert all(len(c) == 31 for c in ServiceItem.objects.values_list("implementation_code", flat=True))


def test_seed_reset_rebuilds_the_street_with_its_catalog(db):
    call_command("seed", "--no-progress", "--scale", "5", stdout=StringIO())
    first = set(ServiceItem.objects.values_list("code", flat=True))
    out = StringIO()
    call_command("seed", "--no-progress", "--scale", "5", "--reset", stdout=out)
    assert "已清除演示事项 70 项" in out.getvalue()
    assert set(ServiceItem.objects.values_list("code", flat=True)) == first


def test_a_lock_left_by_a_killed_sender_ends_by_itself(
    settings, receiver, applicant, simple_item, calendar_2027, monkeypatch
):
    """A consumer killed with SIGKILL inside the send never releases its lock: it must expire."""
    import time

    from huey.exceptions import TaskLockedException

    from dangqun.core.locks import expiring_lock

    settings.ONESTOP_WEBHOOK_URL = receiver
    app = actions.do_create_and_submit(
        simple_item, {}, actor=applicant, consent=True, idempotency_key="k9"
    ).application
    delivery = WebhookDelivery.objects.create(key="killed", application=app, url=receiver, payload={"a": 1})
    held = expiring_lock(f"onestop-webhook-{delivery.pk}", 1)
    held.__enter__()  # the killed worker's lock, never released
    with pytest.raises(TaskLockedException):
        tasks.send_once(delivery.pk)
    later = time.time() + 2  # past the lock's timeout: the cache reads the clock
    monkeypatch.setattr(time, "time", lambda: later)
    assert tasks.send_once(delivery.pk)
    assert [body for _headers, body in _Receiver.received] == [b'{"a": 1}']


def test_a_delivery_whose_job_was_lost_is_sent_within_minutes(
    settings, receiver, applicant, simple_item, calendar_2027
):
    settings.ONESTOP_WEBHOOK_URL = receiver
    app = actions.do_create_and_submit(
        simple_item, {}, actor=applicant, consent=True, idempotency_key="k10"
    ).application
    delivery = WebhookDelivery.objects.create(key="lost-job", application=app, url=receiver, payload={"a": 1})
    assert tasks.retry_stale_webhooks.call_local() == 0  # its own job may still be on the way
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - tasks.LOST_AFTER)
    assert tasks.retry_stale_webhooks.call_local() == 1
    delivery.refresh_from_db()
    assert delivery.delivered_at is not None
    assert tasks.retry_stale_webhooks.call_local() == 0
