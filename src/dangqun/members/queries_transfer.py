"""Scoped reads of transfers, letters and flowing members: what an actor may see, 404 for the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, scope_filter
from dangqun.core.rulesets import ruleset_for
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import rules_transfer as RT
from .choices import MEMBER_STATUSES, Status
from .models import PartyMember
from .queries import BranchTotals, LedgerRow, dues_ledger
from .transfers import FlowingMember, IntroductionLetter, LetterStatus, Transfer, TransferStatus


def _pk(value: Any) -> int:
    try:
        pk = int(value)
        if not 0 < pk < 2**63:
            raise ValueError(pk)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    return pk


def access_transfer(actor: Any, pk: Any, perm: str = "members.view") -> Transfer:
    """A transfer the actor may see: `perm` over the out-branch or the in-branch; else 404."""
    transfer = (
        Transfer.objects.select_related("member", "from_branch", "to_branch", "issued_by", "decided_by")
        .filter(pk=_pk(pk))
        .first()
    )
    if transfer is None or not (
        has_perm(actor, perm, transfer.from_branch) or has_perm(actor, perm, transfer.to_branch)
    ):
        raise NotFound()
    return transfer


def access_letter(actor: Any, pk: Any, perm: str = "members.view") -> IntroductionLetter:
    """A letter of a branch the actor may see (`perm`); else 404."""
    letter = (
        IntroductionLetter.objects.select_related("member", "from_branch", "committee", "issued_by")
        .filter(pk=_pk(pk))
        .first()
    )
    if letter is None or not has_perm(actor, perm, letter.from_branch):
        raise NotFound()
    return letter


def access_flowing(actor: Any, pk: Any, perm: str = "members.view") -> FlowingMember:
    """A flowing-member registration of a member the actor may see (`perm`); else 404."""
    reg = FlowingMember.objects.select_related("member__branch").filter(pk=_pk(pk)).first()
    if reg is None or not has_perm(actor, perm, reg.member.branch):
        raise NotFound()
    return reg


def visible_transfers(actor: Any, perm: str = "members.view") -> QuerySet[Transfer]:
    """Transfers out of or into a branch in the actor's scope."""
    return Transfer.objects.filter(
        scope_filter(actor, perm, prefix="from_branch__") | scope_filter(actor, perm, prefix="to_branch__")
    )


def transfer_targets(exclude: Organization | None = None) -> QuerySet[Organization]:
    """Every active 党支部 on the platform: a member may move to any of them."""
    qs = Organization.objects.filter(kind=OrgKind.BRANCH, is_active=True).order_by("path")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs


@dataclass
class LetterRow:
    letter: IntroductionLetter
    expired: bool  # past validity without a receipt: flagged for the branch


@dataclass
class FlowRow:
    registration: FlowingMember
    due_on: date
    overdue: bool


@dataclass
class GraduateRow:
    """A graduate whose relationship the branch keeps, and until when it may (rules_transfer)."""

    member: PartyMember
    keep_until: date
    overdue: bool


def graduate_row(member: PartyMember, today: date, rules: Any) -> GraduateRow | None:
    """The graduate's row while the school's branch still keeps the relationship, else None."""
    if (
        member.graduated_on is None
        or member.graduate_branch_id != member.branch_id
        or member.status not in MEMBER_STATUSES
    ):
        return None
    until = RT.graduate_keep_until(member.graduated_on, rules)
    return GraduateRow(member, until, RT.graduate_overdue(member.graduated_on, today, rules))


@dataclass
class BranchTransfers:
    """What a branch has under way: transfers in and out, letters, flowing members, graduates
    whose relationship it keeps."""

    incoming: list[Transfer] = field(default_factory=list)
    outgoing: list[Transfer] = field(default_factory=list)
    closed: list[Transfer] = field(default_factory=list)
    letters: list[LetterRow] = field(default_factory=list)
    flowing: list[FlowRow] = field(default_factory=list)
    graduates: list[GraduateRow] = field(default_factory=list)

    @property
    def expired_letters(self) -> int:
        return sum(1 for r in self.letters if r.expired)

    @property
    def overdue_contacts(self) -> int:
        return sum(1 for r in self.flowing if r.overdue)

    @property
    def overdue_graduates(self) -> int:
        return sum(1 for r in self.graduates if r.overdue)


RECENT = 20


