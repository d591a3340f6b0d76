"""好差评 (onestop.md §5): one per case and per visit, the time window, real-name vs anonymous,
the fix loop of a 差评 with its deadline in working days, and appeals decided by someone else."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.errors import NotFound, PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent, RuleValue
from dangqun.core.workcalendar import add_working_days
from dangqun.feedback import actions
from dangqun.feedback.choices import AppealState, FixState, Mode, RatingChannel
from dangqun.feedback.models import Fix, Rating

from .conftest import ENDED


def test_the_applicant_rates_a_finished_case_once(case, applicant, window_staff):
    rating = actions.do_rate_case(
        case, level=5, aspects={"efficiency": 5, "guide": 4}, actor=applicant, on=ENDED
    )
    assert (rating.mode, rating.unit, rating.item, rating.late) == (
        Mode.CASE,
        case.department,
        case.item,
        False,
    )
    assert rating.staff == window_staff  # the rater is shown who delivered the result
    assert not Fix.objects.exists()  # no fix loop for a good rating
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=ENDED)
    assert err.value.code == "already_rated"
    assert Rating.objects.count() == 1
    assert AuditEvent.objects.filter(action="feedback.rating.create").count() == 1


def test_only_the_applicant_of_an_ended_case_rates_it(case, other_resident, applicant, simple_item):
    with pytest.raises(NotFound):
        actions.do_rate_case(case, level=5, actor=other_resident, on=ENDED)
    from dangqun.onestop import actions as onestop

    open_app = onestop.do_create_and_submit(
        simple_item, {}, actor=applicant, consent=True, idempotency_key="o", on=ENDED
    )
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(open_app.application, level=5, actor=applicant, on=ENDED)
    assert err.value.code == "rating_not_ended"


@pytest.mark.parametrize(
    ("day", "allowed", "late"),
    [
        (date(2026, 11, 5), True, False),  # 3 days after the end: on time
        (date(2026, 11, 6), True, True),  # 4 days: a 补评 (late rating)
        (date(2026, 12, 2), True, True),  # 30 days: the last day of the window
        (date(2026, 12, 3), False, True),  # 31 days: closed
    ],
)
def test_late_ratings_inside_the_window(case, applicant, day, allowed, late):
    if not allowed:
        with pytest.raises(RuleViolation) as err:
            actions.do_rate_case(case, level=4, actor=applicant, on=day)
        assert err.value.code == "rating_window_closed"
        assert "2026-12-02" in err.value.message
        return
    assert actions.do_rate_case(case, level=4, actor=applicant, on=day).late is late


def test_a_score_is_never_assumed_and_bad_input_is_refused(case, applicant):
    for level in (None, 0, 6, "5", True, 4.5):
        with pytest.raises(RuleViolation) as err:
            actions.do_rate_case(case, level=level, actor=applicant, on=ENDED)
        assert err.value.code == "rating_level"
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=2, actor=applicant, on=ENDED)
    assert err.value.code == "bad_rating_reason"  # a 差评 says what went wrong
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=5, aspects={"attitude": 5}, actor=applicant, on=ENDED)
    assert err.value.code == "rating_aspect"  # attitude is an item of window ratings only
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_case(case, level=2, reasons=["nonsense"], actor=applicant, on=ENDED)
    assert err.value.code == "rating_reason"
    assert not Rating.objects.exists()


def test_a_window_visit_can_be_rated_anonymously_from_its_qr_code(visit, window_staff):
    rating = actions.do_rate_visit(visit, level=1, reasons=["attitude"], channel=RatingChannel.QR, on=ENDED)
    assert (rating.anonymous, rating.rater, rating.staff, rating.mode) == (
        True,
        None,
        window_staff,
        Mode.VISIT,
    )
    assert not Fix.objects.exists()  # no one to call back: counted, not followed up
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_visit(visit, level=5, on=ENDED)
    assert err.value.code == "already_rated"


def test_anonymous_ratings_only_where_the_rules_allow(visit, tree, root_admin):
    RuleValue.objects.create(
        key="feedback.anonymous_modes",
        value=[],
        version="local",
        effective_from=date(2026, 1, 1),
        organization=tree.street,
        source="本街道规定",
        clause="",
    )
    with pytest.raises(RuleViolation) as err:
        actions.do_rate_visit(visit, level=5, on=ENDED)
    assert err.value.code == "rating_anonymous"


def test_a_real_name_bad_rating_opens_a_fix_due_in_15_working_days(case, applicant):
    rating = actions.do_rate_case(
        case, level=2, reasons=["slow"], comment="等了很久", actor=applicant, on=ENDED
    )
    fix = rating.fix
    assert fix.state == FixState.OPEN
    assert fix.unit == case.department
    assert fix.due == add_working_days(ENDED, 15) == date(2026, 11, 23)


def test_the_fix_limit_is_overridden_per_region(case, applicant, tree):
    RuleValue.objects.create(
        key="feedback.fix_working_days",
        value=5,
        version="local",
        effective_from=date(2026, 1, 1),
        organization=tree.street,
        source="本市好差评实施办法",
        clause="",
    )
    rating = actions.do_rate_case(case, level=1, reasons=["result"], actor=applicant, on=ENDED)
    assert rating.fix.due == add_working_days(ENDED, 5)


def test_the_fix_loop_callback_fix_reply_confirm(case, applicant, department_admin, outsider):
    fix = actions.do_rate_case(case, level=2, reasons=["guide"], actor=applicant, on=ENDED).fix
    with pytest.raises(NotFound):
        actions.do_callback_fix(fix, note="x", verified=True, actor=outsider)
    with pytest.raises(RuleViolation):
        actions.do_record_fix(fix, note="改了", actor=department_admin)  # callback first
    actions.do_callback_fix(fix, note="电话回访，情况属实", verified=True, actor=department_admin)
    fix = actions.do_record_fix(fix, note="修改办事指南第3项", actor=department_admin, on=date(2026, 11, 20))
    assert fix.on_time is True
    fix = actions.do_reply_fix(fix, reply="已修改指南，感谢指正", actor=department_admin)
    with pytest.raises(NotFound):
        actions.do_confirm_fix(fix, solved=True, actor=department_admin)  # only the rater confirms
    fix = actions.do_confirm_fix(fix, solved=False, note="指南还是看不懂", actor=applicant)
    assert fix.state == FixState.CALLED_BACK  # back to the unit
    fix = actions.do_record_fix(fix, note="增加示例样表", actor=department_admin, on=date(2026, 11, 24))
    assert fix.on_time is False  # past 2026-11-23
    actions.do_reply_fix(fix, reply="已增加样表", actor=department_admin)
    fix = actions.do_confirm_fix(fix, solved=True, actor=applicant)
    assert (fix.state, fix.solved) == (FixState.CLOSED, True)
    actions_logged = set(
        AuditEvent.objects.filter(object_type="feedback.fix").values_list("action", flat=True)
    )
    assert {
        "feedback.fix.callback",
        "feedback.fix.record",
        "feedback.fix.reply",
        "feedback.fix.confirm",
    } <= actions_logged


def test_overdue_fixes_escalate_to_the_supervising_unit_once(case, applicant, tree):
    fix = actions.do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=ENDED).fix
    assert actions.escalate_overdue_fixes(fix.due) == 0
    assert actions.escalate_overdue_fixes(date(2026, 11, 24)) == 1
    assert actions.escalate_overdue_fixes(date(2026, 11, 25)) == 0
    fix.refresh_from_db()
    assert fix.escalated_to == tree.street


def test_an_appeal_is_never_decided_by_the_rated_person(
    case, applicant, window_staff, department_admin, supervisor
):
    rating = actions.do_rate_case(case, level=1, reasons=["attitude"], actor=applicant, on=ENDED)
    assert rating.staff == window_staff
    appeal = actions.do_file_appeal(rating, reason="评价人所述与本办件无关", actor=department_admin)
    # the rated staff member cannot decide, even holding the supervising role
    from dangqun.accounts.models import RoleGrant

    RoleGrant.objects.create(user=window_staff, role="street_admin", organization=case.department.parent)
    window_staff = type(window_staff).objects.get(pk=window_staff.pk)  # grants are cached per user object
    with pytest.raises(PermissionDenied):
        actions.do_decide_appeal(appeal, upheld=True, note="同意", actor=window_staff)
    with pytest.raises((PermissionDenied, NotFound)):
        actions.do_decide_appeal(appeal, upheld=True, note="同意", actor=department_admin)  # the appellant
    appeal = actions.do_decide_appeal(appeal, upheld=True, note="经核实为误评", actor=supervisor)
    assert appeal.state == AppealState.UPHELD
    rating.refresh_from_db()
    assert rating.counted is False  # out of the statistics, still on record
    assert Rating.objects.filter(pk=rating.pk).exists()
    assert Fix.objects.get(rating=rating).state == FixState.VOIDED
    with pytest.raises(RuleViolation):
        actions.do_decide_appeal(appeal, upheld=False, note="再议", actor=supervisor)


def test_unrated_cases_get_one_reminder_after_three_days(case, applicant):
    from dangqun.core.models import Notification

    assert actions.remind_unrated(date(2026, 11, 4)) == 0
    assert actions.remind_unrated(date(2026, 11, 5)) == 1
    assert actions.remind_unrated(date(2026, 11, 5)) == 0  # never twice
    assert Notification.objects.filter(recipient=applicant, key=f"feedback-remind-{case.pk}").count() == 1
