from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from dangqun.accounts.actions import do_set_identity
from dangqun.accounts.queries import find_login_user, find_user_by_id_number
from dangqun.core.crypto import DecryptionError
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent

from .conftest import OTHER_ID, VALID_ID


def _raw(user, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM accounts_user WHERE id = %s", [user.pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_it_records_identity_and_derives_birth_date_and_gender(resident):
    do_set_identity(
        resident,
        full_name=" 陈  居民 ",
        id_number="11010519491231002x",
        phone="138 1234 5678",
        actor=resident,
    )
    resident.refresh_from_db()
    assert resident.full_name == "陈 居民"
    assert resident.id_number == VALID_ID
    assert resident.phone == "13812345678"
    assert resident.birth_date == date(1949, 12, 31)
    assert resident.gender == "F"
    assert resident.id_number_masked == "110***********002X"
    assert resident.phone_masked == "138****5678"


def test_the_database_holds_no_plaintext(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    raw_id, raw_phone = _raw(resident, "id_number"), _raw(resident, "phone")
    for raw, plain in ((raw_id, VALID_ID), (raw_phone, "13812345678")):
        assert raw.startswith("v1:")
        assert plain not in raw
        assert plain[-4:] not in raw  # not even a fragment in clear
    index = _raw(resident, "id_number_index")
    assert len(index) == 64
    assert VALID_ID not in index


def test_the_same_number_encrypts_differently_each_time(resident, member):
    do_set_identity(resident, full_name="甲", id_number=VALID_ID, phone="13812345678", actor=resident)
    do_set_identity(member, full_name="乙", id_number=OTHER_ID, phone="13812345678", actor=member)
    assert _raw(resident, "phone") != _raw(member, "phone")
    assert _raw(resident, "phone_index") == _raw(member, "phone_index")


def test_tampering_with_the_ciphertext_raises(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="", actor=resident)
    raw = _raw(resident, "id_number")
    body = raw[3:]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET id_number = %s WHERE id = %s", ["v1:" + flipped, resident.pk]
        )
    with pytest.raises(DecryptionError):
        type(resident).objects.get(pk=resident.pk)


def test_it_finds_a_user_by_id_number_through_the_blind_index(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="", actor=resident)
    assert find_user_by_id_number(" 11010519491231002x ") == resident
    assert find_user_by_id_number("１１０１０５１９４９１２３１００２Ｘ") == resident
    assert find_user_by_id_number(OTHER_ID) is None
    assert find_user_by_id_number("not-an-id") is None


def test_it_reports_every_problem_at_once(resident):
    with pytest.raises(RuleViolation) as err:
        do_set_identity(resident, full_name=" ", id_number="110105194912310021", phone="123", actor=resident)
    fields = {v.field: v.message for v in err.value.violations}
    assert fields == {
        "full_name": "请填写姓名",
        "id_number": "身份证号校验位不正确，请核对最后一位",
        "phone": "手机号码应为1开头的11位数字，第二位为3至9",
    }


def test_an_id_number_belongs_to_one_account(resident, member):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="", actor=resident)
    with pytest.raises(RuleViolation) as err:
        do_set_identity(member, full_name="张党员", id_number=VALID_ID.lower(), phone="", actor=member)
    assert err.value.code == "id_number_taken"


def test_the_audit_event_holds_only_masked_values(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    event = AuditEvent.objects.filter(action="accounts.identity_set").get()
    assert event.payload["id_number"] == "110***********002X"
    assert event.payload["phone"] == "138****5678"
    assert VALID_ID not in str(event.payload)
    assert "13812345678" not in str(event.payload)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("resident", True),  # oneself
        ("street_admin", True),  # accounts.manage over the street covers the community
        ("root_admin", True),
        ("secretary", False),
        ("outsider", False),
        ("member", False),
        ("department_admin", False),
        ("window_staff", False),
    ],
)
def test_who_may_set_a_residents_identity(request, resident, persona, allowed):
    actor = request.getfixturevalue(persona)
    if allowed:
        do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="", actor=actor)
        resident.refresh_from_db()
        assert resident.id_number == VALID_ID
    else:
        with pytest.raises(PermissionDenied):
            do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="", actor=actor)


def test_a_login_name_may_be_the_phone(resident):
    do_set_identity(resident, full_name="陈居民", id_number=VALID_ID, phone="13812345678", actor=resident)
    assert find_login_user("resident") == resident
    assert find_login_user("138-1234-5678") == resident
    assert find_login_user("13900000000") is None
