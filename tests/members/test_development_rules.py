"""The 25 steps' time and order rules as pure functions, each on its boundary days."""

from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest

from dangqun.members import rules as R
from dangqun.members.choices import Status, StepState

from .conftest import national, state, weekdays

RULES = national(date(2025, 1, 1))
FULL = [R.Person(10, "刘正式", Status.FULL), R.Person(11, "陈正式", Status.FULL)]


def codes(violations) -> list[str]:
    return [v.code for v in violations]


def check(st, step, on, **ev):
    return R.check_step(st, step, on, RULES, evidence=ev, working_days=weekdays)


def assess(st, step, on, **ev):
    return R.assess_step(st, step, on, RULES, evidence=ev, working_days=weekdays)


# --- step 1: 18 years old on the day of the application -------------------------------------


@pytest.mark.parametrize(
    ("born", "refused", "allowed"),
    [
        (date(2000, 6, 10), date(2018, 6, 9), date(2018, 6, 10)),
        # Born on 29 February: the 18th birthday in a common year is 28 February (add_years).
        (date(2008, 2, 29), date(2026, 2, 27), date(2026, 2, 28)),
    ],
)
def test_it_refuses_an_application_the_day_before_the_18th_birthday(born, refused, allowed):
    st = state(birth_date=born)
    [v] = check(st, 1, refused)
    assert v.code == "age"
    assert f"最早可于 {allowed.isoformat()} 递交" in v.message
    assert v.message.endswith("依据：中国共产党章程 第一条")
    assert check(st, 1, allowed) == []


def test_a_birthday_on_29_february_falls_on_28_february_in_a_common_year():
    assert R.age_reached_on(date(2008, 2, 29), 18) == date(2026, 2, 28)
    assert R.age_reached_on(date(2008, 2, 29), 16) == date(2024, 2, 29)  # a leap year keeps the day


# --- step 2: the talk within one month (a flag, not a block) ---------------------------------


def test_it_flags_a_talk_after_one_month_without_blocking_it():
    st = state(steps={1: date(2025, 1, 31)})
    on_time = assess(st, 2, date(2025, 2, 28))  # 31 January + 1 month = 28 February
    late = assess(st, 2, date(2025, 3, 1))
    assert on_time.flags == []
    assert on_time.violations == []
    assert late.violations == []
    assert codes(late.flags) == ["talk_overdue"]
    assert "最迟 2025-02-28" in late.flags[0].message


# --- step 5: 1–2 contact persons, full members, never oneself --------------------------------


def test_contact_persons_are_one_or_two_full_members_and_never_the_person():
    st = state(Status.ACTIVIST, steps={1: date(2024, 1, 1), 2: date(2024, 1, 5), 3: date(2024, 2, 1)})
    on = date(2024, 2, 10)
    assert check(st, 5, on, contact_persons=FULL[:1]) == []
    assert check(st, 5, on, contact_persons=FULL) == []
    assert codes(check(st, 5, on, contact_persons=[])) == ["contact_persons_count"]
    three = [*FULL, R.Person(12, "黄正式", Status.FULL)]
    assert codes(check(st, 5, on, contact_persons=three)) == ["contact_persons_count"]
    me = R.Person(st.id, "本人", Status.ACTIVIST)
    probationary = R.Person(13, "吴预备", Status.PROBATIONARY)
    assert codes(check(st, 5, on, contact_persons=[me, probationary])) == [
        "contact_persons_self",
        "contact_persons_not_full",
    ]


# --- step 7: no earlier than activist date + 1 year -------------------------------------------


def _activist(since: date) -> R.MemberState:
    steps = {1: date(2023, 1, 1), 2: date(2023, 1, 5), 3: since, 4: since, 5: since, 6: since}
    return state(Status.ACTIVIST, steps=steps)


