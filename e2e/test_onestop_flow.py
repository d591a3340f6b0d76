"""One-stop services in the browser, the whole way: a resident finds an item by pinyin initials,
reads the guide, applies with a real PDF and gets the number, check code and promised date; the
window (signed in with its second factor) accepts and issues a one-time notice; the resident
corrects; the department reviews and approves; anyone tracks the case with number + check code;
the resident downloads the e-certificate, whose QR code opens a verification page that says it
is valid. Screenshots go to docs/screenshots/onestop-*.png; axe checks the search, apply and
tracking pages.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pypdf
import pytest
import weasyprint
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.onestop.conftest import EXAMPLE_2027, ID_NUMBER, save_item

from dangqun.accounts.models import User
from dangqun.certs.models import Certificate
from dangqun.core import workcalendar
from dangqun.core.calendar_actions import do_import_calendar_year
from dangqun.core.validators import credit_check_char
from dangqun.onestop import search
from dangqun.onestop.models import Application, ServiceItem
from dangqun.orgs.actions import do_update_organization

from .conftest import DESKTOP, PHONE, enrol_totp, next_code, screenshot, serious_violations, submit_login

DEPT_CODE = "11330106MB0000011"
DEPT_CREDIT = DEPT_CODE + credit_check_char(DEPT_CODE)


@pytest.fixture(autouse=True)
def _onestop_env(settings, tmp_path, live_server):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.DATA_DIR = tmp_path / "data"  # demo signing keys are generated here
    settings.SITE_URL = live_server.url  # the QR code points at this server
    search.reset()
    yield
    search.reset()


@pytest.fixture
def applicant(resident) -> User:
    """A resident with a real-name identity (the ID card is then shared data, 免提交)."""
    resident.id_number = ID_NUMBER
    resident.save()
    return resident


@pytest.fixture
def calendar_2027(root_admin) -> None:
    """Deadlines reach into 2027: load the example calendar year (as tests/onestop does)."""
    data = json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))
    do_import_calendar_year(2027, data["days"], data["source"], actor=root_admin)
    workcalendar.reset()


@pytest.fixture
def contexts(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """New browser contexts (one per person), closed at the end."""
    opened: list[BrowserContext] = []

    def new(*, phone: bool = False, elder: bool = False) -> Page:
        kwargs = (
            {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
            if phone
            else {"viewport": DESKTOP}
        )
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", accept_downloads=True, **kwargs
        )
        if elder:
            from dangqun.core.middleware import ELDER_COOKIE

            context.add_cookies([{"name": ELDER_COOKIE, "value": "1", "url": live_server.url}])
        opened.append(context)
        return context.new_page()

    yield new
    for context in opened:
        context.close()


@pytest.fixture
def sbk_item(tree, street_admin, root_admin) -> ServiceItem:
    """社会保障卡申领: the ID card from shared data, a signed application form as a PDF upload;
    approval issues a 社会保障卡申领回执 signed by the department."""
    do_update_organization(tree.department, actor=root_admin, credit_code=DEPT_CREDIT)
    return save_item(
        tree,
        street_admin,
        code="200010002000",
        name="社会保障卡申领",
        keywords="社保卡 社会保障卡 社保",
        materials=[
            {"name": "居民身份证", "shared": "id_card"},
            {"name": "申请书", "allowed_kinds": ["pdf"], "max_pages": 3},
        ],
        certificate_type="SBKSLHZ",
    )


def application_pdf(text: str) -> bytes:
    """A small real PDF, as a resident's scanner or word processor would make it."""
    html = f"<h1>社会保障卡申领申请书</h1><p>{text}</p><p>申请人：陈居民</p>"
    return weasyprint.HTML(string=html).write_pdf()


def staff_login(page: Page, user: User) -> None:
    submit_login(page, user.username)
    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/$"))
    page.locator("input[name=code]").fill(next_code(user))
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")


def upload(page: Page, material_id: int, name: str, content: bytes) -> None:
    card = page.locator(f"#material-{material_id}")
    card.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/pdf", "buffer": content}]
    )
    card.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(f"#material-{material_id}")).to_contain_text(f"已上传：{name}")


def fact(page: Page, label: str):
    """The <dd> after the <dt> named `label` in a facts list."""
    term = page.locator("dl.facts dt", has_text=re.compile(f"^{label}$"))
    return term.locator("xpath=following-sibling::dd[1]")


