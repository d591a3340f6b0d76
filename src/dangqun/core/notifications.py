"""In-app notifications, sent once per (recipient, key)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Notification


def notify(recipients: Iterable[Any], key: str, title: str, body: str = "", url: str = "") -> int:
    """Store one notification per recipient; a repeated key is ignored (idempotent jobs)."""
    rows = [
        Notification(recipient_id=getattr(r, "pk", r), key=key[:200], title=title[:200], body=body, url=url)
        for r in recipients
    ]
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)
