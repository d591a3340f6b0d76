"""Every change of the insights app: generating suggestions, accepting or dismissing them, and
the progress of the improvement tasks. Each runs in one transaction and writes one audit event.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.accounts.models import User
from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation, Violation, raise_if_any
from dangqun.core.permissions import has_perm, require
from dangqun.orgs.models import Organization

from . import suggest
from .choices import SuggestionState, TaskStatus
from .models import ImprovementTask, Suggestion
from .queries import PERM, month_label

MAX_TASK_DAYS = 366


@transaction.atomic
def do_generate_suggestions(month: date, *, actor: Any) -> dict[str, int]:
    """The monthly job (and `insights suggest`): the month's suggestions, from its aggregates.

    Idempotent: a suggestion already there keeps its identity; an open one gets the fresh
    numbers, an accepted or dismissed one is left as decided; an open one the figures no longer
    support is withdrawn (it was never acted on). Run by the system or a street-wide viewer.
    """
    if getattr(actor, "is_authenticated", False):
        require(actor, PERM)
    found = suggest.candidates(month)
    paths = dict(Organization.objects.filter(pk__in={c.unit_id for c in found}).values_list("pk", "path"))
    existing = {(s.unit_id, s.kind, s.subject): s for s in Suggestion.objects.filter(month=month)}
    created = updated = 0
    keep: set[int] = set()
    for c in found:
        if c.unit_id not in paths:
            continue
        s = existing.get((c.unit_id, c.kind, c.subject))
        if s is None:
            s = Suggestion.objects.create(
                month=month,
                unit_id=c.unit_id,
                unit_path=paths[c.unit_id],
                kind=c.kind,
                subject=c.subject,
                subject_label=c.subject_label[:200],
                metric=c.metric,
                baseline=c.baseline,
                evidence=c.evidence,
            )
            created += 1
        elif s.state == SuggestionState.OPEN:
            s.metric, s.baseline, s.evidence, s.subject_label = (
                c.metric,
                c.baseline,
                c.evidence,
                c.subject_label[:200],
            )
            s.save(update_fields=["metric", "baseline", "evidence", "subject_label", "updated_at"])
            updated += 1
        keep.add(s.pk)
    stale = Suggestion.objects.filter(month=month, state=SuggestionState.OPEN).exclude(pk__in=keep)
    removed = stale.count()
    stale.delete()
    result = {"created": created, "updated": updated, "removed": removed}
    audit(actor, "insights.suggestions.generate", None, month=month_label(month), **result)
    return result


def _lock(s: Suggestion) -> Suggestion:
    return Suggestion.objects.select_for_update().select_related("unit").get(pk=s.pk)


def owner_choices(unit: Organization) -> list[User]:
    """Who may own an improvement task: staff granted on the unit, above it or below it."""
    lo, hi = unit.subtree_range()
    ancestors = unit.ancestor_ids()
    return list(
        User.objects.filter(
            is_active=True, grants__organization__path__gte=lo, grants__organization__path__lt=hi
        )
        .union(User.objects.filter(is_active=True, grants__organization_id__in=ancestors))
        .order_by("username")[:200]
    )


@transaction.atomic
def do_accept_suggestion(
    s: Suggestion, *, owner: User, due: date, title: str = "", actor: Any, today: date | None = None
) -> ImprovementTask:
    """采纳: the suggestion becomes a tracked task with an owner and a due date."""
    s = _lock(s)
    require(actor, PERM, s.unit)
    today = today or timezone.localdate()
    problems: list[Violation | None] = []
    if s.state != SuggestionState.OPEN:
        problems.append(Violation("suggestion_decided", _("该建议已处理过，不能再次采纳。")))
    if due < today:
        problems.append(Violation("task_due_past", _("完成期限不能早于今天。"), field="due"))
    elif (due - today).days > MAX_TASK_DAYS:
        problems.append(Violation("task_due_far", _("完成期限不能超过一年。"), field="due"))
    if owner is None or not owner.is_active or owner.pk not in {u.pk for u in owner_choices(s.unit)}:
        problems.append(Violation("task_owner", _("负责人须是该单位或其上级的工作人员。"), field="owner"))
    title = (title or "").strip()[:200] or suggest.text(s)[:200]
    raise_if_any(problems)
    task = ImprovementTask.objects.create(suggestion=s, title=title, owner=owner, due=due, created_by=actor)
    s.state, s.decided_by, s.decided_at = SuggestionState.ACCEPTED, actor, timezone.now()
    s.save(update_fields=["state", "decided_by", "decided_at", "updated_at"])
    audit(actor, "insights.suggestion.accept", s, task=task.pk, owner=owner.pk, due=due.isoformat())
    return task


@transaction.atomic
def do_dismiss_suggestion(s: Suggestion, *, reason: str, actor: Any) -> Suggestion:
    """不采纳, with the reason on record (never a silent delete)."""
    s = _lock(s)
    require(actor, PERM, s.unit)
    reason = (reason or "").strip()
    problems: list[Violation | None] = []
    if s.state != SuggestionState.OPEN:
        problems.append(Violation("suggestion_decided", _("该建议已处理过。")))
    if len(reason) < 4:
        problems.append(Violation("dismiss_reason", _("请写明不采纳的理由（至少4个字）。"), field="reason"))
    raise_if_any(problems)
    s.state, s.dismiss_reason = SuggestionState.DISMISSED, reason[:2000]
    s.decided_by, s.decided_at = actor, timezone.now()
    s.save(update_fields=["state", "dismiss_reason", "decided_by", "decided_at", "updated_at"])
    audit(actor, "insights.suggestion.dismiss", s, reason=s.dismiss_reason)
    return s


@transaction.atomic
def do_update_task(
    task: ImprovementTask, *, status: str, note: str = "", actor: Any, today: date | None = None
) -> ImprovementTask:
    """Progress of an improvement task: its owner or a viewer of the unit records it."""
    task = ImprovementTask.objects.select_for_update().select_related("suggestion__unit").get(pk=task.pk)
    if task.owner_id != getattr(actor, "pk", None):
        require(actor, PERM, task.suggestion.unit)
    if status not in TaskStatus.values:
        raise RuleViolation("task_status", _("进度取值无效。"), field="status")
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        raise RuleViolation("task_closed", _("任务已结束，不能再修改。"))
    if status == TaskStatus.DONE and not (note or task.note).strip():
        raise RuleViolation("task_note", _("完成任务时请写明做了哪些改进。"), field="note")
    previous = task.status
    task.status = status
    if note.strip():
        task.note = note.strip()[:4000]
    task.done_on = (today or timezone.localdate()) if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "note", "done_on"])
    audit(actor, "insights.task.update", task, status=status, previous=previous)
    return task


def can_decide(actor: Any, s: Suggestion) -> bool:
    return s.state == SuggestionState.OPEN and has_perm(actor, PERM, s.unit)
