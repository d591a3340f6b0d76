"""Setup rules of party organizations, as pure functions (party.md §2).

No database and no request here: the numbers come in as a RuleSet (keys party.org.*, read
from core/rules_data/party.json or an administrator's override), the organization as plain
facts. Every rule broken yields one OrgWarning with its rule key, a message the user can act
on and the rule's source. The software warns; the decision to split a branch, elect a
committee or postpone an election belongs to the organization (party.md: "warns and blocks").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from dangqun.core.rulesets import RuleSet

from .choices import OrgKind, SettingMode

WARNING = "warning"  # a rule is broken: the organization should act
NOTICE = "notice"  # allowed only with approval, or above the usual size
REMINDER = "reminder"  # something is due soon

# Kinds that elect a committee (or a secretary) for a term: the 党小组 has a leader, not a term.
TERM_KINDS = frozenset({OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH})


@dataclass(frozen=True)
class OrgWarning:
    """One broken or nearly-due setup rule, shown on the organization page and in the API."""

    code: str  # stable identifier of the check, e.g. "branch_too_large"
    rule: str  # the rule key whose value was read, e.g. "party.org.branch_normal_max_members"
    message: str
    source: str  # the rule's cite(): "中国共产党支部工作条例（试行）2018 第五条"
    level: str = WARNING

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "rule": self.rule,
            "message": self.message,
            "source": self.source,
            "level": self.level,
        }


@dataclass(frozen=True)
class OrgFacts:
    """What the rules need to know about one organization.

    `members` and `full_members` are the counts the rules apply to: a branch's own members,
    or for a 党委/党总支 the sum over the branches beneath it (see queries.org_facts).
    """

    kind: str
    members: int
    full_members: int
    setting_mode: str = ""
    covered_units: int = 1
    committee_size: int = 0
    deputy_secretaries: int = 0
    is_village_or_community: bool = False
    term_started_on: date | None = None
    term_ends_on: date | None = None

    @classmethod
    def of(cls, org: Any, *, members: int | None = None, full_members: int | None = None) -> OrgFacts:
        return cls(
            kind=org.kind,
            members=org.full_members + org.probationary_members if members is None else members,
            full_members=org.full_members if full_members is None else full_members,
            setting_mode=org.setting_mode,
            covered_units=org.covered_units,
            committee_size=org.committee_size,
            deputy_secretaries=org.deputy_secretaries,
            is_village_or_community=org.is_village_or_community,
            term_started_on=org.term_started_on,
            term_ends_on=org.term_ends_on,
        )


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the 31st becomes the last day of a shorter month."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def _warn(rules: RuleSet, code: str, key: str, message: str, level: str = WARNING) -> OrgWarning:
    source = rules.source(key)
    return OrgWarning(code, key, f"{message}（{source}）", source, level)


def member_warnings(facts: OrgFacts, rules: RuleSet) -> list[OrgWarning]:
    """Size of the organization against its kind (支部工作条例 第五条)."""
    found: list[OrgWarning] = []
    n, full = facts.members, facts.full_members
    if facts.kind == OrgKind.BRANCH:
        key = "party.org.branch_normal_max_members"
        if n > rules[key]:
            found.append(
                _warn(
                    rules,
                    "branch_too_large",
                    key,
                    _("该支部有 %(n)s 名党员，超过一般不超过 %(max)s 人的规定，可考虑分设支部")
                    % {"n": n, "max": rules[key]},
                )
            )
        key = "party.org.branch_min_full_members"
        if full < rules[key] and facts.setting_mode != SettingMode.JOINT:
            found.append(
                _warn(
                    rules,
                    "branch_too_small",
                    key,
                    _("该支部只有 %(n)s 名正式党员，不足 %(min)s 人，应与邻近单位联合成立党支部")
                    % {"n": full, "min": rules[key]},
                )
            )
        key = "party.org.joint_branch_max_units"
        if facts.setting_mode == SettingMode.JOINT and facts.covered_units > rules[key]:
            found.append(
                _warn(
                    rules,
                    "joint_branch_too_wide",
                    key,
                    _("该联合党支部覆盖 %(n)s 个单位，超过一般不超过 %(max)s 个的规定")
                    % {"n": facts.covered_units, "max": rules[key]},
                )
            )
    elif facts.kind == OrgKind.PARTY_COMMITTEE:
        key = "party.org.committee_min_members"
        if n < rules[key]:
            found.append(
                _warn(
                    rules,
                    "committee_too_small",
                    key,
                    _("该基层党委下有 %(n)s 名党员，党员超过 %(max)s 人方可设立基层党委")
                    % {"n": n, "max": rules[key] - 1},
                )
            )
    elif facts.kind == OrgKind.GENERAL_BRANCH:
        lo, hi = "party.org.general_branch_min_members", "party.org.general_branch_max_members"
        if n < rules[lo] or n > rules[hi]:
            found.append(
                _warn(
                    rules,
                    "general_branch_size",
                    lo if n < rules[lo] else hi,
                    _("该党总支下有 %(n)s 名党员，党总支一般为 %(min)s 至 %(max)s 人")
                    % {"n": n, "min": rules[lo], "max": rules[hi]},
                )
            )
    return found


def committee_warnings(facts: OrgFacts, rules: RuleSet) -> list[OrgWarning]:
    """Branch committee or secretary only (支部工作条例 第十八条)."""
    if facts.kind != OrgKind.BRANCH:
        return []
    found: list[OrgWarning] = []
    required = rules["party.org.committee_required_full_members"]
    lo = rules["party.org.branch_committee_min_size"]
    normal = rules["party.org.branch_committee_normal_max_size"]
    hi = rules["party.org.branch_committee_max_size"]
    size, full = facts.committee_size, facts.full_members
    if full >= required:
        if size < lo or size > hi:
            key = f"party.org.branch_committee_{'min' if size < lo else 'max'}_size"
            found.append(
                _warn(
                    rules,
                    "committee_required",
                    key,
                    _(
                        "该支部有 %(n)s 名正式党员，应设立 %(lo)s 至 %(normal)s 人的支部委员会"
                        "（最多不超过 %(hi)s 人），当前委员 %(size)s 人"
                    )
                    % {"n": full, "lo": lo, "normal": normal, "hi": hi, "size": size},
                )
            )
        elif size > normal:
            found.append(
                _warn(
                    rules,
                    "committee_above_normal",
                    "party.org.branch_committee_normal_max_size",
                    _("支部委员会 %(size)s 人，一般不超过 %(normal)s 人") % {"size": size, "normal": normal},
                    NOTICE,
                )
            )
    elif size > 0:
        found.append(
            _warn(
                rules,
                "committee_not_needed",
                "party.org.committee_required_full_members",
                _("正式党员不足 %(required)s 人的党支部不设支部委员会，设书记 1 人，必要时设副书记")
                % {"required": required},
            )
        )
    key = "party.org.branch_max_deputies_without_committee"
    if size == 0 and facts.deputy_secretaries > rules[key]:
        found.append(
            _warn(
                rules,
                "too_many_deputies",
                key,
                _("不设支部委员会的党支部最多设副书记 %(max)s 人，当前 %(n)s 人")
                % {"max": rules[key], "n": facts.deputy_secretaries},
            )
        )
    return found


def setting_warnings(facts: OrgFacts, rules: RuleSet) -> list[OrgWarning]:
    """A project organization exists only for a long enough project (支部工作条例 第五条)."""
    if facts.setting_mode != SettingMode.PROJECT:
        return []
    key = "party.org.project_min_months"
    return [
        _warn(
            rules,
            "project_organization",
            key,
            _("项目党组织只在建设周期 %(months)s 个月以上的项目中建立，项目结束后应及时撤销")
            % {"months": rules[key]},
            NOTICE,
        )
    ]


def term_years_key(facts: OrgFacts) -> str | None:
    """The rule giving this organization's term length; None where the rule sets have none."""
    if facts.is_village_or_community:
        return "party.org.village_branch_term_years"
    if facts.kind in (OrgKind.BRANCH, OrgKind.GENERAL_BRANCH):
        return "party.org.branch_term_years"
    return None  # a 基层党委's term is not in the rule sets yet: no length check


