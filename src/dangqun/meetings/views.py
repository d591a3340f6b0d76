"""Meeting pages: records and attendance, QR sign-in, votes, elections, the compliance report,
四议两公开 with its printable notices, the annual appraisal, 留党察看 records.

Thin views (DESIGN.md): scope with queries.access_* (404 outside the user's scope, 403 for
someone who may look but not change), change through actions, show each broken rule beside
its field. Every form works without JavaScript; the QR page refreshes itself with htmx
polling, or with a <noscript> meta refresh.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dangqun.core import errors
from dangqun.members.choices import MEMBER_STATUSES, Status
from dangqun.members.models import PartyMember

from . import actions, queries
from . import rules as R
from .choices import (
    AttendanceStatus,
    BallotMode,
    DecisionStatus,
    DecisionStep,
    Grade,
    MeetingKind,
    MeetingStatus,
    PollStatus,
    VillageBody,
)
from .forms import (
    AppraisalForm,
    AttachmentForm,
    AttendanceForm,
    CancelForm,
    CastForm,
    ComplianceForm,
    CountsForm,
    DecisionForm,
    ElectionCastForm,
    ElectionCountsForm,
    ElectionForm,
    GradesForm,
    MeetingEditForm,
    MeetingForm,
    ProbationForm,
    SignInForm,
    VoteForm,
    apply_errors,
    decision_step_form,
)
from .models import Meeting, MeetingAttachment, RollEntry

SCAN_SESSION_KEY = "meetings_scan"


def now() -> datetime:
    """The clock of the pages (one place, so that tests can set it)."""
    return timezone.now()


def scoped(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the scoped-access errors of queries/actions into 404 and 403 pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound:
            raise Http404 from None
        except errors.PermissionDenied:
            raise PermissionDenied from None

    return wrapper


def _staff_only(request: HttpRequest) -> None:
    if not queries.is_staff_viewer(request.user):
        raise PermissionDenied


def _try_action(form: Any, action: Callable[[], Any]) -> Any:
    """Run one action for a valid form: its result, or None once each broken rule stands beside
    its field (or above the form)."""
    try:
        return action()
    except errors.RuleViolation as exc:
        apply_errors(form, exc)
        return None


def _with_counts(qs):
    return qs.annotate(
        n_expected=Count("attendance"),
        n_present=Count("attendance", filter=Q(attendance__status=AttendanceStatus.PRESENT)),
    )


# ---------------------------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------------------------


@login_required
@require_safe
def meeting_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not queries.may_list_meetings(user):
        raise PermissionDenied
    qs = _with_counts(queries.visible_meetings(user).select_related("organization", "branch")).order_by(
        "-starts_at", "-id"
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    staff = queries.is_staff_viewer(user)
    return render(
        request,
        "meetings/list.html",
        {
            "page": page,
            "can_create": queries.manageable_organizations(user).exists(),
            "staff": staff,
        },
    )


def _branch_members(branches: Any) -> Any:
    return PartyMember.objects.filter(branch__in=branches, status__in=MEMBER_STATUSES).order_by(
        "branch__path", "name", "id"
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    orgs = queries.manageable_organizations(user)
    if not orgs.exists():
        raise PermissionDenied
    form = MeetingForm(
        request.POST or None,
        organizations=orgs,
        members=_branch_members(queries.manageable_branches(user)),
        initial={"kind": request.GET.get("kind", MeetingKind.BRANCH_ASSEMBLY)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        meeting = _try_action(
            form,
            lambda: actions.do_create_meeting(
                organization=data["organization"],
                kind=data["kind"],
                topic=data["topic"],
                place=data["place"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                lecturer=data["lecturer"],
                lecturer_is_secretary=data["lecturer_is_secretary"],
                attendee_ids=[m.pk for m in data["attendees"]],
                actor=user,
            ),
        )
        if meeting is not None:
            messages.success(request, _("已登记会议“%(topic)s”。") % {"topic": meeting.topic})
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/create.html", {"form": form})


def _quorum(meeting: Meeting) -> R.Quorum | None:
    """As recorded when held; while planned, a preview from the attendance so far."""
    if meeting.status == MeetingStatus.HELD:
        return queries.recorded_quorum(meeting)
    if meeting.status == MeetingStatus.PLANNED:
        return queries.meeting_quorum(meeting)
    return None


@login_required
@require_safe
@scoped
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    meeting = queries.access_meeting(user, pk)
    manage = queries.can_manage(user, meeting.organization)
    staff = queries.can_view_as_staff(user, meeting.organization)
    own = queries.own_member(user)
    mine = meeting.attendance.filter(member=own).first() if own else None
    context = {
        "meeting": meeting,
        "manage": manage,
        "staff": staff,
        "mine": mine,
        "counts": queries.attendance_counts(meeting),
        "quorum": _quorum(meeting),
        "attendance": list(meeting.attendance.select_related("member")) if staff else [],
        "attachments": list(meeting.attachments.all()) if staff else [],
        "votes": list(meeting.votes.select_related("subject_member")),
        "elections": list(meeting.elections.all()),
        "planned": meeting.status == MeetingStatus.PLANNED,
        "assembly": meeting.kind == MeetingKind.BRANCH_ASSEMBLY,
        "attach_form": AttachmentForm() if manage else None,
        "cancel_form": CancelForm() if manage else None,
    }
    return render(request, "meetings/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    initial = {
        name: getattr(meeting, name)
        for name in ("topic", "place", "starts_at", "ends_at", "lecturer", "lecturer_is_secretary", "minutes")
    }
    for name in ("starts_at", "ends_at"):
        if initial[name]:
            initial[name] = timezone.localtime(initial[name])
    form = MeetingEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        updated = _try_action(form, lambda: actions.do_update_meeting(meeting, actor=request.user, **changes))
        if updated is not None:
            messages.success(request, _("已保存。"))
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/edit.html", {"meeting": meeting, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def meeting_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    rows = list(meeting.attendance.select_related("member"))
    form = AttendanceForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        n = _try_action(
            form, lambda: actions.do_record_attendance(meeting, form.entries(), actor=request.user, now=now())
        )
        if n is not None:
            messages.success(request, _("已登记出席情况（%(n)d 处修改）。") % {"n": n})
            return redirect("meetings:detail", pk=meeting.pk)
    return render(request, "meetings/attendance.html", {"meeting": meeting, "form": form})


def _flash_outcome(request: HttpRequest, action: Callable[[], Any], success: str) -> None:
    """Run the action of a button that has no form to show errors beside: the success message,
    or each broken rule as an error message (the page redirects either way)."""
    try:
        action()
    except errors.RuleViolation as exc:
        for v in exc.violations:
            messages.error(request, str(v.message))
    else:
        messages.success(request, success)


@login_required
@require_POST
@scoped
def meeting_close(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    _flash_outcome(
        request,
        lambda: actions.do_close_meeting(meeting, actor=request.user, now=now()),
        _("已登记为已召开。"),
    )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
@scoped
def meeting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    _flash_outcome(
        request,
        lambda: actions.do_cancel_meeting(meeting, actor=request.user, reason=request.POST.get("reason", "")),
        _("会议已取消。"),
    )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_POST
@scoped
def meeting_attach(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        for errs in form.errors.values():
            for e in errs:
                messages.error(request, e)
    else:
        _flash_outcome(
            request,
            lambda: actions.do_attach_file(meeting, form.cleaned_data["file"], actor=request.user),
            _("已上传附件。"),
        )
    return redirect("meetings:detail", pk=meeting.pk)


@login_required
@require_safe
@scoped
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    meeting = queries.access_meeting(request.user, pk)
    if not queries.can_view_as_staff(request.user, meeting.organization):
        raise Http404
    attachment = MeetingAttachment.objects.filter(meeting=meeting, pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name or "attachment",
        content_type=attachment.content_type,
    )


# --- QR sign-in ---------------------------------------------------------------------------------


def _qr_context(request: HttpRequest, meeting: Meeting) -> dict[str, Any]:
    rules = queries.rules_for(meeting.branch)
    current = queries.current_code(meeting, now(), rules)
    context: dict[str, Any] = {"meeting": meeting, "current": current, "qr": None}
    if current.open:
        url = request.build_absolute_uri(
            reverse("meetings:sign_in", args=[meeting.pk]) + f"?code={current.code}"
        )
        # segno writes the SVG from our own URL: no user text inside, no style attribute (CSP).
        svg = segno.make(url, error="m").svg_inline(
            scale=6, border=2, svgclass="signin-qr", lineclass="qrline"
        )
        context["qr"] = mark_safe(svg)  # noqa: S308 — markup generated by segno from a fixed URL
        context["url"] = url
    context["refresh_seconds"] = max(2, rules["meetings.signin.step_seconds"] // 3)
    return context


@login_required
@require_safe
@scoped
def qr_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The sign-in QR to show on the meeting's screen: a new code every 30 seconds."""
    meeting = queries.access_managed_meeting(request.user, pk)
    return render(request, "meetings/qr.html", _qr_context(request, meeting))


