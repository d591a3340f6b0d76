"""The work calendar: which days are working days in mainland China, and deadlines in working days.

Rule: a date is a working day as chinesecalendar says (国务院办公厅 holiday notices 2004–its last
year, weekends included), unless an administrator's CalendarDay row says otherwise for that date
(a holiday, or a make-up workday 调休上班). A year after chinesecalendar's last year is known only
once its official schedule was imported (a CalendarYear row); its days are then the CalendarDay
rows plus the weekend rule (Saturday and Sunday off unless a row says workday). A date in any
other year is an error (calendar_unknown_year), never a guess: a deadline computed over an
unpublished Spring Festival would be wrong by a week.

Speed: every deadline on the platform goes through here, so nothing below touches the database
on the hot path. See `_current()` for how the per-process snapshot stays correct across processes.
The snapshot also holds the rule values (core.RuleValue, a table of about a hundred rows read by
nearly every action): `rulesets.ruleset_for` answers from `rule_values()` without a query.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from chinese_calendar import constants as _cc
from django.utils.translation import gettext as _

from .errors import RuleViolation
from .rulesets import Rule

log = logging.getLogger(__name__)

# What the installed chinesecalendar knows (1.11.0: 2004–2026).
LIBRARY_FIRST_YEAR = min(_cc.holidays).year
LIBRARY_LAST_YEAR = max(d.year for d in (*_cc.holidays, *_cc.workdays))
_LIB_HOLIDAYS: dict[date, str] = dict(_cc.holidays)
_LIB_WORKDAYS: dict[date, str] = dict(_cc.workdays)
_LIB_CHINESE = {h.value: h.chinese for h in _cc.Holiday}

MAX_RULE_KEY = "calendar.max_working_days"
VERSION_CACHE_KEY = "dangqun:calendar:version"
# How often a process asks the (shared) cache whether the calendar changed, and how often it
# re-reads the tables anyway (the safety net when the cache is per-process or was flushed).
CHECK_SECONDS = 1.0
RELOAD_SECONDS = 10.0


# ---------------------------------------------------------------------------------------------
# The per-process snapshot
# ---------------------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    """Everything the functions below need, read from the database in three small queries."""

    overrides: dict[date, tuple[bool, str]]  # CalendarDay: day -> (is_workday, name)
    imported: dict[int, str]  # CalendarYear: year -> source
    rules: tuple[Rule, ...]  # every RuleValue row, oldest first
    caps: tuple[tuple[date, int, str], ...]  # calendar.max_working_days: (effective_from, value, cite)
    version: Any  # the shared cache's version when the rows were read
    check_at: float = 0.0
    expires_at: float = 0.0
    _years: dict[int, list[int]] = field(default_factory=dict)  # year -> sorted workday ordinals

    def fingerprint(self) -> tuple:
        return (self.overrides, self.imported, self.caps)

    def is_known(self, year: int) -> bool:
        return LIBRARY_FIRST_YEAR <= year <= LIBRARY_LAST_YEAR or year in self.imported

    def is_workday_known(self, d: date) -> bool:
        """`d`'s year must be known (checked by the callers)."""
        override = self.overrides.get(d)
        if override is not None:
            return override[0]
        if d in _LIB_WORKDAYS:
            return True
        return d.weekday() < 5 and d not in _LIB_HOLIDAYS

    def workdays_of(self, year: int) -> list[int]:
        days = self._years.get(year)
        if days is None:
            first = date(year, 1, 1).toordinal()
            last = date(year, 12, 31).toordinal()
            days = [o for o in range(first, last + 1) if self.is_workday_known(date.fromordinal(o))]
            self._years[year] = days
        return days

    def cap_on(self, on: date) -> tuple[int, str]:
        """The version of calendar.max_working_days in force on `on` (newest effective_from ≤ on)."""
        best = None
        for effective_from, value, cite in self.caps:
            if effective_from <= on and (best is None or effective_from >= best[0]):
                best = (effective_from, value, cite)
        if best is None:
            raise RuleViolation(
                "rule_missing", _("规则 %(key)s 在 %(on)s 没有生效的值。") % {"key": MAX_RULE_KEY, "on": on}
            )
        return best[1], best[2]


_snapshot: _Snapshot | None = None  # shared by the threads of this process
_local = threading.local()  # per thread: `private`, the snapshot seen inside a writing transaction


def _shared_version() -> Any:
    from django.core.cache import cache

    try:
        return cache.get(VERSION_CACHE_KEY)
    except Exception:  # a cache outage must not stop deadlines: the periodic reload still holds
        log.warning("calendar: cannot read the shared cache version", exc_info=True)
        return None


