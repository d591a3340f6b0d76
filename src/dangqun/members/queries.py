"""Scoped reads of party members: what an actor may see, 404 for the rest; the dues ledger."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Exists, F, IntegerField, Max, Min, OuterRef, Q, QuerySet, Value
from django.db.models.functions import ExtractMonth, ExtractYear, Mod
from django.db.models.lookups import Exact
from django.utils import timezone

from dangqun.core import crypto
from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, require, scope_filter
from dangqun.core.rulesets import RuleSet, ruleset_for
from dangqun.meetings.choices import AttendanceStatus, MeetingStatus
from dangqun.meetings.models import Attendance
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import rules as member_rules
from .choices import IN_DEVELOPMENT, MEMBER_STATUSES, Status
from .models import DevelopmentStep, DuesPayment, DuesRate, PartyMember
from .transfers import Transfer, TransferStatus


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
    arrears_months: int  # unpaid months in the window (this month included, even if still running)
    arrears_amount: Decimal  # their amounts, where the year's rate is set
    # 6+ consecutive unpaid complete months: a flag for the branch, never a status. The running
    # month (its dues can be paid until its last day) is in arrears_months, never in the run.
    suspected_lapse: bool
    # The longest run of complete months in the window without a meeting attended, and the same
    # flag for it (party.md §5: organizational life); the running month is never counted.
    life_gap_months: int = 0
    suspected_lapse_life: bool = False


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
    suspected_life_lapses: int = 0

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass
class Ledger:
    month: date
    rows: list[LedgerRow] = field(default_factory=list)
    branches: dict[int, BranchTotals] = field(default_factory=dict)


def _longest_run(months: list[int]) -> int:
    """The longest run of consecutive months in an ascending list of month integers."""
    run = best = 0
    prev = None
    for i in months:
        run = run + 1 if prev == i - 1 else 1
        best, prev = max(best, run), i
    return best


@dataclass
class LifeFacts:
    """What the 组织生活 part of the 疑似自行脱党 flag needs, per member (month integers)."""

    joined: dict[int, date]  # acceptance of the latest transfer into the member's current branch
    first_expected: dict[int, date]  # the first held meeting of that branch they were expected at
    attended: dict[int, set[int]]  # months with a held meeting of that branch attended


def life_facts(
    first: date, through: date, *, branch_ids: list[int] | None = None, member_id: int | None = None
) -> LifeFacts:
    """Three aggregated queries over the meetings app's attendance and the accepted transfers.

    Only meetings of the member's current branch count (held, the member present): the months
    before a transfer in are not theirs to answer for. A flowing member is treated as the dues
    ledger treats them (no exception): attendance at the flowing place is not recorded here.
    """
    att = Attendance.objects.filter(
        meeting__status=MeetingStatus.HELD,
        meeting__branch_id=F("member__branch_id"),
        member__status__in=MEMBER_STATUSES,
        meeting__held_on__lte=month_end(through),
    ).order_by()
    moves = Transfer.objects.filter(
        status=TransferStatus.ACCEPTED, to_branch_id=F("member__branch_id"), decided_on__isnull=False
    ).order_by()
    if branch_ids is not None:
        att = att.filter(member__branch_id__in=branch_ids)
        moves = moves.filter(member__branch_id__in=branch_ids)
    if member_id is not None:
        att = att.filter(member_id=member_id)
        moves = moves.filter(member_id=member_id)
    joined = dict(moves.values("member_id").annotate(on=Max("decided_on")).values_list("member_id", "on"))
    expected = dict(
        att.values("member_id").annotate(on=Min("meeting__held_on")).values_list("member_id", "on")
    )
    attended: dict[int, set[int]] = defaultdict(set)
    present = (
        att.filter(status=AttendanceStatus.PRESENT, meeting__held_on__gte=first)
        .annotate(y=ExtractYear("meeting__held_on"), m=ExtractMonth("meeting__held_on"))
        .values_list("member_id", "y", "m")
        .distinct()
    )
    for member, y, m in present.iterator(chunk_size=20000):
        attended[member].add(y * 12 + m - 1)
    return LifeFacts(joined, expected, attended)


def last_complete_month(month: date, today: date) -> date:
    """`month`, or the month before the running one if `month` has not ended yet."""
    return min(member_rules.month_of(month), member_rules.add_months(member_rules.month_of(today), -1))


def member_months_without_life(member: PartyMember, today: date, window_months: int = 12) -> list[date]:
    """One member's complete months without organizational life in the `window_months` ending
    with the running month (the member's dues page; the same facts as the ledger's)."""
    if member.status not in MEMBER_STATUSES:
        return []
    through = last_complete_month(today, today)
    first = member_rules.add_months(member_rules.month_of(today), -(window_months - 1))
    facts = life_facts(first, through, member_id=member.pk)
    admitted = member.admitted_on or member.full_on
    joined = facts.joined.get(member.pk)
    belongs = max((d for d in (admitted, joined) if d), default=None)
    months = member_rules.months_without_life(
        belongs_from=belongs,
        records_from=facts.first_expected.get(member.pk),
        through=through,
        attended=[_from_mi(i) for i in facts.attended.get(member.pk, ())],
    )
    return [m for m in months if m >= first]


def dues_ledger(
    month: date,
    *,
    branch_ids: list[int] | None = None,
    window_months: int = 12,
    lapse_months: int | None = None,
    today: date | None = None,
) -> Ledger:
    """What every member owes for `month`, whether it is paid, and their arrears over the
    `window_months` ending with it; totals per branch. Six queries, then arithmetic on ints.

    A member owes from the month of the 支部大会 that admitted them (probationary members pay
    from that day, 党费规定 一(一)5). `lapse_months` defaults to the national
    party.dues.arrears_flag_months (a ledger spans branches; per-branch overrides are not applied).
    That many consecutive unpaid complete months raise the flag: the running month (`today`
    decides which one it is) counts in arrears_months but not in the run, as its dues can still
    be paid until its last day.

    The same threshold flags the complete months of the window without organizational life
    (party.md §5; 党章 第九条 names both): counted from the later of admission (or the transfer
    in) and the first recorded meeting the member was expected at, up to the last complete month
    (`today` decides which month is still running). rules.months_without_life says it in dates.
    """
    this = _mi(month)
    first = this - window_months + 1
    if lapse_months is None:
        lapse_months = ruleset_for(None, month, prefix="party.dues.")["party.dues.arrears_flag_months"]
    # Both reasons of the flag count complete months only: `month` itself while it is running
    # (or a month still to come) shows as unpaid but is never part of a run.
    complete = _mi(last_complete_month(month, today or timezone.localdate()))
    life = life_facts(_from_mi(first), _from_mi(complete), branch_ids=branch_ids)
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
        best = _longest_run([i for i in unpaid if i <= complete])
        due = amount.get((member_id, month.year)) if start <= this else zero
        arrears_amount = sum((amount.get((member_id, i // 12), zero) for i in unpaid), zero)
        life_gap = 0
        records_from = life.first_expected.get(member_id)
        if records_from is not None and start_day is not None:
            joined = life.joined.get(member_id)
            belongs = max(start_day, joined) if joined else start_day
            life_start = max(first, _mi(member_rules.first_whole_month(belongs)), _mi(records_from))
            went = life.attended.get(member_id, ())
            life_gap = _longest_run([i for i in range(life_start, complete + 1) if i not in went])
        row = LedgerRow(
            member_id,
            branch_id,
            due,
            this in paid_months,
            len(unpaid),
            arrears_amount,
            best >= lapse_months,
            life_gap,
            life_gap >= lapse_months,
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
        totals.suspected_life_lapses += row.suspected_lapse_life
    return ledger


# ---------------------------------------------------------------------------------------------
# Pages: branches, the roster with its search and filters, one member's page
# ---------------------------------------------------------------------------------------------

# The statuses a roster shows unless asked otherwise: people the branch is responsible for.
CURRENT_STATUSES = tuple(IN_DEVELOPMENT | MEMBER_STATUSES)
PARTY_UNITS = (OrgKind.BRANCH, OrgKind.GENERAL_BRANCH, OrgKind.PARTY_COMMITTEE)


def _org(pk: Any) -> Organization:
    try:
        pk = int(pk)
        if not 0 < pk < 2**63:
            raise ValueError(pk)
        return Organization.objects.get(pk=pk)
    except (Organization.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound() from None


def access_branch(actor: Any, pk: Any, perm: str = "members.view") -> Organization:
    """A 党支部 whose members `actor` may see (`perm`); anything else is 404."""
    org = _org(pk)
    if org.kind != OrgKind.BRANCH or not has_perm(actor, perm, org):
        raise NotFound()
    return org


def access_party_unit(actor: Any, pk: Any, perm: str = "members.view") -> Organization:
    """A 党支部, 党总支 or 基层党委 `actor` may see members of; anything else is 404."""
    org = _org(pk)
    if org.kind not in PARTY_UNITS or not has_perm(actor, perm, org):
        raise NotFound()
    return org


def visible_branches(actor: Any, perm: str = "members.view") -> QuerySet[Organization]:
    """The 党支部 in the actor's scope, in tree order (one range scan per grant)."""
    return Organization.objects.filter(scope_filter(actor, perm), kind=OrgKind.BRANCH).order_by("path")


