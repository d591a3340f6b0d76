"""Scoped reads of meetings, polls, decisions and appraisals; 404 for what the actor may not see.

Who sees what:
* managers — `meetings.change` on the organization (a branch secretary on their branch and its
  groups) — see and change everything of their subtree;
* staff viewers — `meetings.view`, or `members.view` until the role table grants
  `meetings.view` (a street administrator) — see their subtree, change nothing;
* members — a member grant, or a party member record linked to the account — see their own
  branch's meetings, except committee meetings and talks they are not part of.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from dangqun.core.errors import NotFound, PermissionDenied
from dangqun.core.models import RuleValue
from dangqun.core.permissions import grants_for, has_perm, scope_filter
from dangqun.core.rulesets import RuleSet, ruleset_for
from dangqun.members.choices import MEMBER_STATUSES, Status
from dangqun.members.models import PartyMember
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import CHOSEN_KINDS, AttendanceStatus, MeetingKind, MeetingStatus
from .models import (
    Appraisal,
    Attendance,
    DisciplinaryProbation,
    Election,
    Meeting,
    VillageDecision,
    Vote,
)

MANAGE_PERM = "meetings.change"
# "members.view" stands in for "meetings.view" until core.permissions grants the latter.
VIEW_PERMS = ("meetings.view", MANAGE_PERM, "members.view")
MEMBER_PERM = "orgs.view_own"


def _int_pk(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not 0 < value < 2**63:
        raise NotFound()
    return value


def rules_for(org: Organization | None, on: date | None = None) -> RuleSet:
    return ruleset_for(org, on or timezone.localdate())


# --- who may do what ------------------------------------------------------------------------


def can_manage(actor: Any, org: Organization) -> bool:
    return has_perm(actor, MANAGE_PERM, org)


def can_view_as_staff(actor: Any, org: Organization) -> bool:
    return any(has_perm(actor, perm, org) for perm in VIEW_PERMS)


def is_staff_viewer(actor: Any) -> bool:
    return any(has_perm(actor, perm) for perm in VIEW_PERMS)


def staff_scope(actor: Any, prefix: str = "branch__") -> Q:
    q = Q(pk__in=[])
    for perm in VIEW_PERMS:
        if getattr(actor, "is_superuser", False) or grants_for(actor, perm):
            q |= scope_filter(actor, perm, prefix=prefix)
    return q


def own_member(actor: Any) -> PartyMember | None:
    """The party member record of the signed-in person (a probationary or full member)."""
    if not getattr(actor, "is_authenticated", False):
        return None
    return (
        PartyMember.objects.filter(user=actor, status__in=MEMBER_STATUSES)
        .select_related("branch", "group")
        .first()
    )


def member_branch_ids(actor: Any) -> set[int]:
    """Organizations whose meetings the actor sees as a member: the ancestors (and self) of
    each member grant — a meeting's branch is always a branch, so this is the grant's branch —
    and the branch of their own member record."""
    ids: set[int] = set()
    for grant in grants_for(actor, MEMBER_PERM):
        ids.update(grant.organization.ancestor_ids())
    if getattr(actor, "is_authenticated", False):
        ids.update(
            PartyMember.objects.filter(user=actor, status__in=MEMBER_STATUSES).values_list(
                "branch_id", flat=True
            )
        )
    return ids


def visible_meetings(actor: Any) -> QuerySet[Meeting]:
    if not getattr(actor, "is_authenticated", False):
        return Meeting.objects.none()
    q = staff_scope(actor)
    own = member_branch_ids(actor)
    if own:
        mine = Attendance.objects.filter(meeting=OuterRef("pk"), member__user=actor)
        q |= Q(branch_id__in=own) & (~Q(kind__in=CHOSEN_KINDS) | Exists(mine))
    return Meeting.objects.filter(q)


def may_list_meetings(actor: Any) -> bool:
    return is_staff_viewer(actor) or bool(member_branch_ids(actor))


def access_meeting(actor: Any, pk: Any) -> Meeting:
    """The meeting if the actor may see it; otherwise 404, never a hint that it exists."""
    meeting = visible_meetings(actor).select_related("organization", "branch").filter(pk=_int_pk(pk)).first()
    if meeting is None:
        raise NotFound()
    return meeting


def access_managed_meeting(actor: Any, pk: Any) -> Meeting:
    """404 if the actor cannot see it, 403 if they see it but may not change it."""
    meeting = access_meeting(actor, pk)
    if not can_manage(actor, meeting.organization):
        raise PermissionDenied()
    return meeting


def manageable_organizations(actor: Any) -> QuerySet[Organization]:
    """Branches and party groups where the actor may hold meetings."""
    return Organization.objects.filter(
        scope_filter(actor, MANAGE_PERM), kind__in=[OrgKind.BRANCH, OrgKind.GROUP], is_active=True
    ).order_by("path")


def manageable_branches(actor: Any) -> QuerySet[Organization]:
    return manageable_organizations(actor).filter(kind=OrgKind.BRANCH)


def viewable_branches(actor: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(staff_scope(actor, prefix=""), kind=OrgKind.BRANCH).order_by("path")


def access_branch(actor: Any, pk: Any, *, manage: bool = False) -> Organization:
    org = Organization.objects.filter(pk=_int_pk(pk), kind=OrgKind.BRANCH).first()
    if org is None or not can_view_as_staff(actor, org):
        raise NotFound()
    if manage and not can_manage(actor, org):
        raise PermissionDenied()
    return org


# --- rosters -----------------------------------------------------------------------------------


def branch_of(org: Organization) -> Organization | None:
    if org.kind == OrgKind.BRANCH:
        return org
    if org.kind == OrgKind.GROUP and org.parent_id:
        parent = Organization.objects.get(pk=org.parent_id)
        return parent if parent.kind == OrgKind.BRANCH else None
    return None


def branch_roster(branch: Organization) -> QuerySet[PartyMember]:
    """Probationary and full members of the branch: the people the branch is responsible for."""
    return PartyMember.objects.filter(branch=branch, status__in=MEMBER_STATUSES).order_by("name", "id")


def expected_roster(org: Organization, kind: str) -> QuerySet[PartyMember]:
    """Expected attendees of a roster meeting: the group's members for a 党小组会, else the
    branch's members."""
    if kind == MeetingKind.GROUP:
        return PartyMember.objects.filter(group=org, status__in=MEMBER_STATUSES).order_by("name", "id")
    return PartyMember.objects.filter(branch=org, status__in=MEMBER_STATUSES).order_by("name", "id")