def test_it_refuses_a_candidate_the_day_before_a_full_year_as_activist():
    st = _activist(date(2024, 6, 10))
    [v] = check(st, 7, date(2025, 6, 9))
    assert v.code == "activist_period"
    assert v.message == (
        "确定发展对象须在列为入党积极分子满 1 年后（最早 2025-06-10）。"
        "依据：发展党员工作细则（2014，2026年修订） 第十三条"
    )
    assert v.source == "发展党员工作细则（2014，2026年修订） 第十三条"
    assert check(st, 7, date(2025, 6, 10)) == []


def test_an_activist_from_29_february_may_become_a_candidate_on_28_february():
    st = _activist(date(2024, 2, 29))
    assert codes(check(st, 7, date(2025, 2, 27))) == ["activist_period"]
    assert check(st, 7, date(2025, 2, 28)) == []


# --- step 9: two introducers -----------------------------------------------------------------


def _candidate(**kw) -> R.MemberState:
    steps = {n: date(2024, 1, n) for n in range(1, 8)}
    steps.update(kw.pop("steps", {}))
    return state(Status.CANDIDATE, steps=steps, **kw)


def test_two_full_members_introduce_and_every_fault_is_reported():
    st = _candidate()
    on = date(2024, 2, 1)
    assert check(st, 9, on, introducers=FULL) == []
    me = R.Person(st.id, "本人", Status.CANDIDATE)
    applicant = R.Person(14, "孙申请", Status.APPLICANT)
    found = codes(check(st, 9, on, introducers=[me, applicant, FULL[0]]))
    assert found == ["introducers_count", "introducers_self", "introducers_not_full"]


# --- step 10: a failed political review locks steps 12 and after ----------------------------


def test_a_failed_political_review_locks_every_later_step():
    steps = {
        8: date(2024, 2, 1),
        9: date(2024, 2, 1),
        10: (date(2024, 2, 2), {"passed": False}),
        11: date(2024, 2, 3),
    }
    st = _candidate(steps=steps)
    assert "political_review_failed" in codes(check(st, 12, date(2024, 3, 1)))
    assert R.assess_step(_candidate(), 10, date(2024, 2, 2), RULES, evidence={"passed": False}).flags
    line = {e.step: e.state for e in R.timeline(st, date(2024, 3, 1), RULES)}
    assert line[11] == StepState.DONE
    assert all(line[n] == StepState.LOCKED for n in range(12, 26))


# --- step 11: training of 3 days or 24 hours --------------------------------------------------


@pytest.mark.parametrize(
    ("days", "hours", "ok"),
    [(2, 23, False), (3, 0, True), (0, 24, True), (2, 24, True), (None, None, False)],
)
def test_training_needs_three_days_or_twenty_four_hours(days, hours, ok):
    assert (check(_candidate(), 11, date(2024, 2, 1), training_days=days, training_hours=hours) == []) is ok


# --- step 13: the 公示 of at least 5 working days, before the 预审 ----------------------------


def _reviewed() -> R.MemberState:
    return _candidate(steps={n: date(2025, 2, 20) for n in range(8, 13)})


def test_publicity_needs_five_working_days():
    st = _reviewed()
    # Monday 3 March to Thursday 6 March 2025 is 4 working days; to Friday 7 March, 5.
    short = check(
        st,
        13,
        date(2025, 3, 10),
        passed=True,
        publicity_start=date(2025, 3, 3),
        publicity_end=date(2025, 3, 6),
    )
    assert codes(short) == ["publicity_short"]
    assert "只有 4 个工作日" in short[0].message
    assert (
        check(
            st,
            13,
            date(2025, 3, 10),
            passed=True,
            publicity_start=date(2025, 3, 3),
            publicity_end=date(2025, 3, 7),
        )
        == []
    )


def test_the_pre_review_comes_after_the_publicity_has_ended():
    st = _reviewed()
    ev = {"passed": True, "publicity_start": date(2025, 3, 3), "publicity_end": date(2025, 3, 7)}
    assert codes(check(st, 13, date(2025, 3, 7), **ev)) == ["publicity_not_ended"]
    assert check(st, 13, date(2025, 3, 8), **ev) == []
    early = {**ev, "publicity_start": date(2025, 2, 19)}
    assert "publicity_before_review" in codes(check(st, 13, date(2025, 3, 8), **early))


