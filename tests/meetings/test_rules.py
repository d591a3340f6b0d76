"""Pure meeting rules: quorum and majority, elections, 差额, rotating codes, 四议两公开, the
appraisal cap, compliance — on their boundaries, with the shipped rule values."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangqun.meetings import rules as R
from dangqun.meetings.choices import ComplianceState, Grade, MeetingKind, VillageBody
from dangqun.members.rules import branch_meeting_result, default_ruleset, election_result

RULES = default_ruleset(date(2026, 6, 1), prefix="")
SECRET = b"k" * 32


# --- 支部党员大会: more than half present; in favour more than half of the ENTITLED ----------------


@pytest.mark.parametrize(("present", "quorum"), [(5, False), (6, True)])
def test_with_ten_entitled_five_present_is_no_quorum_and_six_is(present, quorum):
    assert branch_meeting_result(10, present, 0, rules=RULES).quorum is quorum
    assert bool(R.quorum_problems(10, present, RULES)) is not quorum


@given(entitled=st.integers(1, 500), data=st.data())
def test_quorum_is_strictly_more_than_half_of_the_entitled(entitled, data):
    present = data.draw(st.integers(0, entitled))
    assert (not R.quorum_problems(entitled, present, RULES)) == (2 * present > entitled)


@given(entitled=st.integers(1, 300), data=st.data())
def test_adoption_needs_more_than_half_of_the_entitled_including_written_opinions(entitled, data):
    present = data.draw(st.integers(0, entitled))
    written = data.draw(st.integers(0, entitled - present))
    written_for = data.draw(st.integers(0, written))
    in_favour = data.draw(st.integers(0, present))
    against = data.draw(st.integers(0, present - in_favour))
    out = R.vote_outcome(
        entitled=entitled,
        present=present,
        in_favour=in_favour,
        against=against,
        abstain=present - in_favour - against,
        written_for=written_for,
        written_against=written - written_for,
        written_abstain=0,
        rules=RULES,
    )
    assert out.quorum == (2 * present > entitled)
    assert out.adopted == (out.quorum and 2 * (in_favour + written_for) > entitled)
    assert out.votes_needed == entitled // 2 + 1


def test_ballots_cannot_exceed_those_present():
    out = R.vote_outcome(
        entitled=10,
        present=6,
        in_favour=5,
        against=1,
        abstain=1,
        written_for=0,
        written_against=0,
        written_abstain=0,
        rules=RULES,
    )
    assert not out.adopted
    assert [v.code for v in out.violations] == ["vote_counts"]


def test_six_of_ten_in_favour_adopts_and_five_does_not():
    assert R.vote_outcome(
        entitled=10,
        present=6,
        in_favour=6,
        against=0,
        abstain=0,
        written_for=0,
        written_against=0,
        written_abstain=0,
        rules=RULES,
    ).adopted
    out = R.vote_outcome(
        entitled=10,
        present=8,
        in_favour=5,
        against=3,
        abstain=0,
        written_for=0,
        written_against=0,
        written_abstain=0,
        rules=RULES,
    )
    assert not out.adopted
    assert out.violations[0].code == "vote_not_adopted"
    # A written opinion in favour from an absent member tips it.
    assert R.vote_outcome(
        entitled=10,
        present=8,
        in_favour=5,
        against=3,
        abstain=0,
        written_for=1,
        written_against=0,
        written_abstain=0,
        rules=RULES,
    ).adopted


# --- elections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("present", "valid"), [(8, False), (9, True)])
def test_an_election_of_ten_entitled_needs_more_than_four_fifths_present(present, valid):
    problems = R.election_problems(10, present, 6, 5, RULES)
    assert (not problems) is valid
    if not valid:
        assert problems[0].code == "election_turnout"


@given(entitled=st.integers(1, 400), data=st.data())
def test_turnout_is_strictly_more_than_four_fifths(entitled, data):
    present = data.draw(st.integers(0, entitled))
    problems = R.election_problems(entitled, present, 2, 1, RULES)
    assert (not problems) == (5 * present > 4 * entitled)


@pytest.mark.parametrize("seats", range(1, 16))
def test_margin_needs_at_least_twenty_percent_more_candidates(seats):
    need = math.ceil(Fraction(seats) * Fraction(6, 5))
    assert R.candidates_needed(seats, RULES) == need
    assert not R.election_problems(100, 100, need, seats, RULES)
    problems = R.election_problems(100, 100, need - 1, seats, RULES)
    assert [p.code for p in problems] == ["election_margin"]


def test_five_seats_need_six_candidates():
    assert R.candidates_needed(5, RULES) == 6


@given(seats=st.integers(1, 15), extra=st.integers(0, 5))
def test_margin_property(seats, extra):
    n = seats + extra
    ok = not R.election_problems(50, 50, n, seats, RULES)
    assert ok == (Fraction(n) >= Fraction(seats) * Fraction(6, 5))


def test_elected_with_more_than_half_of_those_present_ties_and_shortfall_reported():
    # 9 present: 5 votes needed. Two seats, three candidates.
    out = R.election_outcome(10, 9, {"a": 7, "b": 5, "c": 4}, 2, RULES)
    assert out.result.elected == ["a", "b"]
    assert out.shortfall == 0
    tie = R.election_outcome(10, 9, {"a": 7, "b": 6, "c": 6}, 2, RULES)
    assert tie.result.elected == ["a"]
    assert tie.result.runoff == ["b", "c"]
    assert tie.shortfall == 1
    few = R.election_outcome(10, 9, {"a": 4, "b": 4, "c": 3}, 2, RULES)
    assert few.result.elected == []
    assert few.shortfall == 2
    assert any("未选出" in n for n in few.notes)
    assert election_result(10, 9, {"a": 5}, 1, rules=RULES).valid is False  # 1 candidate for 1 seat


def test_a_ballot_marks_at_most_the_seats_and_only_candidates():
    assert not R.ballot_problems([1, 2], [1, 2, 3], 2)
    assert [v.code for v in R.ballot_problems([1, 2, 3], [1, 2, 3], 2)] == ["ballot_too_many"]
    assert [v.code for v in R.ballot_problems([1, 1], [1, 2, 3], 2)] == ["ballot_candidates"]
    assert [v.code for v in R.ballot_problems([9], [1, 2, 3], 2)] == ["ballot_candidates"]


# --- rotating sign-in codes -----------------------------------------------------------------------

T0 = datetime(2026, 3, 10, 6, 0, 0, tzinfo=UTC)  # a step boundary (30 s)


def test_a_code_is_accepted_in_its_step_and_the_next_and_refused_after():
    code = R.signin_code(SECRET, 7, R.time_step(T0, 30))
    assert R.code_matches(SECRET, 7, code, T0, RULES)
    assert R.code_matches(SECRET, 7, code, T0 + timedelta(seconds=29), RULES)
    assert R.code_matches(SECRET, 7, code, T0 + timedelta(seconds=59), RULES)  # scanning latency
    assert not R.code_matches(SECRET, 7, code, T0 + timedelta(seconds=60), RULES)
    assert not R.code_matches(SECRET, 7, code, T0 - timedelta(seconds=1), RULES)  # not yet shown


def test_a_code_belongs_to_one_meeting_and_one_key():
    code = R.signin_code(SECRET, 7, R.time_step(T0, 30))
    assert not R.code_matches(SECRET, 8, code, T0, RULES)
    assert not R.code_matches(b"x" * 32, 7, code, T0, RULES)
    assert R.code_matches(SECRET, 7, code.lower()[:4] + " " + code.lower()[4:], T0, RULES)
    assert not R.code_matches(SECRET, 7, "", T0, RULES)
    assert not R.code_matches(SECRET, 7, "!" * 8, T0, RULES)


@given(offset=st.integers(0, 10_000))
def test_codes_rotate(offset):
    at = T0 + timedelta(seconds=offset)
    step = R.time_step(at, 30)
    assert R.signin_code(SECRET, 1, step) != R.signin_code(SECRET, 1, step + 2)
    assert len(R.signin_code(SECRET, 1, step)) == R.CODE_LENGTH


def test_sign_in_is_refused_outside_its_window_and_after_a_late_confirmation():
    starts = T0 + timedelta(hours=1)

    def codes(seen_at, now, ends=None):
        return [
            v.code
            for v in R.check_sign_in(
                code_ok=True, seen_at=seen_at, now=now, starts_at=starts, ends_at=ends, rules=RULES
            )
        ]

    assert codes(starts - timedelta(minutes=30), starts - timedelta(minutes=30)) == []
    assert codes(starts - timedelta(minutes=31), starts - timedelta(minutes=31)) == ["signin_closed"]
    assert codes(starts + timedelta(minutes=180), starts + timedelta(minutes=180)) == []
    assert codes(starts + timedelta(minutes=181), starts + timedelta(minutes=181)) == ["signin_closed"]
    ends = starts + timedelta(minutes=60)
    assert codes(ends + timedelta(seconds=1), ends + timedelta(seconds=1), ends) == ["signin_closed"]
    assert codes(starts, starts + timedelta(seconds=300)) == []
    assert codes(starts, starts + timedelta(seconds=301)) == ["signin_late"]


# --- 四议两公开 ---------------------------------------------------------------------------------


def review(**kw):
    args = {
        "plan_sent_on": date(2026, 3, 1),
        "held_on": date(2026, 3, 4),
        "entitled": 30,
        "present": 20,
        "in_favour": 16,
        "rules": RULES,
    }
    args.update(kw)
    return R.check_member_review(**args)


def test_the_member_review_needs_the_plan_three_days_before():
    assert not review().problems
    assert [v.code for v in review(plan_sent_on=date(2026, 3, 2)).problems] == ["plan_notice"]


@pytest.mark.parametrize(("present", "ok"), [(19, False), (20, True)])
def test_the_member_review_needs_two_thirds_present(present, ok):
    assert (not review(present=present, in_favour=16).problems) is ok


@pytest.mark.parametrize(("in_favour", "adopted"), [(15, False), (16, True)])
def test_the_member_review_needs_more_than_half_of_the_entitled_in_favour(in_favour, adopted):
    check = review(in_favour=in_favour)
    assert not check.problems
    assert check.adopted is adopted


def village(**kw):
    args = {
        "body": VillageBody.VILLAGERS,
        "notice_on": date(2026, 3, 1),
        "held_on": date(2026, 3, 11),
        "total": 100,
        "present": 51,
        "in_favour": 26,
        "rules": RULES,
    }
    args.update(kw)
    return R.check_village_decision(**args)


def test_a_villagers_meeting_needs_ten_days_notice_and_more_than_half_present():
    assert not village().problems
    assert village().adopted
    assert [v.code for v in village(notice_on=date(2026, 3, 2)).problems] == ["villagers_notice"]
    assert [v.code for v in village(present=50, in_favour=26).problems] == ["village_quorum"]
    assert village(in_favour=25).adopted is False  # not more than half of the 51 present


def test_a_villagers_meeting_by_households_needs_two_thirds_of_households():
    assert not village(by_households=True, total=90, present=60, in_favour=31).problems
    assert village(by_households=True, total=90, present=59, in_favour=31).problems


def test_a_representatives_meeting_needs_two_thirds_present_and_no_ten_day_notice():
    rep = {"body": VillageBody.REPRESENTATIVES, "notice_on": None, "total": 30}
    assert not village(**rep, present=20, in_favour=11).problems
    assert [v.code for v in village(**rep, present=19, in_favour=11).problems] == ["village_quorum"]
    assert village(**rep, present=20, in_favour=10).adopted is False


def test_impossible_counts_are_refused():
    assert [v.code for v in village(present=101).problems] == ["decision_counts"]
    assert [v.code for v in review(in_favour=21).problems] == ["decision_counts"]


# --- appraisal ------------------------------------------------------------------------------------


@given(graded=st.integers(0, 300))
def test_the_excellent_cap_is_a_third_of_the_graded_rounded_down(graded):
    assert R.excellent_cap(graded, RULES) == graded // 3


def test_grade_problems_cap_and_probationary():
    graded, ungraded = [1, 2, 3, 4, 5, 6], [7]
    ok = dict.fromkeys(graded, Grade.QUALIFIED) | {1: Grade.EXCELLENT, 2: Grade.EXCELLENT}
    assert not R.grade_problems(ok, graded_ids=graded, ungraded_ids=ungraded, rules=RULES)
    over = ok | {3: Grade.EXCELLENT}
    assert [
        v.code for v in R.grade_problems(over, graded_ids=graded, ungraded_ids=ungraded, rules=RULES)
    ] == ["appraisal_excellent_cap"]
    prob = ok | {7: Grade.QUALIFIED}
    assert [
        v.code for v in R.grade_problems(prob, graded_ids=graded, ungraded_ids=ungraded, rules=RULES)
    ] == ["appraisal_probationary"]


# --- compliance -----------------------------------------------------------------------------------


FACTS = R.BranchFacts(has_committee=True, groups=[(5, "第一党小组")], members=10, members_talked=4)


def items(held, *, today=date(2026, 1, 1), quarter=2, facts=FACTS):
    return {
        i.kind: i
        for i in R.assess_compliance(
            2025, quarter, today=today, facts=facts, held=held, attendance={}, rules=RULES
        )
    }


def test_a_quarter_with_nothing_held_is_missing_every_periodic_meeting():
    out = items({})
    assert out[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.MISSING
    assert [p.label for p in out[MeetingKind.COMMITTEE].periods] == ["4月", "5月", "6月"]
    assert out[MeetingKind.GROUP].periods[0].label == "第一党小组 4月"
    assert out[MeetingKind.LECTURE].state == ComplianceState.MISSING
    # Yearly duties are not due before the year ends.
    assert out[MeetingKind.LIFE].state == ComplianceState.PENDING
    assert out[MeetingKind.TALK].state == ComplianceState.PENDING


def test_monthly_meetings_count_month_by_month():
    held = {
        (MeetingKind.COMMITTEE, None, 4): 1,
        (MeetingKind.COMMITTEE, None, 5): 2,
        (MeetingKind.THEME_DAY, None, 4): 1,
        (MeetingKind.THEME_DAY, None, 5): 1,
        (MeetingKind.THEME_DAY, None, 6): 1,
        (MeetingKind.BRANCH_ASSEMBLY, None, 6): 1,
    }
    out = items(held)
    assert [p.state for p in out[MeetingKind.COMMITTEE].periods] == ["ok", "ok", "missing"]
    assert out[MeetingKind.THEME_DAY].state == ComplianceState.OK
    assert out[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.OK


def test_the_fourth_quarter_makes_yearly_duties_due():
    out = items({(MeetingKind.LIFE, None, 3): 1}, quarter=4)
    assert out[MeetingKind.LIFE].state == ComplianceState.OK  # held earlier in the year
    assert out[MeetingKind.TALK].state == ComplianceState.MISSING  # 4 of 10 members


def test_a_running_quarter_is_pending_not_missing():
    out = items({}, today=date(2025, 5, 15))
    assert [p.state for p in out[MeetingKind.COMMITTEE].periods] == ["missing", "pending", "pending"]
    assert out[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.PENDING


def test_no_committee_no_groups_no_members_is_not_applicable():
    out = items({}, facts=R.BranchFacts(False, [], 0, 0))
    for kind in (MeetingKind.COMMITTEE, MeetingKind.GROUP, MeetingKind.TALK):
        assert out[kind].state == ComplianceState.NOT_APPLICABLE


def test_attendance_rate():
    item = R.ComplianceItem("x", "x", "ok", expected=8, present=6)
    assert item.attendance_rate == "75.0%"
    assert R.ComplianceItem("x", "x", "ok").attendance_rate is None