def visible_party_units(actor: Any, perm: str = "members.view") -> QuerySet[Organization]:
    """党委 and 党总支 in the actor's scope: each has a due-this-month page over its branches."""
    return Organization.objects.filter(
        scope_filter(actor, perm), kind__in=(OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH)
    ).order_by("path")


def own_member(actor: Any) -> PartyMember | None:
    """The signed-in person's own member record, if they have one."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return PartyMember.objects.filter(user_id=actor.pk).only("id").first()


def access_member_page(actor: Any, pk: Any) -> tuple[PartyMember, bool]:
    """(member, may change) for a member page: staff with members.view over the branch, or the
    person themselves (read only). Everyone else: 404."""
    try:
        member = PartyMember.objects.select_related("branch", "group").get(pk=int(pk))
    except (PartyMember.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if has_perm(actor, "members.view", member.branch):
        return member, has_perm(actor, "members.change", member.branch)
    if member.user_id is not None and member.user_id == getattr(actor, "pk", None):
        return member, False
    raise NotFound()


_CJK = re.compile(r"[\u3400-\u9fff]")
_ID_LIKE = re.compile(r"^\d{17}[\dXx]$")


def search_members(qs: QuerySet[PartyMember], q: str) -> QuerySet[PartyMember]:
    """By name (张三, a part of it), the start of the full pinyin (zhangsan, zhang san, zhang) or
    of the initials (zs); a whole ID number finds its person through the blind index (never a
    scan of decrypted numbers)."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text:
        return qs
    if _ID_LIKE.match(text):
        return qs.filter(id_number_index=crypto.blind_index(text, purpose="id"))
    if _CJK.search(text):
        return qs.filter(name__contains=text)
    key = "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())
    if not key:
        return qs.none()
    # The start of a word of the key ("zhangsan zs"): "zs" finds 张三 but not 刘正式 ("lzs").
    return qs.filter(Q(name_pinyin__startswith=key) | Q(name_pinyin__contains=" " + key))


