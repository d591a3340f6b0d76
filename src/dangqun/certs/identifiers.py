"""E-certificate identifiers (电子证照标识, GB/T 36904-2018) — pure functions, no database.

Form (ten dot-separated parts):

    1.2.156.3005.2.<type code>.<issuer credit code>.<serial>.<version>.<check character>

* ``1.2.156.3005.2``  the fixed prefix of e-certificate identifiers;
* type code          证照类型代码, 1–21 characters from 0-9A-Z;
* issuer credit code 签发单位的统一社会信用代码, 18 characters, valid per GB 32100-2015;
* serial             流水号 per issuer and type, 1–24 characters from 0-9A-Z (we issue decimal
  numbers zero-padded to SERIAL_WIDTH digits);
* version            版本号, exactly three digits, 001–999;
* check character    校验位 by ISO/IEC 7064 MOD 37,36 (GB/T 17710-2008), one of 0-9A-Z.

Which characters the check character covers: **every character of the identifier before the
last dot, with the dots removed** — i.e. the prefix digits "1215630052", then the type code,
the credit code, the serial and the version, concatenated in that order. Digits count 0–9 and
letters A–Z count 10–35. A hybrid MOD 37,36 system detects every single-character
substitution in that string, and most (not all) transpositions of adjacent characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from dangqun.core.validators import validate_credit_code

PREFIX = "1.2.156.3005.2"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MODULUS = 36  # M in ISO 7064 "MOD M+1, M"
SERIAL_WIDTH = 8
TYPE_CODE_RE = re.compile(r"[0-9A-Z]{1,21}")
SERIAL_RE = re.compile(r"[0-9A-Z]{1,24}")
VERSION_RE = re.compile(r"(?!000)[0-9]{3}")
MAX_LENGTH = 100  # 14 + 1+21 + 1+18 + 1+24 + 1+3 + 1+1 = 86, with room to spare


class IdentifierError(ValueError):
    """One specific defect of an identifier: `code` for programs, `message` (Chinese) for people."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass(frozen=True)
class CertIdentifier:
    type_code: str
    credit_code: str
    serial: str
    version: int
    check: str

    @property
    def body(self) -> str:
        """The identifier without its check character (and without the last dot)."""
        return f"{PREFIX}.{self.type_code}.{self.credit_code}.{self.serial}.{self.version:03d}"

    def __str__(self) -> str:
        return f"{self.body}.{self.check}"


def _values(chars: str) -> list[int]:
    try:
        return [ALPHABET.index(c) for c in chars]
    except ValueError:
        raise IdentifierError("cert_id_chars", _("证照标识只能包含数字、大写字母和“.”")) from None


def mod37_36_check_char(chars: str) -> str:
    """ISO/IEC 7064 MOD 37,36 check character for `chars` (0-9A-Z, no dots).

    Hybrid system with M = 36: P₀ = M; for each character value a: S = (P + a) mod M, with
    S = M when that is 0; P = 2·S mod (M + 1). The check character c makes (P + c) mod M = 1.
    """
    p = MODULUS
    for a in _values(chars):
        s = (p + a) % MODULUS or MODULUS
        p = (s * 2) % (MODULUS + 1)
    return ALPHABET[(MODULUS + 1 - p) % MODULUS]


def mod37_36_is_valid(chars_with_check: str) -> bool:
    """True when the last character is the right MOD 37,36 check character for the rest."""
    if len(chars_with_check) < 2:
        return False
    try:
        return mod37_36_check_char(chars_with_check[:-1]) == chars_with_check[-1]
    except IdentifierError:
        return False


def checked_chars(body: str) -> str:
    """The characters the check character covers: `body` (no check part) without its dots."""
    return body.replace(".", "")


def build_identifier(type_code: str, credit_code: str, serial: int, version: int = 1) -> CertIdentifier:
    """A new identifier; the caller has validated `type_code` and `credit_code`."""
    if not 1 <= version <= 999:
        raise IdentifierError("cert_id_version", _("版本号应为 001 至 999"))
    ident = CertIdentifier(type_code, credit_code, str(serial).zfill(SERIAL_WIDTH), version, "0")
    return CertIdentifier(
        type_code, credit_code, ident.serial, version, mod37_36_check_char(checked_chars(ident.body))
    )


def normalize(value: object) -> str:
    """Half-width, upper case, without whitespace (an identifier copied from a PDF or typed)."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(ch for ch in text if not ch.isspace()).upper()


def validate_type_code(value: object) -> str:
    code = normalize(value)
    if not TYPE_CODE_RE.fullmatch(code):
        raise IdentifierError("cert_type_code", _("证照类型代码应为 1 至 21 位数字或大写字母"))
    return code


def parse_identifier(value: object) -> CertIdentifier:
    """Parse and check an identifier; raise IdentifierError naming the first defect found.

    Order of the checks: length, prefix, number of parts, type code, credit code (GB 32100
    check character), serial, version, and last the MOD 37,36 check character.
    """
    s = normalize(value)
    if not s:
        raise IdentifierError("cert_id_required", _("请输入证照标识"))
    if len(s) > MAX_LENGTH:
        raise IdentifierError("cert_id_length", _("证照标识过长（最多 %(n)d 个字符）") % {"n": MAX_LENGTH})
    if not s.startswith(PREFIX + "."):
        raise IdentifierError("cert_id_prefix", _("证照标识应以“%(p)s.”开头") % {"p": PREFIX})
    parts = s[len(PREFIX) + 1 :].split(".")
    if len(parts) != 5:
        raise IdentifierError(
            "cert_id_parts",
            _("证照标识在前缀之后应有 5 段（类型代码.统一社会信用代码.流水号.版本号.校验位），实有 %(n)d 段")
            % {"n": len(parts)},
        )
    type_code, credit, serial, version, check = parts
    if not TYPE_CODE_RE.fullmatch(type_code):
        raise IdentifierError("cert_type_code", _("证照类型代码应为 1 至 21 位数字或大写字母"))
    try:
        credit = validate_credit_code(credit)
    except ValidationError as exc:
        raise IdentifierError(
            "cert_id_credit_code", _("证照标识中的签发单位代码有误：%(m)s") % {"m": exc.messages[0]}
        ) from None
    if not SERIAL_RE.fullmatch(serial):
        raise IdentifierError("cert_id_serial", _("流水号应为 1 至 24 位数字或大写字母"))
    if not VERSION_RE.fullmatch(version):
        raise IdentifierError("cert_id_version", _("版本号应为 3 位数字（001 至 999）"))
    if len(check) != 1 or check not in ALPHABET:
        raise IdentifierError("cert_id_check_format", _("校验位应为 1 位数字或大写字母"))
    ident = CertIdentifier(type_code, credit, serial, int(version), check)
    if not mod37_36_is_valid(checked_chars(ident.body) + check):
        raise IdentifierError("cert_id_checksum", _("证照标识校验位不正确，请核对标识是否抄写有误"))
    return ident


def mask_name(name: str) -> str:
    """张*明 · 张* · 欧**明: the first and the last character stay, the rest become "*"."""
    chars = list((name or "").strip())
    if len(chars) <= 1:
        return "*" * len(chars)
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "".join(" " if c == " " else "*" for c in chars[1:-1]) + chars[-1]
