"""The roster as an Excel workbook (.xlsx, openpyxl write-only: constant memory).

The columns are those the importer reads (importing.py), so an exported roster is a ready
import template and an export → import round trip changes nothing. A few columns are for
reading only (性别, 出生日期 come from the ID number; 预备期满日期 and 党龄 are computed):
the importer accepts and ignores them.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from dangqun.accounts.choices import Gender
from dangqun.core.audit import audit
from dangqun.core.permissions import require
from dangqun.core.validators import mask_id_number, mask_phone
from dangqun.orgs.models import Organization

from .choices import DuesCategory, Status
from .models import DevelopmentStep, PartyMember

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "党员名册"


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    width: int
    importable: bool = True  # False: shown for reading, ignored by the importer


# The headers are data (the file format), not interface text: they stay Chinese in every language.
COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", 12),
    Column("身份证号", "id_number", 22),
    Column("性别", "gender", 6, importable=False),
    Column("出生日期", "birth_date", 12, importable=False),
    Column("手机号", "phone", 14),
    Column("党支部", "branch", 24),
    Column("党支部代码", "branch_code", 14),
    Column("党小组", "group", 14),
    Column("身份", "status", 12),
    Column("递交入党申请书日期", "applied_on", 12),
    Column("列为入党积极分子日期", "activist_on", 12),
    Column("列为发展对象日期", "candidate_on", 12),
    Column("接收为预备党员日期", "admitted_on", 12),
    Column("预备期满日期", "probation_ends_on", 12, importable=False),
    Column("转为正式党员日期", "full_on", 12),
    Column("党龄", "standing", 6, importable=False),
    Column("职务", "post", 14),
    Column("职业", "occupation", 14),
    Column("党费类别", "dues_category", 10),
    Column("已完成至第几步", "through_step", 8),
)
HEADERS = {c.header: c for c in COLUMNS}
DATE_KEYS = (
    "birth_date",
    "applied_on",
    "activist_on",
    "candidate_on",
    "admitted_on",
    "probation_ends_on",
    "full_on",
)


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _last_step() -> Subquery:
    return Subquery(
        DevelopmentStep.objects.filter(member=OuterRef("pk")).order_by("-step").values("step")[:1]
    )


def _row(m: PartyMember, today: date, masked: bool) -> list[Any]:
    group = m.group.name if m.group_id else ""
    values = {
        "name": m.name,
        "id_number": mask_id_number(m.id_number) if masked else m.id_number,
        "gender": str(Gender(m.gender).label) if m.gender else "",
        "phone": mask_phone(m.phone) if masked else m.phone,
        "branch": m.branch.name,
        "branch_code": m.branch.code,
        "group": group,
        "status": str(Status(m.status).label),
        "standing": m.party_standing_years(today),
        "post": m.post,
        "occupation": m.occupation,
        "dues_category": str(DuesCategory(m.dues_category).label) if m.dues_category else "",
        "through_step": max(m.imported_through_step, getattr(m, "last_step", None) or 0) or None,
    }
    for key in DATE_KEYS:
        values[key] = getattr(m, key)
    return [values[c.key] for c in COLUMNS]


def write_roster(
    members: Iterable[PartyMember], *, masked: bool = False, today: date | None = None
) -> tuple[bytes, int]:
    """The workbook bytes and the number of people in it."""
    today = today or timezone.localdate()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    ws.freeze_panes = "A2"
    for i, col in enumerate(COLUMNS):
        ws.column_dimensions[_letter(i)].width = col.width
    bold = Font(bold=True)
    header = []
    for col in COLUMNS:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    date_columns = {i for i, c in enumerate(COLUMNS) if c.key in DATE_KEYS}
    text_columns = {i for i, c in enumerate(COLUMNS) if c.key in ("id_number", "phone")}
    count = 0
    for m in members:
        row: list[Any] = []
        for i, value in enumerate(_row(m, today, masked)):
            if i in date_columns and value is not None:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
                row.append(cell)
            elif i in text_columns and value:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "@"  # text: Excel must not turn an ID number into 1.1E+17
                row.append(cell)
            else:
                row.append(value)
        ws.append(row)
        count += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


def export_roster(
    members: QuerySet[PartyMember], *, actor: Any, scope: Organization, masked: bool, filters: dict[str, Any]
) -> tuple[bytes, int]:
    """Export a roster the caller already scoped (views/API pass branch_roster()).

    Full ID numbers and phones need members.change (the people who import them back);
    members.view alone gets the masked copy. Every export is audited: it discloses personal data.
    """
    require(actor, "members.view", scope)
    if not masked:
        require(actor, "members.change", scope)
    qs = members.annotate(last_step=_last_step()).select_related("branch", "group")
    data, count = write_roster(qs.iterator(chunk_size=2000), masked=masked)
    audit(
        actor,
        "member.export",
        scope,
        rows=count,
        masked=masked,
        filters={k: v for k, v in filters.items() if v not in (None, "")},
    )
    return data, count


def roster_response(
    members: QuerySet[PartyMember], *, actor: Any, scope: Organization, masked: bool, filters: dict[str, Any]
) -> HttpResponse:
    """export_roster as the download the page and the API answer: an .xlsx attachment, never
    stored by a cache (it may hold full ID numbers)."""
    data, _count = export_roster(members, actor=actor, scope=scope, masked=masked, filters=filters)
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, export_filename(scope))
    response["Cache-Control"] = "no-store"
    return response


def export_filename(scope: Organization, today: date | None = None) -> str:
    today = today or timezone.localdate()
    return _("%(name)s-党员名册-%(d)s.xlsx") % {"name": scope.name, "d": today.strftime("%Y%m%d")}