def test_the_form_is_filled_only_after_a_passed_pre_review():
    steps = {n: date(2025, 2, 20) for n in range(8, 13)}
    failed = _candidate(steps={**steps, 13: (date(2025, 3, 8), {"passed": False})})
    passed = _candidate(steps={**steps, 13: (date(2025, 3, 8), {"passed": True})})
    assert codes(check(failed, 14, date(2025, 3, 9))) == ["pre_review_not_passed"]
    assert check(passed, 14, date(2025, 3, 9)) == []


# --- steps 15/17: the branch meeting and the higher committee's approval ----------------------


def _admitted(meeting: date) -> R.MemberState:
    steps = {n: date(2024, 1, 1) for n in range(1, 15)}
    steps[15], steps[16] = meeting, meeting
    return state(Status.CANDIDATE, steps=steps)


def test_a_branch_meeting_without_a_majority_of_the_entitled_does_not_admit():
    st = _candidate(steps={n: date(2024, 1, 20) for n in range(8, 15)})
    assert check(st, 15, date(2024, 2, 1), entitled=10, present=6, in_favour=6) == []
    assert codes(check(st, 15, date(2024, 2, 1), entitled=10, present=6, in_favour=5)) == ["vote_not_adopted"]
    assert codes(check(st, 15, date(2024, 2, 1), entitled=10, present=5, in_favour=5)) == ["vote_no_quorum"]
    assert codes(check(st, 15, date(2024, 2, 1))) == ["vote_missing"]


def test_leaving_the_unit_within_three_months_is_a_warning():
    st = _candidate(steps={n: date(2024, 1, 20) for n in range(8, 15)})
    ev = {"entitled": 10, "present": 8, "in_favour": 8}
    soon = assess(st, 15, date(2024, 2, 1), leaving_unit_on=date(2024, 5, 1), **ev)
    later = assess(st, 15, date(2024, 2, 1), leaving_unit_on=date(2024, 5, 2), **ev)
    assert soon.violations == []
    assert codes(soon.flags) == ["leaving_unit"]
    assert later.flags == []


def test_approval_is_flagged_after_three_months_and_refused_after_six():
    st = _admitted(date(2024, 5, 10))
    assert assess(st, 17, date(2024, 8, 10)).flags == []
    assert codes(assess(st, 17, date(2024, 8, 11)).flags) == ["approval_late"]
    at_limit = assess(st, 17, date(2024, 11, 10))
    assert at_limit.violations == []
    assert codes(at_limit.flags) == ["approval_late"]
    late = assess(st, 17, date(2024, 11, 11))
    assert codes(late.violations) == ["approval_too_late"]
    assert "最迟" in late.violations[0].message
    assert "2024-11-10" in late.violations[0].message
    excepted = assess(st, 17, date(2024, 11, 11), delay_reason="审批机关换届", delay_approved_by="区委组织部")
    assert excepted.violations == []
    assert codes(excepted.flags) == ["approval_too_late"]


@pytest.mark.parametrize("step", [17, 24])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (R.ApprovingBody("幸福街道党工委", True, True, False), []),
        (R.ApprovingBody("和平社区党委", True, True, True), ["approver_subordinate_committee"]),
        (R.ApprovingBody("和平社区党总支", False, True, False), ["approver_not_higher_committee"]),
        (R.ApprovingBody("光明街道党工委", True, False, False), ["approver_not_higher_committee"]),
        (None, []),  # a body outside the platform, recorded as written
    ],
)
def test_only_a_higher_committee_with_the_power_may_approve(step, body, expected):
    if step == 17:
        st, on = _admitted(date(2024, 5, 10)), date(2024, 6, 1)
    else:
        steps = {n: date(2024, 6, 1) for n in range(1, 23)} | {15: date(2024, 5, 10), 23: date(2025, 5, 12)}
        st, on = state(Status.PROBATIONARY, steps=steps), date(2025, 6, 1)
    result = assess(st, step, on, approver=body)
    assert codes(result.violations) == expected
    for v in result.violations:
        assert "发展党员工作细则" in v.message
        if body is not None and body.is_committee and body.above_branch:
            assert body.name in v.message


