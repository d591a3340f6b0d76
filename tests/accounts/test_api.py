from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from dangqun.accounts.actions import do_set_identity
from dangqun.accounts.models import ApiToken, User
from dangqun.accounts.tokens import issue_token, user_for_token
from dangqun.core.crypto import sm3_hex
from dangqun.core.models import AuditEvent
from tests.conftest import PASSWORD

from .conftest import PERSONAS, STAFF, VALID_ID, csrf_from, enrol_totp, next_code, page_login

TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/me"


def _token_request(client: Client, **body):
    return client.post(TOKEN_URL, data=json.dumps(body), content_type="application/json")


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _get_token(user: User) -> str:
    body = {"username": user.username, "password": PASSWORD}
    if user.needs_two_factor:
        if not user.totp_confirmed:
            enrol_totp(user)
        body["totp"] = next_code(user)
    response = _token_request(Client(), **body)
    assert response.status_code == 200, response.json()
    return response.json()["token"]


# --- POST /auth/token ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_gets_a_token_under_its_own_rules(request, persona):
    user = request.getfixturevalue(persona)
    client = Client()
    plain = _token_request(client, username=user.username, password=PASSWORD)
    if persona in STAFF:
        assert plain.status_code == 401
        assert plain.json()["code"] == "totp_setup_required"  # enrolment happens on the pages
        enrol_totp(user)
        missing = _token_request(client, username=user.username, password=PASSWORD)
        assert missing.json()["code"] == "totp_required"
        wrong = _token_request(client, username=user.username, password=PASSWORD, totp="12345")
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "invalid_totp"
        granted = _token_request(client, username=user.username, password=PASSWORD, totp=next_code(user))
    else:
        granted = plain
    assert granted.status_code == 200, granted.json()
    data = granted.json()
    assert data["token"].startswith("dq_")
    assert user_for_token(data["token"]) == user


def test_a_token_is_stored_only_as_its_sm3_digest(resident):
    response = _token_request(Client(), username=resident.username, password=PASSWORD)
    raw = response.json()["token"]
    token = ApiToken.objects.get(user=resident)
    assert token.digest == sm3_hex(raw.encode())
    assert token.prefix == raw[:8]
    stored = " ".join(str(v) for v in ApiToken.objects.filter(pk=token.pk).values().get().values())
    assert raw not in stored
    audit_text = " ".join(str(e.payload) for e in AuditEvent.objects.all())
    assert raw not in audit_text


def test_a_token_lives_for_the_configured_hours(resident):
    before = timezone.now()
    response = _token_request(Client(), username=resident.username, password=PASSWORD)
    expires = ApiToken.objects.get(user=resident).expires_at
    ttl = timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert before + ttl <= expires <= timezone.now() + ttl
    shown = datetime.fromisoformat(response.json()["expires_at"])
    assert abs(shown - expires) < timedelta(milliseconds=1)  # JSON carries milliseconds
    assert shown.utcoffset() == timedelta(hours=8)  # shown in Asia/Shanghai


def test_bad_credentials_get_a_chinese_401(resident):
    wrong = _token_request(Client(), username=resident.username, password="Wrong-passw0rd!")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert "用户名或密码不正确" in wrong.json()["message"]
    unknown = _token_request(Client(), username="nobody", password="Wrong-passw0rd!")
    assert unknown.status_code == 401
    assert unknown.json()["code"] == "invalid_credentials"


