"""Party member rules as pure functions (party.md §1 development, §4 elections, §5 dues).

No database and no request here: every number comes in as a RuleSet (keys party.dev.*,
party.vote.*, party.election.*, party.dues.* from core/rules_data/party.json or an
administrator's override), the member as plain facts (MemberState), and the work calendar
as a function. Every broken rule becomes one Violation whose message names the rule, the
date that would have been allowed, and the source; all of them are returned together
(party.md §9: report every broken rule at once, never a negative interval).

Blocking rules are Violations; things the branch should know but that do not stop the step
(a late talk, a late approval, a big payment) are flags of the same shape.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dangqun.core.errors import RuleViolation, Violation
from dangqun.core.rulesets import Rule, RuleSet, default_rule_entries
from dangqun.orgs.rules import add_months, add_years

from .choices import DuesCategory, Status, StepState

FEN = Decimal("0.01")

# ---------------------------------------------------------------------------------------------
# Rule sets without a database (pure tests and benchmarks)
# ---------------------------------------------------------------------------------------------


def default_ruleset(on: date, prefix: str = "party.") -> RuleSet:
    """The shipped national values in force on `on`, read from rules_data/*.json only."""
    best: dict[str, Rule] = {}
    for e in default_rule_entries():
        if not e["key"].startswith(prefix):
            continue
        effective = date.fromisoformat(e["effective_from"])
        if effective <= on and (e["key"] not in best or effective >= best[e["key"]].effective_from):
            best[e["key"]] = Rule(
                e["key"], e["value"], e["version"], effective, e.get("clause", ""), e["source"]
            )
    return RuleSet(best, on)


def _violation(rules: RuleSet, key: str, code: str, text: str, field: str = "", **details: Any) -> Violation:
    """A Violation whose message ends with its legal source: "…。依据：发展党员工作细则 第十三条"."""
    source = rules.source(key)
    return Violation(
        code, _("%(text)s依据：%(source)s") % {"text": text, "source": source}, source, field, details
    )


def fraction(value: Any) -> Fraction:
    """Rule values for fractions are stored as ["numerator", "denominator"]: exact, never float."""
    if isinstance(value, list | tuple):
        return Fraction(int(value[0]), int(value[1]))
    return Fraction(str(value))


def more_than(total: int, share: Fraction) -> int:
    """The smallest whole number strictly greater than total × share."""
    return math.floor(total * share) + 1


# ---------------------------------------------------------------------------------------------
# The 25 steps (发展党员工作细则; party.md §1 table)
# ---------------------------------------------------------------------------------------------

STAGES: dict[int, Any] = {
    1: gettext_lazy("申请入党"),
    2: gettext_lazy("入党积极分子的确定和培养教育"),
    3: gettext_lazy("发展对象的确定和考察"),
    4: gettext_lazy("预备党员的接收"),
    5: gettext_lazy("预备党员的教育考察和转正"),
}


@dataclass(frozen=True)
class Step:
    number: int
    stage: int
    name: Any
    requires: tuple[int, ...]
    status: str  # the status the person must have when the step is recorded


STEPS: dict[int, Step] = {
    s.number: s
    for s in (
        Step(1, 1, gettext_lazy("递交入党申请书"), (), Status.APPLICANT),
        Step(2, 1, gettext_lazy("党组织派人谈话"), (1,), Status.APPLICANT),
        Step(3, 2, gettext_lazy("推荐和确定入党积极分子"), (2,), Status.APPLICANT),
        Step(4, 2, gettext_lazy("报上级党委备案"), (3,), Status.ACTIVIST),
        Step(5, 2, gettext_lazy("指定培养联系人"), (3,), Status.ACTIVIST),
        Step(6, 2, gettext_lazy("培养教育考察"), (5,), Status.ACTIVIST),
        Step(7, 3, gettext_lazy("确定发展对象"), (4, 6), Status.ACTIVIST),
        Step(8, 3, gettext_lazy("报上级党委备案"), (7,), Status.CANDIDATE),
        Step(9, 3, gettext_lazy("确定入党介绍人"), (7,), Status.CANDIDATE),
        Step(10, 3, gettext_lazy("进行政治审查"), (7,), Status.CANDIDATE),
        Step(11, 3, gettext_lazy("开展集中培训"), (7,), Status.CANDIDATE),
        Step(12, 4, gettext_lazy("支部委员会审查"), (8, 9, 10, 11), Status.CANDIDATE),
        Step(13, 4, gettext_lazy("上级党委预审"), (12,), Status.CANDIDATE),
        Step(14, 4, gettext_lazy("填写入党志愿书"), (13,), Status.CANDIDATE),
        Step(15, 4, gettext_lazy("支部大会讨论"), (14,), Status.CANDIDATE),
        Step(16, 4, gettext_lazy("上级党委派人谈话"), (15,), Status.CANDIDATE),
        Step(17, 4, gettext_lazy("上级党委审批"), (16,), Status.CANDIDATE),
        Step(18, 4, gettext_lazy("再上一级党委组织部门备案"), (17,), Status.PROBATIONARY),
        Step(19, 5, gettext_lazy("编入党支部和党小组"), (17,), Status.PROBATIONARY),
        Step(20, 5, gettext_lazy("入党宣誓"), (17,), Status.PROBATIONARY),
        Step(21, 5, gettext_lazy("继续教育考察"), (19,), Status.PROBATIONARY),
        Step(22, 5, gettext_lazy("提出转正申请"), (20, 21), Status.PROBATIONARY),
        Step(23, 5, gettext_lazy("支部大会讨论"), (22,), Status.PROBATIONARY),
        Step(24, 5, gettext_lazy("上级党委审批"), (23,), Status.PROBATIONARY),
        Step(25, 5, gettext_lazy("材料归档"), (24,), Status.FULL),
    )
}
LAST_STEP = 25
# Steps that change the status (actions apply the FSM transition): 3 activist, 7 candidate,
# 17 probationary (from the 支部大会 date of step 15), 24 full (from the end of probation).
VOTE_STEPS = frozenset({15, 23})
APPROVAL_AFTER = {17: 15, 24: 23}  # approval step → the branch meeting it approves


@dataclass(frozen=True)
class Person:
    """A party member named in a step (培养联系人, 入党介绍人)."""

    id: int
    name: str
    status: str


@dataclass(frozen=True)
class ApprovingBody:
    """The organization recorded as approving a development step (17, 24), as the tree knows it."""

    name: str
    is_committee: bool  # a 基层党委
    above_branch: bool  # an ancestor of the member's branch
    under_committee: bool  # itself under another 基层党委 (a village/community 党委 under the street's)


@dataclass(frozen=True)
class DoneStep:
    on: date
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberState:
    """What the step rules need to know about one person; actions build it from the models.

    `imported_through`: steps up to this number were completed before the platform was used
    (an enrolled member); they count as done, with the key dates below when known.
    """

    id: int | None
    status: str
    birth_date: date | None
    steps: Mapping[int, DoneStep] = field(default_factory=dict)
    applied_on: date | None = None
    activist_on: date | None = None
    candidate_on: date | None = None
    admitted_on: date | None = None
    imported_through: int = 0
    transferred_in: bool = False
    extension_months: int = 0

    def is_done(self, n: int) -> bool:
        return n in self.steps or n <= self.imported_through

    def date_of(self, n: int) -> date | None:
        if n in self.steps:
            return self.steps[n].on
        return {1: self.applied_on, 3: self.activist_on, 7: self.candidate_on, 15: self.admitted_on}.get(n)

    def data_of(self, n: int) -> Mapping[str, Any]:
        return self.steps[n].data if n in self.steps else {}

    def failed(self, n: int) -> bool:
        """A recorded review (step 10, 13) that did not pass."""
        return n in self.steps and self.steps[n].data.get("passed") is False


@dataclass
class Assessment:
    violations: list[Violation] = field(default_factory=list)
    flags: list[Violation] = field(default_factory=list)


WorkingDays = Callable[[date, date], int]  # both ends included (core.workcalendar.working_days_between)


def age_reached_on(birth_date: date, years: int) -> date:
    """The day a person born on `birth_date` is `years` old; born on 29 February → 28 February."""
    return add_years(birth_date, years)


def probation_end(admitted_on: date, rules: RuleSet, extension_months: int = 0) -> date:
    """预备期 ends 1 year after the 支部大会 (党章 第七条), plus an extension; 党龄 counts from it."""
    return add_months(add_years(admitted_on, rules["party.dev.probation_years"]), extension_months)


def _step_name(n: int) -> str:
    return _("第%(n)d步“%(name)s”") % {"n": n, "name": STEPS[n].name}


CLOSED = frozenset(
    {Status.TRANSFERRED_OUT, Status.LEFT, Status.SUSPENDED, Status.DECEASED, Status.DISQUALIFIED}
)


def _order_rules(
    state: MemberState, spec: Step, on: date, rules: RuleSet, today: date | None
) -> list[Violation]:
    """Order, status and date sanity common to every step (party.md §1: a step after its prerequisites)."""
    found: list[Violation] = []
    key = "party.dev.steps"
    n = spec.number
    if state.is_done(n):
        found.append(
            _violation(
                rules, key, "step_done", _("%(step)s已登记，不能重复登记。") % {"step": _step_name(n)}, "step"
            )
        )
    if state.status in CLOSED:
        found.append(
            _violation(
                rules,
                key,
                "step_status",
                _("当前身份为“%(status)s”，不能再办理发展党员步骤。")
                % {"status": Status(state.status).label},
                "step",
            )
        )
    elif state.status != spec.status and not state.is_done(n):
        found.append(
            _violation(
                rules,
                key,
                "step_status",
                _("%(step)s须在身份为“%(need)s”时办理，当前身份为“%(status)s”。")
                % {
                    "step": _step_name(n),
                    "need": Status(spec.status).label,
                    "status": Status(state.status).label,
                },
                "step",
            )
        )
    for p in spec.requires:
        if not state.is_done(p):
            found.append(
                _violation(
                    rules,
                    key,
                    "step_order",
                    _("须先完成%(prev)s，才能办理%(step)s。")
                    % {"prev": _step_name(p), "step": _step_name(n)},
                    "step",
                    requires=p,
                )
            )
            continue
        prev_on = state.date_of(p)
        if prev_on is not None and on < prev_on:
            found.append(
                _violation(
                    rules,
                    key,
                    "step_date_order",
                    _("%(step)s的日期不能早于%(prev)s的日期（最早 %(d)s）。")
                    % {"step": _step_name(n), "prev": _step_name(p), "d": prev_on.isoformat()},
                    "done_on",
                    earliest=prev_on.isoformat(),
                )
            )
    if today is not None and on > today:
        found.append(
            Violation(
                "future_date",
                _("日期 %(on)s 晚于今天（%(today)s），不能登记尚未发生的步骤。")
                % {"on": on.isoformat(), "today": today.isoformat()},
                field="done_on",
            )
        )
    return found


def _people(ev: Mapping[str, Any], name: str) -> list[Person]:
    return list(ev.get(name) or [])


def _check_people(
    state: MemberState,
    people: list[Person],
    rules: RuleSet,
    key: str,
    role: str,
    field_name: str,
    out: Assessment,
) -> None:
    """培养联系人 / 入党介绍人: full members, each once, never the person themselves."""
    seen: set[int] = set()
    for p in people:
        if p.id in seen:
            out.violations.append(
                _violation(
                    rules,
                    key,
                    f"{field_name}_duplicate",
                    _("%(name)s 被重复指定为%(role)s。") % {"name": p.name, "role": role},
                    field_name,
                )
            )
            continue
        seen.add(p.id)
        if state.id is not None and p.id == state.id:
            out.violations.append(
                _violation(
                    rules,
                    key,
                    f"{field_name}_self",
                    _("不能指定本人（%(name)s）为自己的%(role)s。") % {"name": p.name, "role": role},
                    field_name,
                )
            )
        elif p.status != Status.FULL:
            out.violations.append(
                _violation(
                    rules,
                    key,
                    f"{field_name}_not_full",
                    _("%(role)s须为正式党员，%(name)s 当前为“%(status)s”。")
                    % {"role": role, "name": p.name, "status": Status(p.status).label},
                    field_name,
                )
            )


def _rules_application(state, on, rules, ev, out, working_days) -> None:  # step 1
    key = "party.dev.min_age"
    if state.birth_date is None:
        out.violations.append(
            _violation(rules, key, "birth_date_missing", _("缺少出生日期，无法核对年龄。"), "birth_date")
        )
        return
    earliest = age_reached_on(state.birth_date, rules[key])
    if on < earliest:
        out.violations.append(
            _violation(
                rules,
                key,
                "age",
                _("递交入党申请书时须年满 %(n)s 周岁：出生日期 %(b)s，最早可于 %(d)s 递交。")
                % {"n": rules[key], "b": state.birth_date.isoformat(), "d": earliest.isoformat()},
                "applied_on",
                earliest=earliest.isoformat(),
            )
        )


def _rules_talk(state, on, rules, ev, out, working_days) -> None:  # step 2: a flag, never a block
    key = "party.dev.talk_within_months"
    applied = state.date_of(1)
    if applied is None:
        return
    due = add_months(applied, rules[key])
    if on > due:
        out.flags.append(
            _violation(
                rules,
                key,
                "talk_overdue",
                _("收到入党申请书（%(a)s）后应在 %(n)s 个月内派人谈话（最迟 %(due)s），本次谈话已逾期。")
                % {"a": applied.isoformat(), "n": rules[key], "due": due.isoformat()},
                "done_on",
                due=due.isoformat(),
            )
        )


def _rules_contacts(state, on, rules, ev, out, working_days) -> None:  # step 5
    lo, hi = rules["party.dev.contact_persons_min"], rules["party.dev.contact_persons_max"]
    people = _people(ev, "contact_persons")
    count = len({p.id for p in people})
    if not lo <= count <= hi:
        out.violations.append(
            _violation(
                rules,
                "party.dev.contact_persons_min",
                "contact_persons_count",
                _("培养联系人应为 %(lo)s 至 %(hi)s 名正式党员，本次为 %(n)d 名。")
                % {"lo": lo, "hi": hi, "n": count},
                "contact_persons",
            )
        )
    _check_people(
        state, people, rules, "party.dev.contact_persons_min", _("培养联系人"), "contact_persons", out
    )


def _rules_candidate(state, on, rules, ev, out, working_days) -> None:  # step 7
    key = "party.dev.activist_min_years"
    activist = state.date_of(3)
    if activist is None:
        return
    earliest = add_years(activist, rules[key])
    if on < earliest:
        out.violations.append(
            _violation(
                rules,
                key,
                "activist_period",
                _("确定发展对象须在列为入党积极分子满 %(n)s 年后（最早 %(d)s）。")
                % {"n": rules[key], "d": earliest.isoformat()},
                "done_on",
                earliest=earliest.isoformat(),
            )
        )


def _rules_introducers(state, on, rules, ev, out, working_days) -> None:  # step 9
    key = "party.dev.introducers"
    people = _people(ev, "introducers")
    count = len({p.id for p in people})
    if count != rules[key]:
        out.violations.append(
            _violation(
                rules,
                key,
                "introducers_count",
                _("入党介绍人应为 %(need)s 名正式党员，本次为 %(n)d 名。") % {"need": rules[key], "n": count},
                "introducers",
            )
        )
    _check_people(state, people, rules, key, _("入党介绍人"), "introducers", out)


def _passed(ev: Mapping[str, Any], rules: RuleSet, key: str, what: str, out: Assessment) -> bool | None:
    passed = ev.get("passed")
    if not isinstance(passed, bool):
        out.violations.append(
            _violation(
                rules,
                key,
                "result_missing",
                _("请填写%(what)s的结论（合格或不合格）。") % {"what": what},
                "passed",
            )
        )
        return None
    return passed


def _rules_political_review(state, on, rules, ev, out, working_days) -> None:  # step 10
    key = "party.dev.political_review_locks_from_step"
    if _passed(ev, rules, key, _("政治审查"), out) is False:
        out.flags.append(
            _violation(
                rules,
                key,
                "political_review_failed",
                _("政治审查不合格：第 %(n)s 步及以后的步骤将锁定。") % {"n": rules[key]},
                "passed",
            )
        )


def _rules_training(state, on, rules, ev, out, working_days) -> None:  # step 11
    min_days, min_hours = rules["party.dev.training_min_days"], rules["party.dev.training_min_hours"]
    days, hours = ev.get("training_days") or 0, ev.get("training_hours") or 0
    if days < min_days and hours < min_hours:
        out.violations.append(
            _violation(
                rules,
                "party.dev.training_min_days",
                "training_short",
                _("集中培训应不少于 %(d)s 天或不少于 %(h)s 个学时，本次为 %(days)s 天、%(hours)s 学时。")
                % {"d": min_days, "h": min_hours, "days": days, "hours": hours},
                "training_days",
            )
        )


def _rules_pre_review(state, on, rules, ev, out, working_days) -> None:  # step 13, with the 公示
    key = "party.dev.publicity_working_days"
    _passed(ev, rules, "party.dev.pre_review_before_step", _("上级党委预审"), out)
    start, end = ev.get("publicity_start"), ev.get("publicity_end")
    if not isinstance(start, date) or not isinstance(end, date):
        out.violations.append(
            _violation(
                rules,
                key,
                "publicity_missing",
                _("请填写发展对象公示的起止日期（公示应在上级党委预审之前完成）。"),
                "publicity_start",
            )
        )
        return
    if end < start:
        out.violations.append(
            _violation(
                rules,
                key,
                "publicity_range",
                _("公示结束日期 %(end)s 不能早于开始日期 %(start)s。")
                % {"start": start.isoformat(), "end": end.isoformat()},
                "publicity_end",
            )
        )
        return
    review = state.date_of(12)
    if review is not None and start < review:
        out.violations.append(
            _violation(
                rules,
                key,
                "publicity_before_review",
                _("公示应在支部委员会审查（%(d)s）之后开始。") % {"d": review.isoformat()},
                "publicity_start",
                earliest=review.isoformat(),
            )
        )
    if on <= end:
        out.violations.append(
            _violation(
                rules,
                key,
                "publicity_not_ended",
                _("上级党委预审须在公示期满（%(end)s）之后进行。") % {"end": end.isoformat()},
                "done_on",
            )
        )
    if working_days is None:
        raise ValueError("working_days (core.workcalendar.working_days_between) is required for step 13")
    try:
        count = working_days(start, end)
    except RuleViolation as exc:  # e.g. a year whose holidays are not known yet
        out.violations += exc.violations
        return
    if count < rules[key]:
        out.violations.append(
            _violation(
                rules,
                key,
                "publicity_short",
                _("公示应不少于 %(need)s 个工作日，%(start)s 至 %(end)s 只有 %(n)d 个工作日。")
                % {"need": rules[key], "start": start.isoformat(), "end": end.isoformat(), "n": count},
                "publicity_end",
                working_days=count,
            )
        )


def _rules_form(state, on, rules, ev, out, working_days) -> None:  # step 14
    if state.failed(13):
        key = "party.dev.pre_review_before_step"
        out.violations.append(
            _violation(
                rules,
                key,
                "pre_review_not_passed",
                _("上级党委预审未通过，不能填写入党志愿书。"),
                "step",
            )
        )


def _rules_vote(ev: Mapping[str, Any], rules: RuleSet, out: Assessment) -> None:
    names = ("entitled", "present", "in_favour")
    if any(not isinstance(ev.get(n), int) for n in names):
        out.violations.append(
            _violation(
                rules,
                "party.vote.quorum_fraction",
                "vote_missing",
                _("请填写应到会有表决权的正式党员人数、实到人数和赞成票数。"),
                "entitled",
            )
        )
        return
    result = branch_meeting_result(
        ev["entitled"],
        ev["present"],
        ev["in_favour"],
        ev.get("written_in_favour") or 0,
        ev.get("written_total"),
        rules=rules,
    )
    out.violations += result.violations


def _rules_admission_meeting(state, on, rules, ev, out, working_days) -> None:  # step 15
    _rules_vote(ev, rules, out)
    key = "party.dev.leaving_unit_warning_months"
    leaving = ev.get("leaving_unit_on")
    if isinstance(leaving, date) and leaving <= add_months(on, rules[key]):
        out.flags.append(
            _violation(
                rules,
                key,
                "leaving_unit",
                _("发展对象将于 %(d)s 离开工作、学习单位（%(n)s 个月内），一般不办理接收手续。")
                % {"d": leaving.isoformat(), "n": rules[key]},
                "leaving_unit_on",
            )
        )


def _rules_approval(meeting_step: int) -> Callable[..., None]:
    def check(state, on, rules, ev, out, working_days) -> None:  # steps 17, 24
        _rules_approver(ev.get("approver"), rules, out)
        meeting = state.date_of(meeting_step)
        if meeting is None:
            return
        normal_key, max_key = "party.dev.approval_normal_months", "party.dev.approval_max_months"
        normal, latest = add_months(meeting, rules[normal_key]), add_months(meeting, rules[max_key])
        names = {"m": meeting.isoformat(), "normal": normal.isoformat(), "latest": latest.isoformat()}
        if on > latest:
            excepted = bool(str(ev.get("delay_reason") or "").strip()) and bool(
                str(ev.get("delay_approved_by") or "").strip()
            )
            v = _violation(
                rules,
                max_key,
                "approval_too_late",
                _(
                    "上级党委审批最迟应在支部大会（%(m)s）后 %(n)s 个月内（%(latest)s 前）完成；"
                    "超过须登记延期原因和批准人。"
                )
                % {**names, "n": rules[max_key]},
                "delay_reason",
                latest=latest.isoformat(),
            )
            (out.flags if excepted else out.violations).append(v)
        elif on > normal:
            out.flags.append(
                _violation(
                    rules,
                    normal_key,
                    "approval_late",
                    _("上级党委审批一般应在支部大会（%(m)s）后 %(n)s 个月内（%(normal)s 前）完成，已逾期。")
                    % {**names, "n": rules[normal_key]},
                    "done_on",
                )
            )

    return check


def _rules_approver(body: Any, rules: RuleSet, out: Assessment) -> None:
    """Only a higher 基层党委 with the power to approve may approve (party.md §1 rule 13): not the
    branch's own 党总支, not an organization elsewhere, not a village/community 党委 that sits
    under the township/street committee. A body outside the platform (e.g. a county committee)
    is recorded as written."""
    if not isinstance(body, ApprovingBody):
        return
    key = "party.dev.subordinate_committee_may_approve"
    if not (body.is_committee and body.above_branch):
        out.violations.append(
            _violation(
                rules,
                key,
                "approver_not_higher_committee",
                _("审批机关应是本支部的上级党委（基层党委）。"),
                "approved_by",
            )
        )
    elif body.under_committee and not rules[key]:
        out.violations.append(
            _violation(
                rules,
                key,
                "approver_subordinate_committee",
                _("%(name)s隶属于乡镇（街道）党委，不能审批发展党员，应报其上级党委审批。")
                % {"name": body.name},
                "approved_by",
            )
        )


def _rules_full_meeting(state, on, rules, ev, out, working_days) -> None:  # step 23
    admitted = state.date_of(15)
    if admitted is not None:
        end = probation_end(admitted, rules, state.extension_months)
        if on < end:
            out.violations.append(
                _violation(
                    rules,
                    "party.dev.probation_years",
                    "probation_not_ended",
                    _(
                        "预备期自支部大会通过之日（%(a)s）起计算，"
                        "至 %(end)s 期满；讨论转正最早于 %(end)s 进行。"
                    )
                    % {"a": admitted.isoformat(), "end": end.isoformat()},
                    "done_on",
                    earliest=end.isoformat(),
                )
            )
        key = "party.dev.transfer_in_postpone_max_months"
        latest = add_months(end, rules[key])
        if state.transferred_in and on > latest:
            out.violations.append(
                _violation(
                    rules,
                    key,
                    "transfer_postpone_exceeded",
                    _(
                        "转入的预备党员，转正讨论最多推迟 %(n)s 个月（最迟 %(latest)s）；"
                        "转正时间仍为预备期满之日 %(end)s。"
                    )
                    % {"n": rules[key], "latest": latest.isoformat(), "end": end.isoformat()},
                    "done_on",
                    latest=latest.isoformat(),
                )
            )
    _rules_vote(ev, rules, out)


_STEP_RULES: dict[int, Callable[..., None]] = {
    1: _rules_application,
    2: _rules_talk,
    5: _rules_contacts,
    7: _rules_candidate,
    9: _rules_introducers,
    10: _rules_political_review,
    11: _rules_training,
    13: _rules_pre_review,
    14: _rules_form,
    15: _rules_admission_meeting,
    17: _rules_approval(15),
    23: _rules_full_meeting,
    24: _rules_approval(23),
}


def assess_step(
    state: MemberState,
    step: int,
    on: date,
    rules: RuleSet,
    *,
    evidence: Mapping[str, Any] | None = None,
    today: date | None = None,
    working_days: WorkingDays | None = None,
) -> Assessment:
    """Every rule of recording development step `step` on `on`: blocking violations and flags.

    `evidence` carries what the step records: contact_persons / introducers (Person lists),
    passed (steps 10, 13), training_days / training_hours (11), publicity_start / _end (13),
    entitled / present / in_favour / written_in_favour / written_total (15, 23),
    leaving_unit_on (15), delay_reason / delay_approved_by, approver (17, 24: an ApprovingBody).
    """
    ev = evidence or {}
    out = Assessment()
    if step not in STEPS:
        out.violations.append(
            Violation("step_unknown", _("步骤编号应为 1 至 %(n)d。") % {"n": LAST_STEP}, field="step")
        )
        return out
    out.violations += _order_rules(state, STEPS[step], on, rules, today)
    lock_key = "party.dev.political_review_locks_from_step"
    if step >= rules[lock_key] and state.failed(10):
        out.violations.append(
            _violation(
                rules,
                lock_key,
                "political_review_failed",
                _("政治审查不合格，第 %(n)s 步及以后的步骤已锁定。") % {"n": rules[lock_key]},
                "step",
            )
        )
    checks = _STEP_RULES.get(step)
    if checks is not None:
        checks(state, on, rules, ev, out, working_days)
    return out


def check_step(
    state: MemberState,
    step: int,
    on: date,
    rules: RuleSet,
    *,
    evidence: Mapping[str, Any] | None = None,
    today: date | None = None,
    working_days: WorkingDays | None = None,
) -> list[Violation]:
    """The blocking violations of recording `step` on `on` (all of them; empty = allowed)."""
    return assess_step(
        state, step, on, rules, evidence=evidence, today=today, working_days=working_days
    ).violations


def check_extension(
    state: MemberState,
    *,
    months: int,
    meeting_on: date,
    approved_on: date,
    extensions_so_far: int,
    rules: RuleSet,
    today: date | None = None,
) -> list[Violation]:
    """延长预备期 (党章 第七条): a probationary member, once, by 6–12 months; the 支部大会 after
    admission and before the full-membership discussion, the approval after the meeting."""
    found: list[Violation] = []
    times_key, lo_key, hi_key = (
        "party.dev.extension_max_times",
        "party.dev.extension_min_months",
        "party.dev.extension_max_months",
    )
    if state.status != Status.PROBATIONARY:
        found.append(
            _violation(
                rules,
                lo_key,
                "extension_status",
                _("只有预备党员可以延长预备期，当前身份为“%(s)s”。") % {"s": Status(state.status).label},
            )
        )
    if extensions_so_far >= rules[times_key]:
        found.append(
            _violation(
                rules,
                times_key,
                "extension_once",
                _("预备期只能延长 %(n)s 次，已延长过。") % {"n": rules[times_key]},
            )
        )
    if not rules[lo_key] <= months <= rules[hi_key]:
        found.append(
            _violation(
                rules,
                lo_key,
                "extension_months",
                _("延长预备期应为 %(lo)s 至 %(hi)s 个月，本次为 %(n)s 个月。")
                % {"lo": rules[lo_key], "hi": rules[hi_key], "n": months},
                "months",
            )
        )
    if state.is_done(23):
        found.append(
            _violation(
                rules,
                lo_key,
                "extension_after_full_meeting",
                _("支部大会已讨论通过转正（第23步），不能再延长预备期。"),
            )
        )
    found += _decision_dates(
        state,
        meeting_on,
        approved_on,
        today,
        rules=rules,
        key=lo_key,
        code="extension",
        too_early=_("作出延长决定的支部大会日期不能早于接收为预备党员的日期（最早 %(d)s）。"),
    )
    return found


def _decision_dates(
    state: MemberState,
    meeting_on: date,
    approved_on: date,
    today: date | None,
    *,
    rules: RuleSet,
    key: str,
    code: str,
    too_early: str,
) -> list[Violation]:
    """The dates of a 支部大会 decision on a probationary member and its higher approval: the
    meeting not before admission (`too_early`: the message), the approval not before the meeting,
    neither in the future."""
    found: list[Violation] = []
    admitted = state.date_of(15)
    if admitted is not None and meeting_on < admitted:
        found.append(
            _violation(
                rules,
                key,
                f"{code}_meeting_date",
                too_early % {"d": admitted.isoformat()},
                "meeting_on",
            )
        )
    if approved_on < meeting_on:
        found.append(
            _violation(
                rules,
                key,
                f"{code}_approval_date",
                _("上级党委批准日期不能早于支部大会日期（最早 %(d)s）。") % {"d": meeting_on.isoformat()},
                "approved_on",
            )
        )
    if today is not None and max(meeting_on, approved_on) > today:
        found.append(
            Violation(
                "future_date",
                _("日期晚于今天（%(today)s），不能登记尚未发生的决定。") % {"today": today.isoformat()},
                field="approved_on",
            )
        )
    return found


def check_cancellation(
    state: MemberState,
    *,
    meeting_on: date,
    approved_on: date,
    rules: RuleSet,
    today: date | None = None,
) -> list[Violation]:
    """取消预备党员资格 (党章 第七条): only a probationary member; the 支部大会 after admission,
    the higher approval not before the meeting (the same dates as an extension, check_extension).

    Not refused after the full-membership discussion (step 23): the higher committee may refuse
    full membership and the branch then decides to cancel; only a full member is out of reach."""
    found: list[Violation] = []
    key = "party.dev.probation_years"  # 党章 第七条: probation, its extension and its cancellation
    if state.status != Status.PROBATIONARY:
        found.append(
            _violation(
                rules,
                key,
                "cancel_status",
                _("只有预备党员可以取消预备党员资格，当前身份为“%(s)s”。")
                % {"s": Status(state.status).label},
            )
        )
    found += _decision_dates(
        state,
        meeting_on,
        approved_on,
        today,
        rules=rules,
        key=key,
        code="cancel",
        too_early=_("作出取消决定的支部大会日期不能早于接收为预备党员的日期（最早 %(d)s）。"),
    )
    return found


# ---------------------------------------------------------------------------------------------
# Timeline: what is done, due, overdue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    step: int
    stage: int
    name: str
    state: str
    done_on: date | None = None
    earliest_on: date | None = None  # not allowed before (step 7: activist + 1 year; 23: probation end)
    due_on: date | None = None  # expected by (2: talk; 17/24: approval; 6: next activist review)


def next_review_on(activist_on: date, today: date, rules: RuleSet) -> date:
    """Activists are reviewed every 6 months (细则 第十二条): the next review date on or after today."""
    months = rules["party.dev.activist_review_months"]
    k = 1
    while add_months(activist_on, k * months) < today:
        k += 1
    return add_months(activist_on, k * months)


def _window(state: MemberState, n: int, today: date, rules: RuleSet) -> tuple[date | None, date | None]:
    """(earliest_on, due_on) of a step whose prerequisites are done."""
    if n == 2 and state.date_of(1):
        return None, add_months(state.date_of(1), rules["party.dev.talk_within_months"])
    if n == 6 and state.date_of(3):
        return None, next_review_on(state.date_of(3), today, rules)
    if n == 7 and state.date_of(3):
        return add_years(state.date_of(3), rules["party.dev.activist_min_years"]), None
    if n in APPROVAL_AFTER and state.date_of(APPROVAL_AFTER[n]):
        return None, add_months(state.date_of(APPROVAL_AFTER[n]), rules["party.dev.approval_normal_months"])
    if n in (22, 23) and state.date_of(15):
        end = probation_end(state.date_of(15), rules, state.extension_months)
        if state.transferred_in and n == 23:
            return end, add_months(end, rules["party.dev.transfer_in_postpone_max_months"])
        return end, None
    return None, None


def timeline(state: MemberState, today: date, rules: RuleSet) -> list[TimelineEntry]:
    """All 25 steps with their state on `today` (pages and the API show it as a checklist)."""
    out: list[TimelineEntry] = []
    lock_from = rules["party.dev.political_review_locks_from_step"]
    form_step = rules["party.dev.pre_review_before_step"]
    for n, spec in STEPS.items():
        entry = {"step": n, "stage": spec.stage, "name": str(spec.name)}
        if state.is_done(n):
            out.append(TimelineEntry(**entry, state=StepState.DONE, done_on=state.date_of(n)))
            continue
        locked = (
            state.status in CLOSED
            or (n >= lock_from and state.failed(10))
            or (n >= form_step and state.failed(13))
        )
        if locked:
            out.append(TimelineEntry(**entry, state=StepState.LOCKED))
            continue
        if not all(state.is_done(p) for p in spec.requires):
            out.append(TimelineEntry(**entry, state=StepState.PENDING))
            continue
        earliest, due = _window(state, n, today, rules)
        if earliest is not None and today < earliest:
            st = StepState.WAITING
        elif due is not None and today > due and n != 6:
            st = StepState.OVERDUE
        else:
            st = StepState.DUE
        out.append(TimelineEntry(**entry, state=st, earliest_on=earliest, due_on=due))
    return out


# ---------------------------------------------------------------------------------------------
# Votes (支部大会, party.md §1.12) and elections (party.md §4)
# ---------------------------------------------------------------------------------------------


def _frac_text(f: Fraction) -> str:
    return _("半数") if f == Fraction(1, 2) else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class MeetingResult:
    quorum: bool
    adopted: bool
    quorum_needed: int  # at least this many entitled voters present
    votes_needed: int  # at least this many in favour (of the ENTITLED, not of those present)
    votes_for: int  # in favour present + written opinions in favour
    violations: list[Violation]


def branch_meeting_result(
    entitled: int,
    present: int,
    in_favour: int,
    written_in_favour: int = 0,
    written_total: int | None = None,
    *,
    rules: RuleSet,
) -> MeetingResult:
    """支部大会 decision on one person (支部工作条例 第九条; 党章 第五条).

    `entitled`: full members with a vote (probationary members have none). Quorum: more than
    half of them present. Adopted: in favour — present votes plus written opinions submitted
    before the meeting — more than half of the ENTITLED. Written opinions count as votes, not
    as attendance.
    """
    qkey, mkey = "party.vote.quorum_fraction", "party.vote.majority_fraction_of_entitled"
    q, m = fraction(rules[qkey]), fraction(rules[mkey])
    written_total = written_in_favour if written_total is None else written_total
    quorum_needed, votes_needed = more_than(entitled, q), more_than(entitled, m)
    problems = []
    if min(entitled, present, in_favour, written_in_favour, written_total) < 0 or entitled == 0:
        problems.append(_("人数和票数不能为负数，应到会有表决权的正式党员人数应大于 0。"))
    else:
        if present > entitled:
            problems.append(
                _("实到人数（%(p)d）不能多于应到会有表决权的人数（%(e)d）。") % {"p": present, "e": entitled}
            )
        if in_favour > present:
            problems.append(
                _("到会赞成票（%(v)d）不能多于实到人数（%(p)d）。") % {"v": in_favour, "p": present}
            )
        if written_in_favour > written_total:
            problems.append(
                _("书面意见中的赞成票（%(v)d）不能多于书面意见总数（%(w)d）。")
                % {"v": written_in_favour, "w": written_total}
            )
        if present + written_total > entitled:
            problems.append(
                _("实到人数加书面意见（%(n)d）不能多于应到会有表决权的人数（%(e)d）。")
                % {"n": present + written_total, "e": entitled}
            )
    votes_for = in_favour + written_in_favour
    if problems:
        v = _violation(rules, qkey, "vote_counts", "".join(problems), "entitled")
        return MeetingResult(False, False, quorum_needed, votes_needed, votes_for, [v])
    quorum = Fraction(present) > entitled * q
    adopted = quorum and Fraction(votes_for) > entitled * m
    violations = []
    if not quorum:
        violations.append(
            _violation(
                rules,
                qkey,
                "vote_no_quorum",
                _("到会有表决权的党员 %(p)d 人，未超过应到会 %(e)d 人的%(f)s（至少 %(need)d 人），不能表决。")
                % {"p": present, "e": entitled, "f": _frac_text(q), "need": quorum_needed},
                "present",
            )
        )
    elif not adopted:
        violations.append(
            _violation(
                rules,
                mkey,
                "vote_not_adopted",
                _(
                    "赞成 %(v)d 票（含书面意见 %(w)d 票），"
                    "未超过应到会有表决权正式党员 %(e)d 人的%(f)s（至少 %(need)d 票），未通过。"
                )
                % {
                    "v": votes_for,
                    "w": written_in_favour,
                    "e": entitled,
                    "f": _frac_text(m),
                    "need": votes_needed,
                },
                "in_favour",
            )
        )
    return MeetingResult(quorum, adopted, quorum_needed, votes_needed, votes_for, violations)


def is_entitled_to_vote(status: str, *, under_probation_observation: bool = False) -> bool:
    """Only full members vote or elect; probationary members and 留党察看 members do not."""
    return status == Status.FULL and not under_probation_observation


@dataclass(frozen=True)
class ElectionResult:
    valid: bool
    elected: list[str]
    runoff: list[str]  # tied for the last seats: another ballot among them
    turnout_needed: int
    votes_needed: int
    candidates_needed: int
    violations: list[Violation]


def election_result(
    entitled: int,
    present: int,
    votes_per_candidate: Mapping[str, int],
    seats: int,
    *,
    rules: RuleSet,
    secret_ballot: bool = True,
) -> ElectionResult:
    """A committee election (基层组织选举工作条例): valid with more than 4/5 present, 差额 with at
    least 20% more candidates than seats, by secret ballot; elected with more than half of the
    votes of those present, the most votes first; a tie for the last seat goes to another ballot."""
    tkey, mkey, dkey = (
        "party.election.turnout_fraction",
        "party.election.majority_fraction_of_present",
        "party.election.margin_fraction",
    )
    t, m, d = fraction(rules[tkey]), fraction(rules[mkey]), fraction(rules[dkey])
    turnout_needed, votes_needed = more_than(entitled, t), more_than(present, m)
    candidates_needed = math.ceil(seats * (1 + d))
    n = len(votes_per_candidate)
    violations: list[Violation] = []
    counts = list(votes_per_candidate.values())
    if (
        min(entitled, present, seats) < 0
        or seats == 0
        or entitled == 0
        or present > entitled
        or any(v < 0 or v > present for v in counts)
    ):
        violations.append(
            _violation(
                rules,
                tkey,
                "election_counts",
                _(
                    "人数或票数有误：应选人数和应到人数应大于 0，"
                    "实到人数不能多于应到人数，每名候选人得票不能多于实到人数。"
                ),
                "present",
            )
        )
    else:
        if not secret_ballot:
            violations.append(
                _violation(
                    rules, tkey, "election_not_secret", _("选举应采用无记名投票方式。"), "secret_ballot"
                )
            )
        if Fraction(present) <= entitled * t:
            violations.append(
                _violation(
                    rules,
                    tkey,
                    "election_turnout",
                    _(
                        "到会有选举权的党员 %(p)d 人，"
                        "未超过应到会 %(e)d 人的 %(f)s（至少 %(need)d 人），选举无效。"
                    )
                    % {"p": present, "e": entitled, "f": _frac_text(t), "need": turnout_needed},
                    "present",
                )
            )
        if Fraction(n) < seats * (1 + d):
            violations.append(
                _violation(
                    rules,
                    dkey,
                    "election_margin",
                    _(
                        "差额选举：应选 %(s)d 人，"
                        "候选人应不少于 %(need)d 人（多于应选人数的 %(f)s），现有 %(n)d 人。"
                    )
                    % {"s": seats, "need": candidates_needed, "f": _frac_text(d), "n": n},
                    "candidates",
                )
            )
    if violations:
        return ElectionResult(False, [], [], turnout_needed, votes_needed, candidates_needed, violations)
    ranked = sorted(
        ((c, v) for c, v in votes_per_candidate.items() if Fraction(v) > present * m), key=lambda cv: -cv[1]
    )
    if len(ranked) <= seats:
        elected, runoff = [c for c, _v in ranked], []
    else:
        cutoff = ranked[seats - 1][1]
        above = [c for c, v in ranked if v > cutoff]
        tied = [c for c, v in ranked if v == cutoff]
        elected, runoff = (above + tied, []) if len(above) + len(tied) <= seats else (above, tied)
    return ElectionResult(True, elected, runoff, turnout_needed, votes_needed, candidates_needed, [])


# ---------------------------------------------------------------------------------------------
# Dues (党费, party.md §5)
# ---------------------------------------------------------------------------------------------

# An input sanity bound for a monthly income, not a rule of law: nobody's monthly salary
# reaches ten million yuan, and a bigger number is a typing error.
MAX_MONTHLY_INCOME = Decimal("10000000.00")
_NUMBER_RE = re.compile(r"\+?(\d+)(?:\.(\d+))?")


def round_fen(value: Decimal) -> Decimal:
    """Money is rounded half-up to the fen (0.01)."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_amount(value: Any, *, field: str = "monthly_income", label: str | None = None) -> Decimal:
    """A money amount typed by a person: digits with at most 2 decimals, not negative, bounded.

    Accepts full-width digits; refuses NaN, Infinity, exponents and anything else with one
    Chinese message per mistake (RuleViolation "invalid_amount").
    """
    label = label or _("月收入")

    def bad(message: str) -> RuleViolation:
        return RuleViolation("invalid_amount", message, {"field": field}, field=field)

    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = format(value, "f") if isinstance(value, Decimal) and value.is_finite() else str(value)
    else:
        text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if not text:
        raise bad(_("请填写%(label)s。") % {"label": label})
    if text.startswith("-"):
        raise bad(_("%(label)s不能为负数。") % {"label": label})
    match = _NUMBER_RE.fullmatch(text)
    if not match:
        raise bad(_("%(label)s应为数字，例如 4500 或 4500.50。") % {"label": label})
    if match.group(2) and len(match.group(2)) > 2:
        raise bad(_("%(label)s最多保留两位小数（到分）。") % {"label": label})
    try:
        amount = Decimal(text.lstrip("+"))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise bad(_("%(label)s应为数字，例如 4500 或 4500.50。") % {"label": label}) from None
    if amount > MAX_MONTHLY_INCOME:
        raise bad(
            _("%(label)s超出合理范围（不超过 %(max)s 元），请检查输入。")
            % {"label": label, "max": MAX_MONTHLY_INCOME}
        )
    return amount.quantize(FEN)


def category_error(allowed: Iterable[str]) -> RuleViolation:
    """The one message for an unknown dues category, listing the allowed ones with their names."""
    names = "、".join(f"{DuesCategory(c).value}（{DuesCategory(c).label}）" for c in allowed)
    return RuleViolation(
        "dues_category",
        _("党费类别无效，应为：%(list)s。") % {"list": names},
        {"field": "category"},
        field="category",
    )


def _bracket_rate(income: Decimal, brackets: list[list[Any]]) -> Decimal:
    """Brackets are [[upper bound (inclusive) or null, rate], ...] in ascending order."""
    for upper, rate in brackets:
        if upper is None or income <= Decimal(str(upper)):
            return Decimal(str(rate))
    raise ValueError("the last dues bracket must have no upper bound")


def monthly_dues(
    category: str, income: Decimal | None, rules: RuleSet, *, fixed_amount: Decimal | None = None
) -> tuple[Decimal, Decimal, Decimal]:
    """(base, rate, monthly amount) for one member (党费规定 2008 一(一)).

    在职: after-tax monthly salary by bracket (≤3000 0.5%, ≤5000 1%, ≤10000 1.5%, above 2%; each
    upper bound included); 离退休: pension (≤5000 0.5%, above 1%); amount = base × rate rounded
    half-up to the fen. 农民: a fixed amount within 0.2–1 yuan (the minimum unless chosen);
    学生/下岗失业/低保: 0.2 yuan; 经批准减免: the approved amount. Fixed categories give base 0 and rate 0.
    """
    if category not in DuesCategory.values:
        raise category_error(DuesCategory)
    zero_base, zero_rate = Decimal("0.00"), Decimal("0")
    if category in (DuesCategory.EMPLOYED, DuesCategory.RETIRED):
        base = parse_amount(income if income is not None else "")
        key = f"party.dues.{category}_brackets"
        rate = _bracket_rate(base, rules[key])
        return base, rate, round_fen(base * rate)
    if category == DuesCategory.FARMER:
        lo, hi = Decimal(rules["party.dues.farmer_min_yuan"]), Decimal(rules["party.dues.farmer_max_yuan"])
        amount = (
            lo if fixed_amount is None else parse_amount(fixed_amount, field="amount", label=_("党费金额"))
        )
        if not lo <= amount <= hi:
            raise RuleViolation(
                "dues_farmer_range",
                _("农民党员每月交纳党费 %(lo)s 至 %(hi)s 元，%(a)s 元不在此范围。依据：%(src)s")
                % {"lo": lo, "hi": hi, "a": amount, "src": rules.source("party.dues.farmer_min_yuan")},
                {"field": "amount"},
                field="amount",
            )
        return zero_base, zero_rate, amount
    if category == DuesCategory.HARDSHIP:
        if fixed_amount is None:
            raise RuleViolation(
                "dues_hardship_amount",
                _("经批准减免的党员须填写批准的每月金额（免交填 0）。"),
                field="amount",
            )
        return zero_base, zero_rate, parse_amount(fixed_amount, field="amount", label=_("党费金额"))
    return zero_base, zero_rate, Decimal(rules["party.dues.minimal_yuan"])


def format_rate(rate: Decimal) -> str:
    """0.010 → "0.01"; 0.005 → "0.005": a plain decimal, never an exponent."""
    text = format(rate.normalize(), "f")
    return text if text != "0" else "0"


# Months are represented by their first day.


def month_of(d: date) -> date:
    return d.replace(day=1)


def month_label(m: date) -> str:
    return _("%(y)d年%(m)d月") % {"y": m.year, "m": m.month}


def months_range(first: date, last: date) -> list[date]:
    """Every month from `first`'s to `last`'s, both included (empty if first is after last)."""
    out, m, end = [], month_of(first), month_of(last)
    while m <= end:
        out.append(m)
        m = add_months(m, 1)
    return out


def covered_months(period_start: date, months: int) -> list[date]:
    return [add_months(month_of(period_start), i) for i in range(months)]


def arrears_months(due_from: date | None, through: date, paid: Iterable[date]) -> list[date]:
    """Months from `due_from` to `through` (both included) that no payment covers."""
    if due_from is None:
        return []
    covered = {month_of(m) for m in paid}
    return [m for m in months_range(due_from, through) if m not in covered]


def longest_run(months: Iterable[date]) -> tuple[int, date | None, date | None]:
    """The longest run of consecutive months: (length, first, last)."""
    best: tuple[int, date | None, date | None] = (0, None, None)
    run, first, prev = 0, None, None
    for m in sorted(set(months)):
        if prev is not None and add_months(prev, 1) == m:
            run += 1
        else:
            run, first = 1, m
        prev = m
        if run > best[0]:
            best = (run, first, m)
    return best


def lapse_flag(arrears: Iterable[date], rules: RuleSet, *, through: date | None = None) -> Violation | None:
    """6 consecutive months without paying: "疑似自行脱党" for the branch (党章 第九条).

    Only complete months count: pass `through`, the last complete month (the one before the
    running month), and later months are left out — the running month's dues can still be paid
    until its last day, so it is "not yet paid", never part of the run (like life_lapse_flag).
    A flag only: the branch meeting decides, the software never changes a status for it.
    """
    key = "party.dues.arrears_flag_months"
    if through is not None:
        end = month_of(through)
        arrears = [m for m in arrears if month_of(m) <= end]
    run, first, last = longest_run(arrears)
    if run < rules[key]:
        return None
    return _violation(
        rules,
        key,
        "suspected_lapse",
        _("连续 %(n)d 个月（%(a)s 至 %(b)s）未交纳党费，疑似自行脱党，请支部核实，由支部大会决定。")
        % {"n": run, "a": month_label(first), "b": month_label(last)},
        months=run,
    )


def first_whole_month(on: date) -> date:
    """The first month a person belongs to for all of it: the month of `on` if `on` is its
    first day, else the next month (a month joined halfway is not counted against anyone)."""
    return on if on.day == 1 else add_months(month_of(on), 1)


def months_without_life(
    *, belongs_from: date | None, records_from: date | None, through: date, attended: Iterable[date]
) -> list[date]:
    """Complete months from the later of `belongs_from` (admission, or acceptance of a transfer
    in: first_whole_month) and `records_from` (the month of the first recorded meeting the member
    was expected at) to `through` (a complete month, never the running one) without a meeting
    attended. No records, no months: a branch that records no meetings flags nobody."""
    if belongs_from is None or records_from is None:
        return []
    start = max(first_whole_month(belongs_from), month_of(records_from))
    went = {month_of(m) for m in attended}
    return [m for m in months_range(start, through) if m not in went]


def life_lapse_flag(months: Iterable[date], rules: RuleSet) -> Violation | None:
    """6 consecutive complete months without joining organizational life: "疑似自行脱党" for the
    branch (党章 第九条: the same rule, and the same threshold, as unpaid dues — lapse_flag).

    A flag only: the branch meeting decides, the software never changes a status for it.
    """
    key = "party.dues.arrears_flag_months"
    run, first, last = longest_run(months)
    if run < rules[key]:
        return None
    return _violation(
        rules,
        key,
        "suspected_lapse_life",
        _(
            "连续 %(n)d 个月（%(a)s 至 %(b)s）未参加党的组织生活（平台上没有出席会议的记录），"
            "疑似自行脱党，请支部核实，由支部大会决定。"
        )
        % {"n": run, "a": month_label(first), "b": month_label(last)},
        months=run,
    )


def check_payment(
    *,
    paid_on: date,
    period_start: date,
    months: int,
    method: str,
    amount: Decimal | None,
    monthly_amounts: Mapping[int, Decimal],
    quarterly_approved: bool,
    already_paid: Iterable[date],
    dues_from: date | None,
    rules: RuleSet,
) -> tuple[Assessment, Decimal]:
    """Rules of one dues payment (党费规定 一(三)): monthly, or quarterly with approval; back- or
    pre-payment at most 6 months; each month paid once; at least the amount due; 1000 yuan or
    more flagged (goes wholly to the centre). Returns the assessment and the amount due."""
    from .choices import PaymentMethod

    out = Assessment()
    adv_key, big_key = "party.dues.max_advance_months", "party.dues.large_payment_yuan"
    if months < 1 or months > 1 + 2 * rules[adv_key]:
        out.violations.append(
            _violation(
                rules,
                adv_key,
                "payment_months",
                _("一次交纳的月数应为 1 至 %(n)d 个月。") % {"n": 1 + 2 * rules[adv_key]},
                "months",
            )
        )
        return out, Decimal("0.00")
    covered = covered_months(period_start, months)
    if method == PaymentMethod.QUARTERLY:
        if not quarterly_approved:
            out.violations.append(
                _violation(
                    rules,
                    adv_key,
                    "quarterly_not_approved",
                    _("按季度交纳党费须经党组织同意，请先登记批准。"),
                    "method",
                )
            )
        if months % 3:
            out.violations.append(
                _violation(rules, adv_key, "quarterly_months", _("按季度交纳的月数应为 3 的倍数。"), "months")
            )
    this_month = month_of(paid_on)
    earliest, latest = add_months(this_month, -rules[adv_key]), add_months(this_month, rules[adv_key])
    if covered[0] < earliest:
        out.violations.append(
            _violation(
                rules,
                adv_key,
                "payment_too_far_back",
                _("补交党费一般不超过 %(n)s 个月：%(on)s 交纳，最早补交 %(m)s 的党费。")
                % {"n": rules[adv_key], "on": paid_on.isoformat(), "m": month_label(earliest)},
                "period_start",
            )
        )
    if covered[-1] > latest:
        out.violations.append(
            _violation(
                rules,
                adv_key,
                "payment_too_far_ahead",
                _("预交党费一般不超过 %(n)s 个月：%(on)s 交纳，最晚预交至 %(m)s。")
                % {"n": rules[adv_key], "on": paid_on.isoformat(), "m": month_label(latest)},
                "months",
            )
        )
    if dues_from is not None and covered[0] < month_of(dues_from):
        out.violations.append(
            _violation(
                rules,
                adv_key,
                "payment_before_dues_start",
                _("党费从 %(m)s 起交纳（预备党员自支部大会通过之日起交纳党费）。")
                % {"m": month_label(month_of(dues_from))},
                "period_start",
            )
        )
    twice = sorted(set(covered) & {month_of(m) for m in already_paid})
    if twice:
        out.violations.append(
            _violation(
                rules,
                adv_key,
                "payment_duplicate_months",
                _("%(months)s的党费已交纳，不能重复登记。")
                % {"months": "、".join(month_label(m) for m in twice)},
                "period_start",
            )
        )
    missing = sorted({m.year for m in covered if m.year not in monthly_amounts})
    if missing:
        out.violations.append(
            Violation(
                "dues_rate_missing",
                _("%(years)s 年的党费标准尚未核定，请先核定全年党费。")
                % {"years": "、".join(map(str, missing))},
                field="period_start",
            )
        )
    due = sum((monthly_amounts.get(m.year, Decimal("0.00")) for m in covered), Decimal("0.00"))
    paid = due if amount is None else amount
    if amount is not None and amount < due:
        out.violations.append(
            Violation(
                "dues_underpaid",
                _("应交 %(due)s 元，实交 %(paid)s 元，金额不足。") % {"due": due, "paid": amount},
                field="amount",
            )
        )
    if paid >= Decimal(rules[big_key]):
        out.flags.append(
            _violation(
                rules,
                big_key,
                "large_payment",
                _("一次交纳党费 %(big)s 元以上（本次 %(paid)s 元），全额上缴中央。")
                % {"big": rules[big_key], "paid": paid},
                "amount",
            )
        )
    return out, due