def test_a_region_may_allow_its_subordinate_committees_to_approve():
    key = "party.dev.subordinate_committee_may_approve"
    rules = national(date(2024, 6, 1))
    assert rules[key] is False
    allowed = R.RuleSet({**rules._rules, key: dataclasses.replace(rules.rule(key), value=True)}, rules.on)
    body = R.ApprovingBody("和平社区党委", True, True, True)
    st = _admitted(date(2024, 5, 10))
    assert R.assess_step(st, 17, date(2024, 6, 1), allowed, evidence={"approver": body}).violations == []
    assert codes(R.assess_step(st, 17, date(2024, 6, 1), rules, evidence={"approver": body}).violations) == [
        "approver_subordinate_committee"
    ]


# --- steps 23/24: probation of one year, once extended, transfer-in postponement --------------


def _probationary(meeting: date, **kw) -> R.MemberState:
    steps = {n: date(2024, 1, 1) for n in range(1, 15)}
    steps.update(dict.fromkeys(range(15, 23), meeting))
    return state(Status.PROBATIONARY, steps=steps, **kw)


def test_the_full_membership_meeting_waits_for_the_end_of_probation():
    st = _probationary(date(2024, 5, 10))
    vote = {"entitled": 10, "present": 8, "in_favour": 8}
    [v] = check(st, 23, date(2025, 5, 9), **vote)
    assert v.code == "probation_not_ended"
    assert "2025-05-10" in v.message
    assert check(st, 23, date(2025, 5, 10), **vote) == []


def test_an_extension_moves_the_end_of_probation():
    st = _probationary(date(2024, 5, 10), extension_months=6)
    vote = {"entitled": 10, "present": 8, "in_favour": 8}
    assert codes(check(st, 23, date(2025, 11, 9), **vote)) == ["probation_not_ended"]
    assert check(st, 23, date(2025, 11, 10), **vote) == []
    assert R.probation_end(date(2024, 2, 29), RULES) == date(2025, 2, 28)


def test_a_transferred_probationary_member_may_be_postponed_six_months_at_most():
    st = _probationary(date(2024, 5, 10), transferred_in=True)
    vote = {"entitled": 10, "present": 8, "in_favour": 8}
    assert check(st, 23, date(2025, 11, 10), **vote) == []
    [v] = check(st, 23, date(2025, 11, 11), **vote)
    assert v.code == "transfer_postpone_exceeded"
    assert "转正时间仍为预备期满之日 2025-05-10" in v.message
    normal = _probationary(date(2024, 5, 10))
    assert check(normal, 23, date(2025, 11, 11), **vote) == []


@pytest.mark.parametrize(("months", "ok"), [(5, False), (6, True), (12, True), (13, False)])
def test_probation_is_extended_by_six_to_twelve_months(months, ok):
    st = _probationary(date(2024, 5, 10))
    found = R.check_extension(
        st,
        months=months,
        meeting_on=date(2025, 5, 12),
        approved_on=date(2025, 6, 1),
        extensions_so_far=0,
        rules=RULES,
    )
    assert (found == []) is ok


def test_probation_is_extended_once_only_and_only_for_a_probationary_member():
    st = _probationary(date(2024, 5, 10))
    again = R.check_extension(
        st,
        months=6,
        meeting_on=date(2025, 5, 12),
        approved_on=date(2025, 5, 1),
        extensions_so_far=1,
        rules=RULES,
    )
    assert codes(again) == ["extension_once", "extension_approval_date"]
    full = state(Status.FULL, steps={15: date(2024, 5, 10)})
    assert "extension_status" in codes(
        R.check_extension(
            full,
            months=6,
            meeting_on=date(2025, 5, 12),
            approved_on=date(2025, 6, 1),
            extensions_so_far=0,
            rules=RULES,
        )
    )