def test_the_api_shares_the_lockout(resident):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _token_request(Client(), username=resident.username, password="Wrong-passw0rd!")
    locked = _token_request(Client(), username=resident.username, password=PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["code"] == "account_locked"
    assert "后再试" in locked.json()["message"]
    assert "locked_until" in locked.json()["details"]
    User.objects.filter(pk=resident.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert _token_request(Client(), username=resident.username, password=PASSWORD).status_code == 200


def test_malformed_bodies_get_a_422(db):
    response = Client().post(TOKEN_URL, data="{}", content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"


def test_the_api_audits_logins_with_the_channel(resident):
    _token_request(Client(), username=resident.username, password=PASSWORD)
    event = AuditEvent.objects.filter(action="login.success").get()
    assert event.payload["channel"] == "api"


# --- GET /me -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_me_shows_each_persona_only_itself(request, tree, persona):
    user = request.getfixturevalue(persona)
    response = Client().get(ME_URL, **_bearer(_get_token(user)))
    assert response.status_code == 200
    data = response.json()
    assert data["username"] == user.username
    assert data["full_name"] == user.full_name
    expected = {
        (g.role, g.organization_id, g.organization.name) for g in user.grants.select_related("organization")
    }
    assert {(r["role"], r["organization_id"], r["organization_name"]) for r in data["roles"]} == expected
    assert data["two_factor"] is (persona in STAFF)


def test_me_masks_identity(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    data = Client().get(ME_URL, **_bearer(_get_token(resident))).json()
    assert data["id_number_masked"] == "110***********002X"
    assert data["phone_masked"] == "138****5678"
    assert VALID_ID not in json.dumps(data)


def test_me_needs_authentication(db):
    response = Client().get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert Client().get(ME_URL, **_bearer("dq_not-a-token")).status_code == 401


def test_me_works_with_the_page_session(resident):
    client = Client()
    page_login(client, resident)
    assert client.get(ME_URL).json()["username"] == resident.username


def test_revoked_and_expired_tokens_do_not_work(resident):
    revoked, _ = issue_token(resident, name="a")
    expired, expired_token = issue_token(resident, name="b")
    ApiToken.objects.filter(digest=sm3_hex(revoked.encode())).update(revoked_at=timezone.now())
    ApiToken.objects.filter(pk=expired_token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for raw in (revoked, expired):
        assert Client().get(ME_URL, **_bearer(raw)).status_code == 401


def test_a_disabled_users_tokens_stop_working(resident):
    raw, _ = issue_token(resident)
    User.objects.filter(pk=resident.pk).update(is_active=False)
    assert Client().get(ME_URL, **_bearer(raw)).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(resident):
    raw, token = issue_token(resident)
    Client().get(ME_URL, **_bearer(raw))
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    Client().get(ME_URL, **_bearer(raw))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    Client().get(ME_URL, **_bearer(raw))
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(minutes=2)


# --- DELETE /auth/token -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_revokes_its_own_token(request, persona):
    user = request.getfixturevalue(persona)
    raw = _get_token(user)
    other_raw, _ = issue_token(user, name="other device")
    response = Client().delete(TOKEN_URL, **_bearer(raw))
    assert response.status_code == 204
    assert Client().get(ME_URL, **_bearer(raw)).status_code == 401
    assert Client().get(ME_URL, **_bearer(other_raw)).status_code == 200  # only the token in use
    assert AuditEvent.objects.filter(action="token.revoke", actor=user).exists()


def test_revoking_needs_a_token(resident):
    assert Client().delete(TOKEN_URL).status_code == 401
    client = Client(enforce_csrf_checks=True)
    page_login(client, resident)
    # A session without its CSRF token does not authenticate a change...
    assert client.delete(TOKEN_URL).status_code == 401
    # ...and with it, there is no token to revoke.
    token = csrf_from(client.get("/accounts/profile/").content.decode())
    response = client.delete(TOKEN_URL, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 422
    assert response.json()["code"] == "no_token"


def test_the_openapi_spec_declares_the_error_shapes(db):
    spec = Client().get("/api/v1/openapi.json").json()
    token_post = spec["paths"]["/api/v1/auth/token"]["post"]
    assert {"200", "401", "422", "429"} <= set(token_post["responses"])
    assert "security" not in token_post or token_post["security"] == []
    assert {"204", "401", "403", "404", "422"} <= set(
        spec["paths"]["/api/v1/auth/token"]["delete"]["responses"]
    )
    assert {"200", "401"} <= set(spec["paths"]["/api/v1/me"]["get"]["responses"])


@pytest.mark.parametrize(
    "body",
    [
        {"username": "a\x00b", "password": "x"},
        {"username": "resident", "password": "x" * 4096},
        {"username": "resident", "password": PASSWORD, "totp": "１２３４５６"},
        {"username": " ", "password": " "},
    ],
)
def test_odd_input_gets_a_clean_answer(resident, body):
    response = _token_request(Client(), **body)
    assert response.status_code in (200, 401, 422)
    assert set(response.json()) >= ({"token"} if response.status_code == 200 else {"code", "message"})