def under_disciplinary_probation(member_ids: list[int], on: date) -> set[int]:
    return set(
        DisciplinaryProbation.objects.filter(
            member_id__in=member_ids, starts_on__lte=on, ends_on__gte=on
        ).values_list("member_id", flat=True)
    )


def entitled_voters(branch: Organization, on: date) -> list[PartyMember]:
    """Full members with a vote on `on`: not probationary, not under 留党察看 (party.md §4)."""
    full = list(PartyMember.objects.filter(branch=branch, status=Status.FULL).order_by("name", "id"))
    barred = under_disciplinary_probation([m.pk for m in full], on)
    return [m for m in full if m.pk not in barred]


def present_member_ids(meeting: Meeting) -> set[int]:
    return set(meeting.attendance.filter(status=AttendanceStatus.PRESENT).values_list("member_id", flat=True))


def roll_call(meeting: Meeting) -> tuple[list[PartyMember], list[PartyMember]]:
    """The members with a vote on the day of the meeting, and those of them present: the two
    numbers every quorum, vote and election of a 支部党员大会 counts from (party.md §3–§4)."""
    entitled = entitled_voters(meeting.branch, meeting.held_on)
    present_ids = present_member_ids(meeting)
    return entitled, [m for m in entitled if m.pk in present_ids]


def attendance_counts(meeting: Meeting) -> dict[str, int]:
    counts = dict.fromkeys(AttendanceStatus.values, 0)
    for status, n in meeting.attendance.values_list("status").annotate(n=Count("id")).order_by():
        counts[status] = n
    counts["total"] = sum(counts[s] for s in AttendanceStatus.values)
    return counts


def meeting_quorum(meeting: Meeting, rules: RuleSet | None = None) -> R.Quorum | None:
    """The quorum of a 支部党员大会 or 支委会 from its attendance as recorded now; None for the
    kinds without a quorum rule.

    支部党员大会: the members with a vote on the day (entitled_voters) and those of them present.
    支委会: the platform knows how many 委员 a branch has (Organization.committee_size, kept
    by orgs) but not who they are (PartyMember.post is free text), so the committee is the
    meeting's expected attendees — and never fewer than the branch's committee size, so that
    leaving absent 委员 off the list cannot make a meeting quorate.
    """
    if meeting.kind not in (MeetingKind.BRANCH_ASSEMBLY, MeetingKind.COMMITTEE):
        return None
    rules = rules or rules_for(meeting.branch, meeting.held_on)
    if meeting.kind == MeetingKind.BRANCH_ASSEMBLY:
        entitled, present = roll_call(meeting)
        return R.assembly_quorum(len(entitled), len(present), rules)
    counts = attendance_counts(meeting)
    base = max(counts["total"], meeting.branch.committee_size)
    return R.committee_quorum(base, counts[AttendanceStatus.PRESENT], rules)


