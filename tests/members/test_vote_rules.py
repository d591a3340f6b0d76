"""支部大会 and election arithmetic: exact fractions, boundaries, hypothesis properties."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangqun.members import rules as R
from dangqun.members.choices import Status

from .conftest import national

RULES = national(date(2025, 1, 1))


def meeting(*args, **kw) -> R.MeetingResult:
    return R.branch_meeting_result(*args, rules=RULES, **kw)


def election(*args, **kw) -> R.ElectionResult:
    return R.election_result(*args, rules=RULES, **kw)


# --- 支部大会 ---------------------------------------------------------------------------------


def test_of_ten_entitled_five_present_is_no_quorum_and_six_is():
    assert not meeting(10, 5, 5).quorum
    assert meeting(10, 6, 6).quorum
    assert meeting(10, 6, 6).quorum_needed == 6


def test_adoption_needs_more_than_half_of_the_entitled_not_of_those_present():
    # 6 of 10 present, 5 in favour: a majority of those present, but not of the 10 entitled.
    result = meeting(10, 6, 5)
    assert result.quorum
    assert not result.adopted
    assert result.votes_needed == 6
    assert [v.code for v in result.violations] == ["vote_not_adopted"]
    assert "至少 6 票" in result.violations[0].message
    assert meeting(10, 6, 6).adopted


def test_written_opinions_submitted_before_the_meeting_count_as_votes_not_as_attendance():
    assert meeting(10, 6, 4, written_in_favour=2, written_total=2).adopted
    assert not meeting(10, 5, 4, written_in_favour=3, written_total=3).quorum


def test_an_odd_number_entitled_needs_a_strict_majority():
    assert meeting(7, 4, 4).adopted
    assert not meeting(7, 3, 3).quorum


def test_impossible_counts_are_refused_with_one_clear_message():
    for args in [(10, 11, 5), (10, 6, 7), (10, 6, 6, 2, 1), (10, 6, 6, 5, 5), (0, 0, 0), (-1, 0, 0)]:
        result = meeting(*args)
        assert not result.adopted
        assert [v.code for v in result.violations] == ["vote_counts"]


def test_probationary_members_and_members_under_observation_have_no_vote():
    assert R.is_entitled_to_vote(Status.FULL)
    assert not R.is_entitled_to_vote(Status.PROBATIONARY)
    assert not R.is_entitled_to_vote(Status.FULL, under_probation_observation=True)


@st.composite
def consistent_counts(draw):
    entitled = draw(st.integers(1, 500))
    present = draw(st.integers(0, entitled))
    written_total = draw(st.integers(0, entitled - present))
    return (
        entitled,
        present,
        draw(st.integers(0, present)),
        draw(st.integers(0, written_total)),
        written_total,
    )


@given(consistent_counts())
def test_the_meeting_arithmetic_is_exact(counts):
    entitled, present, in_favour, written_yes, written_total = counts
    result = meeting(entitled, present, in_favour, written_yes, written_total)
    assert result.quorum == (2 * present > entitled)
    assert result.adopted == (result.quorum and 2 * (in_favour + written_yes) > entitled)
    assert result.quorum_needed == entitled // 2 + 1 == result.votes_needed
    assert (result.violations == []) == result.adopted


# --- elections --------------------------------------------------------------------------------


def test_an_election_needs_more_than_four_fifths_present():
    votes = {"甲": 8, "乙": 8, "丙": 8, "丁": 1}
    eight = election(10, 8, votes, 3)  # 8 is exactly 4/5: not more
    assert not eight.valid
    assert eight.turnout_needed == 9
    assert [v.code for v in eight.violations] == ["election_turnout"]
    assert election(10, 9, votes, 3).valid


@pytest.mark.parametrize(
    ("seats", "candidates", "ok"), [(5, 5, False), (5, 6, True), (3, 3, False), (3, 4, True)]
)
def test_there_are_at_least_twenty_percent_more_candidates_than_seats(seats, candidates, ok):
    votes = {f"候选人{i}": 9 for i in range(candidates)}
    result = election(10, 9, votes, seats)
    assert result.valid is ok
    assert result.candidates_needed == {5: 6, 3: 4}[seats]


def test_elected_with_more_than_half_of_the_votes_of_those_present_most_votes_first():
    result = election(10, 9, {"甲": 9, "乙": 5, "丙": 4, "丁": 8}, 3)
    assert result.votes_needed == 5
    assert result.elected == ["甲", "丁", "乙"]
    short = election(10, 9, {"甲": 9, "乙": 4, "丙": 4, "丁": 3}, 3)
    assert short.elected == ["甲"]  # two seats left for another round: the software does not fill them


def test_a_tie_for_the_last_seat_goes_to_another_ballot():
    result = election(10, 10, {"甲": 9, "乙": 7, "丙": 7, "丁": 2}, 2)
    assert result.elected == ["甲"]
    assert sorted(result.runoff) == ["丙", "乙"]


def test_an_open_ballot_is_not_an_election():
    result = election(10, 9, {"甲": 9, "乙": 9, "丙": 9, "丁": 1}, 3, secret_ballot=False)
    assert not result.valid
    assert [v.code for v in result.violations] == ["election_not_secret"]


@given(
    entitled=st.integers(1, 300),
    data=st.data(),
    seats=st.integers(1, 15),
    candidates=st.integers(0, 25),
)
def test_election_validity_is_exact(entitled, data, seats, candidates):
    present = data.draw(st.integers(0, entitled))
    votes = {f"c{i}": data.draw(st.integers(0, present)) for i in range(candidates)}
    result = election(entitled, present, votes, seats)
    turnout_ok = Fraction(present) > Fraction(4, 5) * entitled
    margin_ok = Fraction(candidates) >= Fraction(6, 5) * seats
    assert result.valid == (turnout_ok and margin_ok)
    if result.valid:
        assert len(result.elected) <= seats
        assert all(2 * votes[c] > present for c in result.elected + result.runoff)
        assert not set(result.elected) & set(result.runoff)
