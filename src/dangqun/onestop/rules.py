"""Pure rules of one-stop applications: time limits, countdowns, numbers, forms (onestop.md §2–§3).

No database and no request: the numbers come in as a RuleSet (core/rules_data/onestop*.json) and
working days as functions (core.workcalendar.add_working_days / working_days_between), so every
rule can be tested on its own and the same code serves pages, the API, jobs and benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from dangqun.core.errors import Violation
from dangqun.core.rulesets import RuleSet
from dangqun.core.validators import validate_credit_code, validate_id_number, validate_phone

from .choices import Due, HandlingMode, Outcome

AddDays = Callable[[date, int], date]  # core.workcalendar.add_working_days
Between = Callable[[date, date], int]  # core.workcalendar.working_days_between (both ends included)


# ---------------------------------------------------------------------------------------------
# Time limits (行政许可法 第三十二、四十二、四十四、四十五、八十二条)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """An application's limits in working days, fixed at submission."""

    promised: int  # 承诺办结时限
    decision: int  # 法定办结时限 (20, joint 45, or the item's own statutory limit)
    max_extension: int  # 10, joint 15
    notice: int  # 一次性告知 within 5
    delivery: int  # 送达 within 10 of the decision
    warning: int  # countdown warning at 3 left


def limits_for(handling_mode: str, statutory_days: int, promised_days: int, rules: RuleSet) -> Limits:
    """The limits of an item under the rule set in force on the day of submission.

    An item's own statutory limit (e.g. 3 days for a 公积金 withdrawal) wins over the general one;
    the promise never exceeds the legal limit. 即办件 are promised on the spot (0 days).
    """
    joint = handling_mode == HandlingMode.JOINT
    general = rules["onestop.joint_decision_working_days" if joint else "onestop.decision_working_days"]
    decision = statutory_days or general
    promised = 0 if handling_mode == HandlingMode.IMMEDIATE else min(promised_days or decision, decision)
    return Limits(
        promised=promised,
        decision=decision,
        max_extension=rules[
            "onestop.joint_extension_working_days" if joint else "onestop.decision_extension_working_days"
        ],
        notice=rules["onestop.notice_working_days"],
        delivery=rules["onestop.delivery_working_days"],
        warning=rules["onestop.countdown_warning_working_days"],
    )


@dataclass(frozen=True)
class Deadlines:
    notice_due: date
    promised_due: date
    decision_due: date


def deadlines(
    received_on: date,
    *,
    promised: int,
    decision: int,
    notice: int,
    stopped_days: int,
    extension_days: int,
    add_days: AddDays,
) -> Deadlines:
    """Deadlines counted from the day the materials arrived, the receipt day itself not counted.

    Working days the clock stood still (挂起: 补正, hearings, testing, expert review) push both the
    promise and the legal limit; an extension (with recorded reasons) pushes the legal limit, and
    the promise becomes the extended limit (the applicant is told the new date).
    """
    decision_due = add_days(received_on, decision + stopped_days + extension_days)
    promised_days = min(promised, decision) + stopped_days
    if extension_days:
        promised_due = decision_due
    elif promised_days:
        promised_due = add_days(received_on, promised_days)
    else:
        # 即办件 (0 days): done the day received, or the first working day after a rest day
        # (an online submission on a Sunday or during the Spring Festival is due when the office
        # opens, never on the holiday itself).
        promised_due = add_days(received_on - timedelta(days=1), 1)
    return Deadlines(add_days(received_on, notice), promised_due, decision_due)


def stopped_working_days(started_on: date, ended_on: date, between: Between) -> int:
    """Working days a clock stop took: those after the day it started, up to the day it ended.

    The start day counts as a working day of the limit (the notice was issued that day); the day the
    corrected materials arrive is not, so the clock runs again from the next working day.
    """
    if ended_on <= started_on:
        return 0
    return between(started_on + timedelta(days=1), ended_on)


def notice_is_late(received_on: date, issued_on: date, notice_days: int, add_days: AddDays) -> bool:
    """一次性告知 after the 5th working day following receipt: the application counts as accepted
    from the day the materials arrived (行政许可法 第三十二条第一款第四项)."""
    return issued_on > add_days(received_on, notice_days)


def working_days_left(due: date, today: date, between: Between) -> int:
    """Working days left after today up to the due date (0: due today); negative when overdue.

    Any day after the due date is overdue, a rest day too: the Saturday after a Friday deadline
    is -1 (not 0, which would read "due today" and flag a mere warning), as is the Monday after.
    """
    if due == today:
        return 0
    if due > today:
        return between(today + timedelta(days=1), due)
    return -max(1, between(due + timedelta(days=1), today))


