"""Scoped reads of party members: what an actor may see, 404 for the rest; the dues ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, require, scope_filter
from dangqun.core.rulesets import ruleset_for

from . import rules as member_rules
from .choices import MEMBER_STATUSES
from .models import DuesPayment, DuesRate, PartyMember


def visible_members(actor: Any, perm: str = "members.view") -> QuerySet[PartyMember]:
    """Members of the branches in the actor's subtree (an index range scan on the branch path)."""
    return PartyMember.objects.filter(scope_filter(actor, perm, prefix="branch__"))


def access_member(actor: Any, pk: Any, perm: str = "members.view") -> PartyMember:
    """The member if `actor` may see them; otherwise 404 — never a hint that they exist."""
    try:
        member = PartyMember.objects.select_related("branch", "group").get(pk=int(pk))
    except (PartyMember.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not has_perm(actor, perm, member.branch):
        raise NotFound()
    return member


def roster(actor: Any, *, status: str | None = None, branch_id: int | None = None) -> QuerySet[PartyMember]:
    """The caller's scoped roster. Someone with no right to see members anywhere gets 403."""
    require(actor, "members.view")
    qs = visible_members(actor).select_related("branch", "group")
    if status:
        qs = qs.filter(status=status)
    if branch_id is not None:
        qs = qs.filter(branch_id=branch_id)
    return qs.order_by("branch__path", "name", "id")


def member_state(member: PartyMember) -> member_rules.MemberState:
    """The plain facts the step rules need (two queries: steps, extensions)."""
    steps = {s.step: member_rules.DoneStep(s.done_on, s.data) for s in member.steps.all()}
    extension = sum(e.months for e in member.probation_extensions.all())
    return member_rules.MemberState(
        id=member.pk,
        status=member.status,
        birth_date=member.birth_date,
        steps=steps,
        applied_on=member.applied_on,
        activist_on=member.activist_on,
        candidate_on=member.candidate_on,
        admitted_on=member.admitted_on,
        imported_through=member.imported_through_step,
        transferred_in=member.transferred_in,
        extension_months=extension,
    )


# ---------------------------------------------------------------------------------------------
# The monthly dues ledger (党费收缴台账)
# ---------------------------------------------------------------------------------------------


def _mi(d: date) -> int:
    """A month as one integer (year × 12 + month − 1): fast set arithmetic over 100,000 members."""
    return d.year * 12 + d.month - 1


def _from_mi(i: int) -> date:
    return date(i // 12, i % 12 + 1, 1)


@dataclass
class LedgerRow:
    member_id: int
    branch_id: int
    due: Decimal | None  # this month's amount; None when the year's rate is not set yet
    paid: bool
    arrears_months: int  # unpaid months in the window (this month included)
    arrears_amount: Decimal  # their amounts, where the year's rate is set
    suspected_lapse: bool  # 6+ consecutive unpaid months: a flag for the branch, never a status


@dataclass
class BranchTotals:
    branch_id: int
    members: int = 0
    due: Decimal = Decimal("0.00")
    paid: Decimal = Decimal("0.00")
    unpaid_members: int = 0
    rate_missing: int = 0
    arrears_amount: Decimal = Decimal("0.00")
    suspected_lapses: int = 0

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass
class Ledger:
    month: date
    rows: list[LedgerRow] = field(default_factory=list)
    branches: dict[int, BranchTotals] = field(default_factory=dict)


def dues_ledger(
    month: date,
    *,
    branch_ids: list[int] | None = None,
    window_months: int = 12,
    lapse_months: int | None = None,
) -> Ledger:
    """What every member owes for `month`, whether it is paid, and their arrears over the
    `window_months` ending with it; totals per branch. Three queries, then arithmetic on ints.

    A member owes from the month of the 支部大会 that admitted them (probationary members pay
    from that day, 党费规定 一(一)5). `lapse_months` defaults to the national
    party.dues.arrears_flag_months (a ledger spans branches; per-branch overrides are not applied).
    """
    this = _mi(month)
    first = this - window_months + 1
    if lapse_months is None:
        lapse_months = ruleset_for(None, month, prefix="party.dues.")["party.dues.arrears_flag_months"]
    members = PartyMember.objects.filter(status__in=MEMBER_STATUSES)
    rates = DuesRate.objects.filter(year__gte=first // 12, year__lte=month.year)
    payments = DuesPayment.objects.filter(period_end__gte=_from_mi(first), period_start__lte=month)
    if branch_ids is not None:
        members = members.filter(branch_id__in=branch_ids)
        rates = rates.filter(member__branch_id__in=branch_ids)
        payments = payments.filter(member__branch_id__in=branch_ids)

    amount: dict[tuple[int, int], Decimal] = {
        (m, y): a
        for m, y, a in rates.values_list("member_id", "year", "monthly_amount").iterator(chunk_size=20000)
    }
    covered: dict[int, set[int]] = defaultdict(set)
    for member_id, start, n in payments.values_list("member_id", "period_start", "months").iterator(
        chunk_size=20000
    ):
        s = _mi(start)
        covered[member_id].update(range(s, s + n))

    ledger = Ledger(month)
    zero = Decimal("0.00")
    rows = members.values_list("id", "branch_id", "admitted_on", "full_on").iterator(chunk_size=20000)
    for member_id, branch_id, admitted_on, full_on in rows:
        start_day = admitted_on or full_on
        start = max(first, _mi(start_day)) if start_day else first
        paid_months = covered.get(member_id, ())
        unpaid = [i for i in range(start, this + 1) if i not in paid_months]
        run = best = 0
        prev = None
        for i in unpaid:
            run = run + 1 if prev == i - 1 else 1
            best, prev = max(best, run), i
        due = amount.get((member_id, month.year)) if start <= this else zero
        arrears_amount = sum((amount.get((member_id, i // 12), zero) for i in unpaid), zero)
        row = LedgerRow(
            member_id, branch_id, due, this in paid_months, len(unpaid), arrears_amount, best >= lapse_months
        )
        ledger.rows.append(row)
        totals = ledger.branches.get(branch_id)
        if totals is None:
            totals = ledger.branches[branch_id] = BranchTotals(branch_id)
        totals.members += 1
        if due is None:
            totals.rate_missing += 1
        else:
            totals.due += due
            if row.paid:
                totals.paid += due
        if not row.paid and start <= this:
            totals.unpaid_members += 1
        totals.arrears_amount += arrears_amount
        totals.suspected_lapses += row.suspected_lapse
    return ledger