def _step_done(n: int) -> Q:
    """Step `n` is done: recorded, or counted as done before the platform (imported)."""
    recorded = Exists(DevelopmentStep.objects.filter(member=OuterRef("pk"), step=n))
    return Q(recorded) | Q(imported_through_step__gte=n)


# The development stage a person is in (party.md §1 table), as a filter.
STAGE_FILTERS: dict[int, Any] = {
    1: lambda: Q(status=Status.APPLICANT),
    2: lambda: Q(status=Status.ACTIVIST),
    3: lambda: Q(status=Status.CANDIDATE) & ~_step_done(12),
    4: lambda: Q(status=Status.CANDIDATE) & _step_done(12),
    5: lambda: Q(status=Status.PROBATIONARY),
}


def branch_roster(
    branches: QuerySet[Organization] | Organization,
    *,
    q: str = "",
    status: str = "",
    group_id: int | None = None,
    stage: int | None = None,
) -> QuerySet[PartyMember]:
    """The members of a branch (or of every branch in a queryset), filtered, in pinyin order.

    `status` "" means the current roster (in development, probationary, full); "all" includes
    the end states. Loads what a roster row shows and nothing else (one query per page).
    """
    if isinstance(branches, Organization):
        qs = PartyMember.objects.filter(branch=branches)
    else:
        qs = PartyMember.objects.filter(branch__in=branches)
    if status == "all":
        pass
    elif status:
        qs = qs.filter(status=status)
    else:
        qs = qs.filter(status__in=CURRENT_STATUSES)
    if group_id is not None:
        qs = qs.filter(group_id=group_id)
    if stage in STAGE_FILTERS:
        qs = qs.filter(STAGE_FILTERS[stage]())
    qs = search_members(qs, q)
    return qs.select_related("group", "branch").order_by("branch_id", "name_pinyin", "id")


# ---------------------------------------------------------------------------------------------
# Due this month: development steps with a time limit, for a branch or a whole 党委
# ---------------------------------------------------------------------------------------------


def month_end(month: date) -> date:
    return date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])


def _last_day_months_before(month: date, months: int) -> date:
    """The last day of the month `months` before `month`: add_months(d, months) falls in or
    before `month` exactly when d is on or before it (add_months keeps the month arithmetic)."""
    return month_end(member_rules.add_months(member_rules.month_of(month), -months))


@dataclass(frozen=True)
class DueItem:
    """One step with a time limit that falls in the month (or earlier and still not done)."""

    kind: str  # talk | activist_review | admission_approval | full_approval | probation_end
    step: int
    member_id: int
    member_name: str
    branch_id: int
    branch_name: str
    due_on: date
    overdue: bool
    since: date  # the date the limit counts from (application, activist, meeting, admission)
    latest_on: date | None = None  # the hard limit, where the rules have one (approval: 6 months)


