"""Boundary cases of the time-limit rules (onestop.md §2) across the 2026 holidays and make-up
workdays: which day is day 1, the one-time-notice window and deemed acceptance, clock stops,
extensions (once, with reasons), 容缺 deadlines, and the countdown flags exactly at the edge.

2026 (国办发明电〔2025〕7号): 春节 02-15…02-23 off, 02-14 (Sat) and 02-28 (Sat) worked;
中秋 09-25…09-27 off, 国庆 10-01…10-07 off, 09-20 (Sun) and 10-10 (Sat) worked.
"""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.errors import RuleViolation
from dangqun.core.workcalendar import add_working_days, working_days_between
from dangqun.members.rules import default_ruleset
from dangqun.onestop import actions, queries, rules
from dangqun.onestop.choices import Due, HandlingMode, Outcome, State, StopReason
from dangqun.onestop.models import Application

from .conftest import JPEG, pdf_bytes, save_item

pytestmark = pytest.mark.django_db


def dl(received: date, *, promised: int = 10, decision: int = 20, stopped: int = 0, extension: int = 0):
    return rules.deadlines(
        received,
        promised=promised,
        decision=decision,
        notice=5,
        stopped_days=stopped,
        extension_days=extension,
        add_days=add_working_days,
    )


# --------------------------------------------------------------------------- day 1, holidays


@pytest.mark.parametrize(
    ("received", "notice_due", "promised_due"),
    [
        # Friday before the make-up Saturday: day 1 is Saturday 02-14, then 02-24 (after 春节)
        (date(2026, 2, 13), date(2026, 2, 27), date(2026, 3, 5)),
        # received on the make-up Saturday itself: it is not counted, day 1 is 02-24
        (date(2026, 2, 14), date(2026, 2, 28), date(2026, 3, 6)),
        # received during 春节 (online): day 1 is the first working day after it
        (date(2026, 2, 18), date(2026, 2, 28), date(2026, 3, 6)),
        # the day before 国庆: 10-08, 10-09, 10-10 (make-up Sat), 10-12, 10-13
        (date(2026, 9, 30), date(2026, 10, 13), date(2026, 10, 20)),
        # received on the make-up Sunday 09-20: 09-21…09-24, (中秋 09-25…27 off), 09-28
        (date(2026, 9, 20), date(2026, 9, 28), date(2026, 10, 10)),
        # an ordinary Sunday: day 1 is Monday
        (date(2026, 3, 1), date(2026, 3, 6), date(2026, 3, 13)),
    ],
)
def test_day_one_is_the_first_working_day_after_receipt(received, notice_due, promised_due):
    d = dl(received)
    assert (d.notice_due, d.promised_due) == (notice_due, promised_due)
    # the due dates themselves are working days and exactly n working days after receipt
    assert working_days_between(add_working_days(received, 1), d.notice_due) == 5
    assert working_days_between(add_working_days(received, 1), d.promised_due) == 10


def test_twenty_working_days_from_the_eve_of_the_spring_festival():
    # 02-14, 02-24…02-27, 02-28 (Sat), 03-02…03-06, 03-09…03-13, 03-16…03-19
    assert dl(date(2026, 2, 13)).decision_due == date(2026, 3, 19)
    # +10: 03-20, 03-23…03-27, 03-30, 03-31, 04-01, 04-02
    assert dl(date(2026, 2, 13), extension=10).decision_due == date(2026, 4, 2)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 3, 2), date(2026, 3, 2)),  # a working day: the same day
        (date(2026, 3, 1), date(2026, 3, 2)),  # a Sunday: the next working day, not the Sunday
        (date(2026, 2, 14), date(2026, 2, 14)),  # the make-up Saturday is a working day
        (date(2026, 2, 15), date(2026, 2, 24)),  # 春节: the first working day after it
        (date(2026, 10, 3), date(2026, 10, 8)),  # 国庆
    ],
)
def test_an_immediate_item_is_due_on_a_working_day(received, due):
    assert dl(received, promised=0).promised_due == due


