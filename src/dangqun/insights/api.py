"""/api/v1/insights: the scoped monthly summary, the public summary, suggestions and their tasks.

Thin endpoints: parse, access_* (404 outside the caller's subtree), one action, the response.
A month is "YYYY-MM" between 2000-01 and the current month; anything else is a 422 in words.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from dangqun.accounts.models import User
from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm
from dangqun.core.schemas import ERRORS, PUBLIC_ERRORS

from . import actions, queries, suggest
from .choices import SuggestionState, TaskStatus
from .models import ImprovementTask, Suggestion

router = Router(tags=["insights"])

PK = Annotated[int, Field(ge=1, le=2**63 - 1)]
Month = Annotated[str, Field(max_length=7, description="统计月份 YYYY-MM，如 2026-11", examples=["2026-11"])]


class SummaryFilters(Schema):
    month: Month = ""
    org: PK | None = Field(None, description="组织编号（默认：本人可查看的最上级组织）")


class ColumnOut(Schema):
    key: str
    label: str
    kind: str


class SectionOut(Schema):
    key: str
    title: str
    columns: list[ColumnOut]
    rows: list[list[Any]]


class SummaryOut(Schema):
    org_id: int
    org: str
    month: str
    sections: list[SectionOut]
    computed_at: datetime = Field(..., description="统计结果的计算时间（同一范围与月份共享，最多 30 秒）")


class PublicRowOut(Schema):
    department_id: int
    department: str
    ratings: int
    average: float | None
    satisfied_rate: float | None = Field(..., description="满意率（基本满意及以上），0–1")
    bad: int = Field(..., description="差评数（1–2级）")
    fixes: int
    fixed_rate: float | None
    replied_rate: float | None


class PublicOut(Schema):
    month: str
    departments: list[PublicRowOut]


class TaskOut(Schema):
    id: int
    title: str
    owner_id: int
    due: date
    status: str
    note: str
    done_on: date | None


class SuggestionOut(Schema):
    id: int
    month: str
    unit_id: int
    unit: str
    kind: str
    text: str
    metric: float
    baseline: float | None
    evidence: dict[str, Any]
    state: str
    dismiss_reason: str
    task: TaskOut | None
    effect: dict[str, Any] | None


class SuggestionFilters(Schema):
    month: Month = ""
    state: SuggestionState | None = None


class AcceptIn(Schema):
    owner_id: PK
    due: date
    title: str = Field("", max_length=200)


class DismissIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class TaskIn(Schema):
    status: TaskStatus
    note: str = Field("", max_length=4000)


@router.get("/insights/summary", response={200: SummaryOut, **ERRORS}, summary="月度统计（按权限范围）")
def summary(request: HttpRequest, filters: Query[SummaryFilters]) -> dict[str, Any]:
    if not has_perm(request.auth, queries.PERM):
        raise NotFound()
    month = queries.parse_month(filters.month)
    org = queries.access_org(request.auth, filters.org) if filters.org else queries.default_org(request.auth)
    if org is None:
        raise NotFound()
    sections, computed_at = queries.Dashboard(org, month).summary()
    return {
        "org_id": org.pk,
        "org": org.name,
        "month": queries.month_label(month),
        "sections": sections,
        "computed_at": computed_at,
    }


@router.get(
    "/insights/public/{month}",
    auth=None,
    response={200: PublicOut, **PUBLIC_ERRORS},
    summary="好差评月度公示（公开）",
)
def public(request: HttpRequest, month: Path[Month]) -> dict[str, Any]:
    m = queries.parse_month(month)
    return {"month": queries.month_label(m), "departments": queries.public_summary(m)}


def _suggestion_out(s: Suggestion) -> dict[str, Any]:
    task = getattr(s, "task", None)
    effect = suggest.effect(s) if s.state == SuggestionState.ACCEPTED else None
    if effect:
        effect = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in effect.items()}
    return {
        "id": s.pk,
        "month": queries.month_label(s.month),
        "unit_id": s.unit_id,
        "unit": s.unit.name,
        "kind": s.kind,
        "text": suggest.text(s),
        "metric": s.metric,
        "baseline": s.baseline,
        "evidence": s.evidence,
        "state": s.state,
        "dismiss_reason": s.dismiss_reason,
        "task": task,
        "effect": effect,
    }


def _access_suggestion(actor: Any, pk: int) -> Suggestion:
    s = Suggestion.objects.select_related("unit").filter(pk=pk).first()
    if s is None or not has_perm(actor, queries.PERM, s.unit):
        raise NotFound()
    return s


@router.get("/insights/suggestions", response={200: list[SuggestionOut], **ERRORS}, summary="改进建议")
def suggestions(request: HttpRequest, filters: Query[SuggestionFilters]) -> list[dict[str, Any]]:
    if not has_perm(request.auth, queries.PERM):
        raise NotFound()
    month = queries.parse_month(filters.month, queries.last_complete_month())
    qs = (
        Suggestion.objects.filter(queries.suggestion_scope(request.auth), month=month)
        .select_related("unit", "task")
        .order_by("unit_path", "kind", "id")
    )
    if filters.state:
        qs = qs.filter(state=filters.state)
    return [_suggestion_out(s) for s in qs[:500]]


@router.post(
    "/insights/suggestions/{suggestion_id}/accept",
    response={200: SuggestionOut, **ERRORS},
    summary="采纳建议，建立改进任务",
)
def accept(request: HttpRequest, suggestion_id: Path[PK], payload: AcceptIn) -> dict[str, Any]:
    s = _access_suggestion(request.auth, suggestion_id)
    owner = User.objects.filter(pk=payload.owner_id).first()
    actions.do_accept_suggestion(s, owner=owner, due=payload.due, title=payload.title, actor=request.auth)
    return _suggestion_out(_access_suggestion(request.auth, suggestion_id))


@router.post(
    "/insights/suggestions/{suggestion_id}/dismiss",
    response={200: SuggestionOut, **ERRORS},
    summary="不采纳建议（须写明理由）",
)
def dismiss(request: HttpRequest, suggestion_id: Path[PK], payload: DismissIn) -> dict[str, Any]:
    s = _access_suggestion(request.auth, suggestion_id)
    actions.do_dismiss_suggestion(s, reason=payload.reason, actor=request.auth)
    return _suggestion_out(_access_suggestion(request.auth, suggestion_id))


@router.post("/insights/tasks/{task_id}", response={200: TaskOut, **ERRORS}, summary="更新改进任务进度")
def update_task(request: HttpRequest, task_id: Path[PK], payload: TaskIn) -> ImprovementTask:
    task = ImprovementTask.objects.select_related("suggestion__unit").filter(pk=task_id).first()
    if task is None or not (
        task.owner_id == request.auth.pk or has_perm(request.auth, queries.PERM, task.suggestion.unit)
    ):
        raise NotFound()
    return actions.do_update_task(task, status=payload.status, note=payload.note, actor=request.auth)
