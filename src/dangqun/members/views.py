"""Member pages: branches, the roster (search, filters, Excel), a member's record and timeline
with the form that records the next step, registering an applicant, due this month, import.

Thin views (DESIGN.md): scope with queries.access_* (404 outside the user's subtree), change
through one action, show every broken rule beside its field. Forms work without JavaScript;
htmx only swaps the roster results and the step form in place.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect

from dangqun.core import permissions
from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import has_perm, scope_filter
from dangqun.core.rulesets import ruleset_for
from dangqun.core.validators import mask_id_number
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import queries
from . import rules as R
from .actions import do_cancel_probation, do_extend_probation, do_record_step, do_register_applicant
from .choices import DuesCategory, Status, StepState
from .exporting import roster_response
from .forms import (
    VIOLATION_FIELDS,
    ImportConfirmForm,
    ImportUploadForm,
    ProbationCancelForm,
    ProbationExtendForm,
    RegisterApplicantForm,
    RosterFilterForm,
    StepForm,
    try_action,
)
from .importing import MAX_SHOWN_ERRORS, UPLOAD_DIR, ImportRejected, do_import_members, max_bytes
from .models import PartyMember, ProbationCancellation, StepEvidence

ROSTER_PAGE_SIZE = 50
DUE_PAGE_SIZE = 100
BRANCHES_PAGE_SIZE = 50
IMPORT_SESSION_KEY = "members_imports"


def scoped(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in; a scope miss (core NotFound) is a 404 page, a missing right a 403 page."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        except permissions.PermissionDenied:
            raise PermissionDenied from None

    return login_required(wrapped)


def _can_change_somewhere(user: Any) -> bool:
    return has_perm(user, "members.change")


# ---------------------------------------------------------------------------------------------
# Branches and the roster
# ---------------------------------------------------------------------------------------------


@scoped
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """The branches whose members the user may see; a member goes to their own record."""
    user = request.user
    if not has_perm(user, "members.view"):
        own = queries.own_member(user)
        if own is not None:
            return redirect("members:detail", pk=own.pk)
        raise PermissionDenied
    branches = queries.visible_branches(user).select_related("parent")
    q = (request.GET.get("q") or "").strip()[:40]
    if q:
        branches = branches.filter(name__contains=q)
    page = Paginator(branches, BRANCHES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/index.html",
        {
            "page": page,
            "q": q,
            "units": list(queries.visible_party_units(user)),
            "can_change": _can_change_somewhere(user),
            "query": _query_without_page(request),
        },
    )


@scoped
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own record."""
    own = queries.own_member(request.user)
    if own is None:
        raise Http404
    return redirect("members:detail", pk=own.pk)


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


KEY_DATES = (
    ("applied_on", gettext_lazy("申请")),
    ("activist_on", gettext_lazy("积极分子")),
    ("candidate_on", gettext_lazy("发展对象")),
    ("admitted_on", gettext_lazy("接收预备党员")),
    ("probation_ends_on", gettext_lazy("预备期满")),
    ("full_on", gettext_lazy("转正")),
)


ROW_FIELDS = (
    "id",
    "name",
    "status",
    "id_number",
    "group__name",
    "post",
    "dues_category",
    *(key for key, _label in KEY_DATES),
)


def _standing(full_on: date | None, today: date) -> int | None:
    """党龄 in whole years (PartyMember.party_standing_years, on a row of values)."""
    if full_on is None or today < full_on:
        return None
    return today.year - full_on.year - ((today.month, today.day) < (full_on.month, full_on.day))


