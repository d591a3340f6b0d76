"""Excel downloads (openpyxl): the rows of a section's table, exactly as the page shows them."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .queries import Section

BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _cell(value: object, kind: str) -> object:
    if value is None:
        return None
    if isinstance(value, str) and value[:1] in "=+-@":
        return "'" + value  # never a formula from data (a search term can start with "=")
    return value


def workbook(sections: list[Section], title: str) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for section in sections:
        name = BAD_SHEET_CHARS.sub("", str(section.title))[:28] or section.key
        while name in used:
            name = name[:26] + f"{len(used)}"
        used.add(name)
        ws = wb.create_sheet(name)
        ws.append([f"{title} · {section.title}"])
        ws["A1"].font = Font(bold=True)
        ws.append([str(section.caption)])
        ws.append([str(c.label) for c in section.columns])
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for row in section.rows:
            ws.append([_cell(v, c.kind) for v, c in zip(row, section.columns, strict=True)])
        for i, c in enumerate(section.columns, start=1):
            if c.kind == "pct":
                for (cell,) in ws.iter_rows(min_row=4, min_col=i, max_col=i):
                    cell.number_format = "0.0%"
            ws.column_dimensions[get_column_letter(i)].width = 30 if i == 1 else 16
        ws.freeze_panes = "A4"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
