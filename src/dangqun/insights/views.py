"""Dashboard pages, Excel downloads, the public monthly summary, suggestions and tasks.

Thin views (DESIGN.md): access_* answers 404 outside the viewer's subtree; every figure comes
from the pre-aggregated statistics (queries.py); changes go through actions.py. Pages work
without JavaScript: each chart is drawn from the table printed right under it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from dangqun.accounts.models import User
from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import has_perm

from . import actions, export, queries, stats, suggest
from .choices import SuggestionKind, SuggestionState, TaskStatus
from .models import Cursor, ImprovementTask, Suggestion

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _found(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except NotFound:
        raise Http404 from None


def _month(request: HttpRequest, default: date | None = None) -> tuple[date, str]:
    """The ?month= filter; an invalid one is explained and the default month shown instead."""
    try:
        return queries.parse_month(request.GET.get("month"), default), ""
    except RuleViolation as exc:
        return default or queries.current_month(), exc.message


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """看板: the viewer's widest dashboard; staff without dashboard rights see the public summary."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    org = queries.default_org(request.user) if has_perm(request.user, queries.PERM) else None
    if org is None:
        return redirect("insights:public")
    return redirect("insights:dashboard", org_id=org.pk)


@login_required
@require_safe
def dashboard(request: HttpRequest, org_id: int) -> HttpResponse:
    org = _found(queries.access_org, request.user, org_id)
    month, month_error = _month(request)
    board = queries.Dashboard(org, month)
    sections = board.sections()
    for section in sections:
        section.export_url = (
            reverse("insights:export", args=[org.pk, section.key]) + f"?month={queries.month_label(month)}"
        )
    return render(
        request,
        "insights/dashboard.html",
        {
            "org": org,
            "month": month,
            "month_value": queries.month_label(month),
            "max_month": queries.month_label(queries.current_month()),
            "month_error": month_error,
            "sections": sections,
            "others": [o for o in queries.dashboard_roots(request.user) if o.pk != org.pk],
            "cases_as_of": Cursor.objects.filter(name=stats.EVENT_CURSOR)
            .values_list("updated_at", flat=True)
            .first(),
            "open_suggestions": Suggestion.objects.filter(
                queries.in_subtree(org), state=SuggestionState.OPEN
            ).count(),
        },
    )


@login_required
@require_safe
def dashboard_export(request: HttpRequest, org_id: int, section: str) -> HttpResponse:
    org = _found(queries.access_org, request.user, org_id)
    month, _error = _month(request)
    board = queries.Dashboard(org, month)
    chosen = board.sections() if section == "all" else [_found(board.section, section)]
    title = f"{org.name} {queries.month_label(month)}"
    return _xlsx(export.workbook(chosen, title), f"insights-{org.pk}-{queries.month_label(month)}-{section}")


@require_safe
def public(request: HttpRequest, month: str | None = None) -> HttpResponse:
    """The published monthly summary of 好差评 per department (onestop.md §5): no login."""
    default = queries.last_complete_month()
    try:
        m = queries.parse_month(month, default)
    except RuleViolation:
        raise Http404 from None
    chosen, error = _month(request, m) if "month" in request.GET else (m, "")
    if "month" in request.GET and not error:
        return redirect("insights:public_month", month=queries.month_label(chosen))
    section = queries.public_section(chosen)
    section.export_url = reverse("insights:public_export", args=[queries.month_label(chosen)])
    return render(
        request,
        "insights/public.html",
        {
            "month": chosen,
            "month_value": queries.month_label(chosen),
            "max_month": queries.month_label(queries.current_month()),
            "month_error": error,
            "section": section,
            "sections": [section],
        },
    )


@require_safe
def public_export(request: HttpRequest, month: str) -> HttpResponse:
    try:
        m = queries.parse_month(month)
    except RuleViolation:
        raise Http404 from None
    section = queries.public_section(m)
    return _xlsx(export.workbook([section], _("好差评月度公示")), f"haochaping-{queries.month_label(m)}")


# --- suggestions and tasks ------------------------------------------------------------------------


def _suggestion(actor: Any, pk: int) -> Suggestion:
    s = Suggestion.objects.select_related("unit").filter(pk=pk).first()
    if s is None or not has_perm(actor, queries.PERM, s.unit):
        raise Http404
    return s