def term_warnings(facts: OrgFacts, rules: RuleSet, today: date) -> list[OrgWarning]:
    """Term missing, passed, ending soon, or longer than allowed (选举工作条例 第四、五条)."""
    if facts.kind not in TERM_KINDS:
        return []
    end, start = facts.term_ends_on, facts.term_started_on
    years_key = term_years_key(facts)
    change_key = "party.org.term_change_max_years"
    remind_key = "party.org.term_reminder_months"
    if end is None:
        return [
            _warn(
                rules,
                "term_end_missing",
                years_key or remind_key,
                _("未填写本届任期届满日期，无法提醒按期换届"),
            )
        ]
    found: list[OrgWarning] = []
    if end < today:
        found.append(
            _warn(
                rules,
                "term_ended",
                change_key,
                _(
                    "本届任期已于 %(end)s 届满（已过 %(days)s 天），应及时换届；"
                    "延期换届须经上级党组织批准，一般不超过 %(max)s 年"
                )
                % {"end": end.isoformat(), "days": (today - end).days, "max": rules[change_key]},
            )
        )
    elif term_reminder_due(end, rules, today):
        found.append(
            _warn(
                rules,
                "term_ending",
                remind_key,
                _("本届任期将于 %(end)s 届满（还有 %(days)s 天），请做好换届准备")
                % {"end": end.isoformat(), "days": (end - today).days},
                REMINDER,
            )
        )
    if start is not None and years_key is not None:
        years, extra = rules[years_key], rules[change_key]
        if end < start:
            found.append(
                _warn(rules, "term_dates_reversed", years_key, _("任期届满日期早于任期开始日期，请核对"))
            )
        elif end > add_years(start, years + extra):
            found.append(
                _warn(
                    rules,
                    "term_too_long",
                    change_key,
                    _("本届任期超过 %(years)s 年，且超过经批准可延长的 %(extra)s 年")
                    % {"years": years, "extra": extra},
                )
            )
        elif end > add_years(start, years):
            found.append(
                _warn(
                    rules,
                    "term_extended",
                    years_key,
                    _("本届任期超过 %(years)s 年，延期换届须经上级党组织批准") % {"years": years},
                    NOTICE,
                )
            )
        # Shortened like extended (party.md §2): with approval, and by at most the same margin.
        elif end < add_years(start, years - extra):
            found.append(
                _warn(
                    rules,
                    "term_too_short",
                    change_key,
                    _("本届任期不足 %(years)s 年，且提前超过经批准可提前的 %(extra)s 年")
                    % {"years": years, "extra": extra},
                )
            )
        elif end < add_years(start, years):
            found.append(
                _warn(
                    rules,
                    "term_shortened",
                    years_key,
                    _("本届任期不足 %(years)s 年，提前换届须经上级党组织批准") % {"years": years},
                    NOTICE,
                )
            )
    return found


def setup_warnings(facts: OrgFacts, rules: RuleSet, today: date) -> list[OrgWarning]:
    """Every setup rule the organization breaks, all at once (party.md §9)."""
    if facts.kind not in (OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH):
        return []
    return [
        *member_warnings(facts, rules),
        *committee_warnings(facts, rules),
        *setting_warnings(facts, rules),
        *term_warnings(facts, rules, today),
    ]


def term_reminder_due(end: date | None, rules: RuleSet, today: date) -> bool:
    """True from `term_reminder_months` before the end of the term until its last day."""
    return end is not None and today <= end <= add_months(today, rules["party.org.term_reminder_months"])
