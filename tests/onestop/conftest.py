"""One-stop fixtures: a service item received at the window and decided by the department,
an applicant with a real-name identity, small valid files, and the 2027 example calendar (the
suite runs in late 2026: deadlines reach into 2027)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfWriter

from dangqun.accounts.choices import Role
from dangqun.core import workcalendar
from dangqun.core.calendar_actions import do_import_calendar_year
from dangqun.onestop import search
from dangqun.onestop.actions import do_save_item
from dangqun.onestop.choices import Channel, HandlingMode, ItemType, LifeEvent, ResultType
from dangqun.onestop.models import ServiceItem
from dangqun.onestop.rules import implementation_code
from tests.conftest import make_user

EXAMPLE_2027 = Path(workcalendar.__file__).parent / "calendar_data" / "example-2027.json"
CREDIT = "11330106MB0000001G"  # a valid 统一社会信用代码 (GB 32100 check character)
ID_NUMBER = "11010519491231002X"  # the GB 11643 example number


@pytest.fixture(autouse=True)
def _onestop_env(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    search.reset()
    yield
    search.reset()


@pytest.fixture
def calendar_2027(root_admin):
    data = json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))
    do_import_calendar_year(2027, data["days"], data["source"], actor=root_admin)
    workcalendar.reset()


@pytest.fixture
def applicant(resident):
    resident.id_number = ID_NUMBER
    resident.phone = "13800138000"
    resident.email = "resident@example.org"
    resident.save()
    return resident


@pytest.fixture
def other_resident(tree):
    return make_user(
        "resident2", Role.RESIDENT, tree.community, full_name="孙居民", id_number="110105194912310038"
    )


def materials_spec() -> list[dict]:
    return [
        {"name": "居民身份证", "shared": "id_card", "source": "government"},
        {"name": "近期免冠照片", "allowed_kinds": ["jpg", "png"], "max_size_kb": 64, "max_pages": 1},
        {"name": "申请书", "allowed_kinds": ["pdf"], "max_pages": 3},
        {"name": "收入证明", "deficiency_allowed": True, "core": False},
    ]


def save_item(tree, actor, *, code="200010001000", name="城乡居民基本养老保险参保登记", materials=None, **kw):
    fields = {
        "code": code,
        "implementation_code": implementation_code(CREDIT, "5", code),
        "name": name,
        "department": tree.department,
        "receiving_org": tree.window,
        "implementer_credit_code": CREDIT,
        "item_type": ItemType.PUBLIC_SERVICE,
        "handling_mode": HandlingMode.PROMISED,
        "statutory_limit_days": 0,
        "promised_limit_days": 10,
        "channels": [Channel.WINDOW, Channel.WEB],
        "life_events": [LifeEvent.RETIREMENT],
        "keywords": "社保 养老",
        "result_type": ResultType.OTHER,
        "form_schema": {
            "fields": [
                {
                    "name": "applicant_name",
                    "label": "申请人姓名",
                    "type": "text",
                    "required": True,
                    "prefill": "full_name",
                    "validators": {"max_length": 30},
                },
                {
                    "name": "id_number",
                    "label": "身份证号",
                    "type": "id_number",
                    "required": True,
                    "prefill": "id_number",
                },
                {
                    "name": "amount",
                    "label": "金额（元）",
                    "type": "number",
                    "required": False,
                    "validators": {"min": 0, "max": 100000},
                },
            ]
        },
        **kw,
    }
    return do_save_item(
        None, actor=actor, materials=materials_spec() if materials is None else materials, **fields
    )


@pytest.fixture
def item(tree, street_admin) -> ServiceItem:
    return save_item(tree, street_admin)


@pytest.fixture
def simple_item(tree, street_admin) -> ServiceItem:
    """Only shared data is needed: submitting needs no upload."""
    return save_item(
        tree,
        street_admin,
        code="200010002000",
        name="社会保障卡申领",
        keywords="社保卡 社保",
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
