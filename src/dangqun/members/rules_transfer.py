"""Rules of transfers, introduction letters and flowing members as pure functions (party.md §6).

No database and no request: the numbers come in as a RuleSet (party.transfer.*,
party.dev.transfer_in_postpone_max_months, party.flow.*), the facts as plain values. Every broken
rule is a Violation ending with its source; all of them are returned together.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from dangqun.core.errors import RuleViolation, Violation
from dangqun.core.rulesets import RuleSet
from dangqun.orgs.rules import add_months, add_years

from .choices import MEMBER_STATUSES, Status
from .rules import _violation
from .transfers import FlowKind

# 党员教育管理工作条例 2019 and party.md §6 ("members abroad: contact at least every 6 months").
# The rule files ship no value for it yet: an administrator's rule value for this key (national
# or per organization) is used when present, this one otherwise.
CONTACT_INTERVAL_KEY = "party.flow.contact_interval_months"
CONTACT_INTERVAL_DEFAULT = 6
CONTACT_INTERVAL_SOURCE = "中国共产党党员教育管理工作条例 2019 第三十一条"


def contact_interval(rules: RuleSet) -> tuple[int, str]:
    """(months, source) of the longest gap between two contacts with a flowing member."""
    try:
        rule = rules.rule(CONTACT_INTERVAL_KEY)
    except RuleViolation:
        return CONTACT_INTERVAL_DEFAULT, CONTACT_INTERVAL_SOURCE
    return int(rule.value), rule.cite()


# ---------------------------------------------------------------------------------------------
# Transfer inside the platform
# ---------------------------------------------------------------------------------------------


def check_transferable(status: str, *, pending_transfer: bool, open_letter: bool) -> list[Violation]:
    """A probationary or full member with no transfer under way may be transferred."""
    found = []
    if status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "transfer_not_member",
                _("只有预备党员和正式党员转接组织关系，当前身份为“%(s)s”。") % {"s": Status(status).label},
            )
        )
    if pending_transfer:
        found.append(Violation("transfer_pending", _("该党员已有待接收的组织关系转接，请等待处理或先撤回。")))
    if open_letter:
        found.append(Violation("letter_open", _("该党员已开具介绍信、尚未回执，请先登记回执或作废介绍信。")))
    return found


def check_issue_date(on: date, today: date, field: str = "issued_on") -> list[Violation]:
    if on > today:
        return [Violation("future_date", _("日期不能晚于今天。"), field=field)]
    return []


def check_date_since(
    on: date, earliest: date, today: date, *, field: str, code: str, message: str
) -> list[Violation]:
    """A date that closes a step (decision, receipt, contact): not in the future, not before the
    step began. `message` may name the earliest date as %(d)s."""
    found = check_issue_date(on, today, field)
    if on < earliest:
        found.append(Violation(code, message % {"d": earliest.isoformat()}, field=field))
    return found


def check_decision_date(on: date, issued_on: date, today: date) -> list[Violation]:
    """Acceptance or return: on or after the issue, not in the future."""
    return check_date_since(
        on,
        issued_on,
        today,
        field="decided_on",
        code="decided_before_issue",
        message=_("接收或退回日期不能早于转出日期（%(d)s）。"),
    )


def postpone_until(probation_ends_on: date, rules: RuleSet) -> date:
    """The latest full-membership discussion of a probationary member transferred in: probation end
    plus party.dev.transfer_in_postpone_max_months (细则 第三十七条). Full membership still counts
    from the end of probation."""
    return add_months(probation_ends_on, rules["party.dev.transfer_in_postpone_max_months"])


# ---------------------------------------------------------------------------------------------
# Introduction letter (介绍信)
# ---------------------------------------------------------------------------------------------


def letter_max_valid_until(issued_on: date, cross_province: bool, rules: RuleSet) -> date:
    """The last day a letter may be valid: issue date + 3 months (cross-province: 6).

    "3 months" is calendar months from the issue date (15 Jan → 15 Apr; 30 Nov → 28 Feb), the
    same month arithmetic as every other party time limit.
    """
    key = (
        "party.transfer.letter_valid_months_cross_province"
        if cross_province
        else "party.transfer.letter_valid_months"
    )
    return add_months(issued_on, rules[key])


def check_letter(
    *, issued_on: date, valid_until: date, cross_province: bool, today: date, rules: RuleSet
) -> list[Violation]:
    """The issue date is not in the future; validity ends on or after the issue date and at most
    party.transfer.letter_valid_months later (cross-province: ..._cross_province)."""
    found = check_issue_date(issued_on, today)
    key = (
        "party.transfer.letter_valid_months_cross_province"
        if cross_province
        else "party.transfer.letter_valid_months"
    )
    latest = letter_max_valid_until(issued_on, cross_province, rules)
    if valid_until < issued_on:
        found.append(Violation("valid_before_issue", _("有效期不能早于开具日期。"), field="valid_until"))
    elif valid_until > latest:
        found.append(
            _violation(
                rules,
                key,
                "letter_validity",
                (
                    _("跨省转接的介绍信有效期最长 %(n)s 个月（至 %(d)s）。")
                    if cross_province
                    else _("介绍信有效期最长 %(n)s 个月（至 %(d)s）；跨省转接可延长。")
                )
                % {"n": rules[key], "d": latest.isoformat()},
                "valid_until",
                latest=latest.isoformat(),
            )
        )
    return found


def letter_expired(valid_until: date, today: date) -> bool:
    """Past validity: the day after `valid_until` (the last day is still valid)."""
    return today > valid_until


def check_receipt(*, received_on: date, issued_on: date, today: date) -> list[Violation]:
    return check_date_since(
        received_on,
        issued_on,
        today,
        field="received_on",
        code="receipt_before_issue",
        message=_("回执日期不能早于介绍信开具日期（%(d)s）。"),
    )


# ---------------------------------------------------------------------------------------------
# Flowing members (流动党员)
# ---------------------------------------------------------------------------------------------


def check_flowing(
    *, kind: str, since: date, expected_return: date | None, registered_on: date, today: date, rules: RuleSet
) -> list[Violation]:
    """外出不满 party.transfer.away_months_formal 个月且地点固定, 地点不固定, or abroad: a 流动党员.

    Away at a fixed place for that long or longer is a formal transfer instead (组通字〔2006〕45号),
    so a fixed-place registration needs an expected return date before that.
    """
    found: list[Violation] = []
    if kind not in FlowKind.values:
        found.append(Violation("flow_kind", _("请选择外出类型。"), field="kind"))
    found += check_issue_date(registered_on, today, "registered_on")
    if since > registered_on:
        found.append(Violation("since_after_registration", _("外出日期不能晚于登记日期。"), field="since"))
    if expected_return is not None and expected_return <= since:
        found.append(
            Violation("return_before_leaving", _("预计返回日期应晚于外出日期。"), field="expected_return")
        )
    if kind == FlowKind.SHORT:
        key = "party.transfer.away_months_formal"
        limit = add_months(since, rules[key])
        if expected_return is None:
            found.append(
                Violation(
                    "expected_return_required",
                    _("地点固定的短期外出，请填写预计返回日期。"),
                    field="expected_return",
                )
            )
        elif expected_return >= limit:
            found.append(
                _violation(
                    rules,
                    key,
                    "should_transfer",
                    _(
                        "外出 %(n)s 个月以上且地点相对固定（%(d)s 或以后返回），"
                        "应转移组织关系，而不是登记为流动党员。"
                    )
                    % {"n": rules[key], "d": limit.isoformat()},
                    "expected_return",
                )
            )
    return found


def contact_due_on(last_contact_on: date, rules: RuleSet) -> date:
    """The date by which the branch should be in touch again."""
    months, _source = contact_interval(rules)
    return add_months(last_contact_on, months)


def contact_overdue(last_contact_on: date, today: date, rules: RuleSet) -> bool:
    """No contact for the whole interval: from the day the interval is complete."""
    return today >= contact_due_on(last_contact_on, rules)


def check_contact(*, contacted_on: date, since: date, today: date) -> list[Violation]:
    return check_date_since(
        contacted_on,
        since,
        today,
        field="contacted_on",
        code="contact_before_leaving",
        message=_("联系日期不能早于外出日期（%(d)s）。"),
    )


# ---------------------------------------------------------------------------------------------
# Graduates whose relationship stays at the school (毕业生党员组织关系暂留学校)
# ---------------------------------------------------------------------------------------------

GRADUATE_KEEP_KEY = "party.transfer.graduate_keep_years"


def graduate_keep_until(graduated_on: date, rules: RuleSet) -> date:
    """The last day the relationship may stay at the school: graduation + 2 years, the same
    year arithmetic as every party time limit (29 February → 28 February, orgs.rules.add_years)."""
    return add_years(graduated_on, rules[GRADUATE_KEEP_KEY])


def graduate_overdue(graduated_on: date, today: date, rules: RuleSet) -> bool:
    """Past the limit: from the day after graduate_keep_until (that day itself is still allowed)."""
    return today > graduate_keep_until(graduated_on, rules)


def graduate_flag(graduated_on: date, today: date, rules: RuleSet) -> Violation | None:
    """A warning for the school's branch, never a refusal: the relationship should be transferred."""
    if not graduate_overdue(graduated_on, today, rules):
        return None
    until = graduate_keep_until(graduated_on, rules)
    return _violation(
        rules,
        GRADUATE_KEEP_KEY,
        "graduate_kept_too_long",
        _("%(g)s 毕业，组织关系在学校保留一般不超过 %(n)s 年（至 %(d)s），已超过，请督促其及时转接组织关系。")
        % {"g": graduated_on.isoformat(), "n": rules[GRADUATE_KEEP_KEY], "d": until.isoformat()},
        keep_until=until.isoformat(),
    )


def check_graduation(*, status: str, graduated_on: date, today: date) -> list[Violation]:
    """A probationary or full member, a graduation date not in the future."""
    found = check_issue_date(graduated_on, today, "graduated_on")
    if status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "graduate_not_member",
                _("只有预备党员和正式党员登记组织关系暂留学校，当前身份为“%(s)s”。")
                % {"s": Status(status).label},
            )
        )
    return found
