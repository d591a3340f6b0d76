"""Boundary cases of the resident ID (GB 11643-1999) and credit code (GB 32100-2015) checks,
against check characters computed here from the standards' formulas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from dangqun.core.validators import validate_credit_code, validate_id_number


def gb11643_check(first17: str) -> str:
    """ISO 7064 MOD 11-2: W_i = 2^(i-1) mod 11 for i = 18..2; a_1 = (12 - Σ mod 11) mod 11, 10 → X."""
    total = sum(int(d) * pow(2, 17 - k, 11) for k, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(birth: str, region: str = "110105", seq: str = "002") -> str:
    first17 = region + birth + seq
    return first17 + gb11643_check(first17)


def code_of(value: str) -> str:
    with pytest.raises(ValidationError) as err:
        validate_id_number(value)
    return err.value.error_list[0].code


def test_the_standards_example_and_its_lower_case_x():
    assert gb11643_check("11010519491231002") == "X"
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert validate_id_number("11010519491231002X") == "11010519491231002X"


def test_a_digit_check_character_is_not_an_x():
    number = make_id("19800101", seq="001")
    assert number[-1] != "X"
    assert code_of(number[:-1] + "X") == "id_checksum"
    assert code_of(number[:-1] + "x") == "id_checksum"


@pytest.mark.parametrize(
    ("birth", "valid"),
    [
        ("19000229", False),  # 1900 is no leap year
        ("20000229", True),  # 2000 is
        ("20240229", True),
        ("20230229", False),
        ("19000101", True),  # the earliest accepted
        ("18991231", False),
        ("19801301", False),
        ("19800431", False),
        ("19800000", False),
    ],
)
def test_birth_dates_at_the_edges(birth, valid):
    number = make_id(birth)
    if valid:
        assert validate_id_number(number) == number
    else:
        assert code_of(number) == "id_birth_date"


def test_a_birth_date_in_the_future_is_refused_and_today_is_not():
    today = timezone.localdate()
    assert validate_id_number(make_id(today.strftime("%Y%m%d")))
    assert code_of(make_id((today + timedelta(days=1)).strftime("%Y%m%d"))) == "id_birth_future"
    assert code_of(make_id(f"{today.year + 1}0101")) == "id_birth_future"


@pytest.mark.parametrize(
    "value",
    [
        "110105491231002",  # an old 15-digit number: not an 18-character GB 11643-1999 number
        "11010519491231002",  # 17
        "11010519491231002X0",  # 19
    ],
)
def test_lengths_other_than_18_are_refused(value):
    assert code_of(value) == "id_length"


def test_an_x_anywhere_but_last_is_refused():
    assert code_of("1101051949123100X2") == "id_chars"


# --- 统一社会信用代码 -------------------------------------------------------------------------

GB32100 = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V


def gb32100_check(first17: str) -> str:
    """C18 = 31 - (Σ C_i × W_i mod 31), 31 written as 0; W_i = 3^(i-1) mod 31."""
    total = sum(GB32100.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return GB32100[(31 - total % 31) % 31]


@pytest.mark.parametrize(
    "first17",
    ["91350100M000100Y4", "11330106MB0000001", "9111000010000000Y", "Y1110000MA0000000", "00000000000000000"],
)
def test_credit_codes_agree_with_the_standards_formula(first17):
    code = first17 + gb32100_check(first17)
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code
    for other in GB32100:
        if other != code[-1]:
            with pytest.raises(ValidationError):
                validate_credit_code(first17 + other)


@pytest.mark.parametrize("letter", "IOZSV")
@pytest.mark.parametrize("position", [0, 8, 16, 17])
def test_the_excluded_letters_are_refused_anywhere(letter, position):
    valid = "91350100M000100Y43"
    with pytest.raises(ValidationError) as err:
        validate_credit_code(valid[:position] + letter + valid[position + 1 :])
    assert err.value.error_list[0].code == "credit_chars"
    with pytest.raises(ValidationError):
        validate_credit_code(valid[:position] + letter.lower() + valid[position + 1 :])