def branch_transfers(branch: Organization, today: date) -> BranchTransfers:
    """Six queries: pending in, pending out, the recent closed ones, letters, flowing members,
    graduates kept (those past party.transfer.graduate_keep_years flagged)."""
    out = BranchTransfers()
    related = ("member", "from_branch", "to_branch")
    out.incoming = list(
        Transfer.objects.filter(to_branch=branch, status=TransferStatus.PENDING).select_related(*related)
    )
    out.outgoing = list(
        Transfer.objects.filter(from_branch=branch, status=TransferStatus.PENDING).select_related(*related)
    )
    out.closed = list(
        Transfer.objects.filter(Q(to_branch=branch) | Q(from_branch=branch))
        .exclude(status=TransferStatus.PENDING)
        .select_related(*related)[:RECENT]
    )
    letters = IntroductionLetter.objects.filter(from_branch=branch).select_related("member")
    open_letters = list(letters.filter(status=LetterStatus.ISSUED).order_by("valid_until", "id"))
    recent = list(letters.exclude(status=LetterStatus.ISSUED)[:RECENT])
    out.letters = [
        LetterRow(
            letter, letter.status == LetterStatus.ISSUED and RT.letter_expired(letter.valid_until, today)
        )
        for letter in open_letters + recent
    ]
    rules = ruleset_for(branch, today, prefix="party.")
    regs = FlowingMember.objects.filter(member__branch=branch, active=True).select_related("member")
    for reg in regs.order_by("last_contact_on", "id"):
        due = RT.contact_due_on(reg.last_contact_on, rules)
        out.flowing.append(FlowRow(reg, due, today >= due))
    kept = PartyMember.objects.filter(
        branch=branch, graduate_branch=branch, graduated_on__isnull=False, status__in=MEMBER_STATUSES
    ).order_by("graduated_on", "id")
    out.graduates = [row for m in kept if (row := graduate_row(m, today, rules)) is not None]
    return out


@dataclass
class Relation:
    """A member's organizational relationship: what is under way and what happened."""

    member: PartyMember
    pending: Transfer | None
    transfers: list[Transfer]
    letters: list[LetterRow]
    flowing: FlowRow | None
    flowing_history: list[FlowingMember]
    # A probationary member transferred in: the latest date of the full-membership discussion
    # (probation end + party.dev.transfer_in_postpone_max_months); full membership still dates
    # from the end of probation.
    postpone_until: date | None
    postpone_source: str
    # A graduate whose relationship this branch (the school's) keeps; the warning when overdue.
    graduate: GraduateRow | None = None
    graduate_warning: Any = None


def member_relation(member: PartyMember, today: date) -> Relation:
    """Four queries: transfers, letters, flowing registrations, the rule set."""
    transfers = list(
        member.transfers.select_related("from_branch", "to_branch").order_by("-issued_on", "-id")
    )
    letters = [
        LetterRow(
            letter, letter.status == LetterStatus.ISSUED and RT.letter_expired(letter.valid_until, today)
        )
        for letter in member.letters.order_by("-issued_on", "-id")
    ]
    rules = ruleset_for(member.branch, today, prefix="party.")
    regs = list(member.flowing.order_by("-since", "-id"))
    active = next((r for r in regs if r.active), None)
    flowing = None
    if active is not None:
        due = RT.contact_due_on(active.last_contact_on, rules)
        flowing = FlowRow(active, due, today >= due)
    postpone = None
    if member.status == Status.PROBATIONARY and member.transferred_in and member.probation_ends_on:
        accepted = next(
            (t for t in transfers if t.status == TransferStatus.ACCEPTED and t.postpone_until), None
        )
        postpone = accepted.postpone_until if accepted else RT.postpone_until(member.probation_ends_on, rules)
    return Relation(
        member=member,
        pending=next((t for t in transfers if t.status == TransferStatus.PENDING), None),
        transfers=transfers,
        letters=letters,
        flowing=flowing,
        flowing_history=[r for r in regs if not r.active],
        postpone_until=postpone,
        postpone_source=rules.source("party.dev.transfer_in_postpone_max_months"),
        graduate=(graduate := graduate_row(member, today, rules)),
        graduate_warning=RT.graduate_flag(member.graduated_on, today, rules) if graduate else None,
    )


# ---------------------------------------------------------------------------------------------
# Dues: one branch's monthly ledger with names (pages and API)
# ---------------------------------------------------------------------------------------------


@dataclass
class LedgerLine:
    row: LedgerRow
    name: str
    status: str


@dataclass
class BranchLedger:
    branch: Organization
    month: date
    lapse_months: int  # party.dues.arrears_flag_months in force for the branch
    totals: BranchTotals
    lines: list[LedgerLine]

    @property
    def arrears(self) -> list[LedgerLine]:
        """Members with unpaid months: the flagged first, then the longest arrears."""
        owing = [line for line in self.lines if line.row.arrears_months]
        return sorted(owing, key=lambda line: (not line.row.suspected_lapse, -line.row.arrears_months))

    @property
    def life_lapses(self) -> list[LedgerLine]:
        """Members flagged for party.dues.arrears_flag_months without organizational life."""
        flagged = [line for line in self.lines if line.row.suspected_lapse_life]
        return sorted(flagged, key=lambda line: -line.row.life_gap_months)


def branch_ledger(branch: Organization, month: date) -> BranchLedger:
    """The branch's ledger for `month` (queries.dues_ledger: three queries) in pinyin order (one
    more query for the names), with the branch's own 疑似自行脱党 threshold (one for the rules)."""
    lapse = ruleset_for(branch, month, prefix="party.dues.")["party.dues.arrears_flag_months"]
    ledger = dues_ledger(month, branch_ids=[branch.pk], lapse_months=lapse)
    rows = {r.member_id: r for r in ledger.rows}
    people = (
        PartyMember.objects.filter(pk__in=list(rows))
        .order_by("name_pinyin", "id")
        .values_list("id", "name", "status")
    )
    lines = [LedgerLine(rows[pk], name, status) for pk, name, status in people]
    totals = ledger.branches.get(branch.pk) or BranchTotals(branch.pk)
    return BranchLedger(branch, month, lapse, totals, lines)
