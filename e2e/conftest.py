"""Browser tests: Playwright driving Debian's chromium against Django's live server.

Playwright cannot download browsers here, so we launch /usr/bin/chromium (installed by
./dq test or .ci/run). Screenshots go to docs/screenshots/ and are shown by the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, sync_playwright
from tests.conftest import *  # noqa: F403 — the same personas and street as the unit tests
from tests.conftest import PASSWORD

from dangqun.accounts import actions
from dangqun.accounts.models import User
from dangqun.core.middleware import ELDER_COOKIE

# Playwright's sync API runs an event loop in this thread; the ORM calls made by fixtures are
# still synchronous and single-threaded, so Django's async-safety guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 860}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE,
        base_url=live_server.url,
        locale="zh-CN",
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


_axe = Axe()


def serious_violations(page: Page) -> list[str]:
    """axe-core violations of impact serious or critical, as readable lines."""
    results = _axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# ---------------------------------------------------------------------------------------------
# Signing in and elder mode.


def enrol_totp(user: User) -> pyotp.TOTP:
    """Enrol and confirm TOTP through the actions, as the setup page does.

    The confirming code is the authenticator's previous one (accepted: ±1 step for clock
    drift), so the current step and the next stay unused: a test can log in twice within one
    30-second step without waiting for the clock.
    """
    secret = actions.do_start_totp_setup(user, actor=user)
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    step = actions.totp_step_for(user, totp.at(now - timedelta(seconds=totp.interval)), at=now)
    assert step is not None
    actions.do_accept_totp(user, step, actor=user)
    return totp


def next_code(user: User) -> str:
    """A code the server accepts next: the current step's, or the one after the last used."""
    user.refresh_from_db()
    totp = pyotp.TOTP(user.totp_secret)
    return totp.generate_otp(max(totp.timecode(timezone.now()), user.totp_last_step + 1))


def submit_login(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill in and send the login form, as a user would."""
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()


def sign_in(page: Page, user: User, base_url: str) -> None:
    """A signed-in session without the login pages (test_login.py goes through those)."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def set_elder_cookie(page: Page, base_url: str, *, on: bool) -> None:
    """What the header switch stores (the switch itself is exercised in test_login.py)."""
    page.context.add_cookies([{"name": ELDER_COOKIE, "value": "1" if on else "0", "url": base_url}])
