"""Computing the pre-aggregated statistics: slices, the per-minute sweep, the full rebuild.

One computation per kind, over a queryset that is either everything (rebuild) or one slice —
one service item and month for cases, one unit and month for ratings, fixes and messages —
so a refreshed slice holds exactly what a full rebuild would (tests compare both with direct
counts). Writing a slice replaces its rows (delete + insert) inside a transaction that holds
the Slice row lock, so two refreshes of one slice never interleave.

Freshness: ratings, fixes and messages mark their slice dirty in the transaction that saved
them and refresh it right after commit (signals.py), so a new rating shows within a second;
cases are picked up every minute from onestop's append-only Event table (a cursor on its ids),
and every dirty slice left over is swept then too. `insights rebuild` recomputes everything.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, IntegerField, Max, QuerySet, Sum, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from dangqun.core import workcalendar
from dangqun.core.errors import RuleViolation
from dangqun.orgs.models import Organization

from .choices import Group, SliceKind
from .models import (
    REASON_FIELDS,
    CaseStat,
    Cursor,
    FixStat,
    MessageStat,
    NoticeMaterialStat,
    RatingStat,
    Slice,
)

log = logging.getLogger(__name__)

EVENT_CURSOR = "onestop.event"
# Event ids are allocated at insert, not at commit: a transaction that commits late can leave a
# lower id behind the cursor. Events this recent are read again (refreshing is idempotent).
EVENT_GRACE = timedelta(minutes=10)
EVENT_BATCH = 5000
SWEEP_BUDGET = 40.0  # seconds: the job runs every minute


# --- months -------------------------------------------------------------------------------------


def month_of(d: date) -> date:
    return d.replace(day=1)


def next_month(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1)


def prev_month(m: date) -> date:
    return (m.replace(day=1) - timedelta(days=1)).replace(day=1)


def aware_range(m: date) -> tuple[datetime, datetime]:
    """The month as [start, end) instants in the local time zone (Asia/Shanghai)."""
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(m, clock.min), tz),
        timezone.make_aware(datetime.combine(next_month(m), clock.min), tz),
    )


def local_month(at: datetime) -> date:
    return month_of(timezone.localtime(at).date())


def _paths(ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(Organization.objects.filter(pk__in=wanted).values_list("pk", "path"))


def elapsed_working_days(received: date, completed: date, stopped: int) -> int | None:
    """Working days after receipt up to completion, stopped days (挂起) not counted.

    None when the calendar does not know a year in between: a statistic leaves such a case out
    of the average rather than guess (DESIGN.md: a date past the known years is an error).
    """
    if completed <= received:
        return 0
    try:
        days = workcalendar.working_days_between(received + timedelta(days=1), completed)
    except RuleViolation:
        return None
    return max(0, days - stopped)


def _slice(field: str, key: int | None, m: date | None) -> dict[str, Any]:
    """The filter of the statistics rows of one slice (`field` = key, one month); a None key or
    month takes every one (the full rebuild)."""
    where: dict[str, Any] = {}
    if key is not None:
        where[field] = key
    if m is not None:
        where["month"] = m
    return where


def _replace_unit_rows(model: Any, where: dict[str, Any], rows: dict, dims: tuple[str, ...]) -> None:
    """Replace a slice's rows of `model` with `rows`: {(month, unit, *dims' values): counters}."""
    paths = _paths(k[1] for k in rows)
    model.objects.filter(**where).delete()
    model.objects.bulk_create(
        (
            model(
                month=month,
                unit_id=unit,
                unit_path=paths.get(unit, ""),
                **dict(zip(dims, rest, strict=True)),
                **counters,
            )
            for (month, unit, *rest), counters in rows.items()
        ),
        batch_size=2000,
    )


# --- cases (onestop) ----------------------------------------------------------------------------


def _in_month(qs: QuerySet, field: str, m: date | None) -> QuerySet:
    if m is None:
        return qs.filter(**{f"{field}__isnull": False})
    return qs.filter(**{f"{field}__gte": m, f"{field}__lt": next_month(m)})


def compute_cases(item_id: int | None = None, m: date | None = None) -> tuple[dict, dict]:
    """CaseStat and NoticeMaterialStat rows: {(month, unit, item, channel): counters}."""
    from dangqun.onestop.models import Application, CorrectionNotice

    apps = Application.objects.all()
    notices = CorrectionNotice.objects.all()
    if item_id is not None:
        apps = apps.filter(item_id=item_id)
        notices = notices.filter(application__item_id=item_id)
    dims = ("department_id", "item_id", "channel")
    rows: dict[tuple, Counter] = defaultdict(Counter)
    for field, counter in (("received_on", "submitted"), ("accepted_on", "accepted")):
        grouped = (
            _in_month(apps, field, m)
            .annotate(m=TruncMonth(field))
            .values_list("m", *dims)
            .annotate(n=Count("id"))
            .order_by()
        )
        for month, unit, item, channel, n in grouped:
            rows[(month, unit, item, channel)][counter] += n
    promised = Coalesce(F("promised_due"), F("decision_due"), F("completed_on"))
    completed = (
        _in_month(apps, "completed_on", m)
        .filter(received_on__isnull=False)
        .values_list(*dims, "received_on", "completed_on", "stopped_days")
        .annotate(
            n=Count("id"),
            ot=Sum(Case(When(completed_on__lte=promised, then=1), default=0, output_field=IntegerField())),
        )
        .order_by()
    )
    for unit, item, channel, received, done, stopped, n, ot in completed:
        row = rows[(month_of(done), unit, item, channel)]
        row["completed"] += n
        row["on_time"] += ot
        days = elapsed_working_days(received, done, stopped)
        if days is not None:
            row["timed"] += n
            row["work_days"] += days * n
    materials: dict[tuple, Counter] = defaultdict(Counter)
    listed = _in_month(notices, "issued_on", m).values_list(
        "application__department_id", "application__item_id", "application__channel", "issued_on", "items"
    )
    for unit, item, channel, issued, items in listed.iterator(chunk_size=2000):
        month = month_of(issued)
        rows[(month, unit, item, channel)]["noticed"] += 1
        for entry in items or []:
            name = (entry.get("name") if isinstance(entry, dict) else "") or "其他"
            materials[(month, unit, item)][str(name)[:120]] += 1
    return rows, materials


def write_cases(rows: dict, materials: dict, item_id: int | None = None, m: date | None = None) -> None:
    where = _slice("item_id", item_id, m)
    paths = _paths([k[1] for k in rows] + [k[1] for k in materials])
    CaseStat.objects.filter(**where).delete()
    NoticeMaterialStat.objects.filter(**where).delete()
    CaseStat.objects.bulk_create(
        (
            CaseStat(
                month=month,
                unit_id=unit,
                unit_path=paths.get(unit, ""),
                item_id=item,
                channel=channel,
                **counters,
            )
            for (month, unit, item, channel), counters in rows.items()
        ),
        batch_size=2000,
    )
    NoticeMaterialStat.objects.bulk_create(
        (
            NoticeMaterialStat(
                month=month, unit_id=unit, unit_path=paths.get(unit, ""), item_id=item, material=name, count=n
            )
            for (month, unit, item), names in materials.items()
            for name, n in names.items()
        ),
        batch_size=2000,
    )


# --- ratings (feedback) -------------------------------------------------------------------------


def groups_of(elderly: bool, enterprise: bool, rural: bool) -> list[str]:
    out = [Group.ALL.value]
    if elderly:
        out.append(Group.ELDERLY.value)
    if enterprise:
        out.append(Group.ENTERPRISE.value)
    if rural:
        out.append(Group.RURAL.value)
    return out


def compute_ratings(unit_id: int | None = None, m: date | None = None) -> dict:
    """RatingStat rows: counted ratings only (an upheld appeal takes a rating out)."""
    from dangqun.feedback.models import Rating

    qs = Rating.objects.filter(counted=True)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    qs = _in_month(qs, "rated_on", m)
    dims = ("unit_id", "item_id", "channel", "mode", "visit__window_id", "elderly", "enterprise", "rural")
    rows: dict[tuple, Counter] = defaultdict(Counter)
    grouped = qs.annotate(m=TruncMonth("rated_on")).values_list("m", *dims, "level").annotate(n=Count("id"))
    for month, unit, item, channel, mode, window, elderly, enterprise, rural, level, n in grouped.order_by():
        for group in groups_of(elderly, enterprise, rural):
            row = rows[(month, unit, item or 0, channel, mode, window or 0, group)]
            row["count"] += n
            row["level_sum"] += level * n
            row[f"l{level}"] += n
    bad = qs.filter(level__lte=2).values_list("rated_on", *dims, "reasons")
    for rated, unit, item, channel, mode, window, elderly, enterprise, rural, reasons in bad.iterator(
        chunk_size=2000
    ):
        codes = {r if r in REASON_FIELDS else "other" for r in (reasons or []) if isinstance(r, str)}
        for group in groups_of(elderly, enterprise, rural):
            row = rows[(month_of(rated), unit, item or 0, channel, mode, window or 0, group)]
            for code in codes:
                row[f"r_{code}"] += 1
    return rows


def write_ratings(rows: dict, unit_id: int | None = None, m: date | None = None) -> None:
    dims = ("item_id", "channel", "mode", "window_id", "group")
    _replace_unit_rows(RatingStat, _slice("unit_id", unit_id, m), rows, dims)


# --- fixes and messages (feedback) --------------------------------------------------------------


def _created_in(qs: QuerySet, m: date | None) -> QuerySet:
    if m is None:
        return qs
    start, end = aware_range(m)
    return qs.filter(created_at__gte=start, created_at__lt=end)


def compute_fixes(unit_id: int | None = None, m: date | None = None) -> dict:
    from dangqun.feedback.choices import FixState
    from dangqun.feedback.models import Fix

    qs = Fix.objects.all() if unit_id is None else Fix.objects.filter(unit_id=unit_id)
    rows: dict[tuple, Counter] = defaultdict(Counter)
    fields = ("unit_id", "created_at", "state", "callback_at", "fixed_at", "replied_at", "closed_at")
    more = ("on_time", "solved", "escalated_to_id")
    for unit, created, state, callback, fixed, replied, closed, on_time, solved, escalated in (
        _created_in(qs, m).values_list(*fields, *more).iterator(chunk_size=2000)
    ):
        row = rows[(local_month(created), unit)]
        if state == FixState.VOIDED:
            row["voided"] += 1
            continue
        row["count"] += 1
        row["called_back"] += callback is not None
        row["fixed"] += fixed is not None
        row["replied"] += replied is not None
        row["closed"] += closed is not None
        row["on_time"] += on_time is True
        row["solved"] += solved is True
        row["escalated"] += escalated is not None
    return rows


def write_fixes(rows: dict, unit_id: int | None = None, m: date | None = None) -> None:
    _replace_unit_rows(FixStat, _slice("unit_id", unit_id, m), rows, ())


def compute_messages(unit_id: int | None = None, m: date | None = None) -> dict:
    from dangqun.feedback.choices import MessageState
    from dangqun.feedback.models import Message

    qs = Message.objects.exclude(state=MessageState.MERGED)  # a merged duplicate counts once, in its target
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id) if unit_id else qs.filter(unit__isnull=True)
    rows: dict[tuple, Counter] = defaultdict(Counter)
    fields = ("unit_id", "kind", "created_at", "replied_at", "closed_at", "on_time", "level")
    for unit, kind, created, replied, closed, on_time, level in (
        _created_in(qs, m).values_list(*fields).iterator(chunk_size=2000)
    ):
        row = rows[(local_month(created), unit or 0, kind)]
        row["count"] += 1
        row["replied"] += replied is not None
        row["closed"] += closed is not None
        row["on_time"] += on_time is True
        if level is not None:
            row["rated"] += 1
            row["level_sum"] += level
            row["bad"] += level <= 2
    return rows


def write_messages(rows: dict, unit_id: int | None = None, m: date | None = None) -> None:
    _replace_unit_rows(MessageStat, _slice("unit_id", unit_id, m), rows, ("kind",))


def _refresh_cases(key: int, m: date) -> None:
    rows, materials = compute_cases(key, m)
    write_cases(rows, materials, key, m)


REFRESHERS: dict[str, Callable[[int, date], None]] = {
    SliceKind.CASE: _refresh_cases,
    SliceKind.RATING: lambda key, m: write_ratings(compute_ratings(key, m), key, m),
    SliceKind.FIX: lambda key, m: write_fixes(compute_fixes(key, m), key, m),
    SliceKind.MESSAGE: lambda key, m: write_messages(compute_messages(key, m), key, m),
}


# --- slices ---------------------------------------------------------------------------------------


def mark_dirty(kind: str, key: int, m: date) -> None:
    """Inside the transaction that changed a source row: the mark commits with the change."""
    m = month_of(m)
    if not Slice.objects.filter(kind=kind, key=key, month=m).update(dirty=True):
        Slice.objects.bulk_create([Slice(kind=kind, key=key, month=m, dirty=True)], ignore_conflicts=True)


def refresh_slice(kind: str, key: int, m: date) -> None:
    """Recompute one slice exactly and mark it clean (its row lock orders concurrent refreshes)."""
    m = month_of(m)
    for attempt in range(3):
        try:
            with transaction.atomic():
                Slice.objects.bulk_create([Slice(kind=kind, key=key, month=m)], ignore_conflicts=True)
                Slice.objects.select_for_update().filter(kind=kind, key=key, month=m).first()
                REFRESHERS[kind](key, m)
                Slice.objects.filter(kind=kind, key=key, month=m).update(
                    dirty=False, refreshed_at=timezone.now()
                )
            return
        except IntegrityError:  # a concurrent refresh inserted the same rows first: do it again
            if attempt == 2:
                raise


def refresh_after_commit(slices: set[tuple[str, int, date]]) -> None:
    """Called on commit: a failure is logged, the slice stays dirty and the sweep retries it."""
    for kind, key, m in sorted(slices):
        try:
            refresh_slice(kind, key, m)
        except Exception:  # the rating is saved already; statistics must not break the request
            log.exception("insights: refreshing %s %s %s failed; left for the sweep", kind, key, m)


def sweep_dirty(limit: int = 500) -> int:
    done = 0
    for kind, key, m in Slice.objects.filter(dirty=True).values_list("kind", "key", "month")[:limit]:
        refresh_slice(kind, key, m)
        done += 1
    return done


def case_slices_of(application_ids: Iterable[int]) -> set[tuple[str, int, date]]:
    """Every (item, month) an application's dates fall in: receipt, acceptance, completion, notice."""
    from dangqun.onestop.models import Application, CorrectionNotice

    ids = list(set(application_ids))
    out: set[tuple[str, int, date]] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for item, *days in Application.objects.filter(pk__in=chunk).values_list(
            "item_id", "received_on", "accepted_on", "completed_on"
        ):
            out |= {(SliceKind.CASE.value, item, month_of(d)) for d in days if d}
        for item, issued in CorrectionNotice.objects.filter(application_id__in=chunk).values_list(
            "application__item_id", "issued_on"
        ):
            out.add((SliceKind.CASE.value, item, month_of(issued)))
    return out


