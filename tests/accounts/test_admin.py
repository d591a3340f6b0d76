from __future__ import annotations

import pytest
from django.test import Client

from dangqun.accounts.actions import do_set_identity
from dangqun.accounts.choices import Role
from dangqun.accounts.models import ApiToken, RoleGrant, User
from dangqun.accounts.tokens import issue_token
from dangqun.core.models import AuditEvent

from .conftest import OTHER_ID, VALID_ID


@pytest.fixture
def admin_client(root_admin) -> Client:
    client = Client()
    client.force_login(root_admin)
    return client


@pytest.fixture
def registered(resident, member):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    do_set_identity(member, full_name="张党员", id_number=OTHER_ID, phone="13900001111", actor=member)
    return resident


def test_the_user_list_shows_identity_masked(admin_client, registered):
    html = admin_client.get("/admin/accounts/user/").content.decode()
    assert "110***********002X" in html
    assert "138****5678" in html
    assert VALID_ID not in html
    assert "13812345678" not in html


def test_the_user_form_never_shows_the_plaintext(admin_client, registered):
    html = admin_client.get(f"/admin/accounts/user/{registered.pk}/change/").content.decode()
    assert "110***********002X" in html
    assert VALID_ID not in html
    assert "13812345678" not in html
    assert 'name="new_id_number"' in html


def test_search_by_exact_id_number_uses_the_blind_index(admin_client, registered):
    html = admin_client.get("/admin/accounts/user/", {"q": VALID_ID.lower()}).content.decode()
    assert "陈居民" in html
    assert "张党员" not in html


def test_search_by_phone_and_by_name(admin_client, registered):
    assert "陈居民" in admin_client.get("/admin/accounts/user/", {"q": "13812345678"}).content.decode()
    by_name = admin_client.get("/admin/accounts/user/", {"q": "张党"}).content.decode()
    assert "张党员" in by_name
    assert "陈居民" not in by_name


def _change_data(user: User, **overrides) -> dict:
    data = {
        "username": user.username,
        "full_name": user.full_name,
        "new_id_number": "",
        "new_phone": "",
        "elder_mode": "",
        "language": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "grants-TOTAL_FORMS": "0",
        "grants-INITIAL_FORMS": "0",
        "grants-MIN_NUM_FORMS": "0",
        "grants-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_a_new_id_number_is_saved_through_the_identity_action(admin_client, resident, root_admin):
    response = admin_client.post(
        f"/admin/accounts/user/{resident.pk}/change/",
        _change_data(resident, new_id_number="11010519491231002x"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    resident.refresh_from_db()
    assert resident.id_number == VALID_ID
    assert AuditEvent.objects.filter(action="accounts.identity_set", actor=root_admin).exists()


def test_an_invalid_id_number_is_refused_beside_the_field(admin_client, resident):
    response = admin_client.post(
        f"/admin/accounts/user/{resident.pk}/change/",
        _change_data(resident, new_id_number="110105194912310021"),
    )
    assert response.status_code == 200
    assert "身份证号校验位不正确" in response.content.decode()


def test_a_role_granted_in_the_admin_is_audited(admin_client, resident, tree, root_admin):
    data = _change_data(
        resident,
        **{
            "grants-TOTAL_FORMS": "1",
            "grants-0-role": Role.MEMBER,
            "grants-0-organization": str(tree.branch_a.pk),
            "grants-0-user": str(resident.pk),
        },
    )
    response = admin_client.post(f"/admin/accounts/user/{resident.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    grant = RoleGrant.objects.get(user=resident, role=Role.MEMBER)
    assert grant.granted_by == root_admin
    assert AuditEvent.objects.filter(
        action="role.grant", actor=root_admin, object_id=str(resident.pk)
    ).exists()


def test_api_tokens_are_read_only_but_revocable(admin_client, resident):
    raw, token = issue_token(resident, name="phone")
    assert admin_client.get("/admin/accounts/apitoken/add/").status_code == 403
    html = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.prefix in html
    assert token.digest not in html
    assert raw not in html
    response = admin_client.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [str(token.pk)]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_the_admin_has_no_login_of_its_own(db):
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/admin/accounts/user/")
    posted = Client().post("/admin/login/", {"username": "root", "password": "x"})
    assert posted.status_code == 302
    assert Client().get("/admin/")["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("persona", ["street_admin", "secretary", "member", "resident"])
def test_people_without_admin_access_are_sent_to_login(request, persona):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/admin/accounts/user/").status_code == 302
