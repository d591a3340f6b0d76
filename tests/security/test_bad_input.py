"""The bad-input corpus (issue 7): each input is refused with a message a person can act on, or
stored as typed and shown escaped; nothing is half-saved."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from dangqun.feedback.models import Message
from dangqun.onestop.models import Application
from tests.feedback.conftest import dispatch_table  # noqa: F401 — fixture
from tests.onestop.conftest import *  # noqa: F403 — items, applicant, calendar

HTML = "<script>alert('x')</script><img src=x onerror=alert(1)>"
SQL = "'; DROP TABLE accounts_user; --"
EMOJI = "路灯坏了😀🏮"

TEXTS = {  # stored as typed, shown escaped
    "html": HTML,
    "sql": SQL,
    "emoji": EMOJI,
    "full-width": "１２３ＡＢＣ路灯不亮了很久",
}
REFUSED_TEXTS = {  # refused with a message
    "nul": "路灯\x00不亮了很久很久",
    "too long": "长" * 3001,
    "blank": "   ",
}


def post_message(client, body: str, title: str = "路灯不亮很久了"):
    return client.post(
        "/api/v1/feedback/messages",
        json.dumps({"kind": "complaint", "title": title, "body": body}),
        content_type="application/json",
    )


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_odd_text_is_stored_as_typed_and_shown_escaped(client, dispatch_table, resident, name):  # noqa: F811
    client.force_login(resident)
    text = TEXTS[name] + "，请尽快处理"
    response = post_message(client, text)
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.body == text
    page = client.get(f"/feedback/messages/{message.pk}/").content.decode()
    assert "<script>alert" not in page
    if name == "html":
        assert "&lt;script&gt;" in page


@pytest.mark.parametrize("name", sorted(REFUSED_TEXTS))
def test_unusable_text_is_refused_with_a_message(client, dispatch_table, resident, name):  # noqa: F811
    client.force_login(resident)
    response = post_message(client, REFUSED_TEXTS[name])
    assert response.status_code == 422
    assert response.json()["message"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("11330106MB0000001X", "checksum"),
        ("１１３３０１０６ＭＢ００００００１Ｇ", "full-width"),
        ("11330106MB000001G", "short"),
        ("11330106MB0000001I", "letter not allowed"),
    ],
)
def test_credit_codes_are_checked(client, dispatch_table, resident, code, why):  # noqa: F811
    client.force_login(resident)
    response = client.post(
        "/api/v1/feedback/messages",
        json.dumps(
            {
                "kind": "unpaid",
                "title": "工程款拖欠两年",
                "body": "某单位拖欠我公司工程款至今未付，请协调",
                "enterprise_name": "某建筑公司",
                "credit_code": code,
            }
        ),
        content_type="application/json",
    )
    if why == "full-width":  # full-width input is normalized, then checked like any other
        assert response.status_code == 201, response.content
        return
    assert response.status_code == 422, why
    assert "统一社会信用代码" in response.json()["message"]


@pytest.mark.parametrize(
    ("id_number", "why"),
    [
        ("110105194912310021", "checksum"),
        ("110105194902300025", "impossible date"),
        ("11010519491231002", "too short"),
        ("11010519491231002X😀", "emoji"),
    ],
)
def test_id_numbers_in_an_application_are_checked_and_nothing_is_saved(
    client, applicant, simple_item, calendar_2027, id_number, why
):
    client.force_login(applicant)
    response = client.post(
        f"/api/v1/services/{simple_item.code}/applications",
        json.dumps({"form": {"applicant_name": "陈居民", "id_number": id_number}, "consent": True}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=f"bad-{why}",
    )
    assert response.status_code == 422, why
    assert response.json()["message"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("category=在职&monthly_income=-1", "negative"),
        ("category=在职&monthly_income=1e400", "huge"),
        ("category=在职&monthly_income=３０００", "full-width"),
        ("category=在职&monthly_income=3000.001", "sub-cent"),
    ],
)
def test_amounts_are_checked(client, db, query, why):
    response = client.get(f"/api/v1/dues/quote?{query}")
    assert response.status_code == 422, (why, response.content)
    assert response.json()["message"]


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "0000-01-01", "2026-1-1x"])
def test_impossible_dates_are_refused(client, db, day):
    response = client.get(f"/api/v1/calendar/deadline?start={day}&working_days=5")
    assert response.status_code == 422
    assert response.json()["message"]


def pdf_with(entries: dict) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    for key, value in entries.items():
        writer._root_object[NameObject(key)] = value
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


SCRIPT = DictionaryObject(
    {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
)
FILES = {
    "pdf with a script": (pdf_with({"/OpenAction": SCRIPT}), "脚本"),
    "not an image": (b"GIF89a this is not a png at all", "只接受"),
    "zip bomb named .pdf": (zip_bomb(), "只接受"),
    "oversized": (b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024 + 10), "超过"),
    "truncated png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不完整"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_bad_files_are_refused_and_nothing_is_stored(
    client,
    dispatch_table,  # noqa: F811 — the fixture imported above
    resident,
    settings,
    tmp_path,
    name,
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    data, expected = FILES[name]
    client.force_login(resident)
    response = client.post(
        "/feedback/messages/",
        {
            "kind": "suggest",
            "title": "建议增设长椅",
            "body": "社区广场老人多，建议增设几张长椅",
            "files": [SimpleUploadedFile("evidence.pdf" if "pdf" in name else "photo.png", data)],
        },
    )
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert not Message.objects.exists()
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))
