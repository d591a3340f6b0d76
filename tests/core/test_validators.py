from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from dangqun.core.validators import (
    CREDIT_CHARSET,
    PROVINCE_CODES,
    _normalize,
    birth_date_from_id,
    credit_check_char,
    gender_from_id,
    id_check_char,
    mask_id_number,
    mask_phone,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)

SAMPLE_ID = "11010519491231002X"  # the worked example of GB 11643-1999
SAMPLE_CREDIT = "91350100M000100Y43"


@st.composite
def valid_ids(draw) -> str:
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    region = f"{province:02d}" + draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=timezone.localdate()))
    sequence = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + id_check_char(first17)


@st.composite
def valid_credit_codes(draw) -> str:
    first17 = draw(st.text(CREDIT_CHARSET, min_size=17, max_size=17))
    return first17 + credit_check_char(first17)


def _message(value: str, validate=validate_id_number) -> str:
    with pytest.raises(ValidationError) as err:
        validate(value)
    return err.value.messages[0]


# --- resident ID numbers ------------------------------------------------------------------------


@given(valid_ids())
def test_generated_valid_ids_pass_and_decode(id_number):
    assert validate_id_number(id_number) == id_number
    assert birth_date_from_id(id_number) == date(
        int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])
    )
    assert gender_from_id(id_number) == ("M" if int(id_number[16]) % 2 else "F")


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_of_a_valid_id_fails(id_number, position, replacement):
    if id_number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = id_number[:position] + replacement + id_number[position + 1 :]
    with pytest.raises(ValidationError):
        validate_id_number(changed)


@given(valid_ids(), st.integers(0, 17), st.characters())
def test_any_single_character_change_to_any_other_character_fails(id_number, position, replacement):
    if _normalize(replacement) == id_number[position]:
        return  # e.g. a full-width "１" for "1": the same number once normalized
    changed = id_number[:position] + replacement + id_number[position + 1 :]
    with pytest.raises(ValidationError):
        validate_id_number(changed)


def test_it_normalizes_spaces_lower_case_x_and_full_width_digits():
    assert validate_id_number(" 110105 19491231 002x ") == SAMPLE_ID
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ") == SAMPLE_ID


def test_it_names_a_wrong_check_character():
    assert _message("110105194912310021") == "身份证号校验位不正确，请核对最后一位"


def test_it_names_a_wrong_length():
    assert _message("11010519491231002") == "身份证号应为18位，您输入了17位"


def test_it_refuses_letters_other_than_a_final_x():
    assert _message("11010519491231002Y") == "身份证号前17位应为数字，最后一位为数字或X"
    assert _message("1101051949123100X2") == "身份证号前17位应为数字，最后一位为数字或X"


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "66", "70", "80", "91", "99"])
def test_it_refuses_a_region_that_is_no_province(province):
    first17 = province + "0105" + "19491231" + "002"
    assert _message(first17 + id_check_char(first17)) == "身份证号前两位不是有效的省级行政区划代码"


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490000", "18991231"])
def test_it_refuses_a_birth_date_that_does_not_exist(birth):
    first17 = "110105" + birth + "002"
    assert "出生日期" in _message(first17 + id_check_char(first17))


def test_it_refuses_a_birth_date_after_today():
    tomorrow = timezone.localdate() + timedelta(days=1)
    first17 = "110105" + tomorrow.strftime("%Y%m%d") + "002"
    assert _message(first17 + id_check_char(first17)) == "身份证号中的出生日期晚于今天，请核对"


def test_it_accepts_someone_born_today():
    first17 = "110105" + timezone.localdate().strftime("%Y%m%d") + "001"
    assert validate_id_number(first17 + id_check_char(first17))


def test_it_derives_birth_date_and_gender():
    assert birth_date_from_id(SAMPLE_ID) == date(1949, 12, 31)
    assert gender_from_id(SAMPLE_ID) == "F"  # sequence 002: even
    first17 = "11010519491231003"
    assert gender_from_id(first17 + id_check_char(first17)) == "M"


def test_an_empty_id_asks_for_one():
    assert _message("  ") == "请输入身份证号"


# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("86-19912345678", "19912345678")],
)
def test_it_accepts_mainland_mobiles(raw, clean):
    assert validate_phone(raw) == clean


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "0571-88888888", "1381234567a"])
def test_it_refuses_what_is_not_a_mainland_mobile(raw):
    assert _message(raw, validate_phone) == "手机号码应为1开头的11位数字，第二位为3至9"


# --- unified social credit codes --------------------------------------------------------------------


@given(valid_credit_codes())
def test_generated_valid_credit_codes_pass(code):
    assert validate_credit_code(code) == code


@given(valid_credit_codes(), st.integers(0, 17), st.sampled_from(CREDIT_CHARSET))
def test_any_single_character_change_of_a_credit_code_fails(code, position, replacement):
    if code[position] == replacement:
        return
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_credit_code(changed)


def test_it_accepts_a_known_credit_code_and_normalizes_it():
    assert validate_credit_code(" 91350100m000100y43 ") == SAMPLE_CREDIT


def test_it_names_a_wrong_credit_check_character():
    assert (
        _message("91350100M000100Y44", validate_credit_code) == "统一社会信用代码校验位不正确，请核对最后一位"
    )


def test_it_refuses_letters_outside_the_credit_charset():
    assert "不允许的字符“O”" in _message("91350100O000100Y43", validate_credit_code)


def test_a_check_value_of_31_is_written_as_zero():
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

    def weighted(code: str) -> int:
        return sum(CREDIT_CHARSET.index(c) * w for c, w in zip(code, weights, strict=True))

    first17 = next(p for n in range(10_000) if weighted(p := f"9135010{n:010d}") % 31 == 0)
    assert credit_check_char(first17) == "0"
    assert validate_credit_code(first17 + "0")


# --- masks ---------------------------------------------------------------------------------------


def test_it_masks_all_but_the_first_three_and_last_four():
    assert mask_id_number("110105194912311234") == "110***********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == mask_phone(None) == ""
    assert mask_phone("1234") == "****"
