"""Import a member roster from Excel (.xlsx): check the file, check every row, then all or nothing.

1. The file (before any parsing): size limit, the zip signature (not the name), an .xlsx
   structure, and the uncompressed size of every part declared in the zip directory — zipfile
   never inflates a part beyond its declared size, so this bounds the work (no zip bombs).
2. Every row (`parse_rows`, no database): required cells, ID number checksum (GB 11643), real
   dates in order, a known status, duplicates inside the file. Errors name the Excel row
   number, the column and what to do, in Chinese.
3. Against the records (`do_import_members`, in one transaction): the branch (name or code)
   within the importer's scope, its 党小组, and the ID blind index: a person already registered
   is updated (name, phone, 党小组, 职务, 职业 when the file gives them) or skipped when
   nothing changed; a new person is created with their dates as facts from before the platform.

A file with any error imports nothing, unless the caller asks for the valid rows only. One
audit event per import with the counts.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core import crypto
from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation
from dangqun.core.fields import EncryptedTextField
from dangqun.core.permissions import require, scope_filter
from dangqun.core.rulesets import RuleSet, ruleset_for
from dangqun.core.validators import validate_id_number, validate_phone
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import COUNTER_FIELD, DuesCategory, Status
from .exporting import COLUMNS, HEADERS, SHEET_TITLE
from .models import PartyMember, name_pinyin_key

ZIP_SIGNATURE = b"PK\x03\x04"
UPLOAD_DIR = "members/imports"  # files kept between the preview and the confirmation
EARLIEST = date(1900, 1, 1)
MAX_SHOWN_ERRORS = 1000  # in a page or an API answer; the counts are always complete

# The statuses a new person may be imported with, the dates each needs, and its step range.
IMPORTABLE = {
    Status.APPLICANT: (("applied_on",), (1, 2), 1),
    Status.ACTIVIST: (("applied_on", "activist_on"), (3, 6), 3),
    Status.CANDIDATE: (("applied_on", "activist_on", "candidate_on"), (7, 16), 7),
    Status.PROBATIONARY: (("admitted_on",), (17, 23), 18),
    Status.FULL: (("admitted_on",), (25, 25), 25),
}
# Dates a person of a status cannot have yet (an applicant was not admitted).
NOT_YET = {
    Status.APPLICANT: ("activist_on", "candidate_on", "admitted_on", "full_on"),
    Status.ACTIVIST: ("candidate_on", "admitted_on", "full_on"),
    Status.CANDIDATE: ("admitted_on", "full_on"),
    Status.PROBATIONARY: ("full_on",),
    Status.FULL: (),
}
DATE_ORDER = ("applied_on", "activist_on", "candidate_on", "admitted_on", "full_on")
REQUIRED_HEADERS = ("姓名", "身份证号", "身份")
BRANCH_HEADERS = ("党支部", "党支部代码")
UPDATABLE = ("name", "phone", "group_id", "post", "occupation")

STATUS_BY_TEXT = {**{str(s.label): s.value for s in Status}, **{s.value: s.value for s in Status}}
DUES_BY_TEXT = {**{str(c.label): c.value for c in DuesCategory}, **{c.value: c.value for c in DuesCategory}}


def _limit(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_bytes() -> int:
    return _limit("MEMBERS_IMPORT_MAX_BYTES", 10 * 1024 * 1024)


def max_rows() -> int:
    return _limit("MEMBERS_IMPORT_MAX_ROWS", 20_000)


def max_part_bytes() -> int:
    """The largest uncompressed part (the sheet XML, the shared strings) accepted."""
    return _limit("MEMBERS_IMPORT_MAX_XML_BYTES", 64 * 1024 * 1024)


def max_total_bytes() -> int:
    return _limit("MEMBERS_IMPORT_MAX_UNZIPPED_BYTES", 128 * 1024 * 1024)


def _label(key: str) -> str:
    return next(c.header for c in COLUMNS if c.key == key)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int  # the Excel row number (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class RowOutcome:
    row: int
    name: str
    action: str  # create | update | unchanged | error
    detail: str = ""


@dataclass
class ImportReport:
    rows: int = 0  # data rows read (blank rows are not counted)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    committed: bool = False
    valid_only: bool = False
    sha256: str = ""

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def valid_rows(self) -> int:
        return self.rows - self.error_rows

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "committed": self.committed,
            "valid_only": self.valid_only,
            "errors": [e.as_dict() for e in self.errors[:MAX_SHOWN_ERRORS]],
            "errors_truncated": len(self.errors) > MAX_SHOWN_ERRORS,
            "warnings": [w.as_dict() for w in self.warnings[:MAX_SHOWN_ERRORS]],
        }


class ImportRejected(RuleViolation):
    """The file has errors and the caller did not choose to import the valid rows only."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(
            "import_has_errors",
            _(
                "文件中有 %(n)d 行存在错误，未导入任何数据。"
                "请修改后重新上传，或选择只导入没有错误的 %(v)d 行。"
            )
            % {"n": report.error_rows, "v": report.valid_rows},
            details={**report.counts(), "errors": [e.as_dict() for e in report.errors[:MAX_SHOWN_ERRORS]]},
            field="file",
        )


