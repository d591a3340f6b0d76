"""/api/v1: meetings of the caller's scope, sign-in with the rotating code, vote and election
results, the quarterly compliance report.

Thin endpoints: parse, access_* (404 outside the caller's scope), one action, the response.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Path, Query, Router

from dangqun.core.errors import PermissionDenied
from dangqun.core.schemas import ERRORS

from . import actions, queries
from .choices import AttendanceStatus, BallotMode, ComplianceState, MeetingKind, MeetingStatus, PollStatus
from .models import Attendance, Election, Meeting, RollEntry, Vote
from .schemas import (
    PK,
    ComplianceFilters,
    ComplianceOut,
    ElectionOut,
    MeetingDetailOut,
    MeetingFilters,
    MeetingPageOut,
    SignInIn,
    SignInOut,
    VoteListOut,
    VoteOut,
)

router = Router(tags=["meetings"])


def _summary(m: Meeting, my: dict[int, str]) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "kind_label": str(MeetingKind(m.kind).label),
        "topic": m.topic,
        "place": m.place,
        "starts_at": m.starts_at,
        "ends_at": m.ends_at,
        "held_on": m.held_on,
        "status": m.status,
        "status_label": str(MeetingStatus(m.status).label),
        "organization_id": m.organization_id,
        "organization_name": m.organization.name,
        "branch_id": m.branch_id,
        "branch_name": m.branch.name,
        "expected": m.n_expected,
        "present": m.n_present,
        "my_attendance": my.get(m.pk),
        "quorate": m.quorate,
    }


def _with_counts(qs):
    return qs.annotate(
        n_expected=Count("attendance"),
        n_present=Count("attendance", filter=Q(attendance__status=AttendanceStatus.PRESENT)),
    )


def _mine(actor: Any, ids: list[int]) -> dict[int, str]:
    return dict(
        Attendance.objects.filter(meeting_id__in=ids, member__user=actor).values_list("meeting_id", "status")
    )


@router.get("/meetings", response={200: MeetingPageOut, **ERRORS}, summary="会议列表（本人可见范围）")
def list_meetings(request: HttpRequest, filters: Query[MeetingFilters]):
    """Meetings of the caller's scope, newest first: staff see their subtree, members their own
    branch (committee meetings and talks only when they take part)."""
    actor = request.auth
    if not queries.may_list_meetings(actor):
        raise PermissionDenied()
    qs = queries.visible_meetings(actor)
    if filters.branch is not None:
        qs = qs.filter(branch_id=filters.branch)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.year:
        qs = qs.filter(held_on__year=filters.year)
    start = (filters.page - 1) * filters.page_size
    page = list(
        _with_counts(qs.select_related("organization", "branch")).order_by("-starts_at", "-id")[
            start : start + filters.page_size
        ]
    )
    my = _mine(actor, [m.pk for m in page])
    return {
        "items": [_summary(m, my) for m in page],
        "count": qs.count(),
        "page": filters.page,
        "page_size": filters.page_size,
    }


@router.get("/meetings/{meeting_id}", response={200: MeetingDetailOut, **ERRORS}, summary="会议详情")
def get_meeting(request: HttpRequest, meeting_id: Path[PK]):
    actor = request.auth
    m = queries.access_meeting(actor, meeting_id)
    m = _with_counts(Meeting.objects.select_related("organization", "branch")).get(pk=m.pk)
    staff = queries.can_view_as_staff(actor, m.organization)
    counts = queries.attendance_counts(m)
    attendance = None
    if staff:
        attendance = [
            {
                "member_id": a.member_id,
                "name": a.member.name,
                "status": a.status,
                "status_label": str(AttendanceStatus(a.status).label),
                "reason": a.reason,
                "method": a.method,
                "signed_in_at": a.signed_in_at,
            }
            for a in m.attendance.select_related("member")
        ]
    return {
        **_summary(m, _mine(actor, [m.pk])),
        "lecturer": m.lecturer,
        "lecturer_is_secretary": m.lecturer_is_secretary,
        "quorum_base": m.quorum_base,
        "quorum_present": m.quorum_present,
        "quorum_needed": m.quorum_needed,
        "quorum_source": m.quorum_source,
        "minutes": m.minutes if staff else None,
        "absent": counts[AttendanceStatus.ABSENT],
        "leave": counts[AttendanceStatus.LEAVE],
        "attendance": attendance,
        "votes": [
            {"id": v.pk, "subject": v.subject, "status": v.status, "adopted": v.adopted}
            for v in m.votes.all()
        ],
        "elections": [
            {"id": e.pk, "title": e.title, "status": e.status, "valid": e.valid} for e in m.elections.all()
        ],
    }


@router.post(
    "/meetings/{meeting_id}/sign-in", response={200: SignInOut, **ERRORS}, summary="扫码签到（轮换签到码）"
)
def sign_in(request: HttpRequest, meeting_id: Path[PK], data: SignInIn):
    """Sign the caller in with the code shown at the meeting now. Refused (422) outside the
    sign-in window, with a wrong or old code, or when the caller is not an expected attendee."""
    m = queries.access_meeting(request.auth, meeting_id)
    row = actions.do_sign_in(m, data.code, actor=request.auth)
    return {
        "meeting_id": m.pk,
        "status": row.status,
        "status_label": str(AttendanceStatus(row.status).label),
        "signed_in_at": row.signed_in_at,
    }


def vote_out(v: Vote) -> dict[str, Any]:
    ballots_cast = None
    if v.mode == BallotMode.ONLINE and v.status == PollStatus.OPEN:
        ballots_cast = RollEntry.objects.filter(vote=v, has_voted=True).count()
    return {
        "id": v.pk,
        "meeting_id": v.meeting_id,
        "kind": v.kind,
        "kind_label": v.get_kind_display(),
        "subject": v.subject,
        "subject_member_id": v.subject_member_id,
        "subject_member_name": v.subject_member.name if v.subject_member_id else None,
        "mode": v.mode,
        "mode_label": v.get_mode_display(),
        "secret": v.secret,
        "status": v.status,
        "entitled": v.entitled,
        "present": v.present,
        "written_for": v.written_for,
        "written_against": v.written_against,
        "written_abstain": v.written_abstain,
        "in_favour": v.in_favour,
        "against": v.against,
        "abstain": v.abstain,
        "quorum": v.quorum,
        "adopted": v.adopted,
        "quorum_needed": v.quorum_needed,
        "votes_needed": v.votes_needed,
        "ballots_cast": ballots_cast,
        "source": v.source,
    }


@router.get("/meetings/{meeting_id}/votes", response={200: VoteListOut, **ERRORS}, summary="会议表决结果")
def meeting_votes(request: HttpRequest, meeting_id: Path[PK]):
    m = queries.access_meeting(request.auth, meeting_id)
    return {"items": [vote_out(v) for v in m.votes.select_related("subject_member")]}


@router.get("/votes/{vote_id}", response={200: VoteOut, **ERRORS}, summary="表决结果")
def get_vote(request: HttpRequest, vote_id: Path[PK]):
    """Entitled and present voters, written opinions, the counts once closed, quorum and adoption
    (in favour more than half of the ENTITLED, 党章 第五条)."""
    return vote_out(queries.access_vote(request.auth, vote_id))


def election_out(e: Election) -> dict[str, Any]:
    notes = [p["message"] for p in e.problems]
    return {
        "id": e.pk,
        "meeting_id": e.meeting_id,
        "title": e.title,
        "seats": e.seats,
        "mode": e.mode,
        "status": e.status,
        "entitled": e.entitled,
        "present": e.present,
        "valid": e.valid,
        "turnout_needed": e.turnout_needed,
        "votes_needed": e.votes_needed,
        "candidates_needed": e.candidates_needed,
        "shortfall": e.shortfall,
        "runoff": e.runoff,
        "candidates": [
            {
                "id": c.pk,
                "member_id": c.member_id,
                "name": c.member.name,
                "votes": c.votes,
                "elected": c.elected,
            }
            for c in e.candidates.select_related("member")
        ],
        "notes": notes,
    }


@router.get("/elections/{election_id}", response={200: ElectionOut, **ERRORS}, summary="选举结果")
def get_election(request: HttpRequest, election_id: Path[PK]):
    """Per candidate: votes and whether elected; ties for the last seat and seats left empty."""
    return election_out(queries.access_election(request.auth, election_id))


@router.get(
    "/compliance/meetings", response={200: ComplianceOut, **ERRORS}, summary="三会一课落实情况（按季度）"
)
def compliance(request: HttpRequest, filters: Query[ComplianceFilters]):
    """Per branch of the caller's scope, in tree order (a report about procedure, never a ranking):
    for each kind of meeting, the periods of its rule in the quarter, held against required, and
    the attendance of the meetings held."""
    today = timezone.localdate()
    year = filters.year or today.year
    quarter = filters.quarter or (today.month - 1) // 3 + 1
    reports = queries.compliance_report(request.auth, year, quarter, branch_id=filters.branch, today=today)
    return {
        "year": year,
        "quarter": quarter,
        "branches": [
            {
                "branch_id": r.branch.pk,
                "branch_name": r.branch.name,
                "items": [
                    {
                        "kind": i.kind,
                        "label": i.label,
                        "state": i.state,
                        "state_label": str(ComplianceState(i.state).label),
                        "periods": [p.__dict__ for p in i.periods],
                        "expected": i.expected,
                        "present": i.present,
                        "leave": i.leave,
                        "attendance_rate": i.attendance_rate,
                        "note": i.note,
                        "source": i.source,
                    }
                    for i in r.items
                ],
            }
            for r in reports
        ],
    }