def test_an_immediate_item_submitted_on_a_sunday_promises_monday(applicant, tree, street_admin):
    item = save_item(
        tree,
        street_admin,
        code="200010009000",
        name="生育登记",
        handling_mode=HandlingMode.IMMEDIATE,
        promised_limit_days=0,
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    app = actions.do_create_and_submit(
        item,
        {"applicant_name": "陈居民"},
        actor=applicant,
        consent=True,
        idempotency_key="im",
        on=date(2026, 3, 1),
    ).application
    assert app.promised_days == 0
    assert app.promised_due == date(2026, 3, 2)
    # on the Sunday itself it is not overdue, nor on Monday
    for today in (date(2026, 3, 1), date(2026, 3, 2)):
        assert queries.countdown(app, today, 3).flag == Due.WARNING
    assert queries.countdown(app, date(2026, 3, 3), 3).flag == Due.OVERDUE


# --------------------------------------------------------------------------- one-time notice


@pytest.mark.parametrize(
    ("received", "in_time", "late"),
    [
        (date(2026, 9, 30), date(2026, 10, 13), date(2026, 10, 14)),
        # 5th working day after 09-18 is 09-24; 09-25 is a holiday but already past the limit
        (date(2026, 9, 18), date(2026, 9, 24), date(2026, 9, 25)),
        (date(2026, 2, 13), date(2026, 2, 27), date(2026, 2, 28)),
    ],
)
def test_the_notice_window_is_five_working_days(received, in_time, late):
    assert not rules.notice_is_late(received, received, 5, add_working_days)  # on the spot
    assert not rules.notice_is_late(received, in_time, 5, add_working_days)
    assert rules.notice_is_late(received, late, 5, add_working_days)


D = date(2026, 9, 28)  # a Monday: notice_due 10-10 (make-up Saturday), promised_due 10-16


def submit(item, applicant, key="k", on=D):
    return actions.do_create_and_submit(
        item, {"applicant_name": "陈居民"}, actor=applicant, consent=True, idempotency_key=key, on=on
    ).application


def test_accepting_on_the_fifth_working_day_is_an_ordinary_acceptance(applicant, simple_item, window_staff):
    app = submit(simple_item, applicant)
    assert app.notice_due == date(2026, 10, 10)
    actions.do_accept(app, actor=window_staff, on=date(2026, 10, 10))
    app.refresh_from_db()
    assert (app.accepted_on, app.deemed_accepted) == (date(2026, 10, 10), False)


def test_accepting_after_the_notice_window_counts_from_receipt(applicant, simple_item, window_staff):
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=date(2026, 10, 12))
    app.refresh_from_db()
    assert app.deemed_accepted
    assert app.accepted_on == D  # the day the materials arrived
    assert app.promised_due == date(2026, 10, 16)


def test_a_late_notice_deems_the_application_accepted_and_keeps_the_clock_running(
    applicant, simple_item, window_staff
):
    app = submit(simple_item, applicant)
    notice = actions.do_issue_notice(
        app, [{"material_id": None, "problem": "表格未签字"}], actor=window_staff, on=date(2026, 10, 12)
    )
    app.refresh_from_db()
    assert notice.late
    assert (app.deemed_accepted, app.accepted_on, app.stopped_since) == (True, D, None)
    actions.do_correct(app, actor=applicant, on=date(2026, 10, 14))
    app.refresh_from_db()
    assert app.stopped_days == 0
    assert app.promised_due == date(2026, 10, 16)