DUE_KINDS = {
    "talk": 2,
    "activist_review": 6,
    "admission_approval": 17,
    "probation_end": 23,
    "full_approval": 24,
}


def _scoped(qs: QuerySet, org: Organization | None, prefix: str) -> QuerySet:
    if org is None:
        return qs
    lo, hi = org.subtree_range()
    return qs.filter(**{f"{prefix}path__gte": lo, f"{prefix}path__lt": hi})


def due_items(
    org: Organization | None, month: date, today: date, rules: RuleSet | None = None
) -> list[DueItem]:
    """Steps due in `month` or overdue and still open, for the branches under `org` (None: all).

    Two queries, index-backed selections of the few people concerned (never a loop over every
    member): on the members, the talk within party.dev.talk_within_months of the application
    (step 2), the activist review every party.dev.activist_review_months (step 6, month
    arithmetic in SQL) and the end of probation, when the full-membership discussion (step 23)
    falls due; on the recorded steps, the higher approval within
    party.dev.approval_normal_months of the 支部大会 (steps 17, 24). The dates are those of
    rules.timeline. Rule values are those in force for `org` (an override set on a branch
    below it is not read).
    """
    rules = rules or ruleset_for(org, today, prefix="party.dev.")
    month = member_rules.month_of(month)
    end = month_end(month)
    talk_m = rules["party.dev.talk_within_months"]
    review_m = rules["party.dev.activist_review_months"]
    normal_m, max_m = rules["party.dev.approval_normal_months"], rules["party.dev.approval_max_months"]
    this = month.year * 12 + month.month
    items: list[DueItem] = []

    people = (
        _scoped(PartyMember.objects.all(), org, "branch__")
        .filter(status__in=(Status.APPLICANT, Status.ACTIVIST, Status.PROBATIONARY))
        .annotate(
            months_since=Value(this, output_field=IntegerField())
            - ExtractYear("activist_on") * 12
            - ExtractMonth("activist_on")
        )
        .filter(
            Q(
                status=Status.APPLICANT,
                talked_on__isnull=True,
                imported_through_step__lt=2,
                applied_on__lte=_last_day_months_before(month, talk_m),
            )
            | Q(status=Status.ACTIVIST, activist_on__lt=month, months_since__gt=0)
            & Q(Exact(Mod(F("months_since"), Value(review_m)), 0))
            | Q(status=Status.PROBATIONARY, probation_ends_on__lte=end, imported_through_step__lt=23)
            & ~Exists(DevelopmentStep.objects.filter(member=OuterRef("pk"), step=23))
        )
        .order_by()
        .values_list(
            "id", "name", "branch_id", "branch__name", "status", "applied_on", "activist_on", "months_since",
            "probation_ends_on", "admitted_on",
        )
    )  # fmt: skip
    for pk, name, branch_id, branch_name, status, applied, activist, since, ends_on, admitted in people:
        if status == Status.APPLICANT:
            due = member_rules.add_months(applied, talk_m)
            items.append(DueItem("talk", 2, pk, name, branch_id, branch_name, due, due < today, applied))
        elif status == Status.ACTIVIST:
            # A reminder, never overdue: the next review follows six months later.
            due = member_rules.add_months(activist, since)
            items.append(
                DueItem("activist_review", 6, pk, name, branch_id, branch_name, due, False, activist)
            )
        else:
            since_on = admitted or ends_on
            items.append(
                DueItem(
                    "probation_end", 23, pk, name, branch_id, branch_name, ends_on, ends_on < today, since_on
                )
            )

    def no_step(n: int) -> Exists:
        return Exists(DevelopmentStep.objects.filter(member=OuterRef("member"), step=n))

    meetings = (
        _scoped(DevelopmentStep.objects.all(), org, "member__branch__")
        .filter(step__in=(15, 23), done_on__lte=_last_day_months_before(month, normal_m))
        .filter(
            Q(step=15, member__status=Status.CANDIDATE) & ~no_step(17)
            | Q(step=23, member__status=Status.PROBATIONARY) & ~no_step(24)
        )
        .order_by()
        .values_list(
            "member_id", "member__name", "member__branch_id", "member__branch__name", "step", "done_on"
        )
    )
    for pk, name, branch_id, branch_name, step, met in meetings:
        kind, approval = ("admission_approval", 17) if step == 15 else ("full_approval", 24)
        due, latest = member_rules.add_months(met, normal_m), member_rules.add_months(met, max_m)
        items.append(DueItem(kind, approval, pk, name, branch_id, branch_name, due, due < today, met, latest))

    items.sort(key=lambda i: (i.due_on, i.branch_name, i.member_name, i.member_id))
    return items
