"""Work calendar API: public deadline arithmetic, and the administrators' holiday table."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from . import workcalendar
from .calendar_actions import DATE_HELP, do_import_calendar_year, parse_date
from .errors import RuleViolation
from .models import CalendarDay, CalendarYear
from .schemas import ERRORS, ErrorOut

router = Router(tags=["calendar"])


class DeadlineOut(Schema):
    start: date
    working_days: int
    due: date = Field(..., description="start 之后第 working_days 个工作日（start 当天不计）")


class WorkingDaysOut(Schema):
    from_: date = Field(..., alias="from")
    to: date
    working_days: int = Field(..., description="from 至 to 之间的工作日数，两端都计入")


class CalendarDayOut(Schema):
    date: date
    kind: str = Field(..., description="holiday（放假）或 workday（调休上班）")
    name: str


class CalendarYearOut(Schema):
    year: int
    known: bool = Field(..., description="该年份能否按工作日计算")
    source: str | None = Field(None, description="导入的节假日安排的来源（未导入则为空）")
    imported_at: datetime | None = None
    days: list[CalendarDayOut] = Field(..., description="管理员导入或设置的日期（覆盖内置日历）")


class ScheduleDayIn(Schema):
    date: str = Field(..., description="YYYY-MM-DD", examples=["2027-01-01"])
    kind: str = Field(..., description="holiday（放假）或 workday（调休上班）", examples=["holiday"])
    name: str = Field("", description="不超过 60 个字", examples=["元旦"])


class ScheduleIn(Schema):
    year: int = Field(..., examples=[2027])
    source: str = Field(..., examples=["国务院办公厅关于2027年部分节假日安排的通知"])
    days: list[ScheduleDayIn]


class ImportOut(Schema):
    year: int
    source: str
    holidays: int
    workdays: int
    replaced: int = Field(..., description="被替换的该年度原有记录数")


def _date_param(value: str, field: str, label: str) -> date:
    parsed = parse_date(value)
    if parsed is None:
        raise RuleViolation(
            "invalid_date",
            _("%(label)s：%(help)s（收到“%(value)s”）。")
            % {"label": label, "help": DATE_HELP, "value": value[:20]},
            {"field": field, "value": value[:40]},
            field=field,
        )
    return parsed


@router.get(
    "/calendar/deadline",
    auth=None,
    response={200: DeadlineOut, 422: ErrorOut},
    summary="按工作日计算期限",
)
def deadline(
    request: HttpRequest,
    start: str = Query(..., description="起算日期 YYYY-MM-DD（当天不计）", examples=["2026-09-30"]),
    working_days: int = Query(..., description="工作日数，0 至上限（规则 calendar.max_working_days）"),
) -> dict[str, Any]:
    """start 之后第 N 个工作日（按国务院办公厅节假日安排，含调休上班）。"""
    start_date = _date_param(start, "start", _("起算日期"))
    due = workcalendar.add_working_days(start_date, working_days)
    return {"start": start_date, "working_days": working_days, "due": due}


@router.get(
    "/calendar/working-days",
    auth=None,
    response={200: WorkingDaysOut, 422: ErrorOut},
    by_alias=True,
    summary="两个日期之间的工作日数",
)
def working_days(
    request: HttpRequest,
    from_: str = Query(..., alias="from", description="开始日期 YYYY-MM-DD（计入）", examples=["2026-10-01"]),
    to: str = Query(..., description="结束日期 YYYY-MM-DD（计入）", examples=["2026-10-31"]),
) -> dict[str, Any]:
    """from 至 to 之间的工作日数，两端都计入。"""
    a = _date_param(from_, "from", _("开始日期"))
    b = _date_param(to, "to", _("结束日期"))
    return {"from": a, "to": b, "working_days": workcalendar.working_days_between(a, b)}


@router.get("/calendar/days", response={200: CalendarYearOut, **ERRORS}, summary="某年的节假日与调休设置")
def calendar_days(
    request: HttpRequest, year: int = Query(..., ge=1000, le=9999, examples=[2027])
) -> dict[str, Any]:
    """The administrators' entries for a year (they override the built-in calendar)."""
    imported = CalendarYear.objects.filter(year=year).first()
    rows = CalendarDay.objects.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)).order_by("day")
    return {
        "year": year,
        "known": imported is not None
        or workcalendar.LIBRARY_FIRST_YEAR <= year <= workcalendar.LIBRARY_LAST_YEAR,
        "source": imported.source if imported else None,
        "imported_at": imported.imported_at if imported else None,
        "days": [
            {"date": r.day, "kind": "workday" if r.is_workday else "holiday", "name": r.name} for r in rows
        ],
    }


@router.post("/calendar/import", response={200: ImportOut, **ERRORS}, summary="导入某年的节假日安排")
def calendar_import(request: HttpRequest, payload: ScheduleIn) -> dict[str, Any]:
    """Replaces the year's entries (idempotent). Needs calendar.change; audited."""
    result = do_import_calendar_year(
        payload.year, [d.dict() for d in payload.days], payload.source, actor=request.auth
    )
    return {
        "year": result.calendar_year.year,
        "source": result.calendar_year.source,
        "holidays": result.holidays,
        "workdays": result.workdays,
        "replaced": result.replaced,
    }