# ---------------------------------------------------------------------------------------------
# 1. The file
# ---------------------------------------------------------------------------------------------


def _file_error(code: str, message: str) -> RuleViolation:
    return RuleViolation(code, message, field="file")


def check_file(data: bytes) -> None:
    """Refuse anything but a reasonable .xlsx before a parser sees it."""
    if len(data) > max_bytes():
        raise _file_error(
            "import_too_large",
            _("文件不能超过 %(mb)d MB，该文件为 %(size).1f MB。")
            % {"mb": max_bytes() // (1024 * 1024), "size": len(data) / (1024 * 1024)},
        )
    if not data.startswith(ZIP_SIGNATURE):
        raise _file_error(
            "import_not_xlsx",
            _(
                "不是 Excel .xlsx 文件（.xls、.csv 或改了扩展名的文件都不行）。"
                "请在 Excel 或 WPS 中另存为 .xlsx 后上传。"
            ),
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise _file_error("import_not_xlsx", _("文件已损坏，无法读取。请重新保存为 .xlsx 后上传。")) from None
    names = {p.filename for p in parts}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _file_error(
            "import_not_xlsx", _("不是 Excel .xlsx 文件。请在 Excel 或 WPS 中另存为 .xlsx 后上传。")
        )
    if len(parts) > 10_000:
        raise _file_error("import_zip_bomb", _("文件结构异常（包含的部件过多），已拒绝。"))
    total = 0
    for part in parts:
        total += part.file_size
        if part.file_size > max_part_bytes() or total > max_total_bytes():
            raise _file_error(
                "import_zip_bomb",
                _("文件解压后过大（%(part)s 超过 %(mb)d MB），已拒绝。请删除多余的工作表、图片或空行后重试。")
                % {"part": part.filename, "mb": max_part_bytes() // (1024 * 1024)},
            )


# ---------------------------------------------------------------------------------------------
# 2. Rows (no database)
# ---------------------------------------------------------------------------------------------


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]  # column key -> cleaned value
    raw_branch: str = ""
    raw_branch_code: str = ""
    raw_group: str = ""
    errors: list[RowError] = field(default_factory=list)


def _norm_header(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    return text.lstrip("*").strip()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def parse_date(value: Any) -> date | None:
    """A real calendar date from a cell: an Excel date, 2024-01-31, 2024/1/31, 2024年1月31日,
    20240131. Raises ValueError for anything else (2023-02-30 is not a date)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= int(value) <= 29991231:
            value = str(int(value))
        else:
            from openpyxl.utils.datetime import from_excel

            converted = from_excel(value)
            if not isinstance(converted, datetime | date):
                raise ValueError(value)
            return converted.date() if isinstance(converted, datetime) else converted
    text = _text(value).split(" ")[0]
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(value)


def _err(row: int, key_or_header: str, message: str) -> RowError:
    header = next((c.header for c in COLUMNS if c.key == key_or_header), key_or_header)
    return RowError(row, header, message)


class _Unusual(Exception):
    """A workbook laid out in a way the fast reader does not know: openpyxl reads it instead."""


_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)})  # incl. CJK


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]  # transitional and strict OOXML namespaces alike


def _attr(element: ET.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return value
    return None


def _text_of(element: ET.Element) -> str:
    """The text of a string item: its <t> runs, without the phonetic guide (<rPh>)."""
    parts: list[str] = []

    def walk(node: ET.Element) -> None:
        for child in node:
            tag = _tag(child)
            if tag == "t":
                parts.append(child.text or "")
            elif tag != "rPh":
                walk(child)

    walk(element)
    return "".join(parts)


def _part(zf: zipfile.ZipFile, target: str, base: str = "xl/") -> str:
    path = target.lstrip("/") if target.startswith("/") else base + target
    parts: list[str] = []
    for piece in path.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _fast_rows(zf: zipfile.ZipFile) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Values of the roster sheet, streamed with the standard library's XML parser.

    Reads only what an import needs — shared and inline strings, numbers, booleans, and dates
    (numbers whose cell style is a date format, in the 1900 or 1904 date system) — at about a
    fifth of openpyxl's cost per cell. Parsing untrusted XML is safe enough here (S314): every
    part's size was checked before (check_file), the bundled expat (≥ 2.4) refuses entity
    expansion attacks, and ElementTree never loads external entities or DTDs.
    """
    from openpyxl.styles.numbers import is_date_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

    names = set(zf.namelist())
    try:
        workbook = ET.fromstring(zf.read("xl/workbook.xml"))  # noqa: S314 — see _fast_rows
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))  # noqa: S314 — see _fast_rows
    except KeyError:
        raise _Unusual from None
    targets = {r.get("Id"): (r.get("Target") or "", r.get("Type") or "") for r in rels}
    epoch, sheets = CALENDAR_WINDOWS_1900, []
    for el in workbook.iter():
        tag = _tag(el)
        if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
            epoch = CALENDAR_MAC_1904
        elif tag == "sheet":
            sheets.append((el.get("name"), _attr(el, "id")))
    chosen = next((rid for name, rid in sheets if name == SHEET_TITLE), sheets[0][1] if sheets else None)
    if chosen not in targets:
        raise _Unusual
    sheet_path = _part(zf, targets[chosen][0])
    if sheet_path not in names:
        raise _Unusual

    shared: list[str] = []
    strings = next(
        (t for t, kind in targets.values() if kind.endswith("/sharedStrings")), "sharedStrings.xml"
    )
    if _part(zf, strings) in names:
        for _event, el in ET.iterparse(zf.open(_part(zf, strings)), events=("end",)):  # noqa: S314 — see _fast_rows
            if _tag(el) == "si":
                shared.append(_text_of(el))
                el.clear()

    date_styles: set[int] = set()
    styles = next((t for t, kind in targets.values() if kind.endswith("/styles")), "styles.xml")
    if _part(zf, styles) in names:
        root = ET.fromstring(zf.read(_part(zf, styles)))  # noqa: S314 — see _fast_rows
        custom = {
            int(f.get("numFmtId", "-1")): f.get("formatCode", "") for f in root.iter() if _tag(f) == "numFmt"
        }
        for section in root:
            if _tag(section) == "cellXfs":
                for index, xf in enumerate(x for x in section if _tag(x) == "xf"):
                    fmt = int(xf.get("numFmtId", "0"))
                    if fmt in _DATE_FORMAT_IDS or (fmt in custom and is_date_format(custom[fmt])):
                        date_styles.add(index)

    def value(cell: ET.Element) -> Any:
        kind = cell.get("t")
        if kind == "inlineStr":
            box = next((c for c in cell if _tag(c) == "is"), None)
            return _text_of(box) if box is not None else None
        raw = next((c.text for c in cell if _tag(c) == "v"), None)
        if raw is None:
            return None
        if kind == "s":
            return shared[int(raw)]
        if kind in ("str", "e"):
            return raw
        if kind == "b":
            return raw in ("1", "true")
        if kind == "d":
            return raw  # an ISO 8601 date: parse_date reads it
        number: int | float = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        if date_styles and int(cell.get("s", "0")) in date_styles:
            return from_excel(number, epoch)
        return number

    last = 0
    for _event, el in ET.iterparse(zf.open(sheet_path), events=("end",)):  # noqa: S314 — see _fast_rows
        if _tag(el) != "row":
            continue
        number = int(el.get("r") or last + 1)
        last = number
        cells: dict[int, Any] = {}
        position = -1
        for cell in el:
            if _tag(cell) != "c":
                continue
            ref = cell.get("r")
            if ref:
                letters = ref.rstrip("0123456789")
                position = 0
                for ch in letters:
                    position = position * 26 + ord(ch.upper()) - 64
                position -= 1
            else:
                position += 1
            cells[position] = value(cell)
        el.clear()
        width = max(cells) + 1 if cells else 0
        yield number, tuple(cells.get(i) for i in range(width))


def read_sheet(data: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(Excel row number, values) of the roster sheet (named 党员名册, else the first), streamed.

    The fast reader above for the usual layout; openpyxl (read-only) for anything unusual."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            yield from _fast_rows(zf)
        return
    except _Unusual:
        pass
    except (ET.ParseError, ValueError, IndexError, zipfile.BadZipFile, EOFError):
        raise _file_error("import_not_xlsx", _("文件已损坏或不是 Excel 工作簿，无法读取。")) from None
    yield from _openpyxl_rows(data)


def _openpyxl_rows(data: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        # openpyxl warns about styles and extensions it does not read: not the user's concern.
        warnings.simplefilter("ignore")
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds on a damaged file: all mean "cannot read"
            raise _file_error("import_not_xlsx", _("文件已损坏或不是 Excel 工作簿，无法读取。")) from None
        try:
            ws = wb[SHEET_TITLE] if SHEET_TITLE in wb.sheetnames else wb.worksheets[0]
            yield from enumerate(ws.iter_rows(values_only=True), start=1)
        finally:
            wb.close()


def parse_rows(data: bytes, today: date | None = None) -> tuple[list[ParsedRow], ImportReport]:
    """Read and check every row on its own (no database). File-level problems raise."""
    check_file(data)
    today = today or timezone.localdate()
    rules = R.default_ruleset(today, prefix="party.dev.")
    report = ImportReport(sha256=hashlib.sha256(data).hexdigest())
    rows: list[ParsedRow] = []
    columns: dict[int, str] = {}
    seen_ids: dict[str, int] = {}
    limit = max_rows()
    sheet = read_sheet(data)
    header_row = next(sheet, None)
    if header_row is None:
        raise _file_error(
            "import_empty", _("工作表是空的：第一行应为表头（姓名、身份证号、身份、党支部……）。")
        )
    found: dict[str, int] = {}
    for i, cell in enumerate(header_row[1]):
        name = _norm_header(cell)
        if not name:
            continue
        if name in found:
            raise _file_error("import_header", _("第 1 行：列“%(h)s”出现了两次。") % {"h": name})
        found[name] = i
        if name in HEADERS:
            if HEADERS[name].importable:
                columns[i] = HEADERS[name].key
        else:
            report.warnings.append(RowError(1, name, _("无法识别的列，已忽略。")))
    missing = [h for h in REQUIRED_HEADERS if h not in found]
    if not any(h in found for h in BRANCH_HEADERS):
        missing.append("党支部")
    if missing:
        raise _file_error(
            "import_header",
            _("第 1 行缺少必需的列：%(cols)s。请使用导出的名册作为模板。") % {"cols": "、".join(missing)},
        )
    for number, values in sheet:
        if not any(v is not None and _text(v) != "" for v in values):
            continue  # a blank row
        report.rows += 1
        if report.rows > limit:
            raise _file_error(
                "import_too_many_rows",
                _("一次最多导入 %(n)d 行，请拆分文件后分批导入。") % {"n": limit},
            )
        raw = {key: (values[i] if i < len(values) else None) for i, key in columns.items()}
        parsed = _parse_row(number, raw, today, rules, seen_ids)
        rows.append(parsed)
        report.errors += parsed.errors
    if report.rows == 0:
        raise _file_error("import_empty", _("文件中没有数据行。"))
    return rows, report


def _parse_row(
    number: int, raw: dict[str, Any], today: date, rules: RuleSet, seen_ids: dict[str, int]
) -> ParsedRow:
    out = ParsedRow(number, {})
    errors = out.errors
    v = out.values

    name = _text(raw.get("name"))
    if not name:
        errors.append(_err(number, "name", _("请填写姓名。")))
    elif len(name) > 60 or _CONTROL.search(name):
        errors.append(_err(number, "name", _("姓名不能超过 60 个字，且不能含控制字符。")))
    v["name"] = name

    id_cell = raw.get("id_number")
    if isinstance(id_cell, float):  # 1.10105199001012E+17: the last digits are gone
        errors.append(
            _err(
                number,
                "id_number",
                _("身份证号被 Excel 存成了数字，末几位已丢失。请把该列设为“文本”后重新填写。"),
            )
        )
    else:
        try:
            id_number = validate_id_number(_text(id_cell))
        except ValidationError as exc:
            errors.append(_err(number, "id_number", exc.messages[0]))
        else:
            first = seen_ids.get(id_number)
            if first is not None:
                errors.append(
                    _err(
                        number,
                        "id_number",
                        _("与第 %(row)d 行的身份证号重复，同一人只能出现一次。") % {"row": first},
                    )
                )
            else:
                seen_ids[id_number] = number
            v["id_number"] = id_number
            # What birth_date_from_id / gender_from_id give, without validating the number again.
            v["birth_date"] = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            v["gender"] = "M" if int(id_number[16]) % 2 else "F"

    phone = _text(raw.get("phone"))
    v["phone"] = ""
    if phone:
        try:
            v["phone"] = validate_phone(phone)
        except ValidationError as exc:
            errors.append(_err(number, "phone", exc.messages[0]))

    out.raw_branch = _text(raw.get("branch"))
    out.raw_branch_code = _text(raw.get("branch_code"))
    out.raw_group = _text(raw.get("group"))
    if not out.raw_branch and not out.raw_branch_code:
        errors.append(_err(number, "branch", _("请填写党支部名称或党支部代码。")))

    status_text = _text(raw.get("status"))
    status = STATUS_BY_TEXT.get(status_text)
    if not status_text:
        errors.append(_err(number, "status", _("请填写身份。")))
    elif status is None:
        errors.append(
            _err(
                number,
                "status",
                _("身份“%(s)s”无法识别，应为：%(all)s。")
                % {"s": status_text, "all": "、".join(str(s.label) for s in IMPORTABLE)},
            )
        )
    v["status"] = status

    for key in ("post", "occupation"):
        text = _text(raw.get(key))
        if len(text) > 60 or _CONTROL.search(text):
            errors.append(_err(number, key, _("不能超过 60 个字，且不能含控制字符。")))
        v[key] = text

    dues = _text(raw.get("dues_category"))
    v["dues_category"] = ""
    if dues:
        if dues in DUES_BY_TEXT:
            v["dues_category"] = DUES_BY_TEXT[dues]
        else:
            errors.append(
                _err(
                    number,
                    "dues_category",
                    _("党费类别“%(s)s”无法识别，应为：%(all)s。")
                    % {"s": dues, "all": "、".join(str(c.label) for c in DuesCategory)},
                )
            )

    for key in DATE_ORDER:
        cell = raw.get(key)
        try:
            day = parse_date(cell)
        except (ValueError, OverflowError, TypeError):
            errors.append(
                _err(number, key, _("“%(v)s”不是有效日期，请填写如 2024-01-31 的日期。") % {"v": _text(cell)})
            )
            v[key] = None
            continue
        if day is not None and not EARLIEST <= day <= today:
            errors.append(
                _err(
                    number,
                    key,
                    _("日期 %(d)s 应在 1900-01-01 至今天（%(t)s）之间。")
                    % {"d": day.isoformat(), "t": today.isoformat()},
                )
            )
            day = None
        v[key] = day

    through_cell = raw.get("through_step")
    v["through_step"] = None
    if _text(through_cell):
        try:
            v["through_step"] = int(_text(through_cell))
        except ValueError:
            errors.append(_err(number, "through_step", _("应为 1 至 25 的整数。")))

    _check_dates(out, status, rules)
    return out


def _check_dates(out: ParsedRow, status: str | None, rules: RuleSet) -> None:
    """Dates present in the right order, each after birth; those the status needs; none it
    cannot have yet; the age at application; the activist year before 发展对象."""
    v, number, errors = out.values, out.row, out.errors
    born = v.get("birth_date")
    present = [(k, v[k]) for k in DATE_ORDER if v.get(k)]
    for key, day in present:
        if born and day < born:
            errors.append(_err(number, key, _("日期不能早于出生日期（%(b)s）。") % {"b": born.isoformat()}))
    for (k1, d1), (k2, d2) in itertools.pairwise(present):
        if d2 < d1:
            errors.append(
                _err(
                    number,
                    k2,
                    _("%(later)s（%(d2)s）不能早于%(earlier)s（%(d1)s）。")
                    % {
                        "later": _label(k2),
                        "d2": d2.isoformat(),
                        "earlier": _label(k1),
                        "d1": d1.isoformat(),
                    },
                )
            )
    if status not in IMPORTABLE:
        return
    needed, (lo, hi), _default = IMPORTABLE[status]
    label = Status(status).label
    for key in needed:
        unreadable = any(e.column == _label(key) for e in errors)  # already said: not a date
        if v.get(key) is None and not unreadable:
            errors.append(
                _err(number, key, _("身份为“%(s)s”时须填写%(col)s。") % {"s": label, "col": _label(key)})
            )
    for key in NOT_YET[status]:
        if v.get(key):
            errors.append(
                _err(number, key, _("身份为“%(s)s”时不应填写%(col)s。") % {"s": label, "col": _label(key)})
            )
    through = v.get("through_step")
    if through is not None and not lo <= through <= hi:
        errors.append(
            _err(
                number,
                "through_step",
                _("身份为“%(s)s”时，已完成的步骤应在第 %(lo)d 至第 %(hi)d 步之间。")
                % {"s": label, "lo": lo, "hi": hi},
            )
        )
    applied = v.get("applied_on")
    if applied and born:
        earliest = R.age_reached_on(born, rules["party.dev.min_age"])
        if applied < earliest:
            errors.append(
                _err(
                    number,
                    "applied_on",
                    _("递交入党申请书时须年满 %(n)s 周岁（最早 %(d)s）。依据：%(src)s")
                    % {
                        "n": rules["party.dev.min_age"],
                        "d": earliest.isoformat(),
                        "src": rules.source("party.dev.min_age"),
                    },
                )
            )
    activist, candidate = v.get("activist_on"), v.get("candidate_on")
    if activist and candidate:
        earliest = R.add_years(activist, rules["party.dev.activist_min_years"])
        if candidate < earliest:
            errors.append(
                _err(
                    number,
                    "candidate_on",
                    _("确定发展对象须在列为入党积极分子满 %(n)s 年后（最早 %(d)s）。依据：%(src)s")
                    % {
                        "n": rules["party.dev.activist_min_years"],
                        "d": earliest.isoformat(),
                        "src": rules.source("party.dev.activist_min_years"),
                    },
                )
            )


# ---------------------------------------------------------------------------------------------
# 3. Against the records, in one transaction
# ---------------------------------------------------------------------------------------------


def _branch_lookup(actor: Any) -> tuple[dict[str, Organization], dict[str, list[Organization]]]:
    branches = list(
        Organization.objects.filter(scope_filter(actor, "members.change"), kind=OrgKind.BRANCH).only(
            "id", "name", "code", "path", "kind", "parent_id"
        )
    )
    by_code = {b.code: b for b in branches if b.code}
    by_name: dict[str, list[Organization]] = defaultdict(list)
    for b in branches:
        by_name[b.name].append(b)
    return by_code, by_name


def _resolve_branch(row: ParsedRow, by_code: dict, by_name: dict) -> Organization | None:
    number = row.row
    chosen = None
    if row.raw_branch_code:
        chosen = by_code.get(row.raw_branch_code)
        if chosen is None:
            row.errors.append(
                _err(
                    number,
                    "branch_code",
                    _("党支部代码“%(c)s”不存在，或不在您的管辖范围内。") % {"c": row.raw_branch_code},
                )
            )
            return None
        if row.raw_branch and chosen.name != row.raw_branch:
            row.errors.append(
                _err(
                    number,
                    "branch",
                    _("党支部名称“%(n)s”与代码“%(c)s”（%(real)s）不一致。")
                    % {"n": row.raw_branch, "c": row.raw_branch_code, "real": chosen.name},
                )
            )
            return None
        return chosen
    matches = by_name.get(row.raw_branch, [])
    if not matches:
        row.errors.append(
            _err(number, "branch", _("党支部“%(n)s”不存在，或不在您的管辖范围内。") % {"n": row.raw_branch})
        )
        return None
    if len(matches) > 1:
        row.errors.append(
            _err(
                number,
                "branch",
                _("有 %(k)d 个党支部名为“%(n)s”，请填写党支部代码。")
                % {"k": len(matches), "n": row.raw_branch},
            )
        )
        return None
    return matches[0]


def _existing(indexes: list[str]) -> dict[str, PartyMember]:
    found: dict[str, PartyMember] = {}
    for start in range(0, len(indexes), 900):  # below SQLite's host-parameter limit
        chunk = indexes[start : start + 900]
        people = (
            PartyMember.objects.filter(id_number_index__in=chunk).select_related("branch").defer("id_number")
        )
        for m in people:
            found[m.id_number_index] = m
    return found


def _plan(rows: list[ParsedRow], report: ImportReport, actor: Any, today: date) -> tuple[list, list, set]:
    """Resolve branches, groups and existing people; return (new, changed, branches touched)."""
    by_code, by_name = _branch_lookup(actor)
    candidates = [r for r in rows if not r.errors]
    resolved: dict[int, Organization] = {}
    for r in candidates:
        branch = _resolve_branch(r, by_code, by_name)
        if branch is not None:
            resolved[r.row] = branch
    branch_ids = {b.pk for b in resolved.values()}
    groups: dict[tuple[int, str], int] = {
        (g.parent_id, g.name): g.pk
        for g in Organization.objects.filter(parent_id__in=branch_ids, kind=OrgKind.GROUP).only(
            "id", "name", "parent_id"
        )
    }
    indexes = {
        r.row: crypto.blind_index(r.values["id_number"], purpose="id")
        for r in candidates
        if r.row in resolved
    }
    existing = _existing(list(indexes.values()))
    scope_ids = {b.pk for b in by_code.values()} | {b.pk for bs in by_name.values() for b in bs}
    rulesets: dict[int, RuleSet] = {}
    new, changed, touched = [], [], set()
    for r in candidates:
        branch = resolved.get(r.row)
        if branch is None:
            continue
        v = r.values
        group_id = None
        if r.raw_group:
            group_id = groups.get((branch.pk, r.raw_group))
            if group_id is None:
                r.errors.append(
                    _err(
                        r.row,
                        "group",
                        _("“%(b)s”下没有名为“%(g)s”的党小组。") % {"b": branch.name, "g": r.raw_group},
                    )
                )
                continue
        member = existing.get(indexes[r.row])
        if member is None:
            if v["status"] not in IMPORTABLE:
                r.errors.append(
                    _err(
                        r.row,
                        "status",
                        _("身份为“%(s)s”的人员不能通过导入新登记，只能导入：%(all)s。")
                        % {
                            "s": Status(v["status"]).label,
                            "all": "、".join(str(s.label) for s in IMPORTABLE),
                        },
                    )
                )
                continue
            if branch.pk not in rulesets:
                rulesets[branch.pk] = ruleset_for(branch, today, prefix="party.dev.")
            new.append(_new_member(r, branch, group_id, rulesets[branch.pk]))
            report.outcomes.append(RowOutcome(r.row, v["name"], "create", str(branch.name)))
            touched.add(branch.pk)
            continue
        if member.branch_id not in scope_ids:
            r.errors.append(_err(r.row, "id_number", _("该身份证号已在其他党组织登记，不能导入。")))
            continue
        if member.branch_id != branch.pk:
            r.errors.append(
                _err(
                    r.row,
                    "branch",
                    _("该党员现属“%(b)s”。转移组织关系请通过组织关系转接办理，不能通过导入修改。")
                    % {"b": member.branch.name},
                )
            )
            continue
        updates = {
            "name": v["name"],
            "phone": v["phone"] or member.phone,
            "group_id": group_id if r.raw_group else member.group_id,
            "post": v["post"] or member.post,
            "occupation": v["occupation"] or member.occupation,
        }
        diff = [k for k in UPDATABLE if getattr(member, k) != updates[k]]
        ignored = _ignored_differences(member, v)
        if ignored:
            report.warnings.append(
                RowError(
                    r.row,
                    "、".join(ignored),
                    _("与系统记录不同，未修改（身份和发展日期须通过发展步骤办理）。"),
                )
            )
        if diff:
            for k in diff:
                setattr(member, k, updates[k])
            changed.append((member, diff))
            labels = "、".join(_label({"group_id": "group"}.get(k, k)) for k in diff)
            report.outcomes.append(RowOutcome(r.row, v["name"], "update", labels))
            touched.add(branch.pk)
        else:
            report.outcomes.append(RowOutcome(r.row, v["name"], "unchanged"))
    report.errors = [e for r in rows for e in r.errors]
    return new, changed, touched


def _ignored_differences(member: PartyMember, v: dict[str, Any]) -> list[str]:
    out = []
    if v["status"] and v["status"] != member.status:
        out.append(_label("status"))
    for key in DATE_ORDER:
        if v.get(key) and getattr(member, key) and v[key] != getattr(member, key):
            out.append(_label(key))
    return out


def _new_member(r: ParsedRow, branch: Organization, group_id: int | None, rules: RuleSet) -> dict[str, Any]:
    """The attribute values of a new PartyMember (inserted by _insert_members)."""
    v = r.values
    status = v["status"]
    _needed, _range, default_through = IMPORTABLE[status]
    admitted = v.get("admitted_on")
    ends = R.probation_end(admitted, rules) if admitted else None
    if status == Status.FULL:
        ends = v.get("full_on") or ends  # a full member without the date: the end of probation
    return {
        "name": v["name"],
        # What PartyMember.save() derives (a bulk insert does not call it).
        "name_pinyin": name_pinyin_key(v["name"]),
        "id_number": v["id_number"],
        "id_number_index": crypto.blind_index(v["id_number"], purpose="id"),
        "birth_date": v["birth_date"],
        "gender": v["gender"],
        "phone": v["phone"],
        "phone_index": crypto.blind_index(v["phone"], purpose="phone") if v["phone"] else "",
        "branch_id": branch.pk,
        "group_id": group_id,
        "status": status,
        "applied_on": v.get("applied_on"),
        "activist_on": v.get("activist_on"),
        "candidate_on": v.get("candidate_on"),
        "admitted_on": admitted,
        "probation_ends_on": ends,
        "full_on": ends if status == Status.FULL else None,
        "imported_through_step": v.get("through_step") or default_through,
        "post": v["post"],
        "occupation": v["occupation"],
        "dues_category": v["dues_category"],
    }


def do_import_members(
    data: bytes,
    *,
    actor: Any,
    valid_only: bool = False,
    dry_run: bool = False,
    filename: str = "",
    today: date | None = None,
) -> ImportReport:
    """Import a roster workbook (see the module docstring). `dry_run` checks and reports what
    would happen; a file with errors raises ImportRejected unless `valid_only`. Everything is
    written in one transaction with one audit event; nothing is written on a refusal."""
    require(actor, "members.change")
    today = today or timezone.localdate()
    rows, report = parse_rows(data, today)  # no database, outside the write transaction
    report.valid_only = valid_only
    if dry_run:
        _plan(rows, report, actor, today)
        _count_outcomes(report)
        return report
    try:
        with transaction.atomic():
            new, changed, touched = _plan(rows, report, actor, today)
            if report.errors and not valid_only:
                raise ImportRejected(report)
            _write(new, changed)
            _count_outcomes(report)
            report.committed = True
            audit(
                actor,
                "member.import",
                ("members.import", report.sha256[:16]),
                filename=filename[:200],
                sha256=report.sha256,
                valid_only=valid_only,
                branches=sorted(touched),
                **report.counts(),
            )
    except IntegrityError:
        # Someone registered one of these people a moment ago: nothing was written.
        raise _file_error(
            "import_conflict", _("导入期间有人登记了同一身份证号的人员，本次未导入任何数据。请重新导入。")
        ) from None
    return report


def _count_outcomes(report: ImportReport) -> None:
    """What was (or, in a dry run, would be) created, updated, left unchanged."""
    actions = Counter(o.action for o in report.outcomes)
    report.created, report.updated, report.unchanged = (
        actions["create"],
        actions["update"],
        actions["unchanged"],
    )


def _insert_members(rows: list[dict[str, Any]], batch: int = 1000) -> None:
    """Insert new members with one executemany per batch.

    bulk_create would build a model instance per row (with django-fsm's bookkeeping) and prepare
    every field of every row through the field API: that was two thirds of an import's time.
    Here each column's conversion is chosen once from the model's own fields (so a field added
    later gets its default), and only the values change per row.
    """
    fields = [f for f in PartyMember._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    ops = connection.ops
    plain = (models.CharField, models.IntegerField, models.BooleanField, models.ForeignKey)
    converters: list[Callable[[Any], Any]] = []
    defaults: list[Any] = []
    for f in fields:
        if isinstance(f, EncryptedTextField):
            converters.append(lambda v: crypto.encrypt(v) if v else "")
        elif isinstance(f, models.DateTimeField):
            converters.append(ops.adapt_datetimefield_value)
        elif isinstance(f, models.DateField):
            converters.append(ops.adapt_datefield_value)
        elif isinstance(f, plain):
            converters.append(lambda v: v)
        else:
            converters.append(lambda v, f=f: f.get_db_prep_save(v, connection))
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(now)
        else:
            defaults.append(f.get_default())
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 — names from the model's metadata
        ops.quote_name(PartyMember._meta.db_table), columns, ", ".join(["%s"] * len(fields))
    )
    plan = list(zip([f.attname for f in fields], converters, defaults, strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            cursor.executemany(
                sql,
                [
                    tuple(convert(row.get(name, default)) for name, convert, default in plan)
                    for row in rows[start : start + batch]
                ],
            )


def _write(new: list[dict[str, Any]], changed: list[tuple[PartyMember, list[str]]]) -> None:
    _insert_members(new)
    by_fields: dict[tuple[str, ...], list[PartyMember]] = defaultdict(list)
    for member, diff in changed:
        fields = set(diff) | {"updated_at"}
        if "name" in diff:
            member.name_pinyin = name_pinyin_key(member.name)
            fields.add("name_pinyin")
        if "phone" in diff:
            member.phone_index = crypto.blind_index(member.phone, purpose="phone") if member.phone else ""
            fields.add("phone_index")
        member.updated_at = timezone.now()
        by_fields[tuple(sorted(fields))].append(member)
    for fields, members in by_fields.items():
        PartyMember.objects.bulk_update(members, list(fields), batch_size=500)
    counts: dict[int, Counter] = defaultdict(Counter)
    for m in new:
        if m["status"] in COUNTER_FIELD:
            counts[m["branch_id"]][COUNTER_FIELD[m["status"]]] += 1
    for branch_id, c in counts.items():
        Organization.objects.filter(pk=branch_id).update(**{f: F(f) + n for f, n in c.items()})
