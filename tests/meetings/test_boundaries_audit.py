"""Boundary audit of the meeting rules (party.md §3, §4, §8): strict and inclusive fractions on
counts divisible and not divisible by 2 and 3, notice days to the day, periods at month ends."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.errors import RuleViolation
from dangqun.meetings import actions
from dangqun.meetings import rules as R
from dangqun.meetings.choices import ComplianceState, DecisionStatus, MeetingKind, VillageBody
from dangqun.members.rules import default_ruleset

RULES = default_ruleset(date(2026, 6, 1), prefix="")


def codes(found) -> list[str]:
    return [v.code for v in found]


# --- 支部党员大会 votes with abstentions and written opinions ----------------------------------


@pytest.mark.parametrize(
    ("entitled", "present", "for_", "against", "abstain", "adopted"),
    [
        (9, 5, 5, 0, 0, True),  # 5 of 9 entitled is more than half
        (9, 9, 4, 0, 5, False),  # abstentions are not votes in favour
        (10, 10, 5, 5, 0, False),  # half is not more than half
        (10, 6, 6, 0, 0, True),
        (2, 2, 2, 0, 0, True),
        (2, 2, 1, 0, 1, False),
    ],
)
def test_the_vote_needs_more_than_half_of_the_entitled_in_favour(
    entitled, present, for_, against, abstain, adopted
):
    result = R.vote_outcome(
        entitled=entitled,
        present=present,
        in_favour=for_,
        against=against,
        abstain=abstain,
        written_for=0,
        written_against=0,
        written_abstain=0,
        rules=RULES,
    )
    assert result.quorum is True
    assert result.adopted is adopted


def test_written_opinions_against_or_abstaining_count_as_opinions_not_as_attendance():
    # 10 entitled, 6 present; 4 written opinions (2 for) from the 4 absent: 4 + 2 = 6 adopted.
    kw = {
        "entitled": 10,
        "present": 6,
        "against": 2,
        "abstain": 0,
        "written_against": 1,
        "written_abstain": 1,
    }
    assert R.vote_outcome(in_favour=4, written_for=2, rules=RULES, **kw).adopted is True
    assert R.vote_outcome(in_favour=3, written_for=2, rules=RULES, **kw).adopted is False
    # One more written opinion than there are absent members is impossible.
    too_many = R.vote_outcome(in_favour=4, written_for=3, rules=RULES, **kw)
    assert codes(too_many.violations) == ["vote_counts"]


@pytest.mark.parametrize(
    ("entitled", "present", "ok"), [(9, 4, False), (9, 5, True), (12, 6, False), (12, 7, True)]
)
def test_a_vote_opens_with_strictly_more_than_half_present(entitled, present, ok):
    assert (R.quorum_problems(entitled, present, RULES) == []) is ok


# --- elections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entitled", "present", "ok"),
    [(20, 16, False), (20, 17, True), (7, 5, False), (7, 6, True), (3, 2, False), (3, 3, True)],
)
def test_an_election_opens_only_with_strictly_more_than_four_fifths_present(entitled, present, ok):
    assert (R.election_problems(entitled, present, 6, 5, RULES) == []) is ok


def test_seats_left_empty_when_too_few_pass_half_of_those_present():
    # 9 present: 5 votes needed. Three seats, only two reach it: one seat is short.
    outcome = R.election_outcome(10, 9, {"a": 9, "b": 5, "c": 4, "d": 4}, 3, RULES)
    assert outcome.result.elected == ["a", "b"]
    assert outcome.result.votes_needed == 5
    assert outcome.shortfall == 1


def test_a_tie_above_half_for_the_last_seat_goes_to_another_ballot():
    outcome = R.election_outcome(10, 10, {"a": 9, "b": 7, "c": 7, "d": 2}, 2, RULES)
    assert outcome.result.elected == ["a"]
    assert sorted(outcome.result.runoff) == ["b", "c"]
    assert outcome.shortfall == 1


def test_a_ballot_marking_more_candidates_than_seats_is_refused():
    assert codes(R.ballot_problems([1, 2, 3], [1, 2, 3, 4], 2)) == ["ballot_too_many"]
    assert R.ballot_problems([1, 2], [1, 2, 3, 4], 2) == []
    assert R.ballot_problems([], [1, 2, 3, 4], 2) == []  # a blank ballot is a ballot


# --- 四议两公开: 2/3 inclusive, more than half strict, notice days to the day ---------------------


def review(**kw):
    args = {
        "plan_sent_on": date(2026, 3, 5),
        "held_on": date(2026, 3, 8),
        "entitled": 9,
        "present": 6,
        "in_favour": 5,
        "rules": RULES,
    }
    return R.check_member_review(**{**args, **kw})


def test_the_plan_sent_exactly_three_days_before_is_in_time():
    assert review().problems == []
    assert codes(review(plan_sent_on=date(2026, 3, 6)).problems) == ["plan_notice"]
    assert codes(review(plan_sent_on=None).problems) == ["plan_notice"]


@pytest.mark.parametrize(
    ("entitled", "present", "ok"),
    [(9, 6, True), (9, 5, False), (10, 7, True), (10, 6, False), (3, 2, True), (3, 1, False)],
)
def test_the_member_review_needs_at_least_two_thirds_present_two_thirds_included(entitled, present, ok):
    assert (review(entitled=entitled, present=present, in_favour=present).problems == []) is ok


@pytest.mark.parametrize(
    ("entitled", "in_favour", "adopted"), [(9, 5, True), (9, 4, False), (10, 6, True), (10, 5, False)]
)
def test_the_member_review_needs_more_than_half_of_the_entitled(entitled, in_favour, adopted):
    check = review(entitled=entitled, present=entitled, in_favour=in_favour)
    assert check.problems == []
    assert check.adopted is adopted


def village(**kw):
    args = {
        "body": VillageBody.VILLAGERS,
        "notice_on": date(2026, 3, 1),
        "held_on": date(2026, 3, 11),
        "total": 101,
        "present": 51,
        "in_favour": 26,
        "rules": RULES,
    }
    return R.check_village_decision(**{**args, **kw})


def test_villagers_notice_exactly_ten_days_before_is_in_time():
    assert village().problems == []
    assert codes(village(notice_on=date(2026, 3, 2)).problems) == ["villagers_notice"]


@pytest.mark.parametrize(
    ("total", "present", "ok"), [(101, 50, False), (101, 51, True), (100, 50, False), (100, 51, True)]
)
def test_villagers_need_more_than_half_present(total, present, ok):
    assert (village(total=total, present=present, in_favour=present).problems == []) is ok


@pytest.mark.parametrize(
    ("total", "present", "ok"), [(30, 20, True), (30, 19, False), (31, 21, True), (31, 20, False)]
)
def test_households_and_representatives_need_two_thirds_included(total, present, ok):
    households = village(by_households=True, total=total, present=present, in_favour=present)
    reps = village(
        body=VillageBody.REPRESENTATIVES, notice_on=None, total=total, present=present, in_favour=present
    )
    assert (households.problems == []) is ok
    assert (reps.problems == []) is ok


@pytest.mark.parametrize(
    ("present", "in_favour", "adopted"), [(51, 26, True), (51, 25, False), (52, 26, False), (52, 27, True)]
)
def test_the_village_decision_needs_more_than_half_of_those_present(present, in_favour, adopted):
    assert village(present=present, in_favour=in_favour).adopted is adopted


@pytest.mark.django_db
def test_the_recorded_steps_apply_the_same_day_boundaries(tree, secretary):
    decision = actions.do_start_decision(branch=tree.branch_a, title="道路硬化", actor=secretary)

    def step(n, on, **data):
        return actions.do_record_decision_step(decision, n, held_on=on, data=data, actor=secretary)

    step(1, date(2026, 3, 1), proposal="硬化村道")
    step(2, date(2026, 3, 2), opinion="同意")
    with pytest.raises(RuleViolation) as err:
        step(3, date(2026, 3, 8), plan_sent_on=date(2026, 3, 6), entitled=9, present=6, in_favour=5)
    assert err.value.code == "plan_notice"
    assert step(3, date(2026, 3, 8), plan_sent_on=date(2026, 3, 5), entitled=9, present=6, in_favour=5).passed
    villagers = {"body": VillageBody.VILLAGERS, "total": 100, "present": 51, "in_favour": 26}
    with pytest.raises(RuleViolation) as err:
        step(4, date(2026, 3, 20), notice_on=date(2026, 3, 11), **villagers)
    assert err.value.code == "villagers_notice"
    assert step(4, date(2026, 3, 20), notice_on=date(2026, 3, 10), **villagers).passed
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_PROGRESS


# --- compliance periods at month ends ----------------------------------------------------------

FACTS = R.BranchFacts(has_committee=True, groups=[], members=5, members_talked=5)


def items(held, today):
    return {
        i.kind: i
        for i in R.assess_compliance(2026, 1, today=today, facts=FACTS, held=held, attendance={}, rules=RULES)
    }


def test_a_month_is_pending_through_its_last_day_and_missing_the_day_after():
    on_last_day = items({}, date(2026, 2, 28))
    assert [p.state for p in on_last_day[MeetingKind.COMMITTEE].periods] == [
        ComplianceState.MISSING,
        ComplianceState.PENDING,
        ComplianceState.PENDING,
    ]
    next_day = items({}, date(2026, 3, 1))
    assert [p.state for p in next_day[MeetingKind.COMMITTEE].periods][:2] == [
        ComplianceState.MISSING,
        ComplianceState.MISSING,
    ]


def test_the_quarterly_assembly_is_pending_until_the_quarter_ends():
    assert items({}, date(2026, 3, 31))[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.PENDING
    assert items({}, date(2026, 4, 1))[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.MISSING
    held = {(MeetingKind.BRANCH_ASSEMBLY, None, 3): 1}
    assert items(held, date(2026, 4, 1))[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.OK


def test_yearly_duties_are_not_missing_in_the_first_quarter():
    out = items({}, date(2026, 4, 1))
    assert out[MeetingKind.LIFE].state == ComplianceState.PENDING
    assert out[MeetingKind.TALK].state == ComplianceState.OK  # every member talked to already