def recorded_quorum(meeting: Meeting) -> R.Quorum | None:
    """The quorum as stored when the meeting was recorded as held (None when not assessed)."""
    if meeting.quorate is None:
        return None
    return R.Quorum(
        meeting.quorum_base,
        meeting.quorum_present,
        meeting.quorum_needed,
        meeting.quorate,
        meeting.quorum_source,
    )


# --- rotating sign-in codes -------------------------------------------------------------------


def signin_secret(meeting: Meeting) -> bytes:
    """The meeting's own code key: HMAC-SM3 of the site secret and the meeting's random key."""
    mac = hmac.HMAC(settings.SECRET_KEY.encode(), hashes.SM3())
    mac.update(b"dangqun.meetings.signin-key:" + meeting.signin_key.encode())
    return mac.finalize()


@dataclass(frozen=True)
class CurrentCode:
    code: str
    valid_until: datetime
    open: bool
    opens: datetime
    closes: datetime


def current_code(meeting: Meeting, now: datetime, rules: RuleSet) -> CurrentCode:
    step_seconds = rules["meetings.signin.step_seconds"]
    step = R.time_step(now, step_seconds)
    opens, closes = R.signin_window(meeting.starts_at, meeting.ends_at, rules)
    accepted = max(1, rules["meetings.signin.accepted_steps"])
    return CurrentCode(
        R.signin_code(signin_secret(meeting), meeting.pk, step),
        R.step_ends_at(step + accepted - 1, step_seconds, timezone.get_current_timezone()),
        meeting.status == MeetingStatus.PLANNED and opens <= now <= closes,
        opens,
        closes,
    )


# --- polls, decisions, appraisals ---------------------------------------------------------------


def access_vote(actor: Any, pk: Any) -> Vote:
    vote = Vote.objects.select_related("meeting", "subject_member").filter(pk=_int_pk(pk)).first()
    if vote is None:
        raise NotFound()
    access_meeting(actor, vote.meeting_id)
    return vote


def access_election(actor: Any, pk: Any) -> Election:
    election = Election.objects.select_related("meeting").filter(pk=_int_pk(pk)).first()
    if election is None:
        raise NotFound()
    access_meeting(actor, election.meeting_id)
    return election


def access_decision(actor: Any, pk: Any) -> VillageDecision:
    decision = VillageDecision.objects.select_related("branch").filter(pk=_int_pk(pk)).first()
    if decision is None or not can_view_as_staff(actor, decision.branch):
        raise NotFound()
    return decision


def visible_decisions(actor: Any) -> QuerySet[VillageDecision]:
    return VillageDecision.objects.filter(staff_scope(actor)).select_related("branch")


def access_appraisal(actor: Any, pk: Any) -> Appraisal:
    appraisal = Appraisal.objects.select_related("branch").filter(pk=_int_pk(pk)).first()
    if appraisal is None or not can_view_as_staff(actor, appraisal.branch):
        raise NotFound()
    return appraisal


def visible_appraisals(actor: Any) -> QuerySet[Appraisal]:
    return Appraisal.objects.filter(staff_scope(actor)).select_related("branch")


def visible_probations(actor: Any) -> QuerySet[DisciplinaryProbation]:
    return DisciplinaryProbation.objects.filter(staff_scope(actor, prefix="member__branch__")).select_related(
        "member", "member__branch"
    )


# --- the compliance report ----------------------------------------------------------------------


@dataclass
class BranchReport:
    branch: Organization
    items: list[R.ComplianceItem]

    @property
    def missing(self) -> int:
        return sum(1 for i in self.items if i.state == "missing")


def _rulesets(branches: list[Organization], on: date) -> dict[int, RuleSet]:
    """Rule sets per branch with one ruleset_for call per distinct set of overrides (usually
    one): branches whose chains hold the same overriding organizations share their rules."""
    overriding = set(
        RuleValue.objects.filter(organization__isnull=False, key__startswith="meetings.")
        .values_list("organization_id", flat=True)
        .distinct()
    )
    by_chain: dict[tuple[int, ...], RuleSet] = {}
    out = {}
    for branch in branches:
        chain = tuple(i for i in branch.ancestor_ids() if i in overriding)
        if chain not in by_chain:
            by_chain[chain] = ruleset_for(branch, on, prefix="meetings.")
        out[branch.pk] = by_chain[chain]
    return out


