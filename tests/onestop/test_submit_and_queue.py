"""Idempotent submission, concurrency-safe numbers, and the staff queue with its countdowns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from dangqun.core.workcalendar import add_working_days, is_workday
from dangqun.onestop import actions
from dangqun.onestop.choices import StopReason
from dangqun.onestop.models import Application, SerialCounter

from .conftest import save_item

URL = "/api/v1/services/{}/applications"


def post(client, item, key, form=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        URL.format(item.code),
        {"form": form or {"applicant_name": "陈居民"}, "consent": True},
        content_type="application/json",
        **headers,
    )


def test_a_retried_submission_returns_the_same_application(client, applicant, simple_item, calendar_2027):
    client.force_login(applicant)
    first = post(client, simple_item, "retry-1")
    second = post(client, simple_item, "retry-1")
    third = post(client, simple_item, "retry-1")
    assert first.status_code == 201
    assert second.status_code == third.status_code == 200
    assert first.json()["number"] == second.json()["number"] == third.json()["number"]
    assert second.json()["replayed"] is True
    assert Application.objects.filter(applicant=applicant).count() == 1
    assert post(client, simple_item, "retry-2").json()["number"] != first.json()["number"]
    assert Application.objects.filter(applicant=applicant).count() == 2


def test_a_key_reused_for_another_item_is_refused(
    client, applicant, simple_item, tree, street_admin, calendar_2027
):
    other = save_item(
        tree,
        street_admin,
        code="200010009000",
        name="另一个事项",
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    client.force_login(applicant)
    assert post(client, simple_item, "same").status_code == 201
    r = post(client, other, "same")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


def test_a_retry_that_meets_the_unique_key_answers_with_the_first_application(
    applicant, simple_item, calendar_2027
):
    # No lookup before the insert: the retry (or a racing twin) fails the unique constraint
    # inside its own savepoint and reads the winner's row.
    winner = actions.do_create_and_submit(
        simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="k"
    )
    loser = actions.do_create_and_submit(
        simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="k"
    )
    assert loser.replayed
    assert loser.application.pk == winner.application.pk
    assert Application.objects.count() == 1
    assert SerialCounter.objects.get().last == 1  # the loser's rolled-back work took no serial


def test_a_retry_after_the_item_was_suspended_still_gets_the_first_answer(
    applicant, simple_item, street_admin, calendar_2027
):
    from dangqun.onestop.actions import do_save_item

    first = actions.do_create_and_submit(
        simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="s"
    )
    do_save_item(simple_item, actor=street_admin, status="suspended")
    again = actions.do_create_and_submit(
        simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key="s"
    )
    assert again.replayed
    assert again.application.number == first.application.number


def test_the_idempotency_key_is_unique_per_client_in_the_database(applicant, simple_item):
    a = actions.do_start_application(simple_item, actor=applicant)
    b = actions.do_start_application(simple_item, actor=applicant)
    Application.objects.filter(pk=a.pk).update(idempotency_key="dup")
    with pytest.raises(IntegrityError):
        Application.objects.filter(pk=b.pk).update(idempotency_key="dup")


def test_serials_count_per_item_and_day(applicant, simple_item, calendar_2027):
    numbers = [
        actions.do_create_and_submit(
            simple_item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key=str(i)
        ).application.number
        for i in range(3)
    ]
    assert [n[-4:] for n in numbers] == ["0001", "0002", "0003"]
    assert SerialCounter.objects.get().last == 3


# --- the queue --------------------------------------------------------------------------------


def workday_before(day, n):
    d = day
    while n:
        d -= timedelta(days=1)
        if is_workday(d):
            n -= 1
    return d


@pytest.fixture
def queue_apps(applicant, tree, street_admin, calendar_2027):
    """Three open applications: overdue, warning (due in 2 working days), comfortable; one stopped."""
    today = timezone.localdate()
    item = save_item(
        tree,
        street_admin,
        code="200010005000",
        name="排队事项",
        promised_limit_days=3,
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    made = {}
    for label, on in (
        ("overdue", workday_before(today, 6)),
        ("warning", workday_before(today, 1)),
        ("ok", today),
    ):
        made[label] = actions.do_create_and_submit(
            item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key=label, on=on
        ).application
    return made


def test_the_queue_shows_countdowns_warnings_and_overdue_flags(client, window_staff, queue_apps):
    client.force_login(window_staff)
    page = client.get("/services/queue/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "已超期" in text
    assert "预警" in text
    rows = client.get("/api/v1/queue").json()["items"]
    flags = {r["number"]: r["flag"] for r in rows}
    assert flags[queue_apps["overdue"].number] == "overdue"
    assert flags[queue_apps["warning"].number] == "warning"
    assert rows[0]["number"] == queue_apps["overdue"].number  # nearest deadline first
    only = client.get("/api/v1/queue", {"due": "overdue"}).json()["items"]
    assert [r["number"] for r in only] == [queue_apps["overdue"].number]
    warn = client.get("/services/queue/", {"due": "warning"}).content.decode()
    assert queue_apps["warning"].number in warn
    assert queue_apps["overdue"].number not in warn


def test_a_stopped_application_shows_as_stopped(client, window_staff, department_admin, queue_apps):
    app = queue_apps["ok"]
    actions.do_accept(app, actor=window_staff)
    actions.do_stop_clock(app, StopReason.HEARING, actor=department_admin)
    client.force_login(department_admin)
    rows = client.get("/api/v1/queue", {"due": "stopped"}).json()["items"]
    assert [(r["number"], r["flag"], r["days_left"]) for r in rows] == [(app.number, "stopped", None)]


def test_the_queue_keeps_to_the_staff_members_scope(client, queue_apps, tree, street_admin):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    from .conftest import make_user

    other = do_create_organization(
        name="另一部门", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=street_admin
    )
    client.force_login(make_user("other_admin", "department_admin", other))
    assert client.get("/api/v1/queue").json()["count"] == 0
    assert client.get(f"/api/v1/applications/{queue_apps['ok'].pk}").status_code == 404


def test_the_queue_page_runs_a_fixed_number_of_queries(
    client, window_staff, queue_apps, applicant, django_assert_num_queries
):
    client.force_login(window_staff)
    client.get("/services/queue/")  # warm the calendar and the search snapshot
    item = queue_apps["ok"].item
    for i in range(10):
        actions.do_create_and_submit(
            item, {"applicant_name": "甲"}, actor=applicant, consent=True, idempotency_key=f"more-{i}"
        )
    # session, user, grants, organizations in scope (ids, so the queue's indexes apply), count,
    # page, departments in scope, nav roles, unread count (rule values: the calendar snapshot)
    with django_assert_num_queries(9):
        response = client.get("/services/queue/")
    assert response.status_code == 200
    assert response.content.decode().count('class="due-') == 13


def test_the_due_date_is_stored_for_sorting(queue_apps):
    app = queue_apps["ok"]
    assert app.due_date == min(app.notice_due, app.promised_due) == add_working_days(app.received_on, 3)