@login_required
@require_safe
def suggestions(request: HttpRequest) -> HttpResponse:
    if not has_perm(request.user, queries.PERM):
        raise Http404
    month, month_error = _month(request, queries.last_complete_month())
    state = request.GET.get("state", "")
    qs = (
        Suggestion.objects.filter(month=month)
        .filter(queries.suggestion_scope(request.user))
        .select_related("unit", "task__owner", "decided_by")
        .order_by("unit_path", "kind", "id")
    )
    if state in SuggestionState.values:
        qs = qs.filter(state=state)
    rows = []
    owners_by_unit: dict[int, list[User]] = {}
    today = timezone.localdate()
    for s in qs[:300]:
        if s.state == SuggestionState.OPEN and s.unit_id not in owners_by_unit:
            owners_by_unit[s.unit_id] = actions.owner_choices(s.unit)
        rows.append(
            {
                "s": s,
                "text": suggest.text(s),
                "task": getattr(s, "task", None),
                "effect": suggest.effect(s, today) if s.state == SuggestionState.ACCEPTED else None,
                "owners": owners_by_unit.get(s.unit_id, []),
                "can_decide": actions.can_decide(request.user, s),
            }
        )
    # The effect of last month's accepted suggestions, measured on this month (issue 5 item 5).
    followups = [
        {
            "s": s,
            "text": suggest.text(s),
            "task": getattr(s, "task", None),
            "effect": suggest.effect(s, today),
        }
        for s in Suggestion.objects.filter(queries.suggestion_scope(request.user))
        .filter(month=stats.prev_month(month), state=SuggestionState.ACCEPTED)
        .select_related("unit", "task")
        .order_by("unit_path", "kind", "id")[:100]
    ]
    return render(
        request,
        "insights/suggestions.html",
        {
            "rows": rows,
            "followups": followups,
            "previous_month": queries.month_label(stats.prev_month(month)),
            "month": month,
            "month_value": queries.month_label(month),
            "max_month": queries.month_label(queries.current_month()),
            "month_error": month_error,
            "state": state,
            "states": SuggestionState.choices,
            "kinds": SuggestionKind.choices,
            "default_due": today + timedelta(days=30),
            "today": today,
            "task_states": TaskStatus.choices,
        },
    )


def _back(request: HttpRequest, s: Suggestion) -> HttpResponse:
    return redirect(f"{reverse('insights:suggestions')}?month={queries.month_label(s.month)}#s{s.pk}")


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    s = _suggestion(request.user, pk)
    try:
        due = date.fromisoformat(request.POST.get("due", ""))
    except ValueError:
        messages.error(request, _("请填写有效的完成期限。"))
        return _back(request, s)
    owner = User.objects.filter(pk=_int(request.POST.get("owner"))).first()
    try:
        actions.do_accept_suggestion(
            s, owner=owner, due=due, title=request.POST.get("title", ""), actor=request.user
        )
    except RuleViolation as exc:
        for v in exc.violations:
            messages.error(request, str(v.message))
    else:
        messages.success(request, _("已采纳，改进任务已建立。"))
    return _back(request, s)


@login_required
@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    s = _suggestion(request.user, pk)
    try:
        actions.do_dismiss_suggestion(s, reason=request.POST.get("reason", ""), actor=request.user)
    except RuleViolation as exc:
        for v in exc.violations:
            messages.error(request, str(v.message))
    else:
        messages.success(request, _("已记录不采纳的理由。"))
    return _back(request, s)


@login_required
@require_POST
def update_task(request: HttpRequest, pk: int) -> HttpResponse:
    task = ImprovementTask.objects.select_related("suggestion__unit").filter(pk=_int(pk)).first()
    if task is None or not (
        task.owner_id == request.user.pk or has_perm(request.user, queries.PERM, task.suggestion.unit)
    ):
        raise Http404
    try:
        actions.do_update_task(
            task, status=request.POST.get("status", ""), note=request.POST.get("note", ""), actor=request.user
        )
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("任务进度已更新。"))
    return _back(request, task.suggestion)


def _int(value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return n if 0 < n < 2**63 else 0
