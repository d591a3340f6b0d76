from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from dangqun.accounts.actions import do_set_identity
from dangqun.accounts.models import User
from dangqun.accounts.views import PENDING
from dangqun.core.models import AuditEvent
from tests.conftest import PASSWORD

from .conftest import PERSONAS, STAFF, VALID_ID, csrf_from, enrol_totp, next_code

LOGIN = "/accounts/login/"
SETUP = "/accounts/login/2fa/setup/"
VERIFY = "/accounts/login/2fa/"


def _post_login(client: Client, login: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"login": login, "password": password, **extra})


def _logged_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


class _Controls(HTMLParser):
    """Collects form controls and the ids that labels point at."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.forms: list[dict] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        elif tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        elif tag == "form":
            self.forms.append(a)
        elif tag == "script" and "src" not in a:
            self.scripts += 1


def _controls(html: str) -> _Controls:
    parser = _Controls()
    parser.feed(html)
    return parser


# --- the login page ---------------------------------------------------------------------------


def test_the_login_page_labels_every_input_and_needs_no_script(db):
    html = Client().get(LOGIN).content.decode()
    page = _controls(html)
    assert {c["name"] for c in page.controls} >= {"login", "password"}
    for control in page.controls:
        assert control["id"] in page.label_for, control
    login_form = next(f for f in page.forms if f.get("action") == LOGIN)
    assert "novalidate" in login_form  # server errors beside the field, not browser pop-ups
    assert page.scripts == 0


@pytest.mark.parametrize("persona", sorted(set(PERSONAS) - STAFF))
def test_non_staff_log_in_with_the_password_alone(request, persona):
    user = request.getfixturevalue(persona)
    client = Client()
    response = _post_login(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_as(client) == user.pk
    event = AuditEvent.objects.filter(action="login.success").get()
    assert event.payload["method"] == "password"
    assert event.actor_id == user.pk


@pytest.mark.parametrize("persona", sorted(STAFF))
def test_staff_are_not_logged_in_before_the_second_factor(request, persona):
    user = request.getfixturevalue(persona)
    client = Client()
    response = _post_login(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == SETUP
    assert _logged_in_as(client) is None
    assert client.session[PENDING]["uid"] == user.pk
    assert client.get("/accounts/profile/").status_code == 302  # still anonymous
    assert not AuditEvent.objects.filter(action="login.success").exists()


def test_a_staff_first_login_enrols_an_authenticator_with_an_inline_qr_code(secretary):
    client = Client()
    _post_login(client, secretary.username)
    page = client.get(SETUP)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in html  # inline, no external QR service
    assert "http://" not in re.sub(
        r'xmlns[^"]*"[^"]*"', "", html.split("data:image/svg+xml")[1].split('"')[0]
    )
    secretary.refresh_from_db()
    grouped = " ".join(secretary.totp_secret[i : i + 4] for i in range(0, len(secretary.totp_secret), 4))
    assert grouped in html
    # Reloading keeps the same secret: an already scanned code stays valid.
    secret = secretary.totp_secret
    client.get(SETUP)
    secretary.refresh_from_db()
    assert secretary.totp_secret == secret

    wrong = client.post(SETUP, {"code": "000000" if next_code(secretary) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert 'id="id_code_error"' in wrong.content.decode()
    assert "动态口令不正确" in wrong.content.decode()
    assert _logged_in_as(client) is None

    done = client.post(SETUP, {"code": next_code(secretary)})
    assert done.status_code == 302
    assert _logged_in_as(client) == secretary.pk
    secretary.refresh_from_db()
    assert secretary.totp_confirmed
    assert PENDING not in client.session
    assert AuditEvent.objects.filter(action="login.success", payload__method="password+totp").exists()


def test_later_staff_logins_ask_for_the_code(street_admin):
    enrol_totp(street_admin)
    client = Client()
    response = _post_login(client, street_admin.username, next="/orgs/")
    assert response["Location"] == VERIFY
    assert client.get(SETUP)["Location"] == VERIFY  # no second enrolment once confirmed
    page = client.get(VERIFY).content.decode()
    assert 'autocomplete="one-time-code"' in page
    done = client.post(VERIFY, {"code": next_code(street_admin)})
    assert done["Location"] == "/orgs/"
    assert _logged_in_as(client) == street_admin.pk


def test_a_code_cannot_be_used_twice(street_admin):
    enrol_totp(street_admin)
    code = next_code(street_admin)
    first = Client()
    _post_login(first, street_admin.username)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    second = Client()
    _post_login(second, street_admin.username)
    replay = second.post(VERIFY, {"code": code})
    assert replay.status_code == 200
    assert "已使用过" in replay.content.decode()
    assert _logged_in_as(second) is None


def test_the_code_pages_need_a_fresh_password_step(street_admin):
    client = Client()
    assert client.get(VERIFY)["Location"] == LOGIN
    assert client.get(SETUP)["Location"] == LOGIN
    _post_login(client, street_admin.username)
    session = client.session
    pending = session[PENDING]
    pending["at"] -= 301
    session[PENDING] = pending
    session.save()
    assert client.get(SETUP)["Location"] == LOGIN


def test_wrong_codes_count_towards_the_lockout(street_admin):
    enrol_totp(street_admin)
    client = Client()
    _post_login(client, street_admin.username)
    bad = "000000" if next_code(street_admin) != "000000" else "111111"
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        assert client.post(VERIFY, {"code": bad}).status_code == 200
    locked = client.post(VERIFY, {"code": bad})
    assert locked.status_code == 429
    assert "已锁定" in locked.content.decode()
    street_admin.refresh_from_db()
    assert street_admin.is_locked


def test_it_logs_in_with_the_phone_number(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    client = Client()
    assert _post_login(client, "138 1234 5678").status_code == 302
    assert _logged_in_as(client) == resident.pk


def test_a_wrong_password_shows_the_error_beside_the_field(resident):
    client = Client()
    response = _post_login(client, resident.username, "Wrong-passw0rd!")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_password_error"' in html
    assert 'aria-describedby="id_password_error"' in html
    assert "用户名或密码不正确" in html
    assert f"再失败 {settings.LOGIN_MAX_FAILURES - 1} 次" in html
    assert _logged_in_as(client) is None


def test_an_unknown_user_gets_the_same_answer_and_is_audited_without_the_password(db):
    response = _post_login(Client(), "nobody", "Secret-Guess-1!")
    assert "用户名或密码不正确" in response.content.decode()
    event = AuditEvent.objects.filter(action="login.failed").get()
    assert event.payload["reason"] == "unknown_user"
    assert event.payload["login"] == "nobody"
    assert event.actor_id is None


def test_no_audit_event_ever_holds_a_password(resident, street_admin):
    _post_login(Client(), resident.username, "Wrong-passw0rd!")
    _post_login(Client(), resident.username)
    _post_login(Client(), street_admin.username)
    payloads = " ".join(str(e.payload) for e in AuditEvent.objects.all())
    assert "Wrong-passw0rd!" not in payloads
    assert PASSWORD not in payloads


def test_empty_fields_are_named_beside_each_field(db):
    html = Client().post(LOGIN, {"login": "", "password": ""}).content.decode()
    assert 'id="id_login_error"' in html
    assert "请输入用户名或手机号" in html
    assert "请输入密码" in html


def test_the_login_post_requires_the_csrf_token(resident):
    client = Client(enforce_csrf_checks=True)
    refused = client.post(LOGIN, {"login": resident.username, "password": PASSWORD})
    assert refused.status_code == 403
    assert _logged_in_as(client) is None
    token = csrf_from(client.get(LOGIN).content.decode())
    accepted = client.post(
        LOGIN, {"login": resident.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert accepted.status_code == 302
    assert _logged_in_as(client) == resident.pk


def test_it_never_redirects_off_site(resident):
    response = _post_login(Client(), resident.username, next="https://evil.example/")
    assert response["Location"] == "/"


# --- lockout and rate limit -------------------------------------------------------------------


def test_it_locks_after_the_configured_failures_and_says_until_when(resident):
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _post_login(client, resident.username, "Wrong-passw0rd!")
    locked = _post_login(client, resident.username, "Wrong-passw0rd!")
    resident.refresh_from_db()
    assert resident.is_locked
    until = timezone.localtime(resident.locked_until)
    expected = (until.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")
    html = locked.content.decode()
    assert locked.status_code == 429
    assert f"请于 {expected} 后再试" in html
    assert AuditEvent.objects.filter(action="login.lockout").count() == 1
    # Even the right password is refused while locked, and the refusal is audited.
    still = _post_login(client, resident.username)
    assert still.status_code == 429
    assert _logged_in_as(client) is None
    assert AuditEvent.objects.filter(action="login.failed", payload__reason="locked").exists()


def test_it_unlocks_once_the_lock_has_expired_and_resets_the_count(resident):
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _post_login(client, resident.username, "Wrong-passw0rd!")
    # Move the lock into the past instead of waiting.
    User.objects.filter(pk=resident.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert _post_login(client, resident.username).status_code == 302
    resident.refresh_from_db()
    assert resident.failed_logins == 0
    assert resident.locked_until is None


def test_a_success_resets_the_failure_count(resident):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _post_login(Client(), resident.username, "Wrong-passw0rd!")
    _post_login(Client(), resident.username)
    resident.refresh_from_db()
    assert resident.failed_logins == 0
    _post_login(Client(), resident.username, "Wrong-passw0rd!")
    resident.refresh_from_db()
    assert not resident.is_locked


def test_one_address_is_throttled_after_too_many_failures(settings, resident, member):
    settings.LOGIN_IP_MAX_FAILURES = 3
    client = Client()
    for name in ("ghost1", "ghost2", "ghost3"):
        _post_login(client, name, "Wrong-passw0rd!")
    throttled = _post_login(client, member.username)
    assert throttled.status_code == 429
    assert "登录失败次数过多" in throttled.content.decode()
    assert _logged_in_as(client) is None
    assert AuditEvent.objects.filter(payload__reason="ip_rate_limited").count() == 1
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert _post_login(other, member.username).status_code == 302


def test_a_disabled_account_is_told_so(resident):
    User.objects.filter(pk=resident.pk).update(is_active=False)
    html = _post_login(Client(), resident.username).content.decode()
    assert "已停用" in html


# --- logout ---------------------------------------------------------------------------------------


def test_logout_is_a_post_and_is_audited(resident):
    client = Client()
    _post_login(client, resident.username)
    assert client.get("/accounts/logout/").status_code == 405
    assert _logged_in_as(client) == resident.pk
    assert client.post("/accounts/logout/")["Location"] == LOGIN
    assert _logged_in_as(client) is None
    assert AuditEvent.objects.filter(action="logout", actor=resident).exists()


def test_logout_needs_the_csrf_token(resident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(resident)
    assert client.post("/accounts/logout/").status_code == 403
    assert _logged_in_as(client) == resident.pk
