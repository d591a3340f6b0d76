"""Scoped reads of ratings, fixes, appeals and messages: 404 for what the actor may not see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, scope_filter
from dangqun.onestop.models import Application

from .actions import can_decide_appeal, can_handle_fix
from .choices import OPEN_FIX_STATES, OPEN_MESSAGE_STATES, AppealState
from .message_actions import can_dispatch, can_handle_message
from .models import Appeal, Fix, Message, Rating


def _int(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < value < 2**63:
        raise NotFound()
    return value


def access_rated_case(actor: Any, pk: Any) -> Application:
    """The applicant's own case (or one in the staff's scope, for hotline entry)."""
    app = Application.objects.select_related("item", "department").filter(pk=_int(pk)).first()
    if app is None or not (
        app.applicant_id == getattr(actor, "pk", None) or has_perm(actor, "feedback.handle", app.department)
    ):
        raise NotFound()
    return app


def access_rating(actor: Any, pk: Any) -> Rating:
    rating = (
        Rating.objects.select_related("unit", "staff", "item", "application", "visit")
        .filter(pk=_int(pk))
        .first()
    )
    if rating is None:
        raise NotFound()
    if rating.rater_id is not None and rating.rater_id == getattr(actor, "pk", None):
        return rating
    if has_perm(actor, "feedback.view", rating.unit):
        return rating
    raise NotFound()


def access_fix(actor: Any, pk: Any) -> Fix:
    fix = (
        Fix.objects.select_related(
            "rating__unit", "rating__staff", "rating__item", "rating__application", "unit"
        )
        .filter(pk=_int(pk))
        .first()
    )
    if fix is None:
        raise NotFound()
    if has_perm(actor, "feedback.view", fix.unit) or can_handle_fix(actor, fix):
        return fix
    if fix.rating.rater_id == getattr(actor, "pk", None):
        return fix
    raise NotFound()


def access_appeal(actor: Any, pk: Any) -> Appeal:
    appeal = (
        Appeal.objects.select_related("rating__unit", "rating__staff", "filed_by").filter(pk=_int(pk)).first()
    )
    if appeal is None:
        raise NotFound()
    if has_perm(actor, "feedback.view", appeal.rating.unit) or can_decide_appeal(actor, appeal):
        return appeal
    raise NotFound()


def fixes_in_scope(actor: Any, *, open_only: bool = True) -> QuerySet[Fix]:
    scope = Q(unit__in=_units(actor)) | Q(escalated_to__in=_units(actor))
    qs = Fix.objects.filter(scope).select_related("rating__item", "rating__staff", "unit")
    if open_only:
        qs = qs.filter(state__in=OPEN_FIX_STATES)
    return qs.order_by("due", "id")


def _units(actor: Any) -> Any:
    from dangqun.orgs.models import Organization

    return Organization.objects.filter(scope_filter(actor, "feedback.view")).values("pk")


def appeals_to_decide(actor: Any) -> list[Appeal]:
    pending = Appeal.objects.filter(state=AppealState.PENDING).select_related(
        "rating__unit__parent", "rating__staff", "filed_by"
    )[:200]
    return [a for a in pending if can_decide_appeal(actor, a)]


def recent_ratings(actor: Any, limit: int = 20) -> QuerySet[Rating]:
    return (
        Rating.objects.filter(unit__in=_units(actor))
        .select_related("unit", "staff", "item")
        .order_by("-created_at", "-id")[:limit]
    )


def my_ratings(actor: Any) -> QuerySet[Rating]:
    return Rating.objects.filter(rater=actor).select_related("unit", "item", "fix").order_by("-created_at")


def access_message(actor: Any, pk: Any) -> Message:
    message = Message.objects.select_related("unit", "duplicate_of").filter(pk=_int(pk)).first()
    if message is None:
        raise NotFound()
    if message.author_id == getattr(actor, "pk", None):
        return message
    if can_handle_message(actor, message) or can_dispatch(actor):
        return message
    raise NotFound()


def my_messages(actor: Any) -> QuerySet[Message]:
    return Message.objects.filter(author=actor).select_related("unit").order_by("-created_at", "-id")


def messages_in_scope(actor: Any, *, open_only: bool = False) -> QuerySet[Message]:
    """The dispatch desk sees every message; a unit sees what was dispatched to it."""
    qs = Message.objects.select_related("unit")
    if not can_dispatch(actor):
        qs = qs.filter(unit__in=_units(actor))
    if open_only:
        qs = qs.filter(state__in=OPEN_MESSAGE_STATES)
    return qs.order_by("due_at", "-created_at", "id")


def is_overdue(due: Any, now: Any = None) -> bool:
    return due is not None and (now or timezone.now()) > due