def due_flag(days_left: int | None, warning: int, stopped: bool = False) -> str:
    if stopped:
        return Due.STOPPED
    if days_left is None:
        return Due.OK
    if days_left < 0:
        return Due.OVERDUE
    if days_left <= warning:
        return Due.WARNING
    return Due.OK


def check_extension(
    requested: int, already: int, maximum: int, reason: str, *, times_done: int = 0, max_times: int = 1
) -> Violation | None:
    """延长办理期限: with written reasons, at most `max_times` times (the rule value
    onestop.decision_extension_max_times, once by 第四十二条) and `maximum` working days in all
    (20+10, 45+15). `already` is the number of working days extended so far, `times_done` the
    number of extensions; days extended imply at least one extension."""
    if not reason.strip():
        return Violation("extension_reason", _("延长办理期限须写明理由。"), field="reason")
    if requested <= 0:
        return Violation("extension_days", _("延长的工作日数须大于 0。"), field="days")
    if already + requested > maximum:
        return Violation(
            "extension_too_long",
            _("延长期限合计不得超过 %(max)s 个工作日（已延长 %(done)s 个）。")
            % {"max": maximum, "done": already},
            field="days",
            details={"max": maximum, "already": already},
        )
    if max(times_done, 1 if already else 0) >= max_times:
        # 行政许可法 第四十二条: the head of the office may approve ONE extension of up to 10
        # (joint handling 15) working days; a second extension is not provided for.
        return Violation(
            "extension_once",
            _("办理期限只能延长 %(n)s 次（已延长 %(done)s 个工作日）。") % {"n": max_times, "done": already},
            field="days",
            details={"max": maximum, "already": already, "max_times": max_times},
        )
    return None


def check_deficiency_due(due: date | None, on: date, promised_due: date) -> Violation | None:
    """容缺受理: the deadline for the missing materials lies between the day of acceptance (`on`,
    the day staff accept: a deadline already past then gives the applicant no time at all) and
    the promised completion date, both included."""
    if due is None:
        return Violation(
            "deficiency_due_missing", _("容缺受理须写明补齐材料的期限。"), field="deficiency_due"
        )
    if due < on:
        return Violation(
            "deficiency_due_past",
            _("补齐期限不能早于受理当日 %(d)s。") % {"d": on.isoformat()},
            field="deficiency_due",
            details={"accepted_on": on.isoformat()},
        )
    if due > promised_due:
        return Violation(
            "deficiency_due_too_late",
            _("补齐期限不得晚于承诺办结日期 %(d)s。") % {"d": promised_due.isoformat()},
            field="deficiency_due",
            details={"promised_due": promised_due.isoformat()},
        )
    return None


@dataclass(frozen=True)
class DeficiencyOutcome:
    """What the acceptance tells the applicant happens if the 容缺 materials are not supplied in
    time: `outcome` the decision staff are offered (Outcome.DENIED or "" for none), `text` the words."""

    outcome: str
    text: str


def deficiency_missed_outcome(rules: RuleSet) -> DeficiencyOutcome:
    """The stated consequence in force (onestop.deficiency_missed_outcome: {"outcome", "text"}).

    A plain text value (an administrator's override) is the words alone, with no decision offered.
    """
    value = rules["onestop.deficiency_missed_outcome"]
    if isinstance(value, str):
        return DeficiencyOutcome("", value.strip())
    # Only 不予 can follow from missing materials: anything else offers no decision.
    outcome = Outcome.DENIED.value if value.get("outcome") == Outcome.DENIED else ""
    return DeficiencyOutcome(outcome, str(value.get("text", "")).strip())


def deficiency_missed(due: date | None, today: date) -> bool:
    """The 容缺 deadline has passed: the deadline is a date and the whole day is the applicant's,
    so it is missed from the next calendar day on (a Friday deadline is missed on Saturday)."""
    return due is not None and today > due


# ---------------------------------------------------------------------------------------------
# Application numbers (catalog.md: 实施编码 + yyyyMMdd + 4-digit serial)
# ---------------------------------------------------------------------------------------------


def application_number(implementation_code: str, day: date, serial: int) -> str:
    """E.g. 11330106MB0000001X5330106011000 20260928 0001 (without spaces). Past 9999 a day the
    serial simply grows a digit rather than refusing submissions."""
    return f"{implementation_code}{day:%Y%m%d}{serial:04d}"


def implementation_code(credit_code: str, level: str, basic_code: str) -> str:
    """实施编码: the implementing body's 18-char credit code + the level digit + the 12-char 基本编码."""
    return f"{credit_code}{level}{basic_code}"


# ---------------------------------------------------------------------------------------------
# The item's form (its schema is data: fields with type, label, required, validators)
# ---------------------------------------------------------------------------------------------

