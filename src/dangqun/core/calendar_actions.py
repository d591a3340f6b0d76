"""Every change to the work calendar: import a year's official schedule, set or remove one day.

Each November 国务院办公厅 publishes the next year's 部分节假日安排; an administrator imports it
(`dangqun calendar import`, POST /api/v1/calendar/import) so deadlines can run into that year.
The API, the CLI and the admin all call these actions.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import workcalendar
from .audit import audit
from .errors import RuleViolation, Violation, raise_if_any
from .models import CalendarDay, CalendarYear
from .permissions import require

KINDS = {"holiday": False, "workday": True}  # kind -> is_workday
KIND_LABELS = {"holiday": "放假", "workday": "调休上班"}
MAX_ENTRIES = 366  # one entry per date at most
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_HELP = "日期格式应为 YYYY-MM-DD，且须是真实存在的日期"


def parse_date(value: Any) -> date | None:
    """A real date written YYYY-MM-DD (or a date already), else None. Stricter than fromisoformat,
    which in Python 3.11 also takes 20261001 and week dates like 2026-W40-1."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:  # 2026-02-30
        return None


def _check_actor(actor: Any) -> None:
    # A string actor is the system (CLI run by someone with shell access to the server, a job):
    # trusted, and named in the audit event. A user needs calendar.change.
    if not isinstance(actor, str):
        require(actor, "calendar.change")


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    kind: str
    name: str

    @property
    def is_workday(self) -> bool:
        return KINDS[self.kind]


def _field(entry: Any, name: str) -> Any:
    if isinstance(entry, Mapping):
        return entry.get(name)
    return getattr(entry, name, None)


def validate_schedule(year: Any, entries: Iterable[Any], source: Any) -> list[ScheduleDay]:
    """Every entry checked; all problems raised together (RuleViolation with `violations`)."""
    problems: list[Violation] = []
    entries = list(entries)
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise RuleViolation("calendar_bad_year", _("年份应为四位数，如 2027。"), {"year": str(year)[:20]})
    source = (source or "").strip() if isinstance(source, str) else ""
    if not source:
        problems.append(
            Violation(
                "calendar_source_missing",
                _("请填写来源（如“国务院办公厅关于%(year)s年部分节假日安排的通知”），便于日后核对。")
                % {"year": year},
                field="source",
            )
        )
    elif len(source) > 300:
        problems.append(Violation("calendar_source_too_long", _("来源不能超过 300 个字。"), field="source"))
    if not entries:
        problems.append(
            Violation(
                "calendar_empty_schedule",
                _("安排中没有任何日期：至少应有一条放假或调休上班的记录。"),
                field="days",
            )
        )
    if len(entries) > MAX_ENTRIES:
        raise RuleViolation(
            "calendar_too_many_entries",
            _("一年的安排最多 %(max)s 条，收到 %(n)s 条。") % {"max": MAX_ENTRIES, "n": len(entries)},
        )
    seen: dict[date, int] = {}
    days: list[ScheduleDay] = []
    for i, entry in enumerate(entries, start=1):
        raw_date, kind, name = _field(entry, "date"), _field(entry, "kind"), _field(entry, "name") or ""
        where = {"index": i}
        d = parse_date(raw_date)
        if d is None:
            problems.append(
                Violation(
                    "invalid_date",
                    _("第 %(i)s 条：“%(value)s”不是有效日期，%(help)s。")
                    % {"i": i, "value": str(raw_date)[:20], "help": DATE_HELP},
                    field=f"days.{i - 1}.date",
                    details=where,
                )
            )
        elif d.year != year:
            problems.append(
                Violation(
                    "calendar_date_outside_year",
                    _("第 %(i)s 条：%(d)s 不在 %(year)s 年内。") % {"i": i, "d": d, "year": year},
                    field=f"days.{i - 1}.date",
                    details=where,
                )
            )
        elif d in seen:
            problems.append(
                Violation(
                    "calendar_duplicate_date",
                    _("第 %(i)s 条：%(d)s 与第 %(j)s 条重复，每个日期只能出现一次。")
                    % {"i": i, "d": d, "j": seen[d]},
                    field=f"days.{i - 1}.date",
                    details=where,
                )
            )
        else:
            seen[d] = i
        if kind not in KINDS:
            problems.append(
                Violation(
                    "calendar_bad_kind",
                    _("第 %(i)s 条：类型“%(kind)s”应为 holiday（放假）或 workday（调休上班）。")
                    % {"i": i, "kind": str(kind)[:20]},
                    field=f"days.{i - 1}.kind",
                    details=where,
                )
            )
        if not isinstance(name, str) or len(name) > 60:
            problems.append(
                Violation(
                    "calendar_bad_name",
                    _("第 %(i)s 条：名称应为不超过 60 个字的文字。") % {"i": i},
                    field=f"days.{i - 1}.name",
                    details=where,
                )
            )
        if not problems:
            days.append(ScheduleDay(d, kind, name.strip()))  # type: ignore[arg-type]
    raise_if_any(problems)
    return days


@dataclass(frozen=True)
class ImportResult:
    calendar_year: CalendarYear
    holidays: int
    workdays: int
    replaced: int


