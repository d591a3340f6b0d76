"""Boundary audit of the member rules (party.md §1, §4, §5, §6): exact days at month ends and
on 29 February, strict majorities on odd and even counts, dues on their bracket edges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dangqun.members import rules as R
from dangqun.members import rules_transfer as RT
from dangqun.members.choices import Status
from dangqun.members.models import PartyMember
from dangqun.members.transfers import FlowKind

from .conftest import national, state, weekdays

RULES = national(date(2025, 1, 1))
D = Decimal


def codes(found) -> list[str]:
    return [v.code for v in found]


def assess(st, step, on, **ev):
    return R.assess_step(st, step, on, RULES, evidence=ev, working_days=weekdays)


# --- §1 rule 1: 18 years old on the day the application is handed in -------------------------


@pytest.mark.parametrize(
    ("born", "refused", "allowed"),
    [
        (date(2007, 12, 31), date(2025, 12, 30), date(2025, 12, 31)),
        (date(2008, 3, 1), date(2026, 2, 28), date(2026, 3, 1)),
        (date(2006, 2, 28), date(2024, 2, 27), date(2024, 2, 28)),  # 29 Feb 2024 is not the birthday
    ],
)
def test_the_application_is_allowed_on_the_18th_birthday_and_not_the_day_before(born, refused, allowed):
    st = state(birth_date=born)
    assert codes(R.check_step(st, 1, refused, RULES)) == ["age"]
    assert R.check_step(st, 1, allowed, RULES) == []


# --- §1 rule 2: the talk within one month, at month ends ---------------------------------------


@pytest.mark.parametrize(
    ("applied", "last_day"),
    [
        (date(2024, 1, 31), date(2024, 2, 29)),  # leap year: 29 February
        (date(2025, 3, 31), date(2025, 4, 30)),
        (date(2025, 12, 31), date(2026, 1, 31)),  # across the year
    ],
)
def test_the_talk_is_on_time_on_the_last_day_of_the_month_and_late_the_day_after(applied, last_day):
    st = state(steps={1: applied})
    assert assess(st, 2, last_day).flags == []
    late = assess(st, 2, date.fromordinal(last_day.toordinal() + 1))
    assert codes(late.flags) == ["talk_overdue"]
    assert late.violations == []


# --- §1 rule 6: 发展对象 no earlier than activist + 1 year --------------------------------------


def _activist(on: date) -> R.MemberState:
    return state(
        Status.ACTIVIST,
        steps={1: date(2020, 1, 1), 2: date(2020, 1, 5), 3: on, 4: on, 5: on, 6: on},
    )


@pytest.mark.parametrize(
    ("activist_on", "earliest"),
    [
        (date(2023, 3, 1), date(2024, 3, 1)),  # across a 29 February
        (date(2024, 2, 28), date(2025, 2, 28)),
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2024, 12, 31), date(2025, 12, 31)),
    ],
)
def test_a_candidate_is_allowed_a_full_year_after_the_activist_date_and_not_a_day_earlier(
    activist_on, earliest
):
    st = _activist(activist_on)
    [v] = R.check_step(st, 7, date.fromordinal(earliest.toordinal() - 1), RULES)
    assert v.code == "activist_period"
    assert earliest.isoformat() in v.message
    assert R.check_step(st, 7, earliest, RULES) == []


# --- §1 rule 9: training of 3 days or 24 hours ------------------------------------------------


@pytest.mark.parametrize(
    ("days", "hours", "ok"),
    [(3, 0, True), (2, 23, False), (2, 24, True), (0, 24, True), (0, 23, False)],
)
def test_training_of_exactly_three_days_or_exactly_24_hours_is_enough(days, hours, ok):
    st = state(Status.CANDIDATE, steps={n: date(2024, 1, 1) for n in range(1, 11)})
    found = R.check_step(
        st, 11, date(2024, 2, 1), RULES, evidence={"training_days": days, "training_hours": hours}
    )
    assert (found == []) is ok


# --- §1 rule 11: leaving the unit within 3 months, at a month end -----------------------------


def test_leaving_the_unit_exactly_three_months_after_the_meeting_is_within_three_months():
    st = state(Status.CANDIDATE, steps={n: date(2025, 11, 1) for n in range(1, 15)})
    vote = {"entitled": 9, "present": 5, "in_favour": 5}
    soon = assess(st, 15, date(2025, 11, 30), leaving_unit_on=date(2026, 2, 28), **vote)
    later = assess(st, 15, date(2025, 11, 30), leaving_unit_on=date(2026, 3, 1), **vote)
    assert soon.violations == []
    assert codes(soon.flags) == ["leaving_unit"]
    assert later.violations == []
    assert later.flags == []


# --- §1 rule 12: the 支部大会 vote, odd and even numbers of entitled members ---------------------


@pytest.mark.parametrize(
    ("entitled", "quorum_needed", "votes_needed"),
    [(1, 1, 1), (2, 2, 2), (3, 2, 2), (4, 3, 3), (9, 5, 5), (10, 6, 6), (11, 6, 6)],
)
def test_more_than_half_is_strict_for_odd_and_even_counts(entitled, quorum_needed, votes_needed):
    ok = R.branch_meeting_result(entitled, quorum_needed, votes_needed, rules=RULES)
    assert (ok.quorum, ok.adopted) == (True, True)
    assert (ok.quorum_needed, ok.votes_needed) == (quorum_needed, votes_needed)
    short = R.branch_meeting_result(entitled, quorum_needed - 1, 0, rules=RULES)
    assert short.quorum is False
    if votes_needed - 1 <= quorum_needed:
        no = R.branch_meeting_result(entitled, quorum_needed, votes_needed - 1, rules=RULES)
        assert (no.quorum, no.adopted) == (True, False)


def test_in_favour_is_counted_against_the_entitled_not_those_present_and_abstentions_do_not_help():
    # 10 entitled, 6 present, all 6 in favour: adopted; 5 in favour and 1 abstention: not adopted.
    assert R.branch_meeting_result(10, 6, 6, rules=RULES).adopted is True
    assert R.branch_meeting_result(10, 6, 5, rules=RULES).adopted is False
    # 5 in favour of 6 present is "more than half of those present", yet not of the 10 entitled.
    assert R.branch_meeting_result(10, 9, 5, rules=RULES).adopted is False


def test_written_opinions_in_favour_make_up_the_majority_but_not_the_quorum():
    # 10 entitled, 6 present (quorum), 4 in favour at the meeting + 2 written in favour = 6 > 5.
    assert R.branch_meeting_result(10, 6, 4, 2, 2, rules=RULES).adopted is True
    assert R.branch_meeting_result(10, 6, 4, 1, 2, rules=RULES).adopted is False
    # Written opinions are not attendance: 5 present + 4 written is still no quorum.
    result = R.branch_meeting_result(10, 5, 5, 4, 4, rules=RULES)
    assert (result.quorum, result.adopted) == (False, False)


# --- §1 rule 13: approval within 3 months, at most 6, at month ends ---------------------------


def _met(on: date) -> R.MemberState:
    steps = {n: date(2025, 1, 1) for n in range(1, 15)} | {15: on, 16: on}
    return state(Status.CANDIDATE, steps=steps)


def test_approval_deadlines_at_a_month_end():
    st = _met(date(2025, 8, 31))
    assert assess(st, 17, date(2025, 11, 30)).flags == []  # 31 August + 3 months = 30 November
    assert codes(assess(st, 17, date(2025, 12, 1)).flags) == ["approval_late"]
    at_limit = assess(st, 17, date(2026, 2, 28))  # + 6 months = 28 February
    assert at_limit.violations == []
    assert codes(at_limit.flags) == ["approval_late"]
    assert codes(assess(st, 17, date(2026, 3, 1)).violations) == ["approval_too_late"]


# --- §1 rules 14–16: probation, its single extension, the transfer-in postponement, 党龄 ---------


def _probationary(meeting: date, **kw) -> R.MemberState:
    steps = {n: date(2020, 1, 1) for n in range(1, 15)}
    steps.update(dict.fromkeys(range(15, 23), meeting))
    return state(Status.PROBATIONARY, steps=steps, **kw)


VOTE = {"entitled": 10, "present": 6, "in_favour": 6}


def test_probation_from_29_february_ends_on_28_february():
    st = _probationary(date(2024, 2, 29))
    assert codes(R.check_step(st, 23, date(2025, 2, 27), RULES, evidence=VOTE)) == ["probation_not_ended"]
    assert R.check_step(st, 23, date(2025, 2, 28), RULES, evidence=VOTE) == []


@pytest.mark.parametrize(("months", "end"), [(6, date(2026, 2, 28)), (12, date(2026, 8, 31))])
def test_an_extension_of_six_or_twelve_months_from_a_month_end(months, end):
    assert R.probation_end(date(2024, 8, 31), RULES, months) == end
    st = _probationary(date(2024, 8, 31), extension_months=months)
    assert codes(R.check_step(st, 23, date.fromordinal(end.toordinal() - 1), RULES, evidence=VOTE)) == [
        "probation_not_ended"
    ]
    assert R.check_step(st, 23, end, RULES, evidence=VOTE) == []


@pytest.mark.parametrize(("months", "ok"), [(0, False), (5, False), (6, True), (12, True), (13, False)])
def test_an_extension_is_six_to_twelve_months(months, ok):
    found = R.check_extension(
        _probationary(date(2024, 8, 31)),
        months=months,
        meeting_on=date(2025, 8, 31),
        approved_on=date(2025, 8, 31),
        extensions_so_far=0,
        rules=RULES,
    )
    assert (found == []) is ok


def test_a_second_extension_is_refused_even_within_six_to_twelve_months():
    found = R.check_extension(
        _probationary(date(2024, 8, 31), extension_months=6),
        months=6,
        meeting_on=date(2026, 2, 28),
        approved_on=date(2026, 3, 1),
        extensions_so_far=1,
        rules=RULES,
    )
    assert codes(found) == ["extension_once"]


def test_a_transferred_member_may_be_discussed_up_to_six_months_after_a_month_end_probation():
    st = _probationary(date(2024, 8, 31), transferred_in=True)  # probation ends 31 August 2025
    assert R.check_step(st, 23, date(2026, 2, 28), RULES, evidence=VOTE) == []
    assert codes(R.check_step(st, 23, date(2026, 3, 1), RULES, evidence=VOTE)) == [
        "transfer_postpone_exceeded"
    ]
    assert RT.postpone_until(date(2025, 8, 31), RULES) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("full_on", "on", "years"),
    [
        (date(2020, 7, 1), date(2021, 6, 30), 0),
        (date(2020, 7, 1), date(2021, 7, 1), 1),
        # From 29 February a year is complete on 28 February, as for age and probation.
        (date(2024, 2, 29), date(2025, 2, 27), 0),
        (date(2024, 2, 29), date(2025, 2, 28), 1),
        (date(2024, 2, 29), date(2028, 2, 28), 3),  # a leap year keeps the day
        (date(2024, 2, 29), date(2028, 2, 29), 4),
        (date(2024, 2, 29), date(2024, 2, 28), None),
    ],
)
def test_party_standing_counts_whole_years_from_the_full_membership_date(full_on, on, years):
    assert PartyMember(full_on=full_on).party_standing_years(on) == years


# --- §4: elections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entitled", "present", "valid"),
    [
        (5, 4, False),
        (5, 5, True),
        (10, 8, False),
        (10, 9, True),
        (11, 9, True),
        (11, 8, False),
        (15, 12, False),
        (15, 13, True),
    ],
)
def test_an_election_needs_strictly_more_than_four_fifths_present(entitled, present, valid):
    result = R.election_result(entitled, present, {"a": present, "b": 0}, 1, rules=RULES)
    assert result.valid is valid


@pytest.mark.parametrize(("seats", "fewest"), [(1, 2), (3, 4), (5, 6), (6, 8), (7, 9), (9, 11), (10, 12)])
def test_the_margin_is_at_least_twenty_percent_more_candidates_rounded_up(seats, fewest):
    votes = {str(i): 0 for i in range(fewest)}
    assert R.election_result(20, 20, votes, seats, rules=RULES).candidates_needed == fewest
    assert "election_margin" not in codes(R.election_result(20, 20, votes, seats, rules=RULES).violations)
    fewer = {str(i): 0 for i in range(fewest - 1)}
    assert codes(R.election_result(20, 20, fewer, seats, rules=RULES).violations) == ["election_margin"]


@pytest.mark.parametrize(("present", "needed"), [(9, 5), (10, 6)])
def test_elected_with_strictly_more_than_half_of_those_present_blank_ballots_included(present, needed):
    # Blank or spoilt ballots do not lower the bar: it is half of those present, not of valid votes.
    votes = {"a": needed, "b": needed - 1}
    result = R.election_result(10, present, votes, 1, rules=RULES)
    assert result.valid
    assert result.elected == ["a"]
    assert result.votes_needed == needed


# --- §5: dues on the bracket edges, rounded half-up to the fen --------------------------------


@pytest.mark.parametrize(
    ("category", "income", "rate", "amount"),
    [
        ("employed", "2999.99", "0.005", "15.00"),  # 14.99995 → 15.00
        ("employed", "3000.00", "0.005", "15.00"),
        ("employed", "3000.01", "0.01", "30.00"),
        ("employed", "4999.99", "0.01", "50.00"),  # 49.9999 → 50.00
        ("employed", "5000.00", "0.01", "50.00"),
        ("employed", "5000.01", "0.015", "75.00"),  # 75.00015 → 75.00
        ("employed", "9999.99", "0.015", "150.00"),  # 149.99985 → 150.00
        ("employed", "10000.00", "0.015", "150.00"),
        ("employed", "10000.01", "0.02", "200.00"),
        ("employed", "3001.50", "0.01", "30.02"),  # 30.015 → 30.02 (half-up, not half-even)
        ("retired", "4999.99", "0.005", "25.00"),
        ("retired", "5000.00", "0.005", "25.00"),
        ("retired", "5000.01", "0.01", "50.00"),
        ("retired", "3001.00", "0.005", "15.01"),  # 15.005 → 15.01
    ],
)
def test_dues_at_the_bracket_edges(category, income, rate, amount):
    assert R.monthly_dues(category, D(income), RULES) == (D(income), D(rate), D(amount))


@pytest.mark.parametrize("category", ["student", "unemployed", "low_income"])
def test_fixed_twenty_fen_whatever_the_income(category):
    assert R.monthly_dues(category, D("20000"), RULES)[2] == D("0.20")


def _pay(**kw):
    args = {
        "paid_on": date(2026, 8, 31),
        "period_start": date(2026, 8, 1),
        "months": 1,
        "method": "monthly",
        "amount": None,
        "monthly_amounts": {2026: D("45.00"), 2027: D("45.00")},
        "quarterly_approved": False,
        "already_paid": [],
        "dues_from": date(2020, 1, 1),
        "rules": RULES,
    }
    return R.check_payment(**{**args, **kw})[0]


def test_back_and_pre_payment_reach_exactly_six_months_from_a_month_end():
    assert _pay(period_start=date(2026, 2, 1), months=7).violations == []  # February–August
    assert codes(_pay(period_start=date(2026, 1, 1)).violations) == ["payment_too_far_back"]
    assert _pay(period_start=date(2026, 9, 1), months=6).violations == []  # through February 2027
    assert codes(_pay(period_start=date(2026, 9, 1), months=7).violations) == ["payment_too_far_ahead"]


def test_the_large_payment_flag_is_at_exactly_1000_yuan():
    assert codes(_pay(amount=D("1000.00")).flags) == ["large_payment"]
    assert _pay(amount=D("999.99")).flags == []


def test_five_unpaid_months_in_a_row_are_no_lapse_and_six_are():
    five = [date(2026, m, 1) for m in range(1, 6)]
    assert R.lapse_flag(five, RULES) is None
    # Six across a year end, broken runs do not add up.
    six = [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1), *[date(2026, m, 1) for m in (1, 2, 3)]]
    assert R.lapse_flag(six, RULES).code == "suspected_lapse"
    broken = [*five, date(2026, 7, 1)]
    assert R.lapse_flag(broken, RULES) is None


# --- §6: introduction letters and flowing members ---------------------------------------------


@pytest.mark.parametrize(
    ("issued", "cross", "latest"),
    [
        (date(2025, 11, 30), False, date(2026, 2, 28)),
        (date(2023, 11, 30), False, date(2024, 2, 29)),
        (date(2025, 8, 31), True, date(2026, 2, 28)),
    ],
)
def test_a_letter_is_valid_three_months_or_six_across_provinces_to_the_day(issued, cross, latest):
    kw = {"issued_on": issued, "cross_province": cross, "today": issued, "rules": RULES}
    assert RT.check_letter(valid_until=latest, **kw) == []
    too_long = date.fromordinal(latest.toordinal() + 1)
    assert codes(RT.check_letter(valid_until=too_long, **kw)) == ["letter_validity"]
    assert RT.letter_expired(latest, latest) is False
    assert RT.letter_expired(latest, too_long) is True


def test_away_six_months_at_a_fixed_place_is_a_transfer_and_a_day_less_is_flowing():
    kw = {
        "kind": FlowKind.SHORT,
        "since": date(2025, 8, 31),
        "registered_on": date(2025, 8, 31),
        "today": date(2025, 9, 1),
        "rules": RULES,
    }
    assert RT.check_flowing(expected_return=date(2026, 2, 27), **kw) == []
    assert codes(RT.check_flowing(expected_return=date(2026, 2, 28), **kw)) == ["should_transfer"]
