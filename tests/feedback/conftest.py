"""Feedback fixtures: a case handled to the end (so it can be rated), a window visit, a
dispatch table for messages. The one-stop fixtures (items, applicant, 2027 calendar) are reused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dangqun.accounts.choices import Role
from dangqun.feedback.actions import do_record_visit
from dangqun.feedback.models import ClassificationRule
from dangqun.onestop import actions as onestop
from dangqun.onestop.choices import Outcome
from tests.conftest import make_user
from tests.onestop.conftest import *  # noqa: F403 — items, applicant, calendar, media root

ENDED = date(2026, 11, 2)  # a Monday


def handle_to_the_end(app, window_staff, department_admin, on=ENDED):
    onestop.do_accept(app, actor=window_staff, on=on)
    while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
        onestop.do_review_task(task, passed=True, opinion="同意", actor=department_admin)
    onestop.do_decide(app, Outcome.APPROVED, actor=department_admin, on=on)
    onestop.do_deliver(app, actor=window_staff, on=on)
    app.refresh_from_db()
    return app


@pytest.fixture
def case(applicant, simple_item, window_staff, department_admin, calendar_2027):
    app = onestop.do_create_and_submit(
        simple_item,
        {"applicant_name": "陈居民"},
        actor=applicant,
        consent=True,
        idempotency_key="case-1",
        on=ENDED,
    ).application
    return handle_to_the_end(app, window_staff, department_admin)


@pytest.fixture
def recent_case(applicant, simple_item, window_staff, department_admin, calendar_2027):
    """A case that ended on the last working day: inside the rating window of pages using today."""
    from django.utils import timezone

    from dangqun.core import workcalendar

    day = timezone.localdate()
    while not workcalendar.is_workday(day):
        day -= timedelta(days=1)
    app = onestop.do_create_and_submit(
        simple_item,
        {"applicant_name": "陈居民"},
        actor=applicant,
        consent=True,
        idempotency_key="case-r",
        on=day,
    ).application
    return handle_to_the_end(app, window_staff, department_admin, on=day)


@pytest.fixture
def supervisor(tree):
    """Feedback handler at the street: decides appeals of its departments."""
    return make_user("supervisor", Role.STREET_ADMIN, tree.street, full_name="钱督查")


@pytest.fixture
def visit(tree, window_staff, simple_item):
    return do_record_visit(
        window=tree.window, unit=tree.department, item=simple_item, actor=window_staff, on=ENDED
    )


@pytest.fixture
def dispatch_table(tree):
    ClassificationRule.objects.create(keywords="路灯 井盖 道路", category="市政设施", unit=tree.department)
    ClassificationRule.objects.create(
        keywords="拖欠 账款 工程款", category="拖欠企业账款", unit=tree.department, kind="unpaid", priority=10
    )
    return tree
