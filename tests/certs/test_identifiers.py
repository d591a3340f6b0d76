"""GB/T 36904 identifiers and their ISO/IEC 7064 MOD 37,36 check character."""

from __future__ import annotations

from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangqun.certs.identifiers import (
    ALPHABET,
    PREFIX,
    IdentifierError,
    build_identifier,
    checked_chars,
    mask_name,
    mod37_36_check_char,
    mod37_36_is_valid,
    parse_identifier,
)
from dangqun.core.validators import credit_check_char

from .conftest import DEPT_CREDIT


def independent_check_char(chars: str) -> str:
    """A second implementation, written from ISO 7064 §"hybrid systems" another way.

    The step keeps S in 1..36 as ((P + a − 1) mod 36) + 1, and the check character is found by
    trying every candidate until the final S is 1, instead of by the closed formula.
    """
    p = reduce(lambda p, a: (((p + a - 1) % 36) + 1) * 2 % 37, (int(c, 36) for c in chars), 36)
    return next(c for c in ALPHABET if ((p + int(c, 36) - 1) % 36) + 1 == 1)


# Published examples of MOD 37,36 (ISO/IEC 7064 implementations' test suites) and two by hand:
# "A1": P=36 → A=10: S=10, P=20 → 1: S=21, P=42 mod 37=5 → check (37−5) mod 36 = 32 = "W".
# "1":  P=36 → 1: S=1, P=2 → check (37−2) mod 36 = 35 = "Z".
VECTORS = [
    ("A12425GABC1234002", "M"),
    ("B159D8FA01240000", "K"),
    ("188166C734200000", "3"),
    ("A1", "W"),
    ("1", "Z"),
]


@pytest.mark.parametrize(("body", "check"), VECTORS)
def test_check_characters_match_the_published_and_hand_computed_vectors(body, check):
    assert mod37_36_check_char(body) == check
    assert independent_check_char(body) == check
    assert mod37_36_is_valid(body + check)


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=90))
def test_it_agrees_with_an_independent_implementation(body):
    assert mod37_36_check_char(body) == independent_check_char(body)


@settings(max_examples=60)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=60))
def test_every_single_substitution_is_detected(body):
    full = body + mod37_36_check_char(body)
    for i, original in enumerate(full):
        for other in ALPHABET:
            if other != original:
                assert not mod37_36_is_valid(full[:i] + other + full[i + 1 :])


def test_most_adjacent_swaps_are_detected_but_not_all():
    # Hybrid systems miss a swap when the wrap-around S = M hides it: "WMVYYTGH3" is valid and
    # so is "WMVYYTHG3". The identifier's other parts (credit code check) do not rely on it.
    assert mod37_36_is_valid("WMVYYTGH3")
    assert mod37_36_is_valid("WMVYYTHG3")
    assert not mod37_36_is_valid("WMVYYTGH3"[:2] + "VM" + "WMVYYTGH3"[4:])


def test_an_identifier_has_the_gb_t_36904_form_and_covers_all_characters_but_the_dots():
    ident = build_identifier("ZDSHBZZ", DEPT_CREDIT, 42)
    text = str(ident)
    assert text.startswith(PREFIX + ".ZDSHBZZ." + DEPT_CREDIT + ".00000042.001.")
    body, check = text.rsplit(".", 1)
    assert checked_chars(body) == "1215630052ZDSHBZZ" + DEPT_CREDIT + "00000042001"
    assert check == independent_check_char(checked_chars(body))
    assert parse_identifier(text) == ident
    # Copied with full-width characters, spaces or in lower case: still the same identifier.
    assert str(parse_identifier(" " + text.lower().replace("1", "１") + "\n")) == text


@settings(max_examples=80)
@given(
    type_code=st.text(alphabet=ALPHABET, min_size=1, max_size=21),
    serial=st.integers(min_value=1, max_value=10**12),
    version=st.integers(min_value=1, max_value=999),
    data=st.data(),
)
def test_any_changed_character_of_an_identifier_is_refused(type_code, serial, version, data):
    text = str(build_identifier(type_code, DEPT_CREDIT, serial, version))
    assert str(parse_identifier(text)) == text
    positions = [i for i, c in enumerate(text) if c != "."]
    i = data.draw(st.sampled_from(positions))
    other = data.draw(st.sampled_from([c for c in ALPHABET if c != text[i]]))
    with pytest.raises(IdentifierError):
        parse_identifier(text[:i] + other + text[i + 1 :])


def _valid() -> str:
    return str(build_identifier("ZDSHBZZ", DEPT_CREDIT, 7))


@pytest.mark.parametrize(
    ("mutate", "code", "words"),
    [
        (lambda s: "", "cert_id_required", "请输入"),
        (lambda s: s.replace("1.2.156.3005.2", "1.2.156.3005.3"), "cert_id_prefix", "开头"),
        (lambda s: s.rsplit(".", 1)[0], "cert_id_parts", "5 段"),
        (lambda s: s.replace("ZDSHBZZ", "ZD-SH"), "cert_type_code", "类型代码"),
        (
            lambda s: s.replace(DEPT_CREDIT, DEPT_CREDIT[:-1] + ("0" if DEPT_CREDIT[-1] != "0" else "1")),
            "cert_id_credit_code",
            "统一社会信用代码校验位",
        ),
        (lambda s: s.replace(".001.", ".000."), "cert_id_version", "版本号"),
        (lambda s: s.replace(".001.", ".01."), "cert_id_version", "版本号"),
        (lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), "cert_id_checksum", "校验位不正确"),
        (lambda s: s + "X", "cert_id_check_format", "校验位应为"),
        (lambda s: s + "." * 100, "cert_id_length", "过长"),
    ],
)
def test_each_defect_has_its_own_chinese_message(mutate, code, words):
    with pytest.raises(IdentifierError) as err:
        parse_identifier(mutate(_valid()))
    assert err.value.code == code
    assert words in err.value.message


def test_a_credit_code_check_character_is_computed_by_gb_32100():
    assert credit_check_char(DEPT_CREDIT[:17]) == DEPT_CREDIT[17]


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张小明", "张*明"),
        ("张三", "张*"),
        ("欧阳小明", "欧**明"),
        ("王", "*"),
        ("", ""),
        ("Li Ming", "L* ***g"),
    ],
)
def test_names_are_masked_keeping_the_first_and_last_character(name, masked):
    assert mask_name(name) == masked
