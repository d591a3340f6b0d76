"""Certificate types this platform issues: local type code → name.

A type code is 1–21 characters from 0-9A-Z (GB/T 36904 allows the national 证照类型代码, which
is the defining authority's credit code plus a 3-digit number; local types use short codes).
Callers may also pass a name of their own for a code that is not listed here.
"""

from __future__ import annotations

CERT_TYPES: dict[str, str] = {
    "SBKSLHZ": "社会保障卡申领回执",
    "ZDSHBZZ": "最低生活保障证",
    "TKGYZ": "特困人员救助供养证",
    "CJRBTSP": "残疾人两项补贴审批表",
    "JZZSLHZ": "居住证申领回执",
    "LNRYDZ": "老年人优待证",
    "SYDJPZ": "生育登记凭证",
    "DYZZGXZM": "党员组织关系介绍信回执",
}


def type_name(code: str) -> str | None:
    return CERT_TYPES.get(code)