# --- order: prerequisites and dates; every violation at once --------------------------------


def test_a_step_needs_its_prerequisites_and_a_date_not_before_theirs():
    st = state(Status.ACTIVIST, steps={1: date(2023, 1, 1), 2: date(2023, 1, 5), 3: date(2023, 3, 1)})
    found = check(st, 7, date(2023, 2, 1))
    # 4 and 6 missing, and a year not yet passed: all reported together.
    assert codes(found) == ["step_order", "step_order", "activist_period"]
    st2 = state(Status.ACTIVIST, steps={1: date(2023, 1, 1), 2: date(2023, 1, 5), 3: date(2023, 3, 1)})
    [v] = check(st2, 4, date(2023, 2, 28))
    assert v.code == "step_date_order"
    assert "最早 2023-03-01" in v.message


def test_a_step_is_recorded_once_in_the_right_status_and_not_in_the_future():
    st = state(steps={1: date(2025, 1, 1), 2: date(2025, 1, 5)})
    assert "step_done" in codes(check(st, 2, date(2025, 1, 6)))
    assert codes(check(state(Status.FULL, steps={1: date(2025, 1, 1)}), 2, date(2025, 1, 6))) == [
        "step_status"
    ]
    assert codes(check(state(Status.DECEASED, steps={1: date(2025, 1, 1)}), 2, date(2025, 1, 6))) == [
        "step_status"
    ]
    found = R.check_step(st, 3, date(2025, 3, 1), RULES, today=date(2025, 2, 1))
    assert codes(found) == ["future_date"]
    assert codes(check(st, 26, date(2025, 3, 1))) == ["step_unknown"]


def test_no_message_ever_shows_a_negative_interval():
    samples = [
        *check(_activist(date(2024, 6, 10)), 7, date(2023, 1, 1)),
        *check(_probationary(date(2024, 5, 10)), 23, date(2024, 5, 11), entitled=10, present=8, in_favour=8),
        *check(state(birth_date=date(2010, 1, 1)), 1, date(2020, 1, 1)),
        *assess(_admitted(date(2024, 5, 10)), 17, date(2025, 5, 10)).violations,
    ]
    assert samples
    for v in samples:
        assert not re.search(r"-\d+\s*(天|日|个月|年)", v.message), v.message
        assert "依据：" in v.message


# --- the timeline ----------------------------------------------------------------------------


def test_the_timeline_shows_done_due_overdue_and_waiting_steps():
    applied = state(steps={1: date(2025, 1, 10)})
    line = {e.step: e for e in R.timeline(applied, date(2025, 2, 10), RULES)}
    assert line[1].state == StepState.DONE
    assert line[1].done_on == date(2025, 1, 10)
    assert line[2].state == StepState.DUE
    assert line[2].due_on == date(2025, 2, 10)
    assert line[3].state == StepState.PENDING
    assert {e.step: e for e in R.timeline(applied, date(2025, 2, 11), RULES)}[2].state == StepState.OVERDUE
    activist = _activist(date(2024, 6, 10))
    seven = {e.step: e for e in R.timeline(activist, date(2025, 6, 9), RULES)}[7]
    assert seven.state == StepState.WAITING
    assert seven.earliest_on == date(2025, 6, 10)
    assert {e.step: e for e in R.timeline(activist, date(2025, 6, 10), RULES)}[7].state == StepState.DUE


def test_an_activist_is_reviewed_every_six_months():
    assert R.next_review_on(date(2024, 6, 10), date(2024, 12, 10), RULES) == date(2024, 12, 10)
    assert R.next_review_on(date(2024, 6, 10), date(2024, 12, 11), RULES) == date(2025, 6, 10)