@login_required
@require_safe
@scoped
def qr_code(request: HttpRequest, pk: int) -> HttpResponse:
    """The QR alone, polled by the QR page (htmx)."""
    meeting = queries.access_managed_meeting(request.user, pk)
    response = render(request, "meetings/partials/qr.html", _qr_context(request, meeting))
    response["Cache-Control"] = "no-store"
    return response


def _scan(request: HttpRequest, pk: int) -> tuple[str, datetime] | None:
    scan = request.session.get(SCAN_SESSION_KEY)
    if not isinstance(scan, dict) or scan.get("meeting") != pk:
        return None
    try:
        return str(scan["code"]), datetime.fromtimestamp(
            float(scan["at"]), tz=timezone.get_current_timezone()
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _remember_scan(request: HttpRequest, meeting: Meeting, code: str) -> bool:
    """Keep a code that is valid now in this browser's session (server side), so that a member
    who must first log in can still confirm within the time the rule allows."""
    at = now()
    rules = queries.rules_for(meeting.branch)
    if meeting.status != MeetingStatus.PLANNED or not R.code_matches(
        queries.signin_secret(meeting), meeting.pk, code, at, rules
    ):
        return False
    request.session[SCAN_SESSION_KEY] = {
        "meeting": meeting.pk,
        "code": R.normalize_code(code),
        "at": at.timestamp(),
    }
    return True


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    """The page a scanned QR opens. The code seen is kept server side, then the signed-in member
    confirms; the sign-in binds to them (party.md §9)."""
    code = request.GET.get("code", "")
    if not request.user.is_authenticated:
        if code and request.method == "GET" and 0 < pk < 2**63:
            meeting = Meeting.objects.select_related("branch").filter(pk=pk).first()
            if meeting is not None:
                _remember_scan(request, meeting, code)
        # The same answer whether or not the meeting exists or the code was right.
        return redirect_to_login(reverse("meetings:sign_in", args=[pk]))
    return _sign_in(request, pk)


@scoped
def _sign_in(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    meeting = queries.access_meeting(user, pk)
    code = request.GET.get("code", "")
    if request.method == "GET" and code:
        if not _remember_scan(request, meeting, code):
            messages.error(request, _("签到码不正确或已过期：请扫描会场上正在显示的二维码。"))
        # Drop the code from the address bar and the history.
        return redirect("meetings:sign_in", pk=meeting.pk)
    scan = _scan(request, meeting.pk)
    form = SignInForm(request.POST or None, initial={"code": scan[0] if scan else ""})
    if request.method == "POST":
        posted = request.POST.get("code", "")
        use_scan = scan is not None and (not posted or R.normalize_code(posted) == scan[0])
        try:
            if use_scan:
                actions.do_sign_in(meeting, scan[0], actor=user, now=now(), seen_at=scan[1])
            elif form.is_valid():
                actions.do_sign_in(meeting, form.cleaned_data["code"], actor=user, now=now())
            else:
                raise errors.RuleViolation("signin_code", _("请填写签到码。"), field="code")
        except errors.RuleViolation as exc:
            form = SignInForm(request.POST)
            form.is_valid()
            apply_errors(form, exc)
        else:
            request.session.pop(SCAN_SESSION_KEY, None)
            messages.success(request, _("签到成功。"))
            return redirect("meetings:detail", pk=meeting.pk)
    own = queries.own_member(user)
    mine = meeting.attendance.filter(member=own).first() if own else None
    return render(
        request,
        "meetings/sign_in.html",
        {"meeting": meeting, "form": form, "scanned": scan is not None, "mine": mine},
    )


# ---------------------------------------------------------------------------------------------
# Votes and elections
# ---------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def vote_create(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    subjects = PartyMember.objects.filter(
        branch=meeting.branch, status__in=[Status.CANDIDATE, Status.PROBATIONARY, Status.FULL]
    ).order_by("name", "id")
    form = VoteForm(request.POST or None, members=subjects)
    rules = queries.rules_for(meeting.branch, meeting.held_on)
    entitled, voters = queries.roll_call(meeting)
    present = len(voters)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        vote = _try_action(
            form,
            lambda: actions.do_open_vote(
                meeting,
                kind=d["kind"],
                subject=d["subject"],
                mode=d["mode"],
                subject_member=d["subject_member"],
                written_for=d["written_for"],
                written_against=d["written_against"],
                written_abstain=d["written_abstain"],
                actor=request.user,
            ),
        )
        if vote is not None:
            messages.success(request, _("表决已开始。"))
            return redirect("meetings:vote", pk=vote.pk)
    return render(
        request,
        "meetings/vote_create.html",
        {
            "meeting": meeting,
            "form": form,
            "entitled": len(entitled),
            "present": present,
            "quorum_problems": R.quorum_problems(len(entitled), present, rules),
        },
    )


@login_required
@require_safe
@scoped
def vote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    vote = queries.access_vote(user, pk)
    manage = queries.can_manage(user, vote.meeting.organization)
    is_open = vote.status == PollStatus.OPEN
    own = queries.own_member(user)
    entry = RollEntry.objects.filter(vote=vote, member=own).first() if own else None
    return render(
        request,
        "meetings/vote.html",
        {
            "vote": vote,
            "manage": manage,
            "open": is_open,
            "online": vote.mode == BallotMode.ONLINE,
            "entry": entry,
            "cast_form": CastForm() if is_open and entry and not entry.has_voted else None,
            "counts_form": CountsForm() if manage and is_open and vote.mode != BallotMode.ONLINE else None,
            "voted": RollEntry.objects.filter(vote=vote, has_voted=True).count() if is_open else None,
        },
    )


@login_required
@require_POST
@scoped
def vote_cast(request: HttpRequest, pk: int) -> HttpResponse:
    vote = queries.access_vote(request.user, pk)
    form = CastForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择赞成、反对或弃权。"))
        return redirect("meetings:vote", pk=vote.pk)
    _flash_outcome(
        request,
        lambda: actions.do_cast_ballot(vote, form.cleaned_data["choice"], actor=request.user),
        _("您的票已投出。无记名投票：系统只记录您已投票，不记录您投了什么。"),
    )
    return redirect("meetings:vote", pk=vote.pk)


@login_required
@require_POST
@scoped
def vote_close(request: HttpRequest, pk: int) -> HttpResponse:
    vote = queries.access_vote(request.user, pk)
    if not queries.can_manage(request.user, vote.meeting.organization):
        raise PermissionDenied
    counts: dict[str, Any] = {}
    if vote.mode != BallotMode.ONLINE:
        form = CountsForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写赞成、反对、弃权票数（不小于 0 的整数）。"))
            return redirect("meetings:vote", pk=vote.pk)
        counts = form.cleaned_data
    _flash_outcome(
        request,
        lambda: actions.do_close_vote(vote, actor=request.user, now=now(), **counts),
        _("表决已结束。"),
    )
    return redirect("meetings:vote", pk=vote.pk)


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def election_create(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = queries.access_managed_meeting(request.user, pk)
    entitled, voters = queries.roll_call(meeting)
    form = ElectionForm(
        request.POST or None,
        members=PartyMember.objects.filter(pk__in=[m.pk for m in entitled]).order_by("name", "id"),
    )
    present = len(voters)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        election = _try_action(
            form,
            lambda: actions.do_open_election(
                meeting,
                title=d["title"],
                seats=d["seats"],
                mode=d["mode"],
                candidate_ids=[m.pk for m in d["candidates"]],
                actor=request.user,
            ),
        )
        if election is not None:
            messages.success(request, _("选举已开始。"))
            return redirect("meetings:election", pk=election.pk)
    return render(
        request,
        "meetings/election_create.html",
        {"meeting": meeting, "form": form, "entitled": len(entitled), "present": present},
    )


@login_required
@require_safe
@scoped
def election_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    election = queries.access_election(user, pk)
    manage = queries.can_manage(user, election.meeting.organization)
    is_open = election.status == PollStatus.OPEN
    candidates = list(election.candidates.select_related("member"))
    own = queries.own_member(user)
    entry = RollEntry.objects.filter(election=election, member=own).first() if own else None
    return render(
        request,
        "meetings/election.html",
        {
            "election": election,
            "manage": manage,
            "open": is_open,
            "candidates": sorted(candidates, key=lambda c: (-(c.votes or 0), c.member.name))
            if not is_open
            else candidates,
            "entry": entry,
            "cast_form": ElectionCastForm(candidates=candidates, seats=election.seats)
            if is_open and entry and not entry.has_voted
            else None,
            "counts_form": ElectionCountsForm(candidates=candidates)
            if manage and is_open and election.mode != BallotMode.ONLINE
            else None,
            "voted": RollEntry.objects.filter(election=election, has_voted=True).count() if is_open else None,
            "runoff_names": [c.member.name for c in candidates if c.pk in set(election.runoff)],
        },
    )


@login_required
@require_POST
@scoped
def election_cast(request: HttpRequest, pk: int) -> HttpResponse:
    election = queries.access_election(request.user, pk)
    _flash_outcome(
        request,
        lambda: actions.do_cast_election_ballot(
            election, request.POST.getlist("candidates"), actor=request.user
        ),
        _("您的选票已投出。无记名投票：系统只记录您已投票，不记录您选了谁。"),
    )
    return redirect("meetings:election", pk=election.pk)


@login_required
@require_POST
@scoped
def election_close(request: HttpRequest, pk: int) -> HttpResponse:
    election = queries.access_election(request.user, pk)
    if not queries.can_manage(request.user, election.meeting.organization):
        raise PermissionDenied
    votes = None
    if election.mode != BallotMode.ONLINE:
        form = ElectionCountsForm(request.POST, candidates=list(election.candidates.select_related("member")))
        if not form.is_valid():
            messages.error(request, _("请填写每名候选人的得票数（不小于 0 的整数）。"))
            return redirect("meetings:election", pk=election.pk)
        votes = form.votes()
    _flash_outcome(
        request,
        lambda: actions.do_close_election(election, actor=request.user, votes=votes, now=now()),
        _("选举已结束，结果已记录。"),
    )
    return redirect("meetings:election", pk=election.pk)


# ---------------------------------------------------------------------------------------------
# The compliance report
# ---------------------------------------------------------------------------------------------


@login_required
@require_safe
@scoped
def compliance(request: HttpRequest) -> HttpResponse:
    """三会一课 per branch and quarter: held, missing, attendance. Procedure, not a ranking."""
    user = request.user
    _staff_only(request)
    today = timezone.localdate()
    branches = queries.viewable_branches(user)
    defaults = {"year": today.year, "quarter": (today.month - 1) // 3 + 1}
    form = ComplianceForm(request.GET or None, branches=branches, initial=defaults)
    year, quarter, branch = defaults["year"], defaults["quarter"], None
    if request.GET and form.is_valid():
        year, quarter, branch = (
            form.cleaned_data["year"],
            form.cleaned_data["quarter"],
            form.cleaned_data["branch"],
        )
    reports, problem = [], None
    try:
        reports = queries.compliance_report(
            user, year, quarter, branch_id=branch.pk if branch else None, today=today
        )
    except errors.RuleViolation as exc:
        if isinstance(exc, errors.NotFound | errors.PermissionDenied):
            raise
        problem = exc.message
    return render(
        request,
        "meetings/compliance.html",
        {"form": form, "reports": reports, "year": year, "quarter": quarter, "problem": problem},
    )


# ---------------------------------------------------------------------------------------------
# 四议两公开
# ---------------------------------------------------------------------------------------------


def _village_branches(user: Any) -> Any:
    return queries.manageable_branches(user).filter(is_village_or_community=True)


@login_required
@require_safe
def decision_list(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    decisions = queries.visible_decisions(request.user).order_by("-created_at", "-id")
    page = Paginator(decisions, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "meetings/decisions.html",
        {"page": page, "can_create": _village_branches(request.user).exists()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def decision_create(request: HttpRequest) -> HttpResponse:
    branches = _village_branches(request.user)
    if not branches.exists():
        raise PermissionDenied
    form = DecisionForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        decision = _try_action(
            form,
            lambda: actions.do_start_decision(
                branch=d["branch"], title=d["title"], summary=d["summary"], actor=request.user
            ),
        )
        if decision is not None:
            return redirect("meetings:decision", pk=decision.pk)
    return render(request, "meetings/decision_create.html", {"form": form})


STEP_FIELDS = {
    DecisionStep.PROPOSAL: ["proposal"],
    DecisionStep.CONSULTATION: ["opinion"],
    DecisionStep.MEMBER_REVIEW: ["plan_sent_on", "entitled", "present", "in_favour"],
    DecisionStep.VILLAGER_DECISION: ["body", "by_households", "notice_on", "total", "present", "in_favour"],
    DecisionStep.RESOLUTION_PUBLIC: ["resolution", "place"],
    DecisionStep.RESULT_PUBLIC: ["result", "place"],
}


DATA_LABELS = {
    "proposal": gettext_lazy("提议内容"),
    "opinion": gettext_lazy("两委商议意见"),
    "plan_sent_on": gettext_lazy("方案送达党员日期"),
    "entitled": gettext_lazy("应到会党员"),
    "present": gettext_lazy("到会"),
    "in_favour": gettext_lazy("赞成"),
    "body": gettext_lazy("决议机构"),
    "by_households": gettext_lazy("按户的代表计算到会"),
    "notice_on": gettext_lazy("通知日期"),
    "total": gettext_lazy("应到"),
    "resolution": gettext_lazy("决议内容"),
    "result": gettext_lazy("实施结果"),
    "place": gettext_lazy("公开方式或地点"),
}


def _data_rows(record: Any) -> list[tuple[str, Any]]:
    if record is None:
        return []
    rows = []
    for key, value in record.data.items():
        if value in (None, "") or (key == "by_households" and not value):
            continue
        if key == "body":
            value = VillageBody(value).label
        elif value is True:
            value = _("是")
        rows.append((str(DATA_LABELS.get(key, key)), value))
    return rows


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    decision = queries.access_decision(user, pk)
    manage = queries.can_manage(user, decision.branch)
    step = decision.next_step
    form = None
    if manage and step:
        form = decision_step_form(step, request.POST or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            record = _try_action(
                form,
                lambda: actions.do_record_decision_step(
                    decision,
                    step,
                    held_on=d["held_on"],
                    notes=d["notes"],
                    data={k: d[k] for k in STEP_FIELDS[step]},
                    actor=user,
                ),
            )
            if record is not None:
                messages.success(request, _("已登记“%(s)s”。") % {"s": DecisionStep(step).label})
                return redirect("meetings:decision", pk=decision.pk)
    elif request.method == "POST":
        raise PermissionDenied
    records = {r.step: r for r in decision.records.all()}
    steps = [(s, records.get(s.value), _data_rows(records.get(s.value))) for s in DecisionStep]
    return render(
        request,
        "meetings/decision.html",
        {
            "decision": decision,
            "steps": steps,
            "form": form,
            "next_step": DecisionStep(step) if step else None,
            "manage": manage,
            "rejected": decision.status == DecisionStatus.REJECTED,
        },
    )


@login_required
@require_safe
@scoped
def decision_notice(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """The two public notices (决议公开, 实施结果公开) as printable pages."""
    decision = queries.access_decision(request.user, pk)
    step = {"resolution": DecisionStep.RESOLUTION_PUBLIC, "result": DecisionStep.RESULT_PUBLIC}.get(which)
    records = {r.step: r for r in decision.records.all()}
    if step is None or step not in records:
        raise Http404
    return render(
        request,
        "meetings/decision_notice.html",
        {
            "decision": decision,
            "which": which,
            "record": records[step],
            "review": records.get(DecisionStep.MEMBER_REVIEW),
            "village": records.get(DecisionStep.VILLAGER_DECISION),
            "proposal": records.get(DecisionStep.PROPOSAL),
            "consultation": records.get(DecisionStep.CONSULTATION),
        },
    )


# ---------------------------------------------------------------------------------------------
# 民主评议党员 and 留党察看
# ---------------------------------------------------------------------------------------------


@login_required
@require_safe
def appraisal_list(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    appraisals = queries.visible_appraisals(request.user).order_by("-year", "branch__path")
    return render(
        request,
        "meetings/appraisals.html",
        {"appraisals": appraisals, "can_create": queries.manageable_branches(request.user).exists()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def appraisal_create(request: HttpRequest) -> HttpResponse:
    branches = queries.manageable_branches(request.user)
    if not branches.exists():
        raise PermissionDenied
    form = AppraisalForm(request.POST or None, branches=branches, initial={"year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        appraisal = _try_action(
            form,
            lambda: actions.do_open_appraisal(
                branch=form.cleaned_data["branch"], year=form.cleaned_data["year"], actor=request.user
            ),
        )
        if appraisal is not None:
            return redirect("meetings:appraisal", pk=appraisal.pk)
    return render(request, "meetings/appraisal_create.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
@scoped
def appraisal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    appraisal = queries.access_appraisal(user, pk)
    manage = queries.can_manage(user, appraisal.branch)
    entries = list(appraisal.entries.select_related("member"))
    is_open = appraisal.status == PollStatus.OPEN
    form = GradesForm(request.POST or None, entries=entries) if manage and is_open else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            close = "close" in request.POST
            graded = _try_action(
                form, lambda: actions.do_record_grades(appraisal, form.grades(), actor=user, close=close)
            )
            if graded is not None:
                messages.success(request, _("评议结果已保存并结束。") if close else _("评议结果已保存。"))
                return redirect("meetings:appraisal", pk=appraisal.pk)
    tally = {g.value: 0 for g in Grade}
    for e in entries:
        if e.grade:
            tally[e.grade] += 1
    return render(
        request,
        "meetings/appraisal.html",
        {
            "appraisal": appraisal,
            "entries": entries,
            "form": form,
            "manage": manage,
            "open": is_open,
            "graded": sum(1 for e in entries if e.graded),
            "tally": [(g.label, tally[g.value]) for g in Grade],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def probations(request: HttpRequest) -> HttpResponse:
    """留党察看 records: entered once, used by every vote, election and appraisal."""
    user = request.user
    _staff_only(request)
    branches = queries.manageable_branches(user)
    form = None
    if branches.exists():
        form = ProbationForm(
            request.POST or None,
            members=PartyMember.objects.filter(branch__in=branches, status=Status.FULL).order_by(
                "name", "id"
            ),
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            d = form.cleaned_data
            probation = _try_action(
                form,
                lambda: actions.do_record_disciplinary_probation(
                    d["member"],
                    starts_on=d["starts_on"],
                    ends_on=d["ends_on"],
                    decided_by=d["decided_by"],
                    reason=d["reason"],
                    actor=user,
                ),
            )
            if probation is not None:
                messages.success(request, _("已登记。"))
                return redirect("meetings:probations")
    rows = queries.visible_probations(user).order_by("-starts_on")[:200]
    return render(request, "meetings/probations.html", {"form": form, "rows": rows})
