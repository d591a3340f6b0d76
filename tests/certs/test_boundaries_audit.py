"""Boundary cases of the GB/T 36904 identifier (onestop.md §4), checked against a MOD 37,36
implementation written here from ISO/IEC 7064:2003 §"hybrid system" step by step."""

from __future__ import annotations

import pytest

from dangqun.certs.identifiers import (
    PREFIX,
    IdentifierError,
    build_identifier,
    mod37_36_check_char,
    mod37_36_is_valid,
    parse_identifier,
)
from dangqun.core.validators import credit_check_char

from .conftest import DEPT_CREDIT

CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def iso7064_mod37_36(data: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid, M = 36), as the standard states it:

    P1 = M; for j = 1..n: S_j = (P_j mod (M+1)) + a_j, then reduce S_j modulo M, writing M for 0;
    P_{j+1} = (2 × S_j) mod (M+1). The check character a_{n+1} satisfies (P_{n+1} + a_{n+1}) mod M = 1.
    """
    m = 36
    p = m
    for ch in data:
        a = CHARSET.index(ch)
        s = (p % (m + 1) + a) % m
        if s == 0:
            s = m
        p = (2 * s) % (m + 1)
    for a, ch in enumerate(CHARSET):
        if (p + a) % m == 1:
            return ch
    raise AssertionError("no check character")  # pragma: no cover


@pytest.mark.parametrize(
    "data",
    [
        "A12425GABC1234002",  # the standard's worked example: check "M"
        "0",
        "Z",
        "ZZZZZZZZZZ",
        "0000000000",
        "1215630052" + "ZDSHBZZ" + DEPT_CREDIT + "00000001" + "001",
        "1215630052" + "A" * 21 + DEPT_CREDIT + "Z" * 24 + "999",
    ],
)
def test_the_check_character_matches_the_standard(data):
    assert mod37_36_check_char(data) == iso7064_mod37_36(data)
    assert iso7064_mod37_36("A12425GABC1234002") == "M"


def test_exactly_one_check_character_is_valid():
    body = "1215630052ZDSHBZZ" + DEPT_CREDIT + "00000042001"
    valid = [c for c in CHARSET if mod37_36_is_valid(body + c)]
    assert valid == [iso7064_mod37_36(body)]


@pytest.mark.parametrize(
    ("type_code", "serial", "version"),
    [("1", 0, 1), ("Z" * 21, 99_999_999, 999), ("ZDSHBZZ", 10**23, 1), ("A0", 1, 100)],
)
def test_identifiers_at_the_limits_are_built_and_parsed(type_code, serial, version):
    ident = build_identifier(type_code, DEPT_CREDIT, serial, version)
    text = str(ident)
    body, check = text.rsplit(".", 1)
    assert body.startswith(PREFIX + ".")
    assert check == iso7064_mod37_36(body.replace(".", ""))
    assert body.endswith(f".{version:03d}")
    assert parse_identifier(text) == ident
    assert parse_identifier(text.lower()) == ident  # typed in lower case: the same identifier


def test_parts_beyond_their_limits_are_refused():
    def with_check(body: str) -> str:
        return f"{body}.{iso7064_mod37_36(body.replace('.', ''))}"

    ok = with_check(f"{PREFIX}.{'Z' * 21}.{DEPT_CREDIT}.{'9' * 24}.999")
    assert parse_identifier(ok).version == 999
    cases = {
        "cert_type_code": f"{PREFIX}.{'Z' * 22}.{DEPT_CREDIT}.00000001.001",
        "cert_id_serial": f"{PREFIX}.ZDSHBZZ.{DEPT_CREDIT}.{'9' * 25}.001",
        "cert_id_version": f"{PREFIX}.ZDSHBZZ.{DEPT_CREDIT}.00000001.1000",
    }
    for code, body in cases.items():
        with pytest.raises(IdentifierError) as err:
            parse_identifier(with_check(body))
        assert err.value.code == code
    with pytest.raises(IdentifierError):
        build_identifier("ZDSHBZZ", DEPT_CREDIT, 1, 0)
    with pytest.raises(IdentifierError):
        build_identifier("ZDSHBZZ", DEPT_CREDIT, 1, 1000)


@pytest.mark.parametrize("letter", "IOZSV")
def test_an_issuer_code_with_a_letter_gb_32100_excludes_is_refused(letter):
    first17 = DEPT_CREDIT[:9] + letter + DEPT_CREDIT[10:17]
    # even with a check character computed as if the letter were allowed
    fake = first17 + credit_check_char(DEPT_CREDIT[:17])
    body = f"{PREFIX}.ZDSHBZZ.{fake}.00000001.001"
    text = f"{body}.{iso7064_mod37_36(body.replace('.', ''))}"
    with pytest.raises(IdentifierError) as err:
        parse_identifier(text)
    assert err.value.code == "cert_id_credit_code"