def test_a_corrected_application_is_not_overdue_for_acceptance_the_day_it_returns(
    applicant, simple_item, window_staff
):
    app = submit(simple_item, applicant)
    # notice on the 4th working day (10-09): the clock stops from the next working day
    actions.do_issue_notice(
        app, [{"material_id": None, "problem": "表格未签字"}], actor=window_staff, on=date(2026, 10, 9)
    )
    actions.do_correct(app, actor=applicant, on=date(2026, 10, 14))
    app.refresh_from_db()
    # stopped 10-10, 10-12, 10-13, 10-14
    assert (app.state, app.stopped_days) == (State.SUBMITTED, 4)
    assert app.promised_due == add_working_days(D, 14) == date(2026, 10, 22)
    # one working day of the 5 is left to accept: 10-15
    assert app.due_date == date(2026, 10, 15)
    assert queries.countdown(app, date(2026, 10, 14), 3).flag == Due.WARNING
    overdue = queries.queue(window_staff, queries.QueueFilters(due=Due.OVERDUE), date(2026, 10, 14))
    assert not overdue.filter(pk=app.pk).exists()
    # accepting it now is no deemed acceptance: the notice was given in time
    actions.do_accept(app, actor=window_staff, on=date(2026, 10, 15))
    app.refresh_from_db()
    assert (app.accepted_on, app.deemed_accepted) == (date(2026, 10, 15), False)


# --------------------------------------------------------------------------- clock stops


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 9, 30), date(2026, 10, 8), 1),  # over 国庆: only 10-08
        (date(2026, 10, 9), date(2026, 10, 12), 2),  # 10-10 (make-up Saturday) and 10-12
        (date(2026, 10, 16), date(2026, 10, 19), 1),  # Friday to Monday
        (date(2026, 2, 13), date(2026, 2, 24), 2),  # 02-14 (make-up) and 02-24
        (date(2026, 10, 16), date(2026, 10, 16), 0),
    ],
)
def test_stopped_working_days_skip_holidays_and_count_make_up_days(start, end, days):
    assert rules.stopped_working_days(start, end, working_days_between) == days


def test_an_expert_review_over_the_national_day_moves_the_deadlines(
    applicant, simple_item, window_staff, department_admin
):
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    actions.do_stop_clock(app, StopReason.EXPERT, actor=department_admin, on=date(2026, 9, 30))
    app.refresh_from_db()
    assert queries.countdown(app, date(2026, 10, 16), 3).flag == Due.STOPPED
    actions.do_resume_clock(app, actor=department_admin, on=date(2026, 10, 8))
    app.refresh_from_db()
    assert app.stopped_days == 1
    assert app.promised_due == add_working_days(D, 11) == date(2026, 10, 19)
    assert app.decision_due == add_working_days(D, 21)


# --------------------------------------------------------------------------- extensions


def test_an_extension_needs_reasons_and_is_capped():
    assert rules.check_extension(10, 0, 10, "专家论证") is None
    assert rules.check_extension(11, 0, 10, "专家论证").code == "extension_too_long"
    assert rules.check_extension(15, 0, 15, "联合办理") is None
    assert rules.check_extension(16, 0, 15, "联合办理").code == "extension_too_long"
    assert rules.check_extension(0, 0, 10, "理由").code == "extension_days"
    assert rules.check_extension(3, 0, 10, "\n ").code == "extension_reason"


def test_an_extension_is_granted_only_once():
    assert rules.check_extension(5, 5, 10, "再次延长").code == "extension_once"


def test_the_second_extension_of_an_application_is_refused(
    applicant, simple_item, window_staff, department_admin
):
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    actions.do_extend(app, 5, "需要现场核查", actor=department_admin, on=date(2026, 10, 20))
    with pytest.raises(RuleViolation) as err:
        actions.do_extend(app, 5, "再延长", actor=department_admin, on=date(2026, 10, 21))
    assert err.value.code == "extension_once"
    app.refresh_from_db()
    assert app.extension_days == 5
    assert app.extensions.count() == 1
    assert app.decision_due == add_working_days(D, 25)
    assert app.promised_due == app.decision_due


