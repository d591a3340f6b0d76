"""/api/v1: the public catalog and search, applying, tracking, and the staff queue and actions.

Thin endpoints: parse, access_* (404 outside the caller's scope), one action, the response.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Header, Path, Query, Router
from ninja.responses import Status as HttpStatus

from dangqun.certs.models import Certificate
from dangqun.certs.pdf import verification_url
from dangqun.core.errors import NotFound
from dangqun.core.rulesets import ruleset_for
from dangqun.core.schemas import ERRORS, PUBLIC_ERRORS, ErrorOut

from . import actions, queries, search, throttle
from .choices import HandlingMode, ItemType, State, TaskState
from .models import Application, ReviewTask, ServiceItem
from .schemas import (
    PK,
    ApplicationListOut,
    ApplicationOut,
    ApplyIn,
    ItemOut,
    ItemPageOut,
    QueueFilters,
    QueuePageOut,
    SearchFilters,
    StaffActionIn,
    TrackOut,
)

router = Router(tags=["onestop"])


# --- catalog -----------------------------------------------------------------------------------


def search_page(filters: SearchFilters) -> dict[str, Any]:
    """Ranked hits for words; the catalog by code when there are none. Misses are recorded."""
    start = (filters.page - 1) * filters.page_size
    wanted = start + filters.page_size
    kwargs = {"department": filters.department, "life_event": filters.life_event, "channel": filters.channel}
    if search.query_terms(search.normalize(filters.q)):
        hits, count = search.current_index().search(filters.q, limit=wanted, **kwargs)
        hits = hits[start:wanted]
        facts = {
            pk: (mode, days)
            for pk, mode, days in ServiceItem.objects.filter(pk__in=[h.pk for h in hits]).values_list(
                "pk", "handling_mode", "promised_limit_days"
            )
        }
        rows = [
            {
                "code": h.code,
                "name": h.name,
                "department": h.department,
                "department_id": h.department_id,
                "score": h.score,
                "handling_mode": facts.get(h.pk, ("", 0))[0],
                "promised_limit_days": facts.get(h.pk, ("", 0))[1],
                "url": reverse("onestop:guide", args=[h.code]),
            }
            for h in hits
        ]
        if count == 0:
            actions.do_record_search_miss(filters.q, {k: v for k, v in kwargs.items() if v is not None})
        return {"count": count, "page": filters.page, "page_size": filters.page_size, "items": rows}
    from .choices import ItemStatus

    qs = ServiceItem.objects.filter(status=ItemStatus.ACTIVE).select_related("department")
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.life_event:
        qs = qs.filter(pk__in=list(search.current_index().by_event.get(filters.life_event, ())))
    if filters.channel:
        qs = qs.filter(pk__in=list(search.current_index().by_channel.get(filters.channel, ())))
    qs = qs.order_by("code")
    items = [
        {
            "code": i.code,
            "name": i.name,
            "department": i.department.short_name or i.department.name,
            "department_id": i.department_id,
            "score": 0.0,
            "handling_mode": i.handling_mode,
            "promised_limit_days": i.promised_limit_days,
            "url": reverse("onestop:guide", args=[i.code]),
        }
        for i in qs[start:wanted]
    ]
    return {"count": qs.count(), "page": filters.page, "page_size": filters.page_size, "items": items}


@router.get("/services", auth=None, response={200: ItemPageOut, 422: ErrorOut}, summary="事项检索（公开）")
def list_services(request: HttpRequest, filters: Query[SearchFilters]):
    """Search by Chinese words, pinyin or initials (社保 / shebao / sb), tolerant of one wrong
    letter; filter by department, life event, channel. Without words: the catalog by code."""
    return search_page(filters)


def item_out(item: ServiceItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "implementation_code": item.implementation_code,
        "name": item.name,
        "department": item.department.name,
        "department_id": item.department_id,
        "item_type": item.item_type,
        "item_type_label": str(ItemType(item.item_type).label),
        "handling_mode": item.handling_mode,
        "handling_mode_label": str(HandlingMode(item.handling_mode).label),
        "statutory_limit_days": item.statutory_limit_days,
        "promised_limit_days": item.promised_limit_days,
        "legal_basis": item.legal_basis,
        "conditions": item.conditions,
        "is_free": item.is_free,
        "fees": item.fees,
        "channels": item.channels,
        "cross_region": item.cross_region,
        "life_events": item.life_events,
        "result_type": item.result_type,
        "result_name": item.result_name,
        "status": item.status,
        "version": item.version,
        "materials": [
            {
                "id": m.pk,
                "name": m.name,
                "form": m.form,
                "count": m.count,
                "required": m.required,
                "core": m.core,
                "deficiency_allowed": m.deficiency_allowed,
                "shared": m.shared,
                "allowed_kinds": m.kinds(),
                "max_size_kb": m.max_size_kb,
                "max_pages": m.max_pages,
            }
            for m in item.materials.all()
        ],
        "form": [
            {
                "name": f["name"],
                "label": f.get("label", f["name"]),
                "type": f.get("type", "text"),
                "required": bool(f.get("required")),
                "choices": f.get("choices", []),
                "help": f.get("help", ""),
            }
            for f in item.form_schema.get("fields", [])
        ],
    }


@router.get(
    "/services/{code}", auth=None, response={200: ItemOut, **PUBLIC_ERRORS}, summary="办事指南（公开）"
)
def get_service(request: HttpRequest, code: Path[str]):
    return item_out(queries.access_item(code))


# --- applying ----------------------------------------------------------------------------------


def certificate_out(app: Application, cert: Certificate | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    return {
        "id": cert.pk,
        "identifier": cert.identifier,
        "type_code": cert.type_code,
        "type": cert.type_name,
        "status": cert.status,
        "issued_at": cert.issued_at,
        "verify_url": verification_url(cert.identifier),
        "download_url": reverse("api:application_certificate", args=[app.pk]),
    }


def deficiency_out(app: Application) -> dict[str, Any]:
    """容缺: the deadline while materials are awaited, the consequence stated at acceptance."""
    return {
        "deficiency_due": app.deficiency_due,
        "deficiency_consequence": app.deficiency_consequence,
        "deficiency_missed": app.deficiency_overdue,
    }


def application_out(
    app: Application,
    actor: Any,
    replayed: bool = False,
    *,
    certificate: Certificate | None = None,
) -> dict[str, Any]:
    return {
        "id": app.pk,
        "number": app.number,
        "check_code": app.check_code if queries.is_applicant_side(actor, app) and app.number else None,
        "item_code": app.item.code,
        "item_name": app.item.name,
        "state": app.state,
        "state_label": str(State(app.state).label),
        "submitted_at": app.submitted_at,
        "received_on": app.received_on,
        "promised_due": app.promised_due,
        "decision_due": app.decision_due,
        "due_date": app.due_date,
        "stopped_days": app.stopped_days,
        "stopped_since": app.stopped_since,
        "extension_days": app.extension_days,
        **deficiency_out(app),
        "outcome": app.outcome,
        "reasons": app.reasons,
        "replayed": replayed,
        "certificate": certificate_out(app, certificate),
    }


@router.post(
    "/services/{code}/applications",
    response={200: ApplicationOut, 201: ApplicationOut, **ERRORS},
    summary="提交申请（幂等）",
)
def apply(
    request: HttpRequest,
    code: Path[str],
    data: ApplyIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=80),
):
    """Create and submit an application in one call. Send an Idempotency-Key: a retry with the same
    key returns the application made the first time (200, replayed: true), never a second one."""
    item, materials = queries.item_for_submission(code)
    result = actions.do_create_and_submit(
        item,
        data.form,
        actor=request.auth,
        idempotency_key=idempotency_key,
        shared=data.use_shared,
        consent=data.consent,
        undertaking=data.undertaking,
        materials=materials,
    )
    body = application_out(result.application, request.auth, result.replayed)
    return HttpStatus(200 if result.replayed else 201, body)


@router.get("/applications", response={200: ApplicationListOut, **ERRORS}, summary="我的办件")
def my_applications(request: HttpRequest):
    qs = queries.my_applications(request.auth).select_related("item", "authorization")
    rows = list(qs[:100])
    certs = queries.certificates_by_number(rows)
    return {
        "count": qs.count(),
        "items": [application_out(a, request.auth, certificate=certs.get(a.number or "")) for a in rows],
    }


def _detail(actor: Any, app_id: int) -> dict[str, Any]:
    app = queries.access_application(actor, app_id)
    return application_out(app, actor, certificate=queries.application_certificate(app))


@router.get("/applications/{app_id}", response={200: ApplicationOut, **ERRORS}, summary="办件详情")
def get_application(request: HttpRequest, app_id: Path[PK]):
    """The application; once approved, `certificate` names the e-certificate issued for it."""
    return _detail(request.auth, app_id)


@router.get(
    "/applications/{app_id}/certificate.pdf",
    url_name="application_certificate",
    response={200: None, **ERRORS},
    summary="下载办件的电子证照（PDF）",
    openapi_extra={
        "responses": {
            200: {
                "description": "电子证照 PDF（签发时的原文件）",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def application_certificate(request: HttpRequest, app_id: Path[PK]):
    """Only the applicant and staff who may see the application; 404 for others and when no
    certificate was issued."""
    _app, cert = queries.access_application_certificate(request.auth, app_id)
    response = FileResponse(
        cert.pdf.open("rb"),
        as_attachment=True,
        filename=f"{cert.identifier}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/applications/{app_id}/actions", response={200: ApplicationOut, **ERRORS}, summary="办件办理（工作人员）"
)
def staff_action(request: HttpRequest, app_id: Path[PK], data: StaffActionIn):
    """accept (容缺: deficiency_due, deficiency_consequence) · refuse (reasons) · notice (items: every
    missing/defective material) · review (task_id, passed, note) · decide (outcome, reasons) ·
    deliver · extend (days, reasons) · stop (reason, note) · resume."""
    actor = request.auth
    app = queries.access_application(actor, app_id)
    if not queries.can_handle(actor, app):
        raise NotFound()  # the applicant's own view: staff actions do not exist for them
    if data.action == "accept":
        actions.do_accept(
            app,
            actor=actor,
            note=data.note,
            deficiency_due=data.deficiency_due,
            deficiency_consequence=data.deficiency_consequence,
        )
    elif data.action == "refuse":
        actions.do_refuse(app, actor=actor, reasons=data.reasons)
    elif data.action == "notice":
        actions.do_issue_notice(app, [i.dict() for i in data.items], actor=actor)
    elif data.action == "review":
        task = ReviewTask.objects.filter(
            pk=data.task_id or 0, application=app, state=TaskState.PENDING
        ).first()
        if task is None:
            raise NotFound()
        actions.do_review_task(task, passed=bool(data.passed), opinion=data.note, actor=actor)
    elif data.action == "decide":
        actions.do_decide(app, data.outcome or "", actor=actor, reasons=data.reasons)
    elif data.action == "deliver":
        actions.do_deliver(app, actor=actor, note=data.note)
    elif data.action == "extend":
        actions.do_extend(app, data.days or 0, data.reasons, actor=actor)
    elif data.action == "stop":
        actions.do_stop_clock(app, data.reason or "", actor=actor, note=data.note)
    elif data.action == "resume":
        actions.do_resume_clock(app, actor=actor)
    return _detail(actor, app_id)


@router.get("/queue", response={200: QueuePageOut, **ERRORS}, summary="待办队列（工作人员）")
def staff_queue(request: HttpRequest, filters: Query[QueueFilters]):
    today = timezone.localdate()
    qs = queries.queue(
        request.auth,
        queries.QueueFilters(state=filters.state or "", due=filters.due or "", department=filters.department),
        today,
    )
    page = queries.queue_page(qs, filters.page, filters.page_size)
    rows = page.rows
    warning = ruleset_for(None, today, prefix="onestop.")["onestop.countdown_warning_working_days"]
    items = []
    for app in rows:
        cd = queries.countdown(app, today, warning)
        items.append(
            {
                "id": app.pk,
                "number": app.number,
                "item_name": app.item.name,
                "department": app.department.short_name or app.department.name,
                "state": app.state,
                "state_label": str(State(app.state).label),
                "due_date": app.due_date,
                "days_left": cd.days_left,
                "flag": cd.flag,
                "deficiency_missed": app.deficiency_overdue,
            }
        )
    return {"count": page.count, "more": page.more, "page": page.number, "items": items}


# --- public tracking ---------------------------------------------------------------------------


def track_out(app: Application) -> dict[str, Any]:
    history = [
        {
            "state": e.to_state,
            "state_label": str(State(e.to_state).label) if e.to_state in State.values else "",
            "at": e.at,
        }
        for e in app.events.filter(public=True).exclude(action="create").order_by("at", "id")
    ]
    return {
        "number": app.number,
        "item_name": app.item.name,
        "department": app.department.name,
        "state": app.state,
        "state_label": str(State(app.state).label),
        "received_on": app.received_on,
        "promised_due": app.promised_due,
        "stopped_days": app.stopped_days,
        **deficiency_out(app),
        "outcome": app.outcome,
        "history": history,
    }


@router.get(
    "/track/{number}", auth=None, response={200: TrackOut, **PUBLIC_ERRORS}, summary="办件进度查询（公开）"
)
def track(request: HttpRequest, number: Path[str], code: str = Query("", max_length=8)):
    """State and history for the number and its check code; an unknown number and a wrong code
    answer the same 404. Limited per address (429)."""
    throttle.check(request, "track")
    return track_out(queries.track(number, code))
