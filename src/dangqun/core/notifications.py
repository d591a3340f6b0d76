"""In-app notifications, sent once per (recipient, key)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Notification


def notify(recipients: Iterable[Any], key: str, title: str, body: str = "", url: str = "") -> int:
    """Store one notification per recipient; a repeated key is skipped (idempotent jobs).

    Returns how many were new. The unique constraint (recipient, key) still guards against
    two jobs racing past the existence check.
    """
    key = key[:200]
    ids = {getattr(r, "pk", r) for r in recipients}
    sent = Notification.objects.filter(key=key, recipient_id__in=ids).values_list("recipient_id", flat=True)
    new_ids = sorted(ids - set(sent))
    rows = [Notification(recipient_id=pk, key=key, title=title[:200], body=body, url=url) for pk in new_ids]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