def _load(previous: _Snapshot | None, version: Any = None) -> _Snapshot:
    from .models import CalendarDay, CalendarYear, RuleValue

    if version is None:
        version = _shared_version()  # read before the rows: a change committed meanwhile bumps it
    rules = tuple(
        Rule(*row)
        for row in RuleValue.objects.order_by("pk").values_list(
            "key", "value", "version", "effective_from", "clause", "source", "organization_id"
        )
    )
    snap = _Snapshot(
        overrides={
            day: (w, name) for day, w, name in CalendarDay.objects.values_list("day", "is_workday", "name")
        },
        imported=dict(CalendarYear.objects.values_list("year", "source")),
        rules=rules,
        caps=_caps(r for r in rules if r.key == MAX_RULE_KEY and r.organization_id is None),
        version=version,
    )
    if previous is not None and previous.fingerprint() == snap.fingerprint():
        snap._years = previous._years  # nothing changed: keep the per-year workday lists
    now = time.monotonic()
    snap.check_at, snap.expires_at = now + CHECK_SECONDS, now + RELOAD_SECONDS
    return snap


def _caps(rules: Any) -> tuple[tuple[date, int, str], ...]:
    caps = []
    for rv in rules:
        if isinstance(rv.value, int) and not isinstance(rv.value, bool):
            caps.append((rv.effective_from, rv.value, rv.cite()))
        else:  # a mistyped value in the admin must not break every deadline: ignore it, loudly
            log.error("calendar: rule %s version %s is not an integer: %r", rv.key, rv.version, rv.value)
    return tuple(sorted(caps))


class _CommitHook:
    """Registered with on_commit by every calendar write. While one sits in the connection's
    pending on-commit list, this thread's transaction holds calendar writes not yet committed
    (Django drops the hooks of a rolled-back transaction or savepoint, and runs them on commit)."""

    def __call__(self) -> None:
        _committed()


def _own_writes() -> tuple[int, ...]:
    """Identifies the uncommitted calendar writes of this thread's transaction (empty: none)."""
    from django.db import connection

    if not connection.in_atomic_block:
        return ()
    return tuple(id(func) for _, func, _ in connection.run_on_commit if isinstance(func, _CommitHook))


def _current() -> _Snapshot:
    """The calendar data this process answers from.

    Correct across processes (gunicorn workers, huey consumers, several machines):
    * every write goes through `invalidate()` (actions, admin, and model signals), which drops
      this process's snapshot at once and, after commit, bumps a version in Django's cache;
    * a process compares its snapshot's version with the cache at most every CHECK_SECONDS, so
      with a shared cache (REDIS_URL) every process sees a change within about a second;
    * whatever the cache (the default LocMemCache is per process), a process re-reads the three
      small tables at least every RELOAD_SECONDS, so a change reaches every process within that
      bound — a holiday table that changes a few times a year can afford ten seconds;
    * a transaction that wrote calendar rows answers from its own snapshot (read inside the
      transaction, kept only while those writes are pending), never from or into the shared
      one, so uncommitted or rolled-back rows never reach another request.
    """
    global _snapshot
    writes = _own_writes()
    if writes:
        private = getattr(_local, "private", None)
        if private is None or private.version != writes:
            private = _local.private = _load(None, version=writes)
        return private
    if getattr(_local, "private", None) is not None:
        _local.private = None  # the writing transaction is over (committed or rolled back)
    snap = _snapshot
    now = time.monotonic()
    if snap is not None and now < snap.check_at:
        return snap
    if snap is not None and now < snap.expires_at and _shared_version() == snap.version:
        snap.check_at = now + CHECK_SECONDS
        return snap
    snap = _snapshot = _load(snap)
    return snap


def invalidate(**signal_kwargs: Any) -> None:
    """Forget the cached calendar here now, and in every process after the transaction commits."""
    global _snapshot
    from django.db import transaction

    _snapshot = _local.private = None
    transaction.on_commit(_CommitHook())  # outside a transaction: runs at once


def _committed() -> None:
    global _snapshot
    from django.core.cache import cache

    _snapshot = None
    try:
        cache.set(VERSION_CACHE_KEY, time.time_ns(), timeout=None)
    except Exception:  # other processes still reload within RELOAD_SECONDS
        log.warning("calendar: cannot bump the shared cache version", exc_info=True)


def reset() -> None:
    """Forget the snapshot (tests: after rows were written without signals, or rolled back)."""
    global _snapshot
    _snapshot = _local.private = None


def _connect_signals() -> None:
    # Lazy "app.Model" senders: this module may be imported before the app registry is ready.
    # bulk_create and QuerySet.update() send no signals: code that uses them calls invalidate().
    from django.db.models.signals import post_delete, post_save

    for label in ("core.CalendarDay", "core.CalendarYear", "core.RuleValue"):
        post_save.connect(invalidate, sender=label, dispatch_uid=f"workcalendar-save-{label}")
        post_delete.connect(invalidate, sender=label, dispatch_uid=f"workcalendar-delete-{label}")


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