def compliance_report(
    actor: Any, year: int, quarter: int, *, branch_id: Any = None, today: date | None = None
) -> list[BranchReport]:
    """Per branch, in tree order (never ranked): what was held against the frequencies of
    party.md §3, what is missing, and the attendance of the meetings held in the quarter.
    A fixed number of queries whatever the number of branches."""
    if not is_staff_viewer(actor):
        raise PermissionDenied()
    today = today or timezone.localdate()
    branches = [access_branch(actor, branch_id)] if branch_id is not None else list(viewable_branches(actor))
    if not branches:
        return []
    ids = [b.pk for b in branches]
    q_first, q_last = R.quarter_bounds(year, quarter)
    year_first = date(year, 1, 1)
    rulesets = _rulesets(branches, min(q_last, max(today, q_first)))

    groups: dict[int, list[tuple[int, str]]] = {}
    for pk, parent_id, name in (
        Organization.objects.filter(parent_id__in=ids, kind=OrgKind.GROUP, is_active=True)
        .order_by("path")
        .values_list("id", "parent_id", "name")
    ):
        groups.setdefault(parent_id, []).append((pk, name))

    held: dict[int, dict[tuple[str, int | None, int], int]] = {pk: {} for pk in ids}
    failed: dict[int, dict[tuple[str, int | None, int], int]] = {pk: {} for pk in ids}
    # A meeting held without its quorum is on record but counts for nothing; None (no quorum
    # rule, or held before the check existed) counts.
    counted = Q(quorate=True) | Q(quorate__isnull=True)
    rows = (
        Meeting.objects.filter(
            branch_id__in=ids, status=MeetingStatus.HELD, held_on__gte=year_first, held_on__lte=q_last
        )
        .annotate(month=ExtractMonth("held_on"))
        .values_list("branch_id", "kind", "organization_id", "month")
        .annotate(
            n=Count("id", filter=counted),
            nq=Count("id", filter=Q(quorate=False)),
            by_secretary=Count("id", filter=counted & Q(lecturer_is_secretary=True)),
        )
        .order_by()
    )
    for branch, kind, org_id, month, n, nq, by_secretary in rows:
        owner = org_id if kind == MeetingKind.GROUP else None
        key = (kind, owner, month)
        held[branch][key] = held[branch].get(key, 0) + n
        failed[branch][key] = failed[branch].get(key, 0) + nq
        if kind == MeetingKind.LECTURE and by_secretary:
            mine = (R.SECRETARY_LECTURE, None, month)
            held[branch][mine] = held[branch].get(mine, 0) + by_secretary

    attendance: dict[int, dict[str, tuple[int, int, int]]] = {pk: {} for pk in ids}
    for branch, kind, expected, present, leave in (
        Attendance.objects.filter(
            meeting__branch_id__in=ids,
            meeting__status=MeetingStatus.HELD,
            meeting__held_on__gte=q_first,
            meeting__held_on__lte=q_last,
        )
        .values_list("meeting__branch_id", "meeting__kind")
        .annotate(
            expected=Count("id"),
            present=Count("id", filter=Q(status=AttendanceStatus.PRESENT)),
            leave=Count("id", filter=Q(status=AttendanceStatus.LEAVE)),
        )
        .order_by()
    ):
        attendance[branch][kind] = (expected, present, leave)

    members = dict(
        PartyMember.objects.filter(branch_id__in=ids, status__in=MEMBER_STATUSES)
        .values_list("branch_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    talked = dict(
        Attendance.objects.filter(
            member__branch_id__in=ids,
            member__status__in=MEMBER_STATUSES,
            status=AttendanceStatus.PRESENT,
            meeting__kind=MeetingKind.TALK,
            meeting__status=MeetingStatus.HELD,
            meeting__held_on__gte=year_first,
            meeting__held_on__lte=q_last,
        )
        .values_list("member__branch_id")
        .annotate(n=Count("member_id", distinct=True))
        .order_by()
    )

    reports = []
    for branch in branches:
        facts = R.BranchFacts(
            has_committee=branch.committee_size > 0,
            groups=groups.get(branch.pk, []),
            members=members.get(branch.pk, 0),
            members_talked=talked.get(branch.pk, 0),
        )
        items = R.assess_compliance(
            year,
            quarter,
            today=today,
            facts=facts,
            held=held[branch.pk],
            attendance=attendance[branch.pk],
            rules=rulesets[branch.pk],
            not_quorate=failed[branch.pk],
        )
        reports.append(BranchReport(branch, items))
    return reports
