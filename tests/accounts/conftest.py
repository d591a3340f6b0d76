"""Helpers for the accounts tests: a clean rate-limit cache, TOTP enrolment, page logins."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from dangqun.accounts import actions
from dangqun.accounts.models import User
from tests.conftest import PASSWORD

PERSONAS = [
    "root_admin",
    "street_admin",
    "secretary",
    "outsider",
    "member",
    "resident",
    "department_admin",
    "window_staff",
]
STAFF = {"root_admin", "street_admin", "secretary", "outsider", "department_admin", "window_staff"}
VALID_ID = "11010519491231002X"  # GB 11643-1999's worked example
OTHER_ID = "110105198001010016"


@pytest.fixture(autouse=True, scope="session")
def _static_root_exists():
    # WhiteNoise warns (an error under filterwarnings=error) when STATIC_ROOT is missing, which
    # it is in a fresh test data dir. TODO: drop once settings create STATIC_ROOT themselves.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _clean_cache():
    # The per-address failure counter lives in the cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def enrol_totp(user: User) -> pyotp.TOTP:
    """Enrol and confirm TOTP the way the setup page does; returns the authenticator."""
    secret = actions.do_start_totp_setup(user, actor=user)
    totp = pyotp.TOTP(secret)
    step = actions.totp_step_for(user, totp.now())
    actions.do_accept_totp(user, step, actor=user)
    return totp


def next_code(user: User) -> str:
    """A code the server will accept next: the current step, or the one after the last used."""
    user.refresh_from_db()
    totp = pyotp.TOTP(user.totp_secret)
    return totp.generate_otp(max(totp.timecode(timezone.now()), user.totp_last_step + 1))


def page_login(client: Client, user: User) -> None:
    """Log in through the pages, with the second factor when the account needs it."""
    csrf = csrf_from(client.get("/accounts/login/").content.decode())
    response = client.post(
        "/accounts/login/", {"login": user.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    if user.needs_two_factor:
        if not user.totp_confirmed:
            enrol_totp(user)
        csrf = csrf_from(client.get("/accounts/login/2fa/").content.decode())
        response = client.post("/accounts/login/2fa/", {"code": next_code(user), "csrfmiddlewaretoken": csrf})
        assert response.status_code == 302


def csrf_from(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
