from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from dangqun.accounts.actions import do_set_identity
from dangqun.core.middleware import ELDER_COOKIE
from dangqun.core.models import AuditEvent

from .conftest import PERSONAS, VALID_ID, page_login

PROFILE = "/accounts/profile/"


def test_the_profile_needs_login(db):
    response = Client().get(PROFILE)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PROFILE}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_sees_its_own_roles(request, persona):
    user = request.getfixturevalue(persona)
    client = Client()
    page_login(client, user)
    html = client.get(PROFILE).content.decode()
    assert user.username in html
    for grant in user.grants.select_related("organization"):
        assert f"{grant.get_role_display()} · {grant.organization.name}" in html


def test_the_profile_shows_identity_masked_only(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    client = Client()
    page_login(client, resident)
    html = client.get(PROFILE).content.decode()
    assert "110***********002X" in html
    assert "138****5678" in html
    assert VALID_ID not in html
    assert "13812345678" not in html


def test_preferences_are_saved_to_the_user_and_the_cookies(resident):
    client = Client()
    page_login(client, resident)
    response = client.post(PROFILE, {"elder_mode": "on", "language": "en"})
    assert response["Location"] == PROFILE
    resident.refresh_from_db()
    assert resident.elder_mode is True
    assert resident.language == "en"
    assert response.cookies[ELDER_COOKIE].value == "1"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert AuditEvent.objects.filter(action="accounts.preferences", actor=resident).exists()
    response = client.post(PROFILE, {"language": ""})
    resident.refresh_from_db()
    assert resident.elder_mode is False
    assert resident.language == ""
    assert response.cookies[ELDER_COOKIE].value == "0"


def test_an_unknown_language_is_refused_beside_the_field(resident):
    client = Client()
    page_login(client, resident)
    html = client.post(PROFILE, {"language": "xx"}).content.decode()
    assert 'id="id_language_error"' in html
    resident.refresh_from_db()
    assert resident.language == ""


def test_the_profile_form_needs_the_csrf_token(resident):
    client = Client(enforce_csrf_checks=True)
    page_login(client, resident)
    assert client.post(PROFILE, {"elder_mode": "on"}).status_code == 403
    resident.refresh_from_db()
    assert resident.elder_mode is False
