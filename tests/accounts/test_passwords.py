from __future__ import annotations

import re

import pytest
from django.test import Client

from dangqun.accounts.actions import do_change_password
from dangqun.accounts.passwords import CharacterClassValidator, MinimumLengthValidator, password_problems
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent
from tests.conftest import PASSWORD

from .conftest import page_login

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("weak", "expected"),
    [
        ("Ab1!", "密码太短，至少需要 10 个字符。"),
        ("Password123", "这个密码太常见，容易被猜中。"),
        ("8462937150", "密码不能全部是数字。"),
        ("abcdefghijkl", "密码须包含大写字母、小写字母、数字、符号中的至少三类。"),
    ],
)
def test_the_configured_rules_reject_weak_passwords_in_chinese(db, weak, expected):
    problems = password_problems(weak)
    assert expected in problems
    assert all(CHINESE.search(p) for p in problems)


def test_a_password_like_the_username_is_refused(resident):
    problems = password_problems("Resident!2024", resident)
    assert any("过于相似" in p for p in problems)


def test_a_strong_password_passes(db):
    assert password_problems("Qing-He-7-Road!") == []


def test_the_length_validator_speaks_chinese():
    with pytest.raises(Exception, match="至少需要 12 个字符"):
        MinimumLengthValidator(min_length=12).validate("short")
    assert "12" in MinimumLengthValidator(min_length=12).get_help_text()
    assert "三类" in CharacterClassValidator().get_help_text()


def test_changing_the_password_reports_every_broken_rule(resident):
    with pytest.raises(RuleViolation) as err:
        do_change_password(resident, old_password=PASSWORD, new_password="12345", actor=resident)
    messages = [v.message for v in err.value.violations]
    assert "密码太短，至少需要 10 个字符。" in messages
    assert "密码不能全部是数字。" in messages
    assert all(v.field == "new_password" for v in err.value.violations)


def test_changing_the_password_needs_the_old_one(resident):
    with pytest.raises(RuleViolation) as err:
        do_change_password(resident, old_password="nope", new_password="Qing-He-7-Road!", actor=resident)
    assert err.value.code == "wrong_password"


def test_only_the_owner_changes_a_password(resident, street_admin):
    with pytest.raises(PermissionDenied):
        do_change_password(
            resident, old_password=PASSWORD, new_password="Qing-He-7-Road!", actor=street_admin
        )


def test_the_password_page_shows_errors_beside_the_field_and_keeps_the_session(resident):
    client = Client()
    page_login(client, resident)
    weak = client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password": "abc", "new_password_again": "abc"}
    )
    html = weak.content.decode()
    assert 'id="id_new_password_error"' in html
    assert "密码太短" in html
    mismatch = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": "Qing-He-7-Road!",
            "new_password_again": "Qing-He-7-Road?",
        },
    )
    assert "两次输入的新密码不一致" in mismatch.content.decode()
    done = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": "Qing-He-7-Road!",
            "new_password_again": "Qing-He-7-Road!",
        },
    )
    assert done["Location"] == "/accounts/profile/"
    assert client.get("/accounts/profile/").status_code == 200  # still logged in
    resident.refresh_from_db()
    assert resident.check_password("Qing-He-7-Road!")
    assert AuditEvent.objects.filter(action="password.change").exists()
    assert "Qing-He-7-Road!" not in " ".join(str(e.payload) for e in AuditEvent.objects.all())


def test_the_password_page_needs_login(db):
    response = Client().get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