def test_how_often_an_extension_may_be_granted_is_the_rule_sets(
    applicant, simple_item, window_staff, department_admin
):
    """The count comes from onestop.decision_extension_max_times (once by 第四十二条): a local
    rule set allowing two lets a second extension through, still within the 10 days in all."""
    from dangqun.core.models import RuleValue

    assert rules.check_extension(3, 3, 10, "再次延长", times_done=1, max_times=2) is None
    assert rules.check_extension(3, 6, 10, "第三次", times_done=2, max_times=2).code == "extension_once"
    RuleValue.objects.create(
        key="onestop.decision_extension_max_times",
        value=2,
        version="local",
        effective_from=date(2026, 1, 1),
        organization=simple_item.department,
        source="本地规定（测试）",
    )
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    actions.do_extend(app, 4, "需要现场核查", actor=department_admin, on=date(2026, 10, 20))
    actions.do_extend(app, 4, "专家评审", actor=department_admin, on=date(2026, 10, 21))
    with pytest.raises(RuleViolation) as err:
        actions.do_extend(app, 1, "第三次", actor=department_admin, on=date(2026, 10, 22))
    assert err.value.code == "extension_once"
    app.refresh_from_db()
    assert (app.extension_days, app.extensions.count()) == (8, 2)


def test_joint_handling_is_45_plus_15(applicant, tree, street_admin, window_staff, department_admin):
    r = default_ruleset(D, prefix="onestop.")
    limits = rules.limits_for(HandlingMode.JOINT, 0, 0, r)
    assert (limits.decision, limits.max_extension, limits.promised) == (45, 15, 45)
    item = save_item(
        tree,
        street_admin,
        code="200010008000",
        name="联合审批事项",
        handling_mode=HandlingMode.JOINT,
        promised_limit_days=30,
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    app = submit(item, applicant, key="joint", on=date(2026, 2, 13))
    assert (app.decision_days, app.max_extension_days) == (45, 15)
    assert app.decision_due == add_working_days(date(2026, 2, 13), 45)
    actions.do_accept(app, actor=window_staff, on=date(2026, 2, 24))
    with pytest.raises(RuleViolation) as err:
        actions.do_extend(app, 16, "联合会审", actor=department_admin, on=date(2026, 3, 2))
    assert err.value.code == "extension_too_long"
    actions.do_extend(app, 15, "联合会审", actor=department_admin, on=date(2026, 3, 2))
    app.refresh_from_db()
    assert app.decision_due == add_working_days(date(2026, 2, 13), 60)


# --------------------------------------------------------------------------- 容缺


def test_the_deficiency_deadline_may_be_the_promised_date_but_not_a_day_later():
    received, promised = date(2026, 9, 30), dl(date(2026, 9, 30)).promised_due
    assert promised == date(2026, 10, 20)
    assert rules.check_deficiency_due(promised, received, promised) is None
    assert rules.check_deficiency_due(received, received, promised) is None
    assert (
        rules.check_deficiency_due(date(2026, 10, 21), received, promised).code == "deficiency_due_too_late"
    )
    assert rules.check_deficiency_due(date(2026, 9, 29), received, promised).code == "deficiency_due_past"


def test_an_application_with_a_missing_minor_material_cannot_be_approved(
    applicant, item, window_staff, department_admin
):
    app = actions.do_start_application(item, actor=applicant, on=D)
    m = {x.name: x for x in item.materials.all()}
    actions.do_use_shared_material(app, m["居民身份证"], actor=applicant, consent=True)
    actions.do_upload_material(app, m["近期免冠照片"], data=JPEG, filename="p.jpg", actor=applicant)
    actions.do_upload_material(app, m["申请书"], data=pdf_bytes(1), filename="a.pdf", actor=applicant)
    app = actions.do_submit_application(app, actor=applicant, on=D, undertaking="承诺补齐").application
    with pytest.raises(RuleViolation) as err:
        actions.do_accept(app, actor=window_staff, deficiency_due=date(2026, 10, 17), on=D)
    assert err.value.code == "deficiency_due_too_late"
    actions.do_accept(app, actor=window_staff, deficiency_due=date(2026, 10, 16), on=D)
    while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
        actions.do_review_task(task, passed=True, opinion="同意", actor=department_admin)
    with pytest.raises(RuleViolation) as err:
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin, on=date(2026, 10, 12))
    assert "deficiency_pending" in {v.code for v in err.value.violations}