def _ranges(years: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for y in years:
        if out and out[-1][1] == y - 1:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


def _unknown_year(year: int, snap: _Snapshot) -> RuleViolation:
    known = _ranges(_known_years(snap))
    text = "、".join(
        _("%(y)s 年") % {"y": a} if a == b else _("%(a)s—%(b)s 年") % {"a": a, "b": b} for a, b in known
    )
    if year > LIBRARY_LAST_YEAR:
        hint = _("次年的安排通常在每年 11 月前后由国务院办公厅公布，请联系管理员导入后再试。")
    else:
        hint = _("请选择可计算年份内的日期。")
    return RuleViolation(
        "calendar_unknown_year",
        _("尚未导入 %(year)s 年的节假日安排，无法按工作日计算。目前可计算的年份：%(known)s。%(hint)s")
        % {"year": year, "known": text, "hint": hint},
        {"year": year, "known_years": [list(r) for r in known]},
    )


def _require_known(year: int, snap: _Snapshot) -> None:
    if not snap.is_known(year):
        raise _unknown_year(year, snap)


def _known_years(snap: _Snapshot) -> list[int]:
    return sorted(set(range(LIBRARY_FIRST_YEAR, LIBRARY_LAST_YEAR + 1)) | set(snap.imported))


def rule_values() -> tuple[Rule, ...]:
    """Every rule value of every version and organization, oldest first (see rulesets.py)."""
    return _current().rules


def known_years() -> list[int]:
    """Years whose working days can be computed: chinesecalendar's years and imported years."""
    return _known_years(_current())


def is_workday(d: date) -> bool:
    """Whether `d` is a working day (see the module docstring for the rule)."""
    d = _as_date(d)
    snap = _current()
    _require_known(d.year, snap)
    return snap.is_workday_known(d)


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    name: str  # 国庆节 / 国庆节调休 / an administrator's name; "" for an ordinary day
    overridden: bool  # an administrator's CalendarDay row decides this day


def day_info(d: date) -> DayInfo:
    """`is_workday` with the reason, for month views and the admin."""
    d = _as_date(d)
    snap = _current()
    _require_known(d.year, snap)
    override = snap.overrides.get(d)
    if override is not None:
        return DayInfo(d, override[0], override[1], True)
    if d in _LIB_HOLIDAYS:
        name = _LIB_CHINESE.get(_LIB_HOLIDAYS[d], _LIB_HOLIDAYS[d])
    elif d in _LIB_WORKDAYS:
        name = _("%(holiday)s调休") % {"holiday": _LIB_CHINESE.get(_LIB_WORKDAYS[d], _LIB_WORKDAYS[d])}
    else:
        name = ""
    return DayInfo(d, snap.is_workday_known(d), name, False)


def max_working_days(on: date) -> int:
    """The rule calendar.max_working_days in force on `on` (national value)."""
    return _current().cap_on(_as_date(on))[0]


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (`start` itself is not counted); n = 0 gives `start`.

    E.g. 5 working days after Friday 2026-09-18 is Thursday 2026-09-24, because Sunday
    2026-09-20 is a make-up workday (国庆节调休). Capped by calendar.max_working_days.
    """
    start = _as_date(start)
    if n < 0:
        raise RuleViolation(
            "calendar_negative_days", _("工作日数不能为负数，请输入 0 或正整数。"), {"working_days": n}
        )
    snap = _current()
    _require_known(start.year, snap)
    cap, cite = snap.cap_on(start)
    if n > cap:
        raise RuleViolation(
            "calendar_too_many_days",
            _("工作日数不能超过 %(max)s 个（约十年），请检查输入是否有误。") % {"max": cap},
            {"working_days": n, "max": cap},
            source=cite,
        )
    if n == 0:
        return start
    year = start.year
    days = snap.workdays_of(year)
    i = bisect_right(days, start.toordinal())
    remaining = n
    while remaining > len(days) - i:
        remaining -= len(days) - i
        year += 1
        _require_known(year, snap)
        days, i = snap.workdays_of(year), 0
    return date.fromordinal(days[i + remaining - 1])


def working_days_between(a: date, b: date) -> int:
    """How many working days from `a` to `b`, both included. `a` after `b` is an error."""
    a, b = _as_date(a), _as_date(b)
    if a > b:
        raise RuleViolation(
            "calendar_range_reversed",
            _("开始日期 %(a)s 晚于结束日期 %(b)s，请调换两者或重新选择。") % {"a": a, "b": b},
            {"from": a.isoformat(), "to": b.isoformat()},
        )
    snap = _current()
    for year in range(a.year, b.year + 1):
        _require_known(year, snap)
    count = 0
    for year in range(a.year, b.year + 1):
        days = snap.workdays_of(year)
        lo = bisect_left(days, a.toordinal()) if year == a.year else 0
        hi = bisect_right(days, b.toordinal()) if year == b.year else len(days)
        count += hi - lo
    return count


def month_days(year: int, month: int) -> list[DayInfo]:
    """Every day of a month with its status (raises for an unknown year)."""
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return [day_info(first + timedelta(days=i)) for i in range((nxt - first).days)]


_connect_signals()
