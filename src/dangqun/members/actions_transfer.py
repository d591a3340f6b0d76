"""Every change to transfers, introduction letters and flowing members (party.md §6).

Each action: checks the actor's right on the branch concerned, applies rules_transfer (every
broken rule at once), saves with update_fields, keeps the branch counters right with F()
updates, writes one audit event and tells the other side after commit — all in one transaction,
so a refused action leaves nothing behind (not even a letter number).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation, Violation, raise_if_any
from dangqun.core.notifications import notify
from dangqun.core.permissions import require
from dangqun.core.rulesets import ruleset_for
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization
from dangqun.orgs.rules import add_months

from . import rules_transfer as RT
from .actions import _check_date, _create_once, _locked, _recount, _rules, _user
from .choices import MEMBER_STATUSES, Status
from .letters import allocate_number, issuing_committee, letter_number
from .models import DuesPayment, PartyMember
from .transfers import (
    ContactChannel,
    FlowingContact,
    FlowingMember,
    IntroductionLetter,
    LetterStatus,
    Transfer,
    TransferStatus,
)


def _today() -> date:
    return timezone.localdate()


def _secretaries(branch_ids: Iterable[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    grants = RoleGrant.objects.filter(role=Role.BRANCH_SECRETARY, organization_id__in=set(branch_ids))
    for org_id, user_id in grants.values_list("organization_id", "user_id"):
        out[org_id].append(user_id)
    return out


def _tell_branch(branch_id: int, key: str, title: str, body: str = "", url: str = "") -> None:
    """After commit: one notification to each secretary of the branch (idempotent by key)."""

    def send() -> None:
        notify(_secretaries([branch_id]).get(branch_id, []), key=key, title=title, body=body, url=url)

    transaction.on_commit(send)


def _text(value: str, field: str, label: str, max_length: int, *, required: bool = True) -> tuple[str, list]:
    text = (value or "").strip()
    if required and not text:
        return text, [Violation(f"{field}_required", _("请填写%(l)s。") % {"l": label}, field=field)]
    if len(text) > max_length:
        return text, [
            Violation(
                f"{field}_too_long",
                _("%(l)s不能超过 %(n)d 个字。") % {"l": label, "n": max_length},
                field=field,
            )
        ]
    return text, []


def _open_work(member: PartyMember) -> dict[str, bool]:
    return {
        "pending_transfer": Transfer.objects.filter(member=member, status=TransferStatus.PENDING).exists(),
        "open_letter": IntroductionLetter.objects.filter(member=member, status=LetterStatus.ISSUED).exists(),
    }


# ---------------------------------------------------------------------------------------------
# Transfer inside the platform
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_issue_transfer(
    member: PartyMember, *, to_branch: Organization, issued_on: date, actor: Any, reason: str = ""
) -> Transfer:
    """转出: the out-branch transfers a probationary or full member to another branch on the
    platform (组通字〔2006〕45号). Nothing moves yet: the member stays in the out-branch, which
    remains responsible, until the in-branch accepts."""
    require(actor, "members.change", member.branch)
    member = _locked(member)
    found = RT.check_transferable(member.status, **_open_work(member))
    found += RT.check_issue_date(issued_on, _today())
    reason, problems = _text(reason, "reason", _("转接原因"), 200, required=False)
    found += problems
    if to_branch.kind != OrgKind.BRANCH or not to_branch.is_active:
        found.append(
            Violation(
                "not_a_branch", _("“%(o)s”不是有效的党支部。") % {"o": to_branch.name}, field="to_branch"
            )
        )
    elif to_branch.pk == member.branch_id:
        found.append(Violation("same_branch", _("转入党支部不能是党员现在所在的党支部。"), field="to_branch"))
    raise_if_any(found)
    transfer = _create_once(
        Transfer,
        RuleViolation("transfer_pending", _("该党员已有待接收的组织关系转接。")),
        member=member,
        from_branch=member.branch,
        to_branch=to_branch,
        member_status=member.status,
        reason=reason,
        issued_on=issued_on,
        issued_by=_user(actor),
    )
    audit(
        actor,
        "member.transfer_issue",
        member,
        transfer=transfer.pk,
        from_branch=member.branch_id,
        to_branch=to_branch.pk,
        issued_on=issued_on,
    )
    _tell_branch(
        to_branch.pk,
        f"members.transfer_in:{transfer.pk}",
        _("%(name)s 的组织关系转入本支部，待接收") % {"name": member.name},
        _("由%(from)s转入。请核对后接收，或说明原因退回。") % {"from": member.branch.name},
        reverse("members:transfer", args=[transfer.pk]),
    )
    return transfer


def _locked_transfer(transfer: Transfer) -> Transfer:
    return (
        Transfer.objects.select_for_update()
        .select_related("from_branch", "to_branch")
        .filter(pk=transfer.pk)
        .get()
    )


def _require_pending(transfer: Transfer) -> None:
    if transfer.status != TransferStatus.PENDING:
        raise RuleViolation(
            "transfer_closed",
            _("该转接已处理（%(s)s），不能再操作。") % {"s": TransferStatus(transfer.status).label},
        )


@transaction.atomic
def do_accept_transfer(transfer: Transfer, *, accepted_on: date, actor: Any) -> Transfer:
    """转入: the in-branch accepts. In one transaction the member's branch changes, the member
    leaves the out-branch's counters and joins the in-branch's, and the member's own account
    follows. A probationary member is marked transferred in: the full-membership discussion may
    be postponed until `postpone_until` (细则 第三十七条); full membership still counts from the
    end of probation."""
    require(actor, "members.change", transfer.to_branch)
    transfer = _locked_transfer(transfer)
    _require_pending(transfer)
    member = _locked(transfer.member)
    found = RT.check_decision_date(accepted_on, transfer.issued_on, _today())
    if member.branch_id != transfer.from_branch_id or member.status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "transfer_stale",
                _("该党员的组织关系或身份在转出后已变化，请转出支部撤回后重新办理。"),
            )
        )
    raise_if_any(found)
    old_branch = member.branch_id
    _recount(old_branch, member.status, None)
    _recount(transfer.to_branch_id, None, member.status)
    member.branch, member.group = transfer.to_branch, None
    fields = ["branch", "group", "updated_at"]
    if member.status == Status.PROBATIONARY:
        member.transferred_in = True
        fields.append("transferred_in")
        if member.probation_ends_on:
            rules = _rules(transfer.to_branch, accepted_on)
            transfer.postpone_until = RT.postpone_until(member.probation_ends_on, rules)
    member.save(update_fields=fields)
    if member.user_id:
        # The member's own account follows them (their role grant is over their branch).
        grants = RoleGrant.objects.filter(user_id=member.user_id, role=Role.MEMBER)
        if grants.filter(organization_id=transfer.to_branch_id).exists():
            grants.filter(organization_id=old_branch).delete()
        else:
            grants.filter(organization_id=old_branch).update(organization_id=transfer.to_branch_id)
    transfer.status, transfer.decided_on, transfer.decided_by = (
        TransferStatus.ACCEPTED,
        accepted_on,
        _user(actor),
    )
    transfer.save(update_fields=["status", "decided_on", "decided_by", "postpone_until"])
    audit(
        actor,
        "member.transfer_accept",
        member,
        transfer=transfer.pk,
        from_branch=old_branch,
        to_branch=transfer.to_branch_id,
        accepted_on=accepted_on,
        postpone_until=transfer.postpone_until,
    )
    _tell_branch(
        old_branch,
        f"members.transfer_done:{transfer.pk}",
        _("%(name)s 的组织关系已被%(to)s接收") % {"name": member.name, "to": transfer.to_branch.name},
        url=reverse("members:transfer", args=[transfer.pk]),
    )
    return transfer


@transaction.atomic
def do_return_transfer(transfer: Transfer, *, reason: str, returned_on: date, actor: Any) -> Transfer:
    """The in-branch returns the transfer with a reason; the member stays where they were."""
    require(actor, "members.change", transfer.to_branch)
    transfer = _locked_transfer(transfer)
    _require_pending(transfer)
    reason, found = _text(reason, "return_reason", _("退回原因"), 500)
    found += RT.check_decision_date(returned_on, transfer.issued_on, _today())
    raise_if_any(found)
    transfer.status, transfer.decided_on, transfer.decided_by = (
        TransferStatus.RETURNED,
        returned_on,
        _user(actor),
    )
    transfer.return_reason = reason
    transfer.save(update_fields=["status", "decided_on", "decided_by", "return_reason"])
    audit(actor, "member.transfer_return", transfer.member, transfer=transfer.pk, reason=reason)
    _tell_branch(
        transfer.from_branch_id,
        f"members.transfer_returned:{transfer.pk}",
        _("%(to)s退回了组织关系转接") % {"to": transfer.to_branch.name},
        reason,
        reverse("members:transfer", args=[transfer.pk]),
    )
    return transfer


@transaction.atomic
def do_cancel_transfer(transfer: Transfer, *, actor: Any) -> Transfer:
    """The out-branch withdraws a transfer not yet accepted."""
    require(actor, "members.change", transfer.from_branch)
    transfer = _locked_transfer(transfer)
    _require_pending(transfer)
    transfer.status, transfer.decided_on, transfer.decided_by = (
        TransferStatus.CANCELLED,
        _today(),
        _user(actor),
    )
    transfer.save(update_fields=["status", "decided_on", "decided_by"])
    audit(actor, "member.transfer_cancel", transfer.member, transfer=transfer.pk)
    return transfer


# ---------------------------------------------------------------------------------------------
# Introduction letter (介绍信) to an organization outside the platform
# ---------------------------------------------------------------------------------------------


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@transaction.atomic
def do_issue_letter(
    member: PartyMember,
    *,
    to_organization: str,
    issued_on: date,
    actor: Any,
    valid_until: date | None = None,
    cross_province: bool = False,
    reason: str = "",
) -> IntroductionLetter:
    """开具介绍信 (组通字〔2006〕45号): a number unique per issuing committee and year, validity at
    most party.transfer.letter_valid_months (cross-province ..._cross_province; the longest
    allowed when none is given). The member stays in the branch until the receipt."""
    require(actor, "members.change", member.branch)
    _check_date(issued_on, "issued_on")  # before any month arithmetic on it
    member = _locked(member)
    rules = _rules(member.branch, issued_on)
    today = _today()
    found = RT.check_transferable(member.status, **_open_work(member))
    to_organization, problems = _text(to_organization, "to_organization", _("转往组织"), 120)
    found += problems
    reason, problems = _text(reason, "reason", _("转接原因"), 200, required=False)
    found += problems
    if valid_until is None:
        valid_until = RT.letter_max_valid_until(issued_on, cross_province, rules)
    found += RT.check_letter(
        issued_on=issued_on, valid_until=valid_until, cross_province=cross_province, today=today, rules=rules
    )
    raise_if_any(found)
    committee = issuing_committee(member.branch)
    seq = allocate_number(committee, issued_on.year)
    paid_through = DuesPayment.objects.filter(member=member).aggregate(m=Max("period_end"))["m"]
    letter = _create_once(
        IntroductionLetter,
        RuleViolation("letter_open", _("该党员已开具介绍信、尚未回执。")),
        committee=committee,
        year=issued_on.year,
        seq=seq,
        number=letter_number(committee, issued_on.year, seq),
        member=member,
        from_branch=member.branch,
        from_name=member.branch.name,
        committee_name=committee.name,
        to_organization=to_organization,
        cross_province=cross_province,
        reason=reason,
        holder_name=member.name,
        holder_gender=member.get_gender_display() if member.gender else "",
        holder_age=_age(member.birth_date, issued_on),
        member_status=member.status,
        standing_years=member.party_standing_years(issued_on),
        probation_ends_on=member.probation_ends_on if member.status == Status.PROBATIONARY else None,
        dues_paid_through=paid_through,
        issued_on=issued_on,
        valid_until=valid_until,
        issued_by=_user(actor),
    )
    audit(
        actor,
        "member.letter_issue",
        member,
        letter=letter.pk,
        number=letter.number,
        to=to_organization,
        valid_until=valid_until,
        cross_province=cross_province,
    )
    return letter


def _locked_letter(letter: IntroductionLetter) -> IntroductionLetter:
    return IntroductionLetter.objects.select_for_update().filter(pk=letter.pk).get()


def _require_open(letter: IntroductionLetter) -> None:
    if letter.status != LetterStatus.ISSUED:
        raise RuleViolation(
            "letter_closed",
            _("该介绍信已%(s)s，不能再操作。") % {"s": LetterStatus(letter.status).label},
        )


@transaction.atomic
def do_record_letter_receipt(
    letter: IntroductionLetter, *, received_on: date, receipt_org: str, actor: Any, note: str = ""
) -> IntroductionLetter:
    """回执: the receiving committee confirms. Now, and only now, the member becomes 转出 and
    leaves the branch's counters (the loop between the two committees is closed). A receipt
    after the validity is recorded too: the letter page and the audit event say it was late."""
    require(actor, "members.change", letter.from_branch)
    letter = _locked_letter(letter)
    _require_open(letter)
    member = _locked(letter.member)
    found = RT.check_receipt(received_on=received_on, issued_on=letter.issued_on, today=_today())
    receipt_org, problems = _text(receipt_org, "receipt_org", _("回执组织"), 120)
    found += problems
    note, problems = _text(note, "receipt_note", _("回执说明"), 200, required=False)
    found += problems
    if member.status not in MEMBER_STATUSES or member.branch_id != letter.from_branch_id:
        found.append(
            Violation("letter_stale", _("该党员的组织关系或身份在开具介绍信后已变化，请作废后重新办理。"))
        )
    raise_if_any(found)
    old = member.status
    member.transfer_out(received_on)
    member.save(update_fields=["status", "ended_on", "updated_at"])
    _recount(member.branch_id, old, member.status)
    letter.status, letter.received_on, letter.closed_by = LetterStatus.RECEIVED, received_on, _user(actor)
    letter.receipt_org, letter.receipt_note = receipt_org, note
    letter.save(update_fields=["status", "received_on", "receipt_org", "receipt_note", "closed_by"])
    audit(
        actor,
        "member.letter_receipt",
        member,
        letter=letter.pk,
        number=letter.number,
        received_on=received_on,
        late=RT.letter_expired(letter.valid_until, received_on),
    )
    return letter


@transaction.atomic
def do_cancel_letter(letter: IntroductionLetter, *, reason: str, actor: Any) -> IntroductionLetter:
    """作废: a letter not used (lost, expired unused, wrong destination). Its number is not reused."""
    require(actor, "members.change", letter.from_branch)
    letter = _locked_letter(letter)
    _require_open(letter)
    reason, found = _text(reason, "cancel_reason", _("作废原因"), 200)
    raise_if_any(found)
    letter.status, letter.cancelled_on, letter.cancel_reason = LetterStatus.CANCELLED, _today(), reason
    letter.closed_by = _user(actor)
    letter.save(update_fields=["status", "cancelled_on", "cancel_reason", "closed_by"])
    audit(actor, "member.letter_cancel", letter.member, letter=letter.pk, number=letter.number, reason=reason)
    return letter


# ---------------------------------------------------------------------------------------------
# Flowing members (流动党员)
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_register_flowing(
    member: PartyMember,
    *,
    kind: str,
    place: str,
    since: date,
    actor: Any,
    registered_on: date | None = None,
    expected_return: date | None = None,
    contact: str = "",
    reason: str = "",
) -> FlowingMember:
    """登记流动党员: where, how to reach them, since when. The registration is the first contact."""
    require(actor, "members.change", member.branch)
    today = _today()
    registered_on = registered_on or today
    _check_date(registered_on, "registered_on")  # before any month arithmetic on them
    _check_date(since, "since")
    member = _locked(member)
    found: list[Violation] = []
    if member.status not in MEMBER_STATUSES:
        found.append(
            Violation(
                "flow_not_member",
                _("只有预备党员和正式党员登记为流动党员，当前身份为“%(s)s”。")
                % {"s": Status(member.status).label},
            )
        )
    if FlowingMember.objects.filter(member=member, active=True).exists():
        found.append(Violation("flow_active", _("该党员已登记为流动党员，请在原登记上记录变化。")))
    place, problems = _text(place, "place", _("外出地点"), 200)
    found += problems
    contact, problems = _text(contact, "contact", _("联系方式"), 100, required=False)
    found += problems
    reason, problems = _text(reason, "reason", _("外出原因"), 200, required=False)
    found += problems
    found += RT.check_flowing(
        kind=kind,
        since=since,
        expected_return=expected_return,
        registered_on=registered_on,
        today=today,
        rules=_rules(member.branch, registered_on),
    )
    raise_if_any(found)
    reg = _create_once(
        FlowingMember,
        RuleViolation("flow_active", _("该党员已登记为流动党员。")),
        member=member,
        kind=kind,
        place=place,
        contact=contact,
        since=since,
        expected_return=expected_return,
        reason=reason,
        registered_on=registered_on,
        last_contact_on=registered_on,
        registered_by=_user(actor),
    )
    audit(actor, "member.flowing_register", member, registration=reg.pk, kind=kind, since=since)
    return reg


def _locked_flowing(reg: FlowingMember) -> FlowingMember:
    return FlowingMember.objects.select_for_update().select_related("member__branch").filter(pk=reg.pk).get()


@transaction.atomic
def do_log_flowing_contact(
    reg: FlowingMember, *, contacted_on: date, channel: str, actor: Any, note: str = ""
) -> FlowingContact:
    """联系记录: one contact; the latest contact date moves the next reminder."""
    require(actor, "members.change", reg.member.branch)
    reg = _locked_flowing(reg)
    found: list[Violation] = []
    if not reg.active:
        found.append(Violation("flow_ended", _("该流动党员登记已结束。")))
    if channel not in ContactChannel.values:
        found.append(Violation("contact_channel", _("请选择联系方式。"), field="channel"))
    note, problems = _text(note, "note", _("情况"), 500, required=False)
    found += problems
    found += RT.check_contact(contacted_on=contacted_on, since=reg.since, today=_today())
    raise_if_any(found)
    entry = FlowingContact.objects.create(
        registration=reg, contacted_on=contacted_on, channel=channel, note=note, recorded_by=_user(actor)
    )
    if contacted_on > reg.last_contact_on:
        reg.last_contact_on = contacted_on
        reg.save(update_fields=["last_contact_on"])
    audit(actor, "member.flowing_contact", reg.member, registration=reg.pk, contacted_on=contacted_on)
    return entry


@transaction.atomic
def do_end_flowing(reg: FlowingMember, *, ended_on: date, actor: Any, note: str = "") -> FlowingMember:
    """The member is back (or has transferred formally): the registration ends."""
    require(actor, "members.change", reg.member.branch)
    reg = _locked_flowing(reg)
    found: list[Violation] = []
    if not reg.active:
        found.append(Violation("flow_ended", _("该流动党员登记已结束。")))
    found += RT.check_date_since(
        ended_on,
        reg.since,
        _today(),
        field="ended_on",
        code="ended_before_leaving",
        message=_("返回日期不能早于外出日期。"),
    )
    note, problems = _text(note, "end_note", _("结束说明"), 200, required=False)
    found += problems
    raise_if_any(found)
    reg.active, reg.ended_on, reg.end_note = False, ended_on, note
    reg.save(update_fields=["active", "ended_on", "end_note"])
    audit(actor, "member.flowing_end", reg.member, registration=reg.pk, ended_on=ended_on)
    return reg


@transaction.atomic
def do_record_graduation(member: PartyMember, *, graduated_on: date, actor: Any) -> PartyMember:
    """毕业生党员组织关系暂留学校 (党员教育管理工作条例 2019): the school's branch records the
    graduation date of a member whose relationship it keeps. From the day after
    party.transfer.graduate_keep_years (2) the member's relationship page and the branch's
    transfers page warn; once the member is accepted by another branch the warning stops (the
    keeping branch is recorded with the date). Recording again corrects the date."""
    require(actor, "members.change", member.branch)
    _check_date(graduated_on, "graduated_on")
    member = _locked(member)
    raise_if_any(RT.check_graduation(status=member.status, graduated_on=graduated_on, today=_today()))
    previous = member.graduated_on
    member.graduated_on, member.graduate_branch = graduated_on, member.branch
    member.save(update_fields=["graduated_on", "graduate_branch", "updated_at"])
    audit(
        actor,
        "member.graduation",
        member,
        graduated_on=graduated_on,
        previous=previous,
        branch=member.branch_id,
    )
    return member


# ---------------------------------------------------------------------------------------------
# Daily reminders (scheduled in transfers.py): idempotent by notification key
# ---------------------------------------------------------------------------------------------


def remind_letter_receipts(today: date | None = None) -> int:
    """Letters past their validity with no receipt: the issuing branch's secretaries are told
    once a month per letter (the key), until the receipt is recorded or the letter cancelled.
    Returns how many notifications were new."""
    today = today or _today()
    letters = list(
        IntroductionLetter.objects.filter(status=LetterStatus.ISSUED, valid_until__lt=today).only(
            "id", "number", "holder_name", "valid_until", "from_branch_id", "to_organization"
        )
    )
    if not letters:
        return 0
    secretaries = _secretaries(letter.from_branch_id for letter in letters)
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for letter in letters:
            sent += notify(
                secretaries.get(letter.from_branch_id, []),
                key=f"members.letter_receipt:{letter.pk}:{today:%Y-%m}",
                title=_("介绍信 %(n)s 已过有效期，尚未收到回执") % {"n": letter.number},
                body=_(
                    "%(name)s 转往%(to)s，介绍信有效期至 %(d)s。请联系接收单位登记回执，或作废后重新开具。"
                )
                % {
                    "name": letter.holder_name,
                    "to": letter.to_organization,
                    "d": letter.valid_until.isoformat(),
                },
                url=reverse("members:letter", args=[letter.pk]),
            )
    return sent


# Slack for the SQL pre-selection: month ends make "N months before today" a few days fuzzy; the
# exact test (rules_transfer.contact_overdue) runs on the rows found.
_MONTH_SLACK = timedelta(days=3)


def remind_flowing_contacts(today: date | None = None) -> int:
    """Flowing members with no contact for party.flow.contact_interval_months: the secretaries
    of their branch are told once per due date (a new contact moves it). Returns how many
    notifications were new. The national interval is used (a job spans every branch)."""
    today = today or _today()
    rules = ruleset_for(None, today, prefix="party.")
    months, _source = RT.contact_interval(rules)
    cutoff = add_months(today, -months) + _MONTH_SLACK
    regs = [
        r
        for r in FlowingMember.objects.filter(active=True, last_contact_on__lte=cutoff).select_related(
            "member"
        )
        if RT.contact_overdue(r.last_contact_on, today, rules)
    ]
    if not regs:
        return 0
    secretaries = _secretaries(r.member.branch_id for r in regs)
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for reg in regs:
            due = RT.contact_due_on(reg.last_contact_on, rules)
            sent += notify(
                secretaries.get(reg.member.branch_id, []),
                key=f"members.flow_contact:{reg.pk}:{due.isoformat()}",
                title=_("流动党员%(name)s已 %(n)d 个月没有联系") % {"name": reg.member.name, "n": months},
                body=_("最近一次联系为 %(d)s（%(place)s）。请与其取得联系并登记联系记录。")
                % {"d": reg.last_contact_on.isoformat(), "place": reg.place},
                url=reverse("members:flowing", args=[reg.pk]),
            )
    return sent
