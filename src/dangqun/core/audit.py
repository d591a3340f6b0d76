"""The audit chain: record, seal, verify (see AuditEvent)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .crypto import sm3_hex
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def audit(actor: Any, action: str, obj: Any = None, **payload: Any) -> AuditEvent:
    """Append one event. Called inside the action's transaction; sealing happens after commit."""
    object_type = object_id = ""
    if isinstance(obj, models.Model):
        object_type, object_id = obj._meta.label_lower, str(obj.pk)
    elif isinstance(obj, tuple):
        object_type, object_id = obj[0], str(obj[1])
    is_user = getattr(actor, "pk", None) is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_label=(getattr(actor, "username", "") if is_user else str(actor or "system"))[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        # NUL cannot be stored in PostgreSQL text/jsonb: keep a visible replacement instead.
        payload=json.loads(json.dumps(payload, default=str).replace("\\u0000", "\\ufffd")),
    )
    transaction.on_commit(_schedule_seal)
    return event


SEAL_COALESCE_SECONDS = 1
_last_queued = 0.0  # this process's last queueing: most submissions skip the shared cache too


def _schedule_seal() -> None:
    """Queue one sealing job per second and process at most: one job seals every event committed
    before it runs, so a second job queued meanwhile would only find the chain sealed. An event
    committed after a job started is sealed by the next one, or within a minute by the periodic
    sweep (core.tasks). Without a consumer (immediate mode: tests, one-off commands) seal now."""
    from django.core.cache import cache
    from huey.contrib.djhuey import HUEY

    from .tasks import seal_audit_chain

    if not HUEY.immediate:
        global _last_queued  # a per-process stopwatch: a race only costs one cache call
        now = time.monotonic()
        if now - _last_queued < SEAL_COALESCE_SECONDS:
            return
        _last_queued = now
        try:
            if not cache.add("dangqun:audit:seal-queued", 1, timeout=SEAL_COALESCE_SECONDS):
                return
        except Exception:  # noqa: S110 — a cache outage only costs an extra job
            pass
    seal_audit_chain()


def canonical(event: AuditEvent, seq: int, prev_digest: str) -> bytes:
    body = {
        "seq": seq,
        "prev": prev_digest,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": event.payload,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def seal(batch: int = 5000) -> int:
    """Seal unsealed events in insertion order. Only the sealer locks the head row."""
    sealed = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
            pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:batch])
            if not pending:
                return sealed
            seq, digest = head.seq, head.digest or GENESIS
            for event in pending:
                seq += 1
                event.seq, event.prev_digest = seq, digest
                digest = event.digest = sm3_hex(canonical(event, seq, event.prev_digest))
            AuditEvent.objects.bulk_update(pending, ["seq", "prev_digest", "digest"], batch_size=500)
            head.seq, head.digest, head.sealed_at = seq, digest, timezone.now()
            head.save(update_fields=["seq", "digest", "sealed_at"])
            sealed += len(pending)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    unsealed: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    reason: str = ""


def verify(chunk: int = 5000) -> VerifyResult:
    """Recompute the whole chain; report the first event whose digest or link is wrong."""
    head = AuditChainHead.objects.filter(id=1).first()
    expected_prev, expected_seq, checked, last_id = GENESIS, 0, 0, None
    qs = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    last_seq = 0
    while True:
        rows = list(qs.filter(seq__gt=last_seq)[:chunk])
        if not rows:
            break
        for event in rows:
            expected_seq += 1
            if event.seq != expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    0,
                    expected_seq,
                    event.id,
                    f"事件 #{expected_seq} 缺失（下一条是 #{event.seq}）：链被删除",
                )
            if event.prev_digest != expected_prev:
                return VerifyResult(
                    False, checked, 0, event.seq, event.id, f"事件 #{event.seq} 的前一摘要不匹配"
                )
            if sm3_hex(canonical(event, event.seq, event.prev_digest)) != event.digest:
                return VerifyResult(False, checked, 0, event.seq, event.id, f"事件 #{event.seq} 内容被修改")
            expected_prev, checked, last_id = event.digest, checked + 1, event.id
        last_seq = rows[-1].seq
    unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
    head_seq = head.seq if head else 0
    if head_seq != expected_seq or (head and head.digest and head.digest != expected_prev):
        return VerifyResult(
            False,
            checked,
            unsealed,
            expected_seq + 1,
            last_id,
            f"链尾被截断：链头记录到 #{head_seq}，实际只到 #{expected_seq}",
        )
    return VerifyResult(True, checked, unsealed)
