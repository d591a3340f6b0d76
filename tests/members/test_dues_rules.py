"""Dues brackets on their boundaries, money arithmetic, arrears and payment rules."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dangqun.core.errors import RuleViolation
from dangqun.members import rules as R

from .conftest import national

RULES = national(date(2025, 1, 1))
D = Decimal


@pytest.mark.parametrize(
    ("category", "income", "rate", "amount"),
    [
        ("employed", "0", "0.005", "0.00"),
        ("employed", "3000.00", "0.005", "15.00"),
        ("employed", "3000.01", "0.01", "30.00"),
        ("employed", "4500", "0.01", "45.00"),
        ("employed", "4500.50", "0.01", "45.01"),  # 45.005 rounds half-up, not to even
        ("employed", "5000.00", "0.01", "50.00"),
        ("employed", "5000.01", "0.015", "75.00"),
        ("employed", "10000.00", "0.015", "150.00"),
        ("employed", "10000.01", "0.02", "200.00"),
        ("retired", "5000.00", "0.005", "25.00"),
        ("retired", "5000.01", "0.01", "50.00"),
        ("retired", "3333.30", "0.005", "16.67"),  # 16.6665 → 16.67
    ],
)
def test_the_brackets_include_their_upper_bound(category, income, rate, amount):
    base, got_rate, got_amount = R.monthly_dues(category, D(income), RULES)
    assert (base, got_rate, got_amount) == (D(income).quantize(D("0.01")), D(rate), D(amount))


@pytest.mark.parametrize("category", ["student", "unemployed", "low_income"])
def test_students_unemployed_and_low_income_members_pay_twenty_fen(category):
    assert R.monthly_dues(category, None, RULES) == (D("0.00"), D("0"), D("0.20"))


def test_farmers_pay_between_twenty_fen_and_one_yuan():
    assert R.monthly_dues("farmer", None, RULES)[2] == D("0.20")
    assert R.monthly_dues("farmer", None, RULES, fixed_amount=D("1.00"))[2] == D("1.00")
    for bad in ("0.19", "1.01"):
        with pytest.raises(RuleViolation) as err:
            R.monthly_dues("farmer", None, RULES, fixed_amount=D(bad))
        assert err.value.code == "dues_farmer_range"


def test_an_unknown_category_names_the_valid_ones():
    with pytest.raises(RuleViolation) as err:
        R.monthly_dues("pilot", D("1000"), RULES)
    assert err.value.code == "dues_category"
    assert "employed（在职）" in err.value.message


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "-0.01",
        "abc",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "1e3",
        "1.234",
        "10000000.01",
        "",
        "  ",
        "1,000",
    ],
)
def test_bad_amounts_are_refused_in_chinese(text):
    with pytest.raises(RuleViolation) as err:
        R.parse_amount(text)
    assert err.value.code == "invalid_amount"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message)


@pytest.mark.parametrize(
    ("text", "value"), [(" 4500 ", "4500.00"), ("４５００.５", "4500.50"), ("+12.3", "12.30")]
)
def test_plain_amounts_are_read_to_the_fen(text, value):
    assert R.parse_amount(text) == D(value)


def test_rates_are_shown_as_plain_decimals():
    assert [R.format_rate(D(x)) for x in ("0.0100", "0.005", "0.0150", "0", "0.02")] == [
        "0.01",
        "0.005",
        "0.015",
        "0",
        "0.02",
    ]


money = st.decimals(min_value=0, max_value=D("200000"), places=2, allow_nan=False, allow_infinity=False)


@given(category=st.sampled_from(["employed", "retired"]), income=money)
def test_the_amount_is_base_times_rate_rounded_half_up_to_the_fen(category, income):
    base, rate, amount = R.monthly_dues(category, income, RULES)
    assert base == income
    assert amount == (base * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@given(category=st.sampled_from(["employed", "retired"]), a=money, b=money)
def test_dues_never_fall_when_income_rises(category, a, b):
    low, high = sorted((a, b))
    assert R.monthly_dues(category, low, RULES)[2] <= R.monthly_dues(category, high, RULES)[2]


# --- arrears and the 6-month flag ------------------------------------------------------------


def test_arrears_are_the_months_no_payment_covers():
    paid = R.covered_months(date(2025, 1, 1), 3)
    assert R.arrears_months(date(2024, 11, 20), date(2025, 5, 31), paid) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 4, 1),
        date(2025, 5, 1),
    ]
    assert R.arrears_months(None, date(2025, 5, 31), []) == []


def test_six_consecutive_unpaid_months_flag_a_suspected_lapse_for_the_branch():
    five = R.months_range(date(2025, 1, 1), date(2025, 5, 1))
    assert R.lapse_flag(five, RULES) is None
    six = R.months_range(date(2024, 12, 1), date(2025, 5, 1))
    flag = R.lapse_flag(six, RULES)
    assert flag.code == "suspected_lapse"
    assert "连续 6 个月（2024年12月 至 2025年5月）" in flag.message
    assert "支部大会决定" in flag.message
    # Six unpaid months that are not consecutive are not a lapse.
    gaps = [date(2025, m, 1) for m in (1, 2, 3, 5, 6, 7)]
    assert R.lapse_flag(gaps, RULES) is None


# --- one payment -----------------------------------------------------------------------------


def pay(**kw):
    args = {
        "paid_on": date(2025, 7, 15),
        "period_start": date(2025, 7, 1),
        "months": 1,
        "method": "monthly",
        "amount": None,
        "monthly_amounts": {2025: D("45.00"), 2026: D("45.00"), 2024: D("40.00")},
        "quarterly_approved": False,
        "already_paid": [],
        "dues_from": date(2020, 1, 1),
        "rules": RULES,
    }
    args.update(kw)
    return R.check_payment(**args)


def test_back_payment_reaches_six_months_back_and_pre_payment_six_ahead():
    assert pay(period_start=date(2025, 1, 1), months=1)[0].violations == []
    assert [v.code for v in pay(period_start=date(2024, 12, 1), months=1)[0].violations] == [
        "payment_too_far_back"
    ]
    assert pay(period_start=date(2025, 7, 1), months=7)[0].violations == []  # through January 2026
    assert [v.code for v in pay(period_start=date(2025, 7, 1), months=8)[0].violations] == [
        "payment_too_far_ahead"
    ]


def test_quarterly_payment_needs_an_approval():
    assert [v.code for v in pay(method="quarterly", months=3)[0].violations] == ["quarterly_not_approved"]
    assert pay(method="quarterly", months=3, quarterly_approved=True)[0].violations == []
    assert [v.code for v in pay(method="quarterly", months=2, quarterly_approved=True)[0].violations] == [
        "quarterly_months"
    ]


def test_a_month_is_paid_once_and_never_below_the_amount_due():
    result, due = pay(months=2, already_paid=[date(2025, 8, 1)], amount=D("80.00"))
    assert due == D("90.00")
    assert [v.code for v in result.violations] == ["payment_duplicate_months", "dues_underpaid"]
    assert "2025年8月" in result.violations[0].message


def test_the_amount_due_spans_two_years_rates():
    result, due = pay(paid_on=date(2025, 1, 10), period_start=date(2024, 11, 1), months=3)
    assert result.violations == []
    assert due == D("125.00")


def test_a_payment_of_a_thousand_yuan_or_more_is_flagged():
    assert [f.code for f in pay(amount=D("1000.00"))[0].flags] == ["large_payment"]
    assert pay(amount=D("999.99"))[0].flags == []


def test_probationary_members_pay_from_the_month_of_their_branch_meeting():
    result = pay(period_start=date(2025, 5, 1), months=2, dues_from=date(2025, 6, 20))
    assert [v.code for v in result[0].violations] == ["payment_before_dues_start"]


def test_a_year_without_a_rate_cannot_be_paid():
    result = pay(period_start=date(2025, 12, 1), months=2, monthly_amounts={2025: D("45.00")})
    assert [v.code for v in result[0].violations] == ["dues_rate_missing"]
