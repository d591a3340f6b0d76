"""Signing in through the pages: password, the second factor for staff, the two header switches.

Foundation "done when": a street administrator logs in with TOTP and finds their navigation;
the interface switches to English and back; elder mode (onestop.md §9) switches on, is
remembered on the next page and across a new login, and switches off; a staff account's first
login enrols an authenticator; a resident needs no second factor; a wrong password is answered
in Chinese beside the form, with no pop-up.
"""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from dangqun.accounts.models import User

from .conftest import enrol_totp, next_code, submit_login

ADMIN_NAV = ["组织", "规则", "日历", "审计", "后台", "通知"]


def nav(page: Page):
    return page.get_by_role("navigation", name=re.compile("主导航|Main navigation"))


def enter_code(page: Page, code: str) -> None:
    page.locator("input[name=code]").fill(code)
    page.locator("main form button[type=submit]").click()


def no_popups(page: Page) -> list[str]:
    """Collects every alert/confirm/prompt and every new window the page opens."""
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(f"dialog {d.type}: {d.message}"), d.dismiss()))
    page.context.on("page", lambda p: seen.append(f"new window: {p.url}"))
    return seen


def test_a_street_admin_logs_in_with_totp_switches_language_and_elder_mode(page: Page, street_admin):
    enrol_totp(street_admin)
    popups = no_popups(page)

    submit_login(page, "street_admin")
    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("输入动态口令")
    enter_code(page, next_code(street_admin))

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王街道")
    for label in ADMIN_NAV:
        expect(nav(page).get_by_role("link", name=label)).to_be_visible()
    expect(nav(page).get_by_role("button", name="退出")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")

    # English, then back to Chinese: the whole page, not just a label.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, 王街道")
    expect(nav(page).get_by_role("link", name="Organizations")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "false")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王街道")
    expect(nav(page).get_by_role("link", name="组织")).to_be_visible()

    # Elder mode on: remembered on the next page, after signing out and after signing in again.
    body = page.locator("body")
    expect(body).not_to_have_class(re.compile(r"\belder\b"))
    page.get_by_role("button", name="长辈模式", exact=True).click()
    expect(body).to_have_class(re.compile(r"\belder\b"))
    expect(page.get_by_text("长辈模式：已开启")).to_be_visible()
    street_admin.refresh_from_db()
    assert street_admin.elder_mode is True

    nav(page).get_by_role("link", name="组织").click()
    expect(page).to_have_url(re.compile(r"/orgs/$"))
    expect(body).to_have_class(re.compile(r"\belder\b"))

    nav(page).get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(body).to_have_class(re.compile(r"\belder\b"))
    submit_login(page, "street_admin")
    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/$"))
    expect(body).to_have_class(re.compile(r"\belder\b"))
    enter_code(page, next_code(street_admin))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，王街道")
    expect(body).to_have_class(re.compile(r"\belder\b"))

    # ... and off again, for this page and the next.
    page.get_by_role("button", name="关闭长辈模式").click()
    expect(body).not_to_have_class(re.compile(r"\belder\b"))
    expect(page.get_by_role("button", name="长辈模式", exact=True)).to_be_visible()
    page.reload()
    expect(body).not_to_have_class(re.compile(r"\belder\b"))
    street_admin.refresh_from_db()
    assert street_admin.elder_mode is False
    assert popups == []


def test_a_staff_members_first_login_enrols_an_authenticator(page: Page, secretary):
    assert not secretary.totp_confirmed
    submit_login(page, "secretary_a")

    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/setup/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("设置双因素认证")
    qr = page.get_by_role("img", name="用于绑定认证器的二维码")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    # The QR code has really been drawn, at a size a phone camera can read.
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    box = qr.bounding_box()
    assert box
    assert box["width"] >= 150, box
    assert box["height"] >= 150, box

    # The secret shown for manual entry is the one the server keeps; its code confirms.
    secret = page.locator(".totp-secret").inner_text().replace(" ", "")
    secretary.refresh_from_db()
    assert secret == secretary.totp_secret
    enter_code(page, pyotp.TOTP(secret).now())

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，李书记")
    expect(nav(page).get_by_role("link", name="我的支部")).to_be_visible()
    secretary.refresh_from_db()
    assert secretary.totp_confirmed


def test_a_resident_logs_in_without_a_second_factor_and_the_profile_keeps_elder_mode(
    page: Page, phone_page: Page, resident
):
    submit_login(page, "resident")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("您好，陈居民")
    expect(nav(page).get_by_role("link", name="办事")).to_be_visible()
    page.get_by_role("button", name="长辈模式", exact=True).click()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))

    # Another device (a fresh browser, no cookie): the profile brings elder mode back on login.
    submit_login(phone_page, "resident")
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("您好，陈居民")
    expect(phone_page.locator("body")).to_have_class(re.compile(r"\belder\b"))


def test_a_wrong_password_is_answered_beside_the_form_in_chinese_without_a_popup(page: Page, member):
    popups = no_popups(page)
    submit_login(page, "member_a", "not-the-password")

    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("请修改以下标出的内容后再提交。")
    password = page.locator("input[name=password]")
    expect(password).to_have_attribute("aria-invalid", "true")
    error = page.locator("#id_password_error")
    expect(error).to_have_text(
        re.compile(r"^错误：用户名或密码不正确。再失败 \d+ 次，账号将锁定 \d+ 分钟。$")
    )
    expect(error).to_be_visible()
    expect(password).to_have_attribute("aria-describedby", re.compile(r"\bid_password_error\b"))
    # Beside the field: just below the password input, inside the same form.
    field, message = password.bounding_box(), error.bounding_box()
    assert field
    assert message
    assert 0 <= message["y"] - (field["y"] + field["height"]) < 60, (field, message)
    expect(page.locator("main form #id_password_error")).to_have_count(1)
    # Nothing else came up: no browser dialog, no window, no overlay, no validation bubble
    # (the form is novalidate: the server answers every error beside its field).
    expect(page.locator("main form")).to_have_attribute("novalidate", "")
    assert popups == []
    expect(page.locator("dialog, [role=dialog], [role=alertdialog]")).to_have_count(0)
    assert User.objects.get(username="member_a").failed_logins == 1