def test_a_resident_applies_is_approved_and_verifies_the_e_certificate(
    contexts, live_server, applicant, window_staff, department_admin, sbk_item, calendar_2027
):
    enrol_totp(window_staff)
    enrol_totp(department_admin)
    id_card, form_material = (sbk_item.materials.get(name=n).pk for n in ("居民身份证", "申请书"))

    # --- the resident: search by initials, the guide, the application -------------------------
    resident = contexts()
    submit_login(resident, applicant.username)
    expect(resident.get_by_role("heading", level=1)).to_contain_text("陈居民")
    resident.goto("/services/")
    resident.locator("#id_q").fill("sbk")
    resident.locator("#id_q").press("Enter")
    expect(resident.get_by_role("heading", name=re.compile("“sbk”的检索结果"))).to_be_visible()
    hit = resident.get_by_role("link", name="社会保障卡申领")
    expect(hit).to_be_visible()
    assert serious_violations(resident) == []
    screenshot(resident, "onestop-search-desktop")

    hit.click()
    expect(resident.get_by_role("heading", level=1)).to_have_text("社会保障卡申领")
    expect(resident.get_by_text("申请书").first).to_be_visible()
    resident.get_by_role("button", name="在线申请").click()
    expect(resident).to_have_url(re.compile(r"/services/applications/\d+/$"))
    expect(resident.get_by_role("heading", name="申请表")).to_be_visible()
    resident.get_by_label("申请人姓名").fill("陈居民")
    # 免提交 needs the resident's explicit consent (个人信息保护法 第十四条): the checkbox first.
    resident.locator(f"#consent-{id_card}").check()
    resident.locator(f"#material-{id_card}").get_by_role("button", name="使用平台已有数据，免提交").click()
    expect(resident.locator(f"#material-{id_card}")).to_contain_text("使用平台已有数据（免提交）")
    upload(resident, form_material, "申请书.pdf", application_pdf("本人申请办理社会保障卡。"))
    assert serious_violations(resident) == []
    screenshot(resident, "onestop-apply-desktop")

    resident.get_by_role("button", name="提交申请").click()
    receipt = resident.get_by_text(re.compile(r"已提交。办件编号 \S+，查询码 [A-Z0-9]{6}，承诺办结日期 \S+"))
    expect(receipt).to_be_visible()
    app = Application.objects.get(applicant=applicant)
    assert app.number in receipt.inner_text()
    assert app.check_code in receipt.inner_text()
    expect(fact(resident, "办件编号")).to_have_text(app.number)
    expect(fact(resident, "查询码")).to_contain_text(app.check_code)
    expect(fact(resident, "承诺办结日期")).to_have_text(app.promised_due.isoformat())
    screenshot(resident, "onestop-receipt-desktop")
    application_url = resident.url

    # --- the window: its queue, acceptance, the one-time notice ----------------------------------
    window = contexts()
    staff_login(window, window_staff)
    window.goto("/services/queue/")
    row_link = window.get_by_role("link", name=app.number)
    expect(row_link).to_be_visible()
    screenshot(window, "onestop-queue-desktop")
    row_link.click()
    expect(window.get_by_role("heading", level=1)).to_have_text("社会保障卡申领")
    window.get_by_role("button", name="受理", exact=True).click()
    expect(window.locator(".kind").first).to_have_text("已受理")
    window.locator(f"#notice-{form_material}").check()
    window.locator(f"#problem-{form_material}").fill("申请书未签名，请签名后重新上传")
    window.get_by_role("button", name="出具一次性告知书").click()
    expect(window.get_by_role("heading", name="一次性告知书")).to_be_visible()
    expect(window.locator(".kind").first).to_have_text("补正中")

    # --- the resident corrects -------------------------------------------------------------------
    resident.goto(application_url)
    expect(resident.get_by_role("heading", name="一次性告知书")).to_be_visible()
    expect(resident.locator(f"#material-{form_material}")).to_contain_text("需补正：申请书未签名")
    signed = application_pdf("本人申请办理社会保障卡。（签名）陈居民")
    upload(resident, form_material, "申请书（已签名）.pdf", signed)
    resident.get_by_role("button", name="提交补正").click()
    expect(resident.get_by_text("补正材料已提交。")).to_be_visible()
    expect(resident.locator(".kind").first).to_have_text("审查中")

    # --- the department reviews and approves ----------------------------------------------------
    department = contexts()
    staff_login(department, department_admin)
    department.goto(application_url)
    for stage in ("审核", "批准"):
        heading = department.get_by_role("heading", name=re.compile(f"^{stage}（"))
        form = department.locator("form", has=heading)
        form.get_by_label("审查意见").fill("材料齐全，同意")
        form.get_by_role("button", name="通过", exact=True).click()
        expect(form).to_have_count(0)  # the task is done: its form is gone from the new page
    department.get_by_label("准予").check()
    department.get_by_role("button", name="作出决定").click()
    expect(department.locator(".kind").first).to_have_text("已决定")
    expect(department.get_by_role("heading", name="电子证照")).to_be_visible()
    cert = Certificate.objects.get()
    assert cert.source == f"onestop.application:{app.number}"

    # --- anyone tracks it with number + check code (a fresh, anonymous browser) ------------------
    anonymous = contexts()
    anonymous.goto("/services/track/")
    anonymous.get_by_label("办件编号").fill(app.number)
    anonymous.get_by_label("查询码").fill(app.check_code)
    anonymous.get_by_role("button", name="查询").click()
    expect(fact(anonymous, "当前状态")).to_have_text("已决定")
    expect(anonymous.locator("ol.history li")).to_have_count(5)  # 提交 受理 告知 补正 决定
    assert serious_violations(anonymous) == []
    screenshot(anonymous, "onestop-track-desktop")

    # --- the resident downloads the certificate; its QR code verifies ---------------------------
    resident.goto(application_url)
    expect(resident.get_by_role("heading", name="电子证照")).to_be_visible()
    expect(fact(resident, "证照名称")).to_have_text("社会保障卡申领回执")
    with resident.expect_download() as info:
        resident.get_by_role("link", name="下载电子证照（PDF）").click()
    download = info.value
    assert download.suggested_filename == f"{cert.identifier}.pdf"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF-")
    [image] = pypdf.PdfReader(io.BytesIO(content)).pages[0].images
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)).convert("L"))
    assert code.text == f"{live_server.url}/certs/verify/{cert.identifier}"

    verifier = contexts()
    verifier.goto(urlsplit(code.text).path)
    expect(verifier.get_by_role("status")).to_contain_text("有效")
    expect(verifier.get_by_role("status")).to_contain_text("证照真实有效")
    screenshot(verifier, "onestop-verify-desktop")

    # --- the tracking page on a phone, in elder mode ---------------------------------------------
    phone = contexts(phone=True, elder=True)
    phone.goto(f"/services/track/?number={app.number}&code={app.check_code}")
    expect(phone.locator("body")).to_have_class(re.compile(r"\belder\b"))
    expect(fact(phone, "当前状态")).to_have_text("已决定")
    assert phone.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    assert serious_violations(phone) == []
    screenshot(phone, "onestop-track-phone-elder")