FIELD_TYPES = frozenset(
    {"text", "textarea", "number", "date", "select", "checkbox", "id_number", "phone", "credit_code", "email"}
)
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def check_schema(schema: Any) -> list[Violation]:
    """A form schema an administrator wrote: every problem at once."""
    out: list[Violation] = []
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    if not isinstance(fields, list) or not fields:
        return [Violation("schema_fields", _("表单须至少有一个字段（fields 列表）。"))]
    names: set[str] = set()
    for i, f in enumerate(fields, start=1):
        if not isinstance(f, Mapping):
            out.append(Violation("schema_field", _("第 %(i)s 个字段格式不正确。") % {"i": i}))
            continue
        name = f.get("name", "")
        if not isinstance(name, str) or not NAME_RE.match(name):
            out.append(Violation("schema_name", _("第 %(i)s 个字段的名称须为小写英文字母开头。") % {"i": i}))
        elif name in names:
            out.append(Violation("schema_duplicate", _("字段名称“%(n)s”重复。") % {"n": name}))
        names.add(str(name))
        if f.get("type", "text") not in FIELD_TYPES:
            out.append(Violation("schema_type", _("第 %(i)s 个字段的类型不受支持。") % {"i": i}))
        if not str(f.get("label", "")).strip():
            out.append(Violation("schema_label", _("第 %(i)s 个字段缺少标签。") % {"i": i}))
        if f.get("type") == "select" and not f.get("choices"):
            out.append(Violation("schema_choices", _("第 %(i)s 个字段（下拉选择）缺少选项。") % {"i": i}))
        pattern = (f.get("validators") or {}).get("pattern")
        if pattern:
            try:
                re.compile(pattern)
            except re.error:
                out.append(Violation("schema_pattern", _("第 %(i)s 个字段的格式规则无效。") % {"i": i}))
    return out


def _choice_values(f: Mapping[str, Any]) -> list[str]:
    return [str(c[0] if isinstance(c, list | tuple) else c) for c in f.get("choices", [])]


def clean_form(
    schema: Mapping[str, Any], data: Mapping[str, Any], *, partial: bool = False
) -> tuple[dict, list[Violation]]:
    """Check submitted values against the schema; return the cleaned values and every problem.

    `partial` (a draft being saved as the user goes): keep what is there, report nothing missing,
    and keep even invalid text so that the user does not lose it.
    """
    cleaned: dict[str, Any] = {}
    problems: list[Violation] = []
    for f in schema.get("fields", []):
        name, label, kind = f["name"], str(f.get("label", f["name"])), f.get("type", "text")
        rules = f.get("validators") or {}
        raw = data.get(name)
        if kind == "checkbox":
            value: Any = raw in (True, "on", "true", "1", 1, "yes")
            if f.get("required") and not value and not partial:
                problems.append(Violation("required", _("请勾选“%(l)s”。") % {"l": label}, field=name))
            cleaned[name] = value
            continue
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.get("required") and not partial:
                problems.append(Violation("required", _("请填写“%(l)s”。") % {"l": label}, field=name))
            continue
        if len(text) > int(rules.get("max_length", 2000)):
            problems.append(
                Violation(
                    "max_length",
                    _("“%(l)s”最多 %(n)s 个字。") % {"l": label, "n": rules.get("max_length", 2000)},
                    field=name,
                )
            )
            if partial:
                cleaned[name] = text[: int(rules.get("max_length", 2000))]
            continue
        try:
            cleaned[name] = _clean_value(kind, text, f, rules, label)
        except ValidationError as exc:
            problems.append(Violation("invalid", f"{label}：{exc.messages[0]}", field=name))
            if partial:
                cleaned[name] = text
    return cleaned, problems


def _clean_value(kind: str, text: str, f: Mapping[str, Any], rules: Mapping[str, Any], label: str) -> Any:
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_("请输入数字")) from None
        if not number.is_finite():
            raise ValidationError(_("请输入数字"))
        if "min" in rules and number < Decimal(str(rules["min"])):
            raise ValidationError(_("不能小于 %(n)s") % {"n": rules["min"]})
        if "max" in rules and number > Decimal(str(rules["max"])):
            raise ValidationError(_("不能大于 %(n)s") % {"n": rules["max"]})
        return str(number)
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError(_("请按“年-月-日”填写日期，例如 2026-09-28")) from None
    if kind == "select":
        if text not in _choice_values(f):
            raise ValidationError(_("请从选项中选择"))
        return text
    if kind == "id_number":
        return validate_id_number(text)
    if kind == "phone":
        return validate_phone(text)
    if kind == "credit_code":
        return validate_credit_code(text)
    if kind == "email":
        validate_email(text)
        return text
    pattern = rules.get("pattern")
    if pattern and not re.fullmatch(pattern, text):
        raise ValidationError(str(rules.get("pattern_message") or _("格式不正确")))
    return text
