"""/api/v1/learning: recommendations, search, study records, requirements and aggregate
progress, sources → products → pushes with their delivery counts.

Thin endpoints: parse, access_* (404 outside the caller's scope), one action, the response.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status

from dangqun.core.errors import PermissionDenied
from dangqun.core.schemas import ERRORS

from . import actions, queries, recommend
from . import rules as R
from .choices import Post, ProductKind, Topic
from .models import ContentItem, Product, Push, Source
from .schemas import (
    ItemDetailOut,
    ItemFilters,
    ItemOut,
    OrgProgressOut,
    ProductIn,
    ProductOut,
    ProfileIn,
    ProfileOut,
    ProgressFilters,
    ProgressIn,
    ProgressOut,
    PushIn,
    PushOut,
    RecommendationFilters,
    RecommendationsOut,
    RecordOut,
    RequirementIn,
    RequirementOut,
    SourceIn,
    SourceOut,
    TopicIn,
)

router = Router(tags=["learning"])
PK = Path(..., ge=1, le=2**62)


def _item(i: ContentItem) -> dict[str, Any]:
    return {
        "id": i.pk,
        "title": i.title,
        "kind": i.kind,
        "topic": i.topic,
        "topic_label": str(Topic(i.topic).label),
        "level": i.level,
        "summary": i.summary,
        "minutes": i.minutes,
        "posts": list(i.posts),
        "published_at": i.published_at,
    }


def _learner(request: HttpRequest) -> Any:
    if not queries.is_learner(request.auth):
        raise PermissionDenied()
    return request.auth


@router.get(
    "/learning/recommendations",
    response={200: RecommendationsOut, **ERRORS},
    summary="我的学习推荐（含理由）",
)
def recommendations(request: HttpRequest, filters: Query[RecommendationFilters]):
    """Unfinished required items first (by due date), then personalised items; each with its reason."""
    user = _learner(request)
    data = recommend.recommendations(user, filters.limit)
    items = [
        {
            "id": r["item"].pk,
            "title": r["item"].title,
            "kind": r["item"].kind,
            "topic": r["item"].topic,
            "topic_label": str(Topic(r["item"].topic).label),
            "minutes": r["item"].minutes,
            "required": r["required"],
            "due_on": r["due_on"],
            "reason": r["reason"],
            "reason_code": r["reason_code"],
        }
        for r in data["items"]
    ]
    year = timezone.localdate().year
    totals = data["year_totals"] if data["year"] == year else None  # None: past midnight, count again
    progress = queries.my_progress(user, year, data["profile"], totals)
    return {"items": items, "source": data["source"], "progress": progress}


@router.get(
    "/learning/items", response={200: list[ItemOut], **ERRORS}, summary="学习内容（搜索：中文、全拼、简拼）"
)
def list_items(request: HttpRequest, filters: Query[ItemFilters]):
    user = request.auth
    if not (queries.is_learner(user) or queries.can_edit(user)):
        raise PermissionDenied()
    if filters.topic and filters.topic not in Topic.values:
        from dangqun.core.errors import RuleViolation

        raise RuleViolation("invalid_topic", _("没有这个主题。"), field="topic")
    if filters.q.strip():
        items = recommend.search(user, filters.q, topic=filters.topic, kind=filters.kind, limit=filters.limit)
    else:
        qs = queries.library(user) if queries.can_edit(user) else queries.visible_items(queries.profile(user))
        if filters.topic:
            qs = qs.filter(topic=filters.topic)
        if filters.kind:
            qs = qs.filter(kind=filters.kind)
        items = list(qs[: filters.limit])
    return [_item(i) for i in items]


@router.get("/learning/items/{item_id}", response={200: ItemDetailOut, **ERRORS}, summary="学习内容详情")
def get_item(request: HttpRequest, item_id: int = PK):
    item = queries.access_item(request.auth, item_id)
    data = _item(item)
    data.update(
        body=item.body,
        url=item.url,
        document_url=item.document.url if item.document else None,
        pass_percent=item.pass_percent,
        lessons=list(item.lessons.values("order", "title", "body", "url", "minutes")),
        questions=list(item.questions.values("order", "text", "options")),
    )
    return data


def _record(rec, applied: bool) -> dict[str, Any]:
    return {
        "item_id": rec.item_id,
        "seconds_spent": rec.seconds_spent,
        "finished": rec.finished_at is not None,
        "quiz_score": rec.quiz_score,
        "credited_hours": R.hours(rec.credited_seconds),
        "applied": applied,
    }


@router.post(
    "/learning/items/{item_id}/progress", response={200: RecordOut, **ERRORS}, summary="上报学习进度（幂等）"
)
def report_progress(request: HttpRequest, payload: ProgressIn, item_id: int = PK):
    """Adds time under an idempotency key: the same key again changes nothing (applied=false)."""
    user = _learner(request)
    item = queries.access_item(user, item_id)
    rec, applied = actions.do_report_progress(
        item,
        key=payload.key,
        seconds=payload.seconds,
        finished=payload.finished,
        answers=payload.answers,
        actor=user,
    )
    return _record(rec, applied)


@router.get("/learning/progress", response={200: ProgressOut, **ERRORS}, summary="我的年度学时")
def my_progress(request: HttpRequest, filters: Query[ProgressFilters]):
    user = _learner(request)
    return queries.my_progress(user, filters.year or timezone.localdate().year)


def _profile(p) -> dict[str, Any]:
    return {
        "post": p.post,
        "post_label": str(Post(p.post).label),
        "branch_id": p.branch_id,
        "is_cadre": p.is_cadre,
        "hidden_topics": list(p.hidden_topics),
    }


@router.put("/learning/profile", response={200: ProfileOut, **ERRORS}, summary="设置我的岗位/行业")
def set_profile(request: HttpRequest, payload: ProfileIn):
    user = _learner(request)
    return _profile(actions.do_update_profile(user, post=payload.post, actor=user))


@router.post("/learning/profile/topics", response={200: ProfileOut, **ERRORS}, summary="隐藏或恢复一个主题")
def hide_topic(request: HttpRequest, payload: TopicIn):
    user = _learner(request)
    return _profile(actions.do_set_topic_hidden(user, payload.topic, payload.hidden, actor=user))


@router.post("/learning/requirements", response={201: RequirementOut, **ERRORS}, summary="指定必学内容")
def assign(request: HttpRequest, payload: RequirementIn):
    user = request.auth
    org = queries.access_assign_org(user, payload.organization_id)
    item = queries.access_item(user, payload.item_id) if queries.can_edit(user) else None
    if item is None:
        item = queries.visible_items(None).filter(pk=payload.item_id).first() or _scoped_item(
            org, payload.item_id
        )
    req = actions.do_assign_item(
        organization=org, item=item, due_on=payload.due_on, audience=payload.audience, actor=user
    )
    return Status(
        201,
        {
            "id": req.pk,
            "organization_id": req.organization_id,
            "item_id": req.item_id,
            "audience": req.audience,
            "year": req.year,
            "due_on": req.due_on,
        },
    )


def _scoped_item(org, pk: int) -> ContentItem:
    from django.db.models import Q

    from dangqun.core.errors import NotFound

    item = ContentItem.objects.filter(
        Q(organization__isnull=True) | Q(organization_id__in=org.ancestor_ids()), pk=pk
    ).first()
    if item is None:
        raise NotFound()
    return item


@router.get(
    "/learning/organizations/{org_id}/progress",
    response={200: OrgProgressOut, **ERRORS},
    summary="组织学习进度（仅汇总，不排名）",
)
def org_progress(request: HttpRequest, filters: Query[ProgressFilters], org_id: int = PK):
    org = queries.access_assign_org(request.auth, org_id)
    data = queries.branch_progress(org, filters.year or timezone.localdate().year)
    data["organization_id"] = org.pk
    data["requirements"] = [
        {
            "item_id": r["requirement"].item_id,
            "title": r["requirement"].item.title,
            "due_on": r["requirement"].due_on,
            "bound": r["bound"],
            "finished": r["finished"],
            "percent": r["percent"],
        }
        for r in data["requirements"]
    ]
    return data


def _product(p: Product) -> dict[str, Any]:
    return {
        "id": p.pk,
        "kind": p.kind,
        "kind_label": str(ProductKind(p.kind).label),
        "title": p.title,
        "body": p.body,
        "status": p.status,
    }


def _push(p: Push, counts: dict[int, dict[str, dict[str, int]]]) -> dict[str, Any]:
    return {
        "id": p.pk,
        "source_id": p.source_id,
        "audience": p.audience,
        "channels": p.channels,
        "recipients": p.recipients,
        "last_run_at": p.last_run_at,
        "deliveries": counts.get(p.pk, {}),
    }


def _source(s: Source) -> dict[str, Any]:
    pushes = list(s.pushes.all())
    counts = queries.delivery_counts([p.pk for p in pushes])
    return {
        "id": s.pk,
        "organization_id": s.organization_id,
        "title": s.title,
        "body": s.body,
        "topic": s.topic,
        "products": [_product(p) for p in s.products.all()],
        "pushes": [_push(p, counts) for p in pushes],
    }


@router.post(
    "/learning/sources", response={201: SourceOut, **ERRORS}, summary="采集素材（自动生成各渠道草稿）"
)
def create_source(request: HttpRequest, payload: SourceIn):
    from dangqun.orgs.models import Organization

    org = Organization.objects.filter(queries.edit_scope(request.auth), pk=payload.organization_id).first()
    if org is None:
        from dangqun.core.errors import NotFound

        raise NotFound()
    source = actions.do_create_source(
        organization=org, title=payload.title, body=payload.body, topic=payload.topic, actor=request.auth
    )
    return Status(201, _source(source))


@router.get("/learning/sources/{source_id}", response={200: SourceOut, **ERRORS}, summary="素材、产品与推送")
def get_source(request: HttpRequest, source_id: int = PK):
    return _source(queries.access_source(request.auth, source_id))


@router.put("/learning/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="编辑渠道产品")
def update_product(request: HttpRequest, payload: ProductIn, product_id: int = PK):
    product = queries.access_product(request.auth, product_id)
    return _product(
        actions.do_update_product(product, title=payload.title, body=payload.body, actor=request.auth)
    )


@router.post(
    "/learning/products/{product_id}/approve",
    response={200: ProductOut, **ERRORS},
    summary="审核通过渠道产品",
)
def approve_product(request: HttpRequest, product_id: int = PK):
    product = queries.access_product(request.auth, product_id)
    return _product(actions.do_approve_product(product, actor=request.auth))


@router.post("/learning/sources/{source_id}/pushes", response={201: PushOut, **ERRORS}, summary="定向推送")
def create_push(request: HttpRequest, payload: PushIn, source_id: int = PK):
    source = queries.access_source(request.auth, source_id)
    push = actions.do_create_push(
        source,
        audience=[s.dict() for s in payload.audience],
        channels=payload.channels,
        topic=payload.topic,
        actor=request.auth,
    )
    push.refresh_from_db()
    return Status(201, _push(push, queries.delivery_counts([push.pk])))


@router.post(
    "/learning/pushes/{push_id}/run",
    response={200: PushOut, **ERRORS},
    summary="重新执行推送（不会重复发送）",
)
def rerun_push(request: HttpRequest, push_id: int = PK):
    push = queries.access_push(request.auth, push_id)
    actions.do_rerun_push(push, actor=request.auth)
    push.refresh_from_db()
    return _push(push, queries.delivery_counts([push.pk]))


@router.get("/learning/pushes/{push_id}", response={200: PushOut, **ERRORS}, summary="推送及各渠道送达情况")
def get_push(request: HttpRequest, push_id: int = PK):
    push = queries.access_push(request.auth, push_id)
    return _push(push, queries.delivery_counts([push.pk]))
