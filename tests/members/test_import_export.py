"""The roster in Excel: file checks, row-by-row errors, all or nothing, no duplicates on
re-import, export → import round trip, the upload/preview/confirm pages and the API."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from dangqun.core import workcalendar
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.core.validators import id_check_char
from dangqun.members.actions import do_enroll_member, do_record_step, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.exporting import COLUMNS, XLSX_CONTENT_TYPE, export_roster
from dangqun.members.importing import ImportRejected, do_import_members, parse_date
from dangqun.members.models import PartyMember
from dangqun.members.queries import branch_roster

pytestmark = pytest.mark.django_db

HEADERS = [c.header for c in COLUMNS]
TODAY = timezone.localdate()


def id_for(n: int, born: date | None = None) -> str:
    """A valid GB 11643 number, unique per n (region 330106: apart from other test files)."""
    born = born or date(1960, 1, 1) + timedelta(days=n // 900)
    first17 = f"330106{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_check_char(first17)


def sheet_rows(data: bytes) -> list[tuple]:
    """The rows of the first sheet, padded to the full width (read-only mode trims empty cells)."""
    rows = load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(values_only=True)
    return [tuple(r) + (None,) * (len(HEADERS) - len(r)) for r in rows]


def workbook(rows: list[dict[str, Any]], headers: list[str] | None = None) -> bytes:
    headers = headers or HEADERS
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("党员名册")
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


STATUSES = ["入党申请人", "入党积极分子", "发展对象", "预备党员", "正式党员"]


def good_row(n: int, branch: str) -> dict[str, Any]:
    """A lawful row of each status in turn (dates in order, the activist year respected)."""
    status = STATUSES[n % 5]
    born = date(1960, 1, 1) + timedelta(days=(n * 7) % 12000)
    row: dict[str, Any] = {
        "姓名": f"导入{n:05d}",
        "身份证号": id_for(n, born),
        "手机号": f"139{n:08d}",
        "党支部": branch,
        "身份": status,
        "职业": "教师" if n % 2 else "",
    }
    if status in ("入党申请人", "入党积极分子", "发展对象"):
        row["递交入党申请书日期"] = date(2022, 3, 1)
    if status in ("入党积极分子", "发展对象"):
        row["列为入党积极分子日期"] = "2022-06-01"
    if status == "发展对象":
        row["列为发展对象日期"] = "2023/7/1"
    if status in ("预备党员", "正式党员"):
        row["接收为预备党员日期"] = date(2024, 5, 1) if status == "预备党员" else date(2016, 7, 1)
    if status == "正式党员":
        row["转为正式党员日期"] = "2017年7月1日"
        row["党费类别"] = "在职"
    return row


def _bad_checksum(n: int) -> str:
    good = id_for(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


# One defect per bad row; each must be reported on its row and nowhere else.
DEFECTS: list[tuple[str, Any]] = [
    ("bad_checksum", lambda r, n: r.update({"身份证号": _bad_checksum(n)})),
    ("short_id", lambda r, n: r.update({"身份证号": "11010519900101"})),
    ("no_such_day", lambda r, n: r.update({"身份": "入党申请人", "递交入党申请书日期": "2023-02-30"})),
    (
        "dates_out_of_order",
        lambda r, n: r.update(
            {"身份": "入党积极分子", "递交入党申请书日期": "2022-06-01", "列为入党积极分子日期": "2022-01-01"}
        ),
    ),
    ("unknown_status", lambda r, n: r.update({"身份": "党员候选"})),
    ("branch_out_of_scope", lambda r, n: r.update({"党支部": "和平社区第二党支部"})),
    ("no_such_branch", lambda r, n: r.update({"党支部": "不存在的党支部"})),
    ("missing_name", lambda r, n: r.update({"姓名": ""})),
    (
        "under_18",
        lambda r, n: r.update(
            {
                "身份证号": id_for(n, date(2010, 1, 1)),
                "身份": "入党申请人",
                "递交入党申请书日期": "2024-01-01",
            }
        ),
    ),
    ("bad_phone", lambda r, n: r.update({"手机号": "12345"})),
    (
        "future_date",
        lambda r, n: r.update({"身份": "入党申请人", "递交入党申请书日期": TODAY + timedelta(days=30)}),
    ),
    ("no_such_group", lambda r, n: r.update({"党小组": "第九党小组"})),
    ("activist_without_date", lambda r, n: r.update({"身份": "入党积极分子", "列为入党积极分子日期": None})),
    ("id_as_number", lambda r, n: r.update({"身份证号": float(id_for(n)[:17])})),
    ("through_step_out_of_range", lambda r, n: r.update({"身份": "入党申请人", "已完成至第几步": 9})),
    ("unknown_dues_category", lambda r, n: r.update({"党费类别": "自由职业"})),
    (
        "applicant_with_admission",
        lambda r, n: r.update(
            {"身份": "入党申请人", "递交入党申请书日期": "2022-03-01", "接收为预备党员日期": "2023-03-01"}
        ),
    ),
    ("branch_code_mismatch", lambda r, n: r.update({"党支部代码": "NOPE-1"})),
    (
        "candidate_too_early",
        lambda r, n: r.update(
            {
                "身份": "发展对象",
                "递交入党申请书日期": "2022-03-01",
                "列为入党积极分子日期": "2022-06-01",
                "列为发展对象日期": "2022-12-01",
            }
        ),
    ),
    ("duplicate_id", None),  # filled in below: the ID of an earlier good row
]


def roster_file(branch_name: str, total: int, bad_every: int = 100) -> tuple[bytes, dict[int, str]]:
    """`total` rows; every `bad_every`-th one (from the 37th) carries one defect.

    Returns the file and {Excel row number: defect}."""
    rows, bad = [], {}
    for i in range(total):
        n = 10_000 + i
        row = good_row(n, branch_name)
        excel_row = i + 2
        if i % bad_every == 37:
            name, apply = DEFECTS[len(bad) % len(DEFECTS)]
            if name == "duplicate_id":
                row["身份证号"] = rows[i - 1]["身份证号"]
            else:
                apply(row, n)
            bad[excel_row] = name
        rows.append(row)
    return workbook(rows), bad


# --- the 5,000-row roster ----------------------------------------------------------------------


def test_a_5000_row_roster_with_50_bad_rows(tree, secretary):
    data, bad = roster_file(tree.branch_a.name, 5000)
    assert len(bad) == 50
    members_before, events_before = PartyMember.objects.count(), AuditEvent.objects.count()

    preview = do_import_members(data, actor=secretary, dry_run=True)
    assert preview.rows == 5000
    assert {e.row for e in preview.errors} == set(bad)
    assert preview.error_rows == 50
    assert (preview.created, preview.committed) == (4950, False)
    for e in preview.errors:  # Chinese, with the column it is about
        assert e.column in HEADERS
        assert e.message

    # Without the explicit choice: nothing at all.
    with pytest.raises(ImportRejected) as refused:
        do_import_members(data, actor=secretary)
    assert refused.value.code == "import_has_errors"
    assert refused.value.report.error_rows == 50
    assert (PartyMember.objects.count(), AuditEvent.objects.count()) == (members_before, events_before)

    # The valid rows only: 4,950 people, one audit event with the counts.
    report = do_import_members(data, actor=secretary, valid_only=True, filename="roster.xlsx")
    assert (report.created, report.updated, report.unchanged, report.error_rows) == (4950, 0, 0, 50)
    assert PartyMember.objects.count() == members_before + 4950
    event = AuditEvent.objects.get(action="member.import")
    assert event.payload["created"] == 4950
    assert event.payload["error_rows"] == 50
    assert event.payload["filename"] == "roster.xlsx"
    tree.branch_a.refresh_from_db()
    full = sum(1 for i in range(5000) if (i + 2) not in bad and STATUSES[(10_000 + i) % 5] == "正式党员")
    assert tree.branch_a.full_members == 12 + full  # the fixture's 12 plus the imported

    # The same file again: no duplicates, every valid row recognised by its ID number.
    again = do_import_members(data, actor=secretary, valid_only=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4950)
    assert PartyMember.objects.count() == members_before + 4950


@pytest.mark.parametrize("defect", [d for d, _ in DEFECTS])
def test_each_defect_is_reported_in_chinese_on_its_row(tree, secretary, defect):
    rows = [good_row(20_000 + i, tree.branch_a.name) for i in range(3)]
    if defect == "duplicate_id":
        rows[2]["身份证号"] = rows[1]["身份证号"]
    else:
        dict(DEFECTS)[defect](rows[2], 20_002)
    report = do_import_members(workbook(rows), actor=secretary, dry_run=True)
    assert {e.row for e in report.errors} == {4}, [e.as_dict() for e in report.errors]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e.message) for e in report.errors)


def test_the_error_messages_name_what_to_fix(tree, secretary):
    rows = [good_row(21_000 + i, tree.branch_a.name) for i in range(4)]
    rows[0]["身份证号"] = _bad_checksum(21_000)
    rows[1].update({"身份": "入党申请人", "递交入党申请书日期": "2023-02-30"})
    rows[2]["身份证号"] = rows[3]["身份证号"]
    report = do_import_members(workbook(rows), actor=secretary, dry_run=True)
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert messages[(2, "身份证号")] == "身份证号校验位不正确，请核对最后一位"
    assert "不是有效日期" in messages[(3, "递交入党申请书日期")]
    assert messages[(5, "身份证号")] == "与第 4 行的身份证号重复，同一人只能出现一次。"


def test_an_update_changes_only_what_the_file_gives(tree, secretary):
    rows = [good_row(22_000, tree.branch_a.name)]
    do_import_members(workbook(rows), actor=secretary)
    person = PartyMember.objects.get(name="导入22000")
    rows[0].update({"姓名": "改名22000", "职务": "宣传委员", "手机号": None})
    rows[0].update({"身份": "入党积极分子", "列为入党积极分子日期": "2022-06-01"})
    report = do_import_members(workbook(rows), actor=secretary)
    assert (report.created, report.updated) == (0, 1)
    person.refresh_from_db()
    assert (person.name, person.post, person.phone) == ("改名22000", "宣传委员", "13900022000")
    assert person.name_pinyin.startswith("gaiming")
    assert person.status == Status.APPLICANT  # status changes go through the pipeline
    assert any("身份" in w.column for w in report.warnings)


def test_a_person_of_another_branch_cannot_be_moved_by_import(tree, secretary, street_admin, root_admin):
    other = do_enroll_member(
        branch=tree.branch_b,
        name="王乙",
        id_number=id_for(23_000),
        status=Status.FULL,
        admitted_on=date(2016, 7, 1),
        actor=root_admin,
    )
    row = {"姓名": "王乙", "身份证号": other.id_number, "党支部": tree.branch_a.name, "身份": "正式党员"}
    row["接收为预备党员日期"] = date(2016, 7, 1)
    for actor, expected in ((secretary, "该身份证号已在其他党组织登记"), (street_admin, "转移组织关系")):
        report = do_import_members(workbook([row]), actor=actor, dry_run=True)
        assert expected in report.errors[0].message


def test_only_those_who_may_change_members_import(tree, member, resident):
    data = workbook([good_row(24_000, tree.branch_a.name)])
    for actor in (member, resident):
        with pytest.raises(PermissionDenied):
            do_import_members(data, actor=actor)


def test_dates_in_the_usual_spellings():
    assert parse_date("2024-01-31") == date(2024, 1, 31)
    assert parse_date("2024/1/3") == date(2024, 1, 3)
    assert parse_date("2024.01.03") == date(2024, 1, 3)
    assert parse_date("2024年1月3日") == date(2024, 1, 3)
    assert parse_date("20240103") == date(2024, 1, 3)
    assert parse_date(20240103) == date(2024, 1, 3)
    assert parse_date(45000) == date(2023, 3, 15)  # an Excel serial day
    assert parse_date(None) is None
    for bad in ("2023-02-30", "31/01/2024", "昨天", "2024-13-01"):
        with pytest.raises(ValueError):  # noqa: PT011 — the parser's only error type
            parse_date(bad)


def test_the_import_does_not_query_per_row(tree, secretary):
    def queries_for(count: int, start: int) -> int:
        data = workbook([good_row(start + i, tree.branch_a.name) for i in range(count)])
        actor = type(secretary).objects.get(pk=secretary.pk)  # no grants cached from before
        with CaptureQueriesContext(connection) as ctx:
            do_import_members(data, actor=actor)
        return len(ctx.captured_queries)

    workcalendar.rule_values()  # rule values come from the per-process snapshot: load it first
    # The inserts go 1,000 rows to a statement: everything else is a fixed number of queries.
    assert queries_for(400, 31_000) == queries_for(100, 30_000)


# --- the file itself ---------------------------------------------------------------------------


def refused(data: bytes, actor) -> str:
    with pytest.raises(RuleViolation) as err:
        do_import_members(data, actor=actor, dry_run=True)
    return err.value.code


def test_only_real_xlsx_files_are_read(tree, secretary):
    assert (
        refused(b"\xe5\xa7\x93\xe5\x90\x8d,\xe8\xba\xab\xe4\xbb\xbd\n", secretary) == "import_not_xlsx"
    )  # CSV
    assert (
        refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, secretary) == "import_not_xlsx"
    )  # .xls
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert refused(plain_zip.getvalue(), secretary) == "import_not_xlsx"
    assert refused(b"PK\x03\x04 broken", secretary) == "import_not_xlsx"


def test_a_zip_bomb_is_refused_from_the_declared_sizes(tree, secretary):
    data = workbook([good_row(40_000, tree.branch_a.name)])
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            payload = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                payload += b" " * (3 * 1024 * 1024)  # 3 MB of blanks: a few KB compressed
            dst.writestr(item.filename, payload)
    assert len(bomb.getvalue()) < 100_000
    with override_settings(MEMBERS_IMPORT_MAX_XML_BYTES=2 * 1024 * 1024):
        assert refused(bomb.getvalue(), secretary) == "import_zip_bomb"
    with override_settings(MEMBERS_IMPORT_MAX_UNZIPPED_BYTES=2 * 1024 * 1024):
        assert refused(bomb.getvalue(), secretary) == "import_zip_bomb"


def test_size_and_row_limits(tree, secretary):
    data = workbook([good_row(41_000 + i, tree.branch_a.name) for i in range(11)])
    with override_settings(MEMBERS_IMPORT_MAX_BYTES=1000):
        assert refused(data, secretary) == "import_too_large"
    with override_settings(MEMBERS_IMPORT_MAX_ROWS=10):
        assert refused(data, secretary) == "import_too_many_rows"


def test_headers_are_checked(tree, secretary):
    assert refused(workbook([{"姓名": "甲"}], headers=["姓名", "身份"]), secretary) == "import_header"
    assert refused(workbook([], headers=HEADERS), secretary) == "import_empty"
    extra = workbook([good_row(42_000, tree.branch_a.name)], headers=[*HEADERS, "备注"])
    report = do_import_members(extra, actor=secretary, dry_run=True)
    assert not report.errors
    assert report.warnings[0].column == "备注"


# --- export and the round trip -----------------------------------------------------------------


@pytest.fixture
def branch_people(tree, secretary, root_admin):
    """People of every status in branch A, registered through the actions."""
    applicant = do_register_applicant(
        branch=tree.branch_a,
        name="吕申请",
        id_number=id_for(50_000, date(1995, 1, 1)),
        applied_on=date(2024, 3, 1),
        actor=secretary,
        phone="13700000001",
    )
    do_record_step(applicant, 2, date(2024, 3, 20), actor=secretary)
    activist = do_register_applicant(
        branch=tree.branch_a,
        name="欧阳积极",
        id_number=id_for(50_001, date(1994, 1, 1)),
        applied_on=date(2023, 3, 1),
        actor=secretary,
        group=tree.group_a,
    )
    do_record_step(activist, 2, date(2023, 3, 10), actor=secretary)
    do_record_step(activist, 3, date(2023, 6, 1), actor=secretary)
    prob = do_enroll_member(
        branch=tree.branch_a,
        name="单预备",
        id_number=id_for(50_002, date(1990, 1, 1)),
        status=Status.PROBATIONARY,
        admitted_on=date(2025, 7, 1),
        actor=root_admin,
        post="组织委员",
    )
    full = do_enroll_member(
        branch=tree.branch_a,
        name="曾正式",
        id_number=id_for(50_003, date(1970, 1, 1)),
        status=Status.FULL,
        admitted_on=date(2016, 7, 1),
        actor=root_admin,
        phone="13700000004",
        group=tree.group_a,
        occupation="退休",
    )
    return [applicant, activist, prob, full]


FIELDS = (
    "name",
    "id_number",
    "birth_date",
    "gender",
    "phone",
    "branch_id",
    "group_id",
    "status",
    "applied_on",
    "activist_on",
    "candidate_on",
    "admitted_on",
    "probation_ends_on",
    "full_on",
    "post",
    "occupation",
    "dues_category",
)


def test_export_then_import_round_trips(tree, secretary, branch_people):
    data, count = export_roster(
        branch_roster(tree.branch_a), actor=secretary, scope=tree.branch_a, masked=False, filters={}
    )
    assert count == 4
    rows = sheet_rows(data)
    assert list(rows[0]) == HEADERS
    by_name = {r[0]: dict(zip(HEADERS, r, strict=True)) for r in rows[1:]}
    assert by_name["曾正式"]["身份证号"] == branch_people[3].id_number  # text, not 1.1E+17
    assert by_name["曾正式"]["党龄"] >= 9
    assert by_name["吕申请"]["已完成至第几步"] == 2

    # Into the same records: everyone recognised, nothing changes, nothing to warn about.
    same = do_import_members(data, actor=secretary)
    assert (same.created, same.updated, same.unchanged, same.errors, same.warnings) == (0, 0, 4, [], [])

    # Into an empty branch: the same people again, field for field.
    before = {m.name: {f: getattr(m, f) for f in FIELDS} for m in branch_roster(tree.branch_a)}
    PartyMember.objects.filter(pk__in=[m.pk for m in branch_people]).delete()
    again = do_import_members(data, actor=secretary)
    assert again.created == 4
    after = {
        m.name: {f: getattr(m, f) for f in FIELDS} for m in PartyMember.objects.filter(branch=tree.branch_a)
    }
    assert after == before
    through = dict(PartyMember.objects.values_list("name", "imported_through_step"))
    assert through == {"吕申请": 2, "欧阳积极": 3, "单预备": 18, "曾正式": 25}


def test_the_page_export_follows_the_filters_and_is_audited(tree, client, secretary, branch_people):
    client.force_login(secretary)
    url = reverse("members:branch_export", args=[tree.branch_a.pk])
    response = client.get(url, {"status": "full"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    names = [r[0] for r in sheet_rows(response.content)]
    assert names == ["姓名", "曾正式"]
    event = AuditEvent.objects.get(action="member.export")
    assert event.payload == {"rows": 1, "masked": False, "filters": {"status": "full"}}
    masked = client.get(url, {"masked": "1"})
    sheet = load_workbook(io.BytesIO(masked.content)).worksheets[0]
    ids = [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert all("*" in i for i in ids)


# --- the pages: upload → preview → confirm -----------------------------------------------------


def upload(client, data: bytes, name: str = "名册.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("members:import"), {"file": SimpleUploadedFile(name, data)})


def test_upload_preview_confirm(tree, client, secretary):
    data, bad = roster_file(tree.branch_a.name, 120, bad_every=50)
    client.force_login(secretary)
    preview = upload(client, data)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "尚未保存任何数据" in html
    for row in bad:
        assert f"第 {row} 行" in html
    token = preview.context["form"]["token"].value()
    assert PartyMember.objects.count() == 0

    # Confirm without choosing valid-only: refused, nothing imported, the preview again.
    refused_page = client.post(reverse("members:import_confirm"), {"token": token})
    assert refused_page.status_code == 200
    assert "未导入任何数据" in refused_page.content.decode()
    assert PartyMember.objects.count() == 0

    done = client.post(reverse("members:import_confirm"), {"token": token, "valid_only": "on"})
    assert done.status_code == 302
    assert PartyMember.objects.count() == 120 - len(bad)
    # The file is gone once imported: the same token cannot import twice.
    again = client.post(reverse("members:import_confirm"), {"token": token, "valid_only": "on"})
    assert again.status_code == 302
    assert again["Location"] == reverse("members:import")
    assert PartyMember.objects.count() == 120 - len(bad)


def test_a_token_belongs_to_the_session_that_uploaded(tree, client, secretary, street_admin):
    client.force_login(secretary)
    token = upload(client, workbook([good_row(60_000, tree.branch_a.name)])).context["form"]["token"].value()
    client.force_login(street_admin)  # a new session
    response = client.post(reverse("members:import_confirm"), {"token": token})
    assert response.status_code == 302
    assert PartyMember.objects.count() == 0


def test_a_file_that_is_not_xlsx_is_refused_beside_the_field(tree, client, secretary):
    client.force_login(secretary)
    html = upload(client, b"name,id\n", name="名册.xlsx").content.decode()
    assert 'id="id_file_error"' in html
    assert "不是 Excel .xlsx 文件" in html


# --- the API -----------------------------------------------------------------------------------


API_IMPORT = "/api/v1/members/import"
API_EXPORT = "/api/v1/members/export"


def api_upload(client, headers, data: bytes, **form):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(API_IMPORT, {"file": SimpleUploadedFile("r.xlsx", data), **form}, headers=headers)


def test_api_import_dry_run_errors_and_valid_only(tree, client, secretary, token_for):
    headers = token_for(secretary)
    data, bad = roster_file(tree.branch_a.name, 60, bad_every=50)
    dry = api_upload(client, headers, data, dry_run="true")
    assert dry.status_code == 200
    assert dry.json()["committed"] is False
    assert {e["row"] for e in dry.json()["errors"]} == set(bad)
    assert PartyMember.objects.count() == 0

    refused_response = api_upload(client, headers, data)
    assert refused_response.status_code == 422
    body = refused_response.json()
    assert body["code"] == "import_has_errors"
    assert {e["row"] for e in body["details"]["errors"]} == set(bad)
    assert PartyMember.objects.count() == 0

    done = api_upload(client, headers, data, valid_only="true")
    assert done.status_code == 200
    assert (done.json()["created"], done.json()["committed"]) == (60 - len(bad), True)


@pytest.mark.parametrize(
    ("persona", "status"),
    [(None, 401), ("member", 403), ("resident", 403), ("department_admin", 403), ("window_staff", 403)],
)
def test_api_import_denied(tree, client, token_for, request, persona, status):
    headers = token_for(request.getfixturevalue(persona)) if persona else {}
    data = workbook([good_row(70_000, tree.branch_a.name)])
    assert api_upload(client, headers, data).status_code == status
    assert PartyMember.objects.count() == 0


def test_api_import_refuses_rows_outside_the_importers_scope(tree, client, outsider, token_for):
    data = workbook([good_row(71_000, tree.branch_a.name)])
    response = api_upload(client, token_for(outsider), data)
    assert response.status_code == 422
    assert "不在您的管辖范围内" in response.json()["details"]["errors"][0]["message"]


def test_api_import_refuses_a_non_xlsx_file(tree, client, secretary, token_for):
    response = api_upload(client, token_for(secretary), b"%PDF-1.4 not a roster")
    assert response.status_code == 422
    assert response.json()["code"] == "import_not_xlsx"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 401),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
        ("department_admin", 404),
        ("window_staff", 404),
    ],
)
def test_api_export_access(tree, client, token_for, request, branch_people, persona, status):
    headers = token_for(request.getfixturevalue(persona)) if persona else {}
    response = client.get(API_EXPORT, {"branch": tree.branch_a.pk}, headers=headers)
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == XLSX_CONTENT_TYPE
        rows = sheet_rows(response.content)
        assert len(rows) == 5


def test_api_export_round_trips_through_api_import(tree, client, secretary, token_for, branch_people):
    headers = token_for(secretary)
    exported = client.get(API_EXPORT, {"branch": tree.branch_a.pk, "q": "zzs"}, headers=headers)
    names = [r[0] for r in sheet_rows(exported.content)]
    assert names == ["姓名", "曾正式"]  # 曾 read zeng as a surname
    report = api_upload(client, headers, exported.content).json()
    assert (report["created"], report["unchanged"], report["errors"]) == (0, 1, [])
    bad_status = client.get(API_EXPORT, {"branch": tree.branch_a.pk, "status": "pilot"}, headers=headers)
    assert bad_status.status_code == 422


# --- the fast sheet reader reads what openpyxl reads --------------------------------------------


def both_readers(data: bytes) -> tuple[list, list]:
    from dangqun.members import importing

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        fast = list(importing._fast_rows(zf))
    slow = list(importing._openpyxl_rows(data))
    return fast, slow


def test_the_fast_reader_agrees_with_openpyxl():
    from datetime import datetime

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    for epoch in (None, CALENDAR_MAC_1904):
        wb = Workbook()
        if epoch:
            wb.epoch = epoch
        ws = wb.active
        ws.title = "说明"
        roster = wb.create_sheet("党员名册")  # the roster sheet is found by its name
        roster.append(["姓名", "身份证号", "日期", "数字", "是否", "空"])
        roster.append(["张三", "110105199001011234", date(2024, 1, 31), 12, True, None])
        roster.append(
            [CellRichText(["欧阳", TextBlock(InlineFont(b=True), "修")]), 3.5, datetime(2023, 7, 1), -4]
        )
        roster["C3"].number_format = 'yyyy"年"m"月"d"日"'
        roster["F4"] = "稀疏"  # a row with one cell far right
        out = io.BytesIO()
        wb.save(out)
        fast, slow = both_readers(out.getvalue())
        trimmed = [(n, tuple(v for v in values)) for n, values in slow]
        assert fast[0] == (1, ("姓名", "身份证号", "日期", "数字", "是否", "空"))
        assert fast[1][1][:5] == ("张三", "110105199001011234", datetime(2024, 1, 31), 12, True)
        assert fast[2][1] == ("欧阳修", 3.5, datetime(2023, 7, 1), -4)
        assert fast[3] == (4, (None, None, None, None, None, "稀疏"))
        for (n1, a), (n2, b) in zip(fast, trimmed, strict=True):
            assert n1 == n2
            assert a == b[: len(a)]
            assert not any(b[len(a) :])


def test_inline_strings_and_a_missing_row_number():
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>身份</t></is></c></row>'
        '<row><c t="inlineStr"><is><r><t>张</t></r><r><t>三</t></r><rPh><t>zhang</t></rPh></is></c>'
        '<c t="str"><v>正式党员</v></c></row>'
        "</sheetData></worksheet>"
    )
    files = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "xl/workbook.xml": (
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    from dangqun.members import importing

    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert list(importing._fast_rows(zf)) == [(1, ("姓名", "身份")), (2, ("张三", "正式党员"))]


def test_an_unusual_workbook_is_read_by_openpyxl(tree, secretary, monkeypatch):
    from dangqun.members import importing

    def unusual(zf):
        raise importing._Unusual
        yield  # pragma: no cover — a generator, like the real one

    monkeypatch.setattr(importing, "_fast_rows", unusual)
    report = do_import_members(
        workbook([good_row(80_000, tree.branch_a.name)]), actor=secretary, dry_run=True
    )
    assert (report.rows, report.created, report.errors) == (1, 1, [])