# --------------------------------------------------------------------------- countdown flags


def flag(due: date, today: date, warning: int = 3) -> tuple[int, str]:
    left = rules.working_days_left(due, today, working_days_between)
    return left, rules.due_flag(left, warning)


@pytest.mark.parametrize(
    ("due", "today", "expected"),
    [
        (date(2026, 10, 16), date(2026, 10, 16), (0, Due.WARNING)),  # due today
        (date(2026, 10, 16), date(2026, 10, 13), (3, Due.WARNING)),  # exactly 3 left
        (date(2026, 10, 16), date(2026, 10, 12), (4, Due.OK)),  # 4 left
        (date(2026, 10, 12), date(2026, 10, 7), (4, Due.OK)),  # 10-08, 10-09, 10-10, 10-12
        (date(2026, 10, 10), date(2026, 10, 7), (3, Due.WARNING)),  # from a holiday
        (date(2026, 10, 8), date(2026, 9, 30), (1, Due.WARNING)),  # over 国庆
        (date(2026, 10, 16), date(2026, 10, 19), (-1, Due.OVERDUE)),  # the next Monday
        (date(2026, 10, 16), date(2026, 10, 20), (-2, Due.OVERDUE)),
    ],
)
def test_warning_and_overdue_at_the_edge(due, today, expected):
    assert flag(due, today) == expected


@pytest.mark.parametrize(
    ("due", "today"),
    [
        (date(2026, 10, 16), date(2026, 10, 17)),  # Friday's deadline, seen on Saturday
        (date(2026, 10, 16), date(2026, 10, 18)),  # and on Sunday
        (date(2026, 9, 30), date(2026, 10, 1)),  # the eve of 国庆, seen during the holiday
        (date(2026, 9, 30), date(2026, 10, 7)),
    ],
)
def test_a_deadline_missed_is_overdue_on_the_rest_day_after_it(due, today):
    left, f = flag(due, today)
    assert left < 0
    assert f == Due.OVERDUE
    app = Application(due_date=due, stopped_since=None)
    cd = queries.countdown(app, today, 3)
    assert cd.flag == Due.OVERDUE
    assert cd.overdue_days >= 1


def test_the_queue_overdue_filter_and_the_row_flag_agree_on_a_saturday(applicant, simple_item, window_staff):
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    app.refresh_from_db()
    assert app.due_date == date(2026, 10, 16)  # a Friday
    saturday = date(2026, 10, 17)
    overdue = queries.queue(window_staff, queries.QueueFilters(due=Due.OVERDUE), saturday)
    assert overdue.filter(pk=app.pk).exists()
    assert queries.countdown(app, saturday, 3).flag == Due.OVERDUE
    warning = queries.queue(window_staff, queries.QueueFilters(due=Due.WARNING), date(2026, 10, 13))
    assert warning.filter(pk=app.pk).exists()
    assert (
        not queries.queue(window_staff, queries.QueueFilters(due=Due.WARNING), date(2026, 10, 12))
        .filter(pk=app.pk)
        .exists()
    )


def test_the_result_is_due_ten_working_days_after_the_decision(
    applicant, simple_item, window_staff, department_admin
):
    app = submit(simple_item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
        actions.do_review_task(task, passed=True, opinion="同意", actor=department_admin)
    actions.do_decide(app, Outcome.APPROVED, actor=department_admin, on=date(2026, 9, 30))
    app.refresh_from_db()
    # 10-08, 10-09, 10-10, 10-12 … 10-16, 10-19, 10-20
    assert app.delivery_due == date(2026, 10, 20)
    assert app.due_date == app.delivery_due
