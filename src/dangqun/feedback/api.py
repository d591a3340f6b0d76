"""/api/v1/feedback: rate a case or a visit, follow and work the fix loop, appeals, messages.

Thin endpoints: parse, access_* (404 outside the caller's reach), one action, the response.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, Path, Router
from ninja.responses import Status as HttpStatus

from dangqun.core.errors import NotFound, PermissionDenied, RuleViolation
from dangqun.core.permissions import has_perm
from dangqun.core.schemas import ERRORS, PUBLIC_ERRORS
from dangqun.orgs.models import Organization

from . import actions, message_actions, queries
from .choices import FixState, RatingChannel
from .models import Fix, Message, Rating
from .schemas import (
    PK,
    AppealDecisionIn,
    AppealIn,
    AppealOut,
    FixOut,
    FixStepIn,
    MessageIn,
    MessageOut,
    MessageStepIn,
    RatingIn,
    RatingOut,
    VisitRatingIn,
)

router = Router(tags=["feedback"])


def fix_out(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    open_ = fix.state in (FixState.OPEN, FixState.CALLED_BACK)
    return {
        "id": fix.pk,
        "state": fix.state,
        "state_label": str(fix.get_state_display()),
        "due": fix.due,
        "overdue": open_ and timezone.localdate() > fix.due,
        "callback_at": fix.callback_at,
        "fixed_at": fix.fixed_at,
        "on_time": fix.on_time,
        "reply": fix.reply,
        "replied_at": fix.replied_at,
        "solved": fix.solved,
        "escalated_to": fix.escalated_to.name if fix.escalated_to_id else None,
    }


def rating_out(rating: Rating) -> dict[str, Any]:
    staff = rating.staff
    return {
        "id": rating.pk,
        "mode": rating.mode,
        "level": rating.level,
        "level_label": str(rating.get_level_display()),
        "unit": rating.unit.name,
        "staff": (staff.full_name or staff.username) if staff else "",
        "item": rating.item.name if rating.item_id else None,
        "late": rating.late,
        "counted": rating.counted,
        "rated_on": rating.rated_on,
        "fix": fix_out(getattr(rating, "fix", None)),
    }


def message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.pk,
        "number": m.number,
        "kind": m.kind,
        "title": m.title,
        "state": m.state,
        "state_label": str(m.get_state_display()),
        "category": m.category,
        "unit": m.unit.name if m.unit_id else None,
        "urgency": m.urgency,
        "due_at": m.due_at,
        "overdue": queries.is_overdue(m.due_at) and m.state in ("dispatched", "handling"),
        "reply": m.reply,
        "level": m.level,
    }


@router.post("/feedback/ratings", response={201: RatingOut, **ERRORS}, summary="办件评价（一事一评）")
def rate_case(request: HttpRequest, data: RatingIn):
    """The applicant rates a finished case once; staff may enter a hotline rating (channel=hotline)."""
    app = queries.access_rated_case(request.auth, data.application)
    rating = actions.do_rate_case(
        app,
        level=data.level,
        aspects=data.aspects,
        reasons=data.reasons,
        comment=data.comment,
        channel=data.channel,
        actor=request.auth,
    )
    return HttpStatus(201, rating_out(rating))


@router.post(
    "/feedback/visits/{token}/rating",
    auth=None,
    response={201: RatingOut, **PUBLIC_ERRORS},
    summary="窗口评价（一次一评，扫码，可匿名）",
)
def rate_visit(request: HttpRequest, token: Path[str], data: VisitRatingIn):
    visit = actions.access_visit(token)
    user = getattr(request, "user", None)
    rating = actions.do_rate_visit(
        visit,
        level=data.level,
        aspects=data.aspects,
        reasons=data.reasons,
        comment=data.comment,
        channel=RatingChannel.QR,
        anonymous=data.anonymous,
        actor=user,
    )
    return HttpStatus(201, rating_out(rating))


@router.get("/feedback/ratings/{rating_id}", response={200: RatingOut, **ERRORS}, summary="评价及整改进度")
def rating_detail(request: HttpRequest, rating_id: Path[PK]):
    return rating_out(queries.access_rating(request.auth, rating_id))


@router.get("/feedback/fixes", response={200: list[FixOut], **ERRORS}, summary="待整改的差评（本单位）")
def fixes(request: HttpRequest):
    if not has_perm(request.auth, "feedback.view"):
        raise PermissionDenied()
    return [fix_out(f) for f in queries.fixes_in_scope(request.auth).select_related("escalated_to")[:200]]


@router.post(
    "/feedback/fixes/{fix_id}", response={200: FixOut, **ERRORS}, summary="回访 · 整改 · 答复 · 确认"
)
def fix_step(request: HttpRequest, fix_id: Path[PK], data: FixStepIn):
    """callback (note, verified) · fix (note) · reply (note) by the unit; confirm (solved) by the rater."""
    actor = request.auth
    fix = queries.access_fix(actor, fix_id)
    if data.step == "callback":
        fix = actions.do_callback_fix(fix, note=data.note, verified=bool(data.verified), actor=actor)
    elif data.step == "fix":
        fix = actions.do_record_fix(fix, note=data.note, actor=actor)
    elif data.step == "reply":
        fix = actions.do_reply_fix(fix, reply=data.note, actor=actor)
    else:
        if data.solved is None:
            raise RuleViolation("solved_required", _("请说明问题是否已解决。"), field="solved")
        fix = actions.do_confirm_fix(fix, solved=data.solved, note=data.note, actor=actor)
    return fix_out(fix)


@router.post(
    "/feedback/ratings/{rating_id}/appeal", response={201: AppealOut, **ERRORS}, summary="申诉复核：申请"
)
def appeal(request: HttpRequest, rating_id: Path[PK], data: AppealIn):
    rating = queries.access_rating(request.auth, rating_id)
    a = actions.do_file_appeal(rating, reason=data.reason, actor=request.auth)
    return HttpStatus(
        201, {"id": a.pk, "rating": rating.pk, "state": a.state, "reason": a.reason, "decision_note": ""}
    )


@router.post(
    "/feedback/appeals/{appeal_id}/decision", response={200: AppealOut, **ERRORS}, summary="申诉复核：结论"
)
def decide_appeal(request: HttpRequest, appeal_id: Path[PK], data: AppealDecisionIn):
    a = queries.access_appeal(request.auth, appeal_id)
    a = actions.do_decide_appeal(a, upheld=data.upheld, note=data.note, actor=request.auth)
    return {
        "id": a.pk,
        "rating": a.rating_id,
        "state": a.state,
        "reason": a.reason,
        "decision_note": a.decision_note,
    }


@router.post(
    "/feedback/messages", response={201: MessageOut, 200: MessageOut, **ERRORS}, summary="留言（幂等）"
)
def leave_message(
    request: HttpRequest,
    data: MessageIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=80),
):
    """A message or complaint (attachments through the page). With an Idempotency-Key a retry
    returns the first message (200) instead of a second one."""
    before = (
        Message.objects.filter(author=request.auth, idempotency_key=idempotency_key).exists()
        if idempotency_key
        else False
    )
    m = message_actions.do_leave_message(**data.dict(), idempotency_key=idempotency_key, actor=request.auth)
    return HttpStatus(200 if before else 201, message_out(m))


@router.get("/feedback/messages", response={200: list[MessageOut], **ERRORS}, summary="我的留言 / 本单位留言")
def list_messages(request: HttpRequest, mine: bool = True):
    qs = queries.my_messages(request.auth) if mine else queries.messages_in_scope(request.auth)
    return [message_out(m) for m in qs[:200]]


@router.get("/feedback/messages/{message_id}", response={200: MessageOut, **ERRORS}, summary="留言详情")
def message_detail(request: HttpRequest, message_id: Path[PK]):
    return message_out(queries.access_message(request.auth, message_id))


@router.post(
    "/feedback/messages/{message_id}",
    response={200: MessageOut, **ERRORS},
    summary="派单 · 退回 · 签收 · 答复 · 回访 · 评价 · 合并",
)
def message_step(request: HttpRequest, message_id: Path[PK], data: MessageStepIn):
    actor = request.auth
    m = queries.access_message(actor, message_id)
    if data.step == "dispatch":
        unit = Organization.objects.filter(pk=data.unit or 0).first()
        if unit is None:
            raise RuleViolation("unit_required", _("请选择承办单位。"), field="unit")
        m = message_actions.do_dispatch_message(
            m, unit=unit, urgency=data.urgency, category=data.category, actor=actor
        )
    elif data.step == "dispute":
        m = message_actions.do_dispute_message(m, reason=data.note, actor=actor)
    elif data.step == "accept":
        m = message_actions.do_accept_message(m, actor=actor)
    elif data.step == "reply":
        m = message_actions.do_reply_message(m, reply=data.note, actor=actor)
    elif data.step == "callback":
        m = message_actions.do_callback_message(m, note=data.note, actor=actor)
    elif data.step == "rate":
        m = message_actions.do_rate_message(m, level=data.level, actor=actor)
    else:
        into = queries.access_message(actor, data.into or 0) if data.into else None
        if into is None:
            raise NotFound()
        m = message_actions.do_merge_message(m, into=into, actor=actor)
    m.refresh_from_db()
    return message_out(m)