def _roster_rows(rows: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """What a roster row shows, ready to print: the page renders 50 of them on every request,
    so plain values (no model instances) and the strings made here, not in the template."""
    out = []
    years = {}
    for r in rows:
        # Once full, the end of probation is history (the full-membership date says it).
        skip = "probation_ends_on" if r["status"] == Status.FULL else ""
        standing = _standing(r["full_on"], today)
        if standing not in years:
            years[standing] = (
                ngettext("%(n)d 年", "%(n)d 年", standing) % {"n": standing} if standing is not None else "—"
            )
        out.append(
            {
                "url": f"/members/{r['id']}/",
                "name": r["name"],
                "status": Status(r["status"]).label,
                "id_masked": mask_id_number(r["id_number"]) or "—",
                "group": r["group__name"] or "—",
                "dates": [f"{label} {r[key]:%Y-%m-%d}" for key, label in KEY_DATES if r[key] and key != skip],
                "standing": years[standing],
                "post": r["post"] or "—",
                "dues": DuesCategory(r["dues_category"]).label if r["dues_category"] else "—",
            }
        )
    return out


@scoped
@require_safe
def roster(request: HttpRequest, org_id: int) -> HttpResponse:
    """One branch's members: search (name, pinyin, initials), filters, 50 a page, ID masked."""
    branch = queries.access_branch(request.user, org_id)
    groups = list(Organization.objects.filter(parent=branch, kind=OrgKind.GROUP).only("id", "name"))
    form = RosterFilterForm(request.GET, groups)
    filters = form.filters()
    qs = queries.branch_roster(branch, **filters).values(*ROW_FIELDS)
    page = Paginator(qs, ROSTER_PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    context = {
        "branch": branch,
        "form": form,
        "page": page,
        "rows": _roster_rows(list(page.object_list), today),
        "query": _query_without_page(request),
        "can_change": has_perm(request.user, "members.change", branch),
        "filtered": any(v not in (None, "") for v in filters.values()),
    }
    if request.htmx and request.htmx.target == "roster-results":
        return render(request, "members/partials/roster_results.html", context)
    return render(request, "members/roster.html", context)


@scoped
@require_safe
def roster_export(request: HttpRequest, org_id: int) -> HttpResponse:
    """The roster as the filters show it, as .xlsx (full ID numbers for those who may change)."""
    branch = queries.access_branch(request.user, org_id)
    groups = list(Organization.objects.filter(parent=branch, kind=OrgKind.GROUP).only("id", "name"))
    filters = RosterFilterForm(request.GET, groups).filters()
    masked = request.GET.get("masked") == "1" or not has_perm(request.user, "members.change", branch)
    return roster_response(
        queries.branch_roster(branch, **filters),
        actor=request.user,
        scope=branch,
        masked=masked,
        filters=filters,
    )


# ---------------------------------------------------------------------------------------------
# Due this month
# ---------------------------------------------------------------------------------------------

DUE_LABELS = {
    "talk": gettext_lazy("入党申请后派人谈话（第2步）"),
    "activist_review": gettext_lazy("入党积极分子定期考察（第6步）"),
    "admission_approval": gettext_lazy("上级党委审批接收预备党员（第17步）"),
    "probation_end": gettext_lazy("预备期满，讨论转正（第23步）"),
    "full_approval": gettext_lazy("上级党委审批转正（第24步）"),
}


def _month_param(value: str | None, today: date) -> date:
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        return date(year, month, 1)
    except (TypeError, ValueError):
        return R.month_of(today)


@scoped
@require_safe
def due(request: HttpRequest, org_id: int) -> HttpResponse:
    """Steps due or overdue this month for a branch, or for every branch of a 党总支/基层党委."""
    org = queries.access_party_unit(request.user, org_id)
    today = timezone.localdate()
    month = _month_param(request.GET.get("month"), today)
    items = queries.due_items(org, month, today)
    counts = Counter(i.kind for i in items)
    page = Paginator(items, DUE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/due.html",
        {
            "org": org,
            "month": month,
            "month_label": R.month_label(month),
            "previous": R.add_months(month, -1).strftime("%Y-%m"),
            "next": R.add_months(month, 1).strftime("%Y-%m"),
            "this_month": month == R.month_of(today),
            "page": page,
            "total": len(items),
            "overdue": sum(1 for i in items if i.overdue),
            "summary": [(DUE_LABELS[k], counts[k]) for k in DUE_LABELS],
            "labels": DUE_LABELS,
            "across": org.kind != OrgKind.BRANCH,
            "query": _query_without_page(request),
        },
    )


# ---------------------------------------------------------------------------------------------
# A member's record and timeline; recording a step
# ---------------------------------------------------------------------------------------------

STATE_MARKS = {
    StepState.DONE: "✔",
    StepState.DUE: "→",
    StepState.OVERDUE: "!",
    StepState.WAITING: "…",
    StepState.PENDING: "○",
    StepState.LOCKED: "✖",
}


def _step_choices(entries: list[R.TimelineEntry]) -> list[tuple[int, str, str]]:
    """Steps that may be recorded now or later (not done, not locked), with their state."""
    return [
        (e.step, str(R.STEPS[e.step].name), str(StepState(e.state).label))
        for e in entries
        if e.state not in (StepState.DONE, StepState.LOCKED)
    ]


def _default_step(entries: list[R.TimelineEntry], wanted: Any) -> int | None:
    open_steps = [e for e in entries if e.state not in (StepState.DONE, StepState.LOCKED)]
    try:
        n = int(wanted)
    except (TypeError, ValueError):
        n = None
    if n is not None and any(e.step == n for e in open_steps):
        return n
    for states in ((StepState.OVERDUE, StepState.DUE), (StepState.WAITING,), (StepState.PENDING,)):
        for e in open_steps:
            if e.state in states:
                return e.step
    return None


def _member_context(
    request: HttpRequest, member: PartyMember, can_change: bool, form: StepForm | None = None
):
    today = timezone.localdate()
    prefetch_related_objects(
        [member],
        Prefetch("steps", queryset=member.steps.select_related("recorded_by").prefetch_related("evidence")),
        "probation_extensions",
        Prefetch("contact_links", queryset=member.contact_links.select_related("person")),
        Prefetch("introducer_links", queryset=member.introducer_links.select_related("person")),
    )
    state = queries.member_state(member)
    rules = ruleset_for(member.branch, today, prefix="party.dev.")
    entries = R.timeline(state, today, rules)
    stages = []
    for number, name in R.STAGES.items():
        stage_entries = [
            {"entry": e, "label": StepState(e.state).label, "mark": STATE_MARKS[e.state]}
            for e in entries
            if e.stage == number
        ]
        done = sum(1 for e in stage_entries if e["entry"].state == StepState.DONE)
        stages.append({"number": number, "name": name, "entries": stage_entries, "done": done})
    closed = member.status in R.CLOSED
    extensions = list(member.probation_extensions.all())
    if can_change and not closed and form is None:
        step = _default_step(entries, request.GET.get("step"))
        if step is not None:
            form = StepForm(step=step, member=member, initial={"done_on": today})
    return {
        "member": member,
        "can_change": can_change,
        "own": member.user_id is not None and member.user_id == request.user.pk,
        "status_label": Status(member.status).label,
        "standing": member.party_standing_years(today),
        "stages": stages,
        "steps": list(member.steps.all()),
        "extensions": extensions,
        "cancellation": _cancellation(member),
        "can_cancel": can_change and member.status == Status.PROBATIONARY,
        # Offered while an extension is still possible (party.dev.extension_max_times, once).
        "can_extend": can_change
        and member.status == Status.PROBATIONARY
        and len(extensions) < rules["party.dev.extension_max_times"],
        "contacts": [link.person for link in member.contact_links.all()],
        "introducers": [link.person for link in member.introducer_links.all()],
        "form": form,
        "step_choices": _step_choices(entries) if form is not None else [],
        "dues_label": DuesCategory(member.dues_category).label if member.dues_category else "",
        "today": today,
    }


def _cancellation(member: PartyMember) -> Any:
    """The 取消预备党员资格 record of a disqualified person (no query for anyone else)."""
    if member.status != Status.DISQUALIFIED:
        return None
    return ProbationCancellation.objects.filter(member=member).first()


@scoped
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    member, can_change = queries.access_member_page(request.user, pk)
    context = _member_context(request, member, can_change)
    if request.htmx and request.htmx.target == "record-step":
        return render(request, "members/partials/step_form.html", context)
    return render(request, "members/detail.html", context)


@scoped
@require_POST
def record_step(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one development step through actions.do_record_step: all or nothing."""
    member, can_change = queries.access_member_page(request.user, pk)
    if not can_change:
        raise PermissionDenied
    try:
        step = int(request.POST.get("step", ""))
    except ValueError:
        step = 0
    if step not in R.STEPS:
        messages.error(request, _("请选择要登记的步骤。"))
        return redirect("members:detail", pk=member.pk)
    form = StepForm(request.POST, request.FILES, step=step, member=member)
    if form.is_valid():
        data = form.cleaned_data
        recorded = try_action(
            form,
            lambda: do_record_step(
                member,
                step,
                data["done_on"],
                actor=request.user,
                responsible=data["responsible"],
                notes=data["notes"],
                files=data["files"],
                **form.evidence(),
            ),
            VIOLATION_FIELDS,
        )
        if recorded is not None:
            messages.success(
                request,
                _("已登记%(name)s的第%(n)d步“%(step)s”。")
                % {"name": member.name, "n": step, "step": R.STEPS[step].name},
            )
            url = reverse("members:detail", args=[member.pk])
            if request.htmx:
                # No fragment: htmx sets location.href, and an address that differs from the
                # page's only by its #fragment merely scrolls: the page would keep the old form
                # and never show the new step or the message.
                return HttpResponseClientRedirect(url)
            return redirect(url + "#timeline")
    member.refresh_from_db()
    context = _member_context(request, member, can_change, form=form)
    if request.htmx:
        return render(request, "members/partials/step_form.html", context)
    return render(request, "members/detail.html", context)


def _probation_decision(
    request: HttpRequest,
    member: PartyMember,
    form: ProbationCancelForm,
    action: Callable[..., Any],
    template: str,
    decision: str,
    success: Callable[[Any], str],
) -> HttpResponse:
    """The half the two probation decisions share: the posted decision (the form's fields are the
    action's keyword arguments) goes through the action, or the form shows every broken rule.
    `decision` names it in the page's title, breadcrumb and heading (probation_decision.html)."""
    if request.method == "POST" and form.is_valid():
        record = try_action(form, lambda: action(member, **form.cleaned_data, actor=request.user))
        if record is not None:
            messages.success(request, success(record))
            return redirect("members:detail", pk=member.pk)
    return render(
        request,
        template,
        {"member": member, "form": form, "status_label": Status(member.status).label, "decision": decision},
    )


@scoped
@require_http_methods(["GET", "POST"])
def cancel_probation(request: HttpRequest, pk: int) -> HttpResponse:
    """取消预备党员资格 through actions.do_cancel_probation: the 支部大会 date, the higher
    committee's approval date and name, the reason; every broken rule beside its field."""
    member, can_change = queries.access_member_page(request.user, pk)
    if not can_change:
        raise PermissionDenied
    return _probation_decision(
        request,
        member,
        ProbationCancelForm(request.POST or None),
        do_cancel_probation,
        "members/probation_cancel.html",
        _("取消预备党员资格"),
        lambda _record: _("已登记取消%(name)s的预备党员资格。") % {"name": member.name},
    )


@scoped
@require_http_methods(["GET", "POST"])
def extend_probation(request: HttpRequest, pk: int) -> HttpResponse:
    """延长预备期 through actions.do_extend_probation: the months, the 支部大会 date, the higher
    committee's approval date and name, the reason; every broken rule beside its field."""
    member, can_change = queries.access_member_page(request.user, pk)
    if not can_change:
        raise PermissionDenied
    rules = ruleset_for(member.branch, timezone.localdate(), prefix="party.dev.")
    form = ProbationExtendForm(request.POST or None)
    form.fields["months"].help_text = _("延长 %(lo)s 至 %(hi)s 个月，预备期只能延长 %(n)s 次。") % {
        "lo": rules["party.dev.extension_min_months"],
        "hi": rules["party.dev.extension_max_months"],
        "n": rules["party.dev.extension_max_times"],
    }
    return _probation_decision(
        request,
        member,
        form,
        do_extend_probation,
        "members/probation_extend.html",
        _("延长预备期"),
        lambda extension: (
            _("已登记%(name)s延长预备期 %(m)s 个月，预备期满日期改为 %(d)s。")
            % {"name": member.name, "m": extension.months, "d": extension.new_end.isoformat()}
        ),
    )


@scoped
@require_safe
def evidence(request: HttpRequest, pk: int, evidence_id: int) -> FileResponse:
    """A step's evidence file, for those who may see the member (served through the scope check,
    never from a public media URL)."""
    member, _can_change = queries.access_member_page(request.user, pk)
    item = StepEvidence.objects.filter(pk=evidence_id, step__member=member).first()
    if item is None:
        raise Http404
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.original_name or item.file.name.rsplit("/", 1)[-1],
        content_type=item.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@scoped
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register an applicant (step 1) through actions.do_register_applicant."""
    user = request.user
    if not _can_change_somewhere(user):
        raise PermissionDenied
    branches = Organization.objects.filter(
        scope_filter(user, "members.change"), kind=OrgKind.BRANCH
    ).order_by("path")
    initial = {"applied_on": timezone.localdate()}
    wanted = request.GET.get("branch")
    if wanted and wanted.isdigit():
        initial["branch"] = int(wanted)
    form = RegisterApplicantForm(request.POST or None, branches=branches, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        member = try_action(
            form,
            lambda: do_register_applicant(
                branch=data["branch"],
                name=data["name"],
                id_number=data["id_number"],
                applied_on=data["applied_on"],
                actor=user,
                phone=data["phone"],
                occupation=data["occupation"],
                responsible=data["responsible"],
                notes=data["notes"],
            ),
        )
        if member is not None:
            messages.success(request, _("已登记入党申请人%(name)s。") % {"name": member.name})
            return redirect("members:detail", pk=member.pk)
    return render(request, "members/register.html", {"form": form})


# ---------------------------------------------------------------------------------------------
# Import: upload → preview with every error → confirm
# ---------------------------------------------------------------------------------------------


def _stash(request: HttpRequest, data: bytes, filename: str) -> str:
    """Keep the uploaded file until it is confirmed (storage, not the session: any app server
    can take the confirmation); the session remembers which token belongs to this user."""
    token = secrets.token_hex(16)
    name = default_storage.save(f"{UPLOAD_DIR}/{token}.xlsx", ContentFile(data))
    stash = request.session.get(IMPORT_SESSION_KEY, {})
    stash[token] = {"name": name, "filename": filename[:200], "sha256": hashlib.sha256(data).hexdigest()}
    request.session[IMPORT_SESSION_KEY] = dict(list(stash.items())[-5:])  # the last five uploads
    return token


def _unstash(request: HttpRequest, token: str) -> tuple[bytes, dict] | None:
    entry = request.session.get(IMPORT_SESSION_KEY, {}).get(token)
    if entry is None or not default_storage.exists(entry["name"]):
        return None
    with default_storage.open(entry["name"], "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        return None
    return data, entry


def _forget(request: HttpRequest, token: str) -> None:
    stash = request.session.get(IMPORT_SESSION_KEY, {})
    entry = stash.pop(token, None)
    request.session[IMPORT_SESSION_KEY] = stash
    if entry:
        default_storage.delete(entry["name"])


def _preview(
    request: HttpRequest, report: Any, token: str, filename: str, form: ImportConfirmForm | None = None
):
    return render(
        request,
        "members/import_preview.html",
        {
            "report": report,
            "errors": report.errors[:MAX_SHOWN_ERRORS],
            "errors_truncated": len(report.errors) > MAX_SHOWN_ERRORS,
            "outcomes": [o for o in report.outcomes if o.action != "unchanged"][:MAX_SHOWN_ERRORS],
            "filename": filename,
            "form": form or ImportConfirmForm(initial={"token": token}),
        },
    )


@scoped
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Upload a roster .xlsx: checked at once, nothing written; the preview lists every error."""
    if not _can_change_somewhere(request.user):
        raise PermissionDenied
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > max_bytes():
            form.add_error(
                "file",
                _("文件不能超过 %(mb)d MB，该文件为 %(size).1f MB。")
                % {"mb": max_bytes() // (1024 * 1024), "size": upload.size / (1024 * 1024)},
            )
        else:
            data = upload.read()
            report = try_action(
                form, lambda: do_import_members(data, actor=request.user, dry_run=True, filename=upload.name)
            )
            if report is not None:
                token = _stash(request, data, upload.name)
                return _preview(request, report, token, upload.name)
    return render(request, "members/import.html", {"form": form, "max_mb": max_bytes() // (1024 * 1024)})


@scoped
@require_POST
def import_confirm(request: HttpRequest) -> HttpResponse:
    """Import the previewed file: everything, or the valid rows only if the user chose so."""
    if not _can_change_somewhere(request.user):
        raise PermissionDenied
    form = ImportConfirmForm(request.POST)
    token = request.POST.get("token", "")
    stashed = _unstash(request, token) if form.is_valid() else None
    if stashed is None:
        messages.error(request, _("找不到要导入的文件（可能已导入或已过期），请重新上传。"))
        return redirect("members:import")
    data, entry = stashed
    valid_only = form.cleaned_data["valid_only"]
    try:
        report = do_import_members(
            data, actor=request.user, valid_only=valid_only, filename=entry["filename"]
        )
    except ImportRejected as exc:
        form.add_error(
            "valid_only", _("文件中有错误的行。请勾选“只导入没有错误的行”，或修改文件后重新上传。")
        )
        messages.error(request, exc.message)
        return _preview(request, exc.report, token, entry["filename"], form)
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return redirect("members:import")
    _forget(request, token)
    messages.success(
        request,
        _("导入完成：新增 %(c)d 人，更新 %(u)d 人，无变化跳过 %(s)d 人，有错误未导入 %(e)d 行。")
        % {
            "c": report.created,
            "u": report.updated,
            "s": report.unchanged,
            "e": report.error_rows if valid_only else 0,
        },
    )
    return redirect("members:index")
