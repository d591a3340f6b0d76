"""Validators for Chinese identifiers: resident ID, mobile phone, unified social credit code.

Each `validate_*` returns the normalized value (half-width, upper case, no spaces) and raises
django.core.exceptions.ValidationError with one specific, actionable Chinese message, so that a
form can show it beside the field and an action can turn it into a RuleViolation.

Sources:
* GB 11643-1999 公民身份号码: 6-digit region code (GB/T 2260), 8-digit birth date, 3-digit
  sequence (odd = male), check character by ISO 7064 MOD 11-2.
* GB 32100-2015 法人和其他组织统一社会信用代码编码规则: 18 characters from a 31-character set
  (no I, O, Z, S, V), check character by weighted sum modulo 31.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# GB 11643-1999 §7: weights W_i = 2^(i-1) mod 11 for positions 18..2, and the check characters.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

# First two digits of the region code (GB/T 2260 provinces): 11–15 华北, 21–23 东北, 31–37 华东,
# 41–46 中南, 50–54 西南, 61–65 西北, 71 台湾, 81 香港, 82 澳门. 83 is the code used in the
# 居住证 numbers of Taiwan residents living on the mainland (国办发〔2018〕81号), so it is real too.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
EARLIEST_BIRTH = date(1900, 1, 1)

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

PHONE_RE = re.compile(r"1[3-9]\d{9}")


def _normalize(value: object) -> str:
    """Half-width (NFKC turns "１２Ｘ" into "12X"), upper case, without any whitespace or hyphen."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID for its first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def validate_id_number(value: object) -> str:
    """Check a 18-character resident ID number (GB 11643-1999) and return it normalized."""
    s = _normalize(value)
    if not s:
        raise ValidationError(_("请输入身份证号"), code="id_required")
    if len(s) != 18:
        raise ValidationError(
            _("身份证号应为18位，您输入了%(n)d位") % {"n": len(s)}, code="id_length", params={"n": len(s)}
        )
    if not (s[:17].isascii() and s[:17].isdigit()) or s[17] not in "0123456789X":
        raise ValidationError(_("身份证号前17位应为数字，最后一位为数字或X"), code="id_chars")
    if int(s[:2]) not in PROVINCE_CODES:
        raise ValidationError(_("身份证号前两位不是有效的省级行政区划代码"), code="id_region")
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号第7至14位不是有效的出生日期"), code="id_birth_date") from None
    if born < EARLIEST_BIRTH:
        raise ValidationError(_("身份证号中的出生日期早于1900年，请核对"), code="id_birth_date")
    if born > timezone.localdate():
        raise ValidationError(_("身份证号中的出生日期晚于今天，请核对"), code="id_birth_future")
    if id_check_char(s[:17]) != s[17]:
        raise ValidationError(_("身份证号校验位不正确，请核对最后一位"), code="id_checksum")
    return s


def birth_date_from_id(value: object) -> date:
    """The birth date encoded in positions 7–14 of a valid resident ID."""
    s = validate_id_number(value)
    return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def gender_from_id(value: object) -> str:
    """ "M" or "F" (accounts.choices.Gender): the 17th digit is odd for men, even for women."""
    s = validate_id_number(value)
    return "M" if int(s[16]) % 2 else "F"


def validate_phone(value: object) -> str:
    """A mainland mobile number, 11 digits starting 13–19; "+86" / "86" and separators allowed."""
    s = _normalize(value)
    if s.startswith("+86"):
        s = s[3:]
    elif s.startswith("86") and len(s) == 13:
        s = s[2:]
    if not s:
        raise ValidationError(_("请输入手机号码"), code="phone_required")
    if not PHONE_RE.fullmatch(s):
        raise ValidationError(_("手机号码应为1开头的11位数字，第二位为3至9"), code="phone_format")
    return s


def credit_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code for its first 17 (GB 32100-2015 §5)."""
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: object) -> str:
    """Check a unified social credit code (统一社会信用代码) and return it normalized."""
    s = _normalize(value)
    if not s:
        raise ValidationError(_("请输入统一社会信用代码"), code="credit_required")
    if len(s) != 18:
        raise ValidationError(
            _("统一社会信用代码应为18位，您输入了%(n)d位") % {"n": len(s)},
            code="credit_length",
            params={"n": len(s)},
        )
    bad = [c for c in s if c not in CREDIT_CHARSET]
    if bad:
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符“%(c)s”（不使用 I、O、Z、S、V）") % {"c": bad[0]},
            code="credit_chars",
            params={"c": bad[0]},
        )
    if credit_check_char(s[:17]) != s[17]:
        raise ValidationError(_("统一社会信用代码校验位不正确，请核对最后一位"), code="credit_checksum")
    return s


def mask_id_number(value: str | None) -> str:
    """110***********1234: the region's first three digits and the last four stay visible."""
    s = (value or "").strip()
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def mask_phone(value: str | None) -> str:
    """138****5678."""
    s = (value or "").strip()
    if len(s) <= 7:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]
