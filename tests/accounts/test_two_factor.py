from __future__ import annotations

import json
from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from dangqun.accounts import actions
from dangqun.accounts.models import User
from dangqun.core.errors import PermissionDenied, RuleViolation
from tests.conftest import PASSWORD

from .conftest import enrol_totp


def test_codes_within_one_step_of_drift_are_accepted(secretary):
    secret = actions.do_start_totp_setup(secretary, actor=secretary)
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    assert actions.totp_step_for(secretary, totp.at(now - timedelta(seconds=30)), at=now) is not None
    assert actions.totp_step_for(secretary, totp.at(now + timedelta(seconds=30)), at=now) is not None
    assert actions.totp_step_for(secretary, totp.at(now - timedelta(seconds=90)), at=now) is None
    assert actions.totp_step_for(secretary, "12 34", at=now) is None
    assert actions.totp_step_for(secretary, "abcdef", at=now) is None


def test_a_confirmed_secret_is_never_replaced_by_setup(secretary):
    enrol_totp(secretary)
    with pytest.raises(RuleViolation) as err:
        actions.do_start_totp_setup(secretary, actor=secretary)
    assert err.value.code == "totp_already_confirmed"


def test_the_secret_is_stored_encrypted(secretary):
    from django.db import connection

    secret = actions.do_start_totp_setup(secretary, actor=secretary)
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [secretary.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("v1:")
    assert secret not in raw


def test_an_administrator_resets_a_lost_authenticator(street_admin, secretary):
    enrol_totp(secretary)
    actions.do_reset_totp(secretary, actor=street_admin)
    secretary.refresh_from_db()
    assert not secretary.totp_confirmed
    assert secretary.totp_secret == ""
    response = Client().post("/accounts/login/", {"login": secretary.username, "password": PASSWORD})
    assert response["Location"] == "/accounts/login/2fa/setup/"


@pytest.mark.parametrize("persona", ["secretary", "outsider", "member", "resident", "window_staff"])
def test_nobody_else_resets_a_second_factor(request, secretary, persona):
    enrol_totp(secretary)
    with pytest.raises(PermissionDenied):
        actions.do_reset_totp(secretary, actor=request.getfixturevalue(persona))


def test_an_administrator_lifts_a_lock(street_admin, member, resident):
    User.objects.filter(pk=resident.pk).update(
        locked_until=timezone.now() + timedelta(minutes=10), failed_logins=3
    )
    with pytest.raises(PermissionDenied):
        actions.do_unlock_user(resident, actor=member)
    actions.do_unlock_user(resident, actor=street_admin)
    resident.refresh_from_db()
    assert not resident.is_locked
    assert resident.failed_logins == 0


def test_the_api_is_throttled_per_address_too(settings, resident):
    settings.LOGIN_IP_MAX_FAILURES = 2
    client = Client()
    for _ in range(2):
        client.post(
            "/api/v1/auth/token",
            data=json.dumps({"username": "ghost", "password": "x"}),
            content_type="application/json",
        )
    response = client.post(
        "/api/v1/auth/token",
        data=json.dumps({"username": resident.username, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