@transaction.atomic
def do_import_calendar_year(year: int, entries: Iterable[Any], source: str, *, actor: Any) -> ImportResult:
    """Import one year's official holiday schedule (国务院办公厅 部分节假日安排).

    All or nothing: every entry is validated first (dates inside the year, no duplicates,
    kind holiday|workday). Re-importing a year replaces that year's CalendarDay rows, so an
    import is idempotent. Records the CalendarYear (making a year past chinesecalendar known)
    and writes one audit event. Needs calendar.change (or a system actor: the CLI).
    """
    _check_actor(actor)
    days = validate_schedule(year, entries, source)
    source = source.strip()
    existing = CalendarDay.objects.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31))
    replaced = existing.count()
    existing.delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(day=d.day, is_workday=d.is_workday, name=d.name) for d in days
    )
    calendar_year, created = CalendarYear.objects.get_or_create(year=year, defaults={"source": source})
    if not created:
        calendar_year.source, calendar_year.imported_at = source, timezone.now()
        calendar_year.save(update_fields=["source", "imported_at"])
    workcalendar.invalidate()  # bulk_create sends no signals
    holidays = sum(not d.is_workday for d in days)
    audit(
        actor,
        "calendar.import",
        calendar_year,
        year=year,
        source=source,
        holidays=holidays,
        workdays=len(days) - holidays,
        replaced=replaced,
        days=[[d.day.isoformat(), d.kind, d.name] for d in sorted(days, key=lambda d: d.day)],
    )
    return ImportResult(calendar_year, holidays, len(days) - holidays, replaced)


@transaction.atomic
def do_save_calendar_day(entry: CalendarDay, *, actor: Any) -> CalendarDay:
    """Set one day's status by hand (a holiday or 调休 announced late, a local closure).

    The row overrides chinesecalendar and any import for that date. Audited with the old value.
    """
    _check_actor(actor)
    entry.full_clean()
    before = (
        CalendarDay.objects.filter(pk=entry.pk).values("day", "is_workday", "name").first()
        if entry.pk
        else None
    )
    entry.save()
    audit(
        actor,
        "calendar.day.save",
        entry,
        day=entry.day,
        is_workday=entry.is_workday,
        name=entry.name,
        before=before,
    )
    return entry


@transaction.atomic
def do_delete_calendar_day(entry: CalendarDay, *, actor: Any) -> None:
    """Remove a hand-set day: the date goes back to chinesecalendar's (or the weekend) answer."""
    _check_actor(actor)
    audit(actor, "calendar.day.delete", entry, day=entry.day, is_workday=entry.is_workday, name=entry.name)
    entry.delete()


# ---------------------------------------------------------------------------------------------
# Schedule files (JSON or CSV) for `dangqun calendar import`
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleFile:
    year: Any
    source: str
    days: list[dict[str, Any]]
    example: bool = False  # shipped example files say so: never import one as the real schedule


def read_schedule_file(path: Path, *, year: int | None = None, source: str | None = None) -> ScheduleFile:
    """Read a schedule: JSON {"year", "source", "days": [{"date","kind","name"}]} or CSV date,kind,name.

    A CSV carries no year or source: the year is that of its first date unless given, and the
    source must be given (--source). Entries are validated by the import action, not here.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleViolation(
            "calendar_bad_file", _("无法读取文件 %(path)s：%(err)s") % {"path": path, "err": exc}
        ) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RuleViolation(
                "calendar_bad_file",
                _("%(path)s 不是有效的 JSON（第 %(line)s 行）：%(err)s")
                % {"path": path.name, "line": exc.lineno, "err": exc.msg},
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("days"), list):
            raise RuleViolation(
                "calendar_bad_file",
                _('JSON 应为 {"year": 2027, "source": "…", "days": [{"date", "kind", "name"}]}。'),
            )
        return ScheduleFile(
            year if year is not None else data.get("year"),
            source if source is not None else data.get("source", ""),
            [d if isinstance(d, dict) else {"date": d} for d in data["days"]],
            example=data.get("example") is True,
        )
    if path.suffix.lower() == ".csv":
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
        if rows and rows[0] and rows[0][0].strip().lower() == "date":
            rows = rows[1:]  # header
        days = [
            {
                "date": r[0].strip(),
                "kind": (r[1] if len(r) > 1 else "").strip(),
                "name": ",".join(r[2:]).strip(),
            }
            for r in rows
        ]
        if year is None and days:
            first = parse_date(days[0]["date"])
            year = first.year if first else None
        return ScheduleFile(year, source or "", days)
    raise RuleViolation("calendar_bad_file", _("只支持 .json 或 .csv 文件。"))


EXAMPLES = Path(__file__).parent / "calendar_data"


def import_example_year(year: int, *, actor: Any) -> ImportResult | None:
    """For the demo and benchmarks only: when `year` is not known yet, import the bundled example
    schedule for it (calendar_data/example-<year>.json, marked 示例（非官方） in its source) so
    that deadlines reaching into next year can be computed. None when the year is known or no
    example exists. Production imports the official schedule instead (docs/calendar.md)."""
    path = EXAMPLES / f"example-{year}.json"
    if year in workcalendar.known_years() or not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return do_import_calendar_year(year, data["days"], data["source"], actor=actor)
