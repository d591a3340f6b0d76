"""Boundary cases of 好差评 (onestop.md §5) and message limits (§6): the 差评 fix deadline in
working days across 国庆 2026, the rating window's first and last day, the reminder day, and the
message classes' deadlines."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from dangqun.core.errors import RuleViolation
from dangqun.feedback import actions
from dangqun.feedback import rules as R
from dangqun.feedback.choices import Urgency
from dangqun.onestop import actions as onestop

from .conftest import handle_to_the_end

EVE = date(2026, 9, 30)  # the Wednesday before 国庆 (10-01…10-07 off, 10-10 Saturday worked)
LIMITS = {"emergency_hours": 2, "ordinary_days": 7, "complex_days": 15}


def ended_case(simple_item, applicant, window_staff, department_admin, key="c", on=EVE):
    app = onestop.do_create_and_submit(
        simple_item, {"applicant_name": "陈居民"}, actor=applicant, consent=True, idempotency_key=key, on=on
    ).application
    return handle_to_the_end(app, window_staff, department_admin, on=on)


@pytest.mark.parametrize("rated_on", [EVE, date(2026, 10, 3), date(2026, 10, 7)])
def test_a_bad_rating_before_or_during_the_holiday_is_due_after_15_working_days(
    simple_item, applicant, window_staff, department_admin, rated_on
):
    case = ended_case(simple_item, applicant, window_staff, department_admin)
    fix = actions.do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=rated_on).fix
    # 10-08, 10-09, 10-10 (make-up Saturday), 10-12…10-16, 10-19…10-23, 10-26, 10-27
    assert fix.due == date(2026, 10, 27)


def test_a_fix_on_its_last_day_is_on_time_and_escalation_starts_the_day_after(
    simple_item, applicant, window_staff, department_admin, tree
):
    first = ended_case(simple_item, applicant, window_staff, department_admin, key="a")
    second = ended_case(simple_item, applicant, window_staff, department_admin, key="b")
    fix_a = actions.do_rate_case(first, level=2, reasons=["slow"], actor=applicant, on=EVE).fix
    fix_b = actions.do_rate_case(second, level=2, reasons=["slow"], actor=applicant, on=EVE).fix
    for fix in (fix_a, fix_b):
        actions.do_callback_fix(fix, note="已回访", verified=True, actor=department_admin)
    assert actions.do_record_fix(fix_a, note="已整改", actor=department_admin, on=date(2026, 10, 27)).on_time
    late = actions.do_record_fix(fix_b, note="已整改", actor=department_admin, on=date(2026, 10, 28))
    assert late.on_time is False


def test_an_open_fix_escalates_only_after_its_due_day(
    simple_item, applicant, window_staff, department_admin, tree
):
    case = ended_case(simple_item, applicant, window_staff, department_admin)
    fix = actions.do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=EVE).fix
    assert actions.escalate_overdue_fixes(date(2026, 10, 27)) == 0
    assert actions.escalate_overdue_fixes(date(2026, 10, 28)) == 1
    fix.refresh_from_db()
    assert fix.escalated_to == tree.street


def test_the_rating_window_runs_from_the_end_day_to_its_last_day(
    simple_item, applicant, window_staff, department_admin
):
    case = ended_case(simple_item, applicant, window_staff, department_admin)
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=5, actor=applicant, on=EVE - timedelta(days=1))
    assert err.value.code == "rating_window_closed"
    # natural days: 30 days after 09-30 is 10-30, holidays included
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=5, actor=applicant, on=date(2026, 10, 31))
    assert err.value.code == "rating_window_closed"
    assert actions.do_rate_case(case, level=5, actor=applicant, on=date(2026, 10, 30)).late


@pytest.mark.parametrize(
    ("today", "allowed", "late"),
    [
        (EVE, True, False),
        (EVE + timedelta(days=3), True, False),  # the reminder day: still on time
        (EVE + timedelta(days=4), True, True),
        (EVE + timedelta(days=30), True, True),
        (EVE + timedelta(days=31), False, True),
        (EVE - timedelta(days=1), False, False),
    ],
)
def test_rating_timing_edges(today, allowed, late):
    timing = R.rating_timing(EVE, today, reminder_days=3, late_days=30)
    assert (timing.allowed, timing.late, timing.last_day) == (allowed, late, date(2026, 10, 30))


def test_the_reminder_goes_out_exactly_three_days_after_the_end(
    simple_item, applicant, window_staff, department_admin
):
    ended_case(simple_item, applicant, window_staff, department_admin)
    assert actions.remind_unrated(EVE + timedelta(days=2)) == 0
    assert actions.remind_unrated(EVE + timedelta(days=3)) == 1


@pytest.mark.parametrize(
    ("urgency", "delta"),
    [
        (Urgency.EMERGENCY, timedelta(hours=2)),
        (Urgency.ORDINARY, timedelta(days=7)),
        (Urgency.COMPLEX, timedelta(days=15)),
    ],
)
def test_message_deadlines_by_class(urgency, delta):
    start = timezone.make_aware(datetime(2026, 9, 30, 16, 30))
    assert R.message_due(start, urgency, LIMITS) == start + delta