def sweep_events(batch: int = EVENT_BATCH, budget: float = SWEEP_BUDGET) -> int:
    """Refresh the case slices touched by onestop events since the cursor (plus recent ones).

    Batch after batch while a full one comes back, for up to `budget` seconds: a backlog (after
    a busy hour or a stopped consumer) is caught up without one run outliving its minute.
    """
    started, total = time.monotonic(), 0
    while True:
        slices, new = _sweep_once(batch)
        total += slices
        if new < batch or time.monotonic() - started > budget:
            return total


def _sweep_once(batch: int) -> tuple[int, int]:
    from dangqun.onestop.models import Event

    cursor, _ = Cursor.objects.get_or_create(name=EVENT_CURSOR)
    recent = timezone.now() - EVENT_GRACE
    new = list(
        Event.objects.filter(pk__gt=cursor.position)
        .order_by("pk")
        .values_list("pk", "application_id")[:batch]
    )
    # Read separately, so that re-reading recent events never takes the new ones' place.
    again = list(
        Event.objects.filter(
            pk__gt=cursor.position - batch, pk__lte=cursor.position, at__gte=recent
        ).values_list("application_id", flat=True)[:batch]
    )
    if not new and not again:
        return 0, 0
    slices = case_slices_of([app for _, app in new] + again)
    for kind, key, m in sorted(slices):
        refresh_slice(kind, key, m)
    if new:
        Cursor.objects.filter(pk=cursor.pk, position__lt=new[-1][0]).update(position=new[-1][0])
    return len(slices), len(new)


def refresh_recent() -> dict[str, int]:
    """The per-minute job: new onestop events, then whatever is still dirty."""
    return {"case_slices": sweep_events(), "dirty_slices": sweep_dirty()}


def rebuild() -> dict[str, int]:
    """Recompute every statistic from the source tables (idempotent; run after a bulk import)."""
    from dangqun.onestop.models import Event

    # Events after this point are swept by the job: nothing falls between rebuild and cursor.
    position = Event.objects.aggregate(top=Max("pk"))["top"] or 0
    cases, materials = compute_cases()
    ratings = compute_ratings()
    fixes = compute_fixes()
    messages = compute_messages()
    with transaction.atomic():
        write_cases(cases, materials)
        write_ratings(ratings)
        write_fixes(fixes)
        write_messages(messages)
        Cursor.objects.update_or_create(name=EVENT_CURSOR, defaults={"position": position})
    # Dirty slices are left dirty: one saved while this ran is refreshed again by the sweep.
    return {
        "case_rows": len(cases),
        "notice_material_rows": sum(len(v) for v in materials.values()),
        "rating_rows": len(ratings),
        "fix_rows": len(fixes),
        "message_rows": len(messages),
    }
