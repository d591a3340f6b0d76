"""Keeping the rating, fix and message statistics current: ≤ 60 s after a save (issue 5).

A save marks its slice (unit, month) dirty in the same transaction and refreshes it right after
commit. An update that moves a row to another unit or month (re-dispatch, a corrected date)
refreshes the old slice too: pre_save reads the row's previous key. Connected in
InsightsConfig.ready; nothing here changes the feedback app's own behaviour.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from . import stats
from .choices import SliceKind


def _rating_key(row: Any) -> tuple[int, date] | None:
    return (row.unit_id, row.rated_on) if row.unit_id and row.rated_on else None


def _created_key(row: Any) -> tuple[int, date] | None:
    created = row.created_at or timezone.now()
    return (row.unit_id or 0, timezone.localtime(created).date())


def _connect(model: Any, kind: str, key_of: Any, fields: tuple[str, ...]) -> None:
    def remember(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        instance._insights_old = None
        if raw or instance.pk is None:
            return
        old = sender.objects.filter(pk=instance.pk).only(*fields).first()
        instance._insights_old = key_of(old) if old is not None else None

    def saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        if raw:
            return
        keys = {key_of(instance), getattr(instance, "_insights_old", None)} - {None}
        slices = {(kind, unit, stats.month_of(day)) for unit, day in keys}
        for slice_ in slices:
            stats.mark_dirty(*slice_)
        transaction.on_commit(lambda: stats.refresh_after_commit(slices))

    uid = f"insights-{kind}"
    pre_save.connect(remember, sender=model, dispatch_uid=f"{uid}-pre", weak=False)
    post_save.connect(saved, sender=model, dispatch_uid=f"{uid}-post", weak=False)


def connect() -> None:
    from dangqun.feedback.models import Fix, Message, Rating

    _connect(Rating, SliceKind.RATING, _rating_key, ("unit", "rated_on"))
    _connect(Fix, SliceKind.FIX, _created_key, ("unit", "created_at"))
    _connect(Message, SliceKind.MESSAGE, _created_key, ("unit", "created_at"))
