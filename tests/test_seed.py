"""`dangqun seed`: a valid, deterministic, idempotent demo street with working demo accounts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import pyotp
import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant, User
from dangqun.core import crypto
from dangqun.core.models import AuditEvent
from dangqun.core.seed_people import ID_CAPACITY, id_number_for, phone_for
from dangqun.core.seeding import DEMO_ACCOUNTS, DEMO_PASSWORD
from dangqun.orgs.choices import OrgKind, SettingMode
from dangqun.orgs.models import Organization, encode_segment

DEMO_DOC = Path(__file__).resolve().parent.parent / "docs" / "demo.md"
SCALE = 200


def gb11643_ok(id_number: str) -> bool:
    """An independent check of GB 11643-1999 (not the generator's code)."""
    if not re.fullmatch(r"\d{17}[\dX]", id_number):
        return False
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    total = sum(int(d) * w for d, w in zip(id_number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == id_number[17]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed", "--no-progress", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed("--scale", str(SCALE))


def people() -> list[User]:
    return list(User.objects.exclude(id_number="").order_by("pk"))


def test_every_person_has_a_valid_adult_resident_id(seeded):
    today = timezone.localdate()
    users = people()
    assert len(users) == User.objects.count()  # nobody without an ID number
    for user in users:
        n = user.id_number
        assert gb11643_ok(n), n
        assert n[:2] in {"11", "31", "32", "33", "44", "51"}
        assert date(int(n[6:10]), int(n[10:12]), int(n[12:14])) == user.birth_date
        assert user.birth_date <= today.replace(year=today.year - 18)
        assert user.gender == ("M" if int(n[16]) % 2 else "F")
        assert re.fullmatch(r"1[3-9]\d{9}", user.phone)
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", user.full_name)


def test_blind_indexes_are_unique_and_match_the_plaintext(seeded):
    users = people()
    assert len({u.id_number_index for u in users}) == len(users)
    assert len({u.phone_index for u in users}) == len(users)
    for user in users:
        assert user.id_number_index == crypto.blind_index(user.id_number, purpose="id")
        assert user.phone_index == crypto.blind_index(user.phone, purpose="phone")
    # Found by blind index, as the application looks people up.
    someone = users[-1]
    found = User.objects.get(id_number_index=crypto.blind_index(someone.id_number, purpose="id"))
    assert found == someone


def test_ids_and_phones_stay_unique_well_past_a_million():
    # The generator is a bijection on the counter; check a window around the 1M mark.
    window = range(950_000, 1_050_000)
    assert len({id_number_for(n)[0] for n in window}) == len(window)
    assert len({phone_for(n) for n in window}) == len(window)
    assert all(gb11643_ok(id_number_for(n)[0]) for n in range(0, ID_CAPACITY, ID_CAPACITY // 997))


def test_branch_counters_match_the_member_grants(seeded):
    branches = Organization.objects.filter(kind=OrgKind.BRANCH).annotate(
        n=Count("grants", filter=Q(grants__role=Role.MEMBER))
    )
    assert 10 <= len(branches) <= 14
    for branch in branches:
        assert branch.full_members + branch.probationary_members == branch.n, branch.name
        assert branch.full_members >= 3
    members = RoleGrant.objects.filter(role=Role.MEMBER)
    assert set(members.values_list("organization__kind", flat=True)) == {OrgKind.BRANCH}
    assert members.values("user").distinct().count() == members.count()  # one branch each
    assert RoleGrant.objects.filter(role=Role.BRANCH_SECRETARY).count() == len(branches)


def test_the_street_has_the_documented_shape(seeded):
    today = timezone.localdate()
    street = Organization.objects.get(kind=OrgKind.STREET, name="幸福街道")
    orgs = Organization.objects.filter(path__startswith=street.path)
    by_kind = {k: orgs.filter(kind=k) for k in OrgKind.values}
    assert 4 <= by_kind[OrgKind.COMMUNITY].count() <= 5
    assert by_kind[OrgKind.PARTY_COMMITTEE].count() == 1
    assert 1 <= by_kind[OrgKind.GENERAL_BRANCH].count() <= 2
    assert set(by_kind[OrgKind.DEPARTMENT].values_list("short_name", flat=True)) == {
        "社保", "医保", "公积金", "户籍", "民政", "残联", "卫健", "市场监管", "人社", "住建",
    }  # fmt: skip
    hall = by_kind[OrgKind.SERVICE_HALL].get()
    assert hall.children.filter(kind=OrgKind.WINDOW).count() == 8
    branches = by_kind[OrgKind.BRANCH]
    for branch in branches:
        assert 1 <= branch.children.filter(kind=OrgKind.GROUP).count() <= 3
        assert branch.term_started_on < today <= branch.term_ends_on
    assert branches.filter(is_village_or_community=True).count() >= 4
    joint = branches.get(setting_mode=SettingMode.JOINT)
    assert joint.covered_units > 1
    assert any(b.member_count > 50 for b in branches)
    soon = [b for b in branches if b.term_ends_on <= today + timedelta(days=90)]
    assert len(soon) == 1
    # Paths are consistent with parents (as orgs.actions.place builds them).
    for org in orgs.select_related("parent"):
        assert org.path == (org.parent.path if org.parent else "") + encode_segment(org.pk)
        assert org.depth == (org.parent.depth + 1 if org.parent else 0)
    residents = RoleGrant.objects.filter(role=Role.RESIDENT)
    assert residents.count() == SCALE + 1  # + the demo `resident`
    assert set(residents.values_list("organization__kind", flat=True)) == {OrgKind.COMMUNITY}


def test_the_documented_accounts_sign_in_with_the_documented_password(seeded):
    for account in DEMO_ACCOUNTS:
        user = authenticate(username=account.username, password=DEMO_PASSWORD)
        assert user is not None, account.username
        validate_password(DEMO_PASSWORD, user)  # the demo password obeys the password rules
        if account.role:
            assert user.grants.filter(role=account.role).exists()
        else:
            assert user.is_superuser
        if account.totp_secret:
            assert user.needs_two_factor
            assert user.totp_confirmed
            assert user.totp_secret == account.totp_secret
            assert pyotp.TOTP(user.totp_secret).verify(pyotp.TOTP(account.totp_secret).now())
        else:
            assert not user.needs_two_factor
    secretary = User.objects.get(username="secretary")
    assert set(secretary.role_set()) == {Role.BRANCH_SECRETARY, Role.MEMBER}
    # A generated resident shares the demo password (one precomputed hash for all).
    resident = User.objects.filter(username__startswith="demo_r").last()
    assert authenticate(username=resident.username, password=DEMO_PASSWORD) == resident


def test_docs_list_every_demo_account_password_and_secret():
    text = DEMO_DOC.read_text(encoding="utf-8")
    assert DEMO_PASSWORD in text
    for account in DEMO_ACCOUNTS:
        assert f"`{account.username}`" in text
        if account.totp_secret:
            assert account.totp_secret in text


def test_running_twice_creates_nothing_new(seeded):
    before = (User.objects.count(), Organization.objects.count(), RoleGrant.objects.count())
    out = seed("--scale", str(SCALE))
    assert "已存在" in out
    assert (User.objects.count(), Organization.objects.count(), RoleGrant.objects.count()) == before
    assert AuditEvent.objects.filter(action="seed.run").count() == 1


def test_the_run_is_audited_as_one_event(seeded):
    # The people and the tree are one event; the catalog (items, the departments' credit codes)
    # is audited change by change, as its own actor, and so is the example calendar of next year
    # (loaded from October on). The apps' demo work (cases, ratings, learning content) goes through
    # their actions, audited like real work (with the applicants' consents to 免提交).
    events = (
        AuditEvent.objects.exclude(actor_label="seed_catalog")
        .exclude(action="calendar.import")
        .exclude(action__regex=r"^(onestop|feedback|learning|insights)\.")
        .exclude(action="accounts.consent.grant")
    )
    assert [e.action for e in events] == ["seed.run"]
    assert events[0].payload["residents"] == SCALE


def test_reset_rebuilds_the_same_street_deterministically(seeded):
    before = [(u.username, u.full_name, u.id_number, u.phone) for u in people()]
    counts = (User.objects.count(), Organization.objects.count(), RoleGrant.objects.count())
    seed("--scale", str(SCALE), "--reset")
    after = [(u.username, u.full_name, u.id_number, u.phone) for u in people()]
    assert sorted(after) == sorted(before)
    assert (User.objects.count(), Organization.objects.count(), RoleGrant.objects.count()) == counts
    assert AuditEvent.objects.filter(action="seed.run").count() == 2


def test_reset_keeps_an_account_that_authored_audit_events(seeded):
    from dangqun.core.audit import audit

    admin = User.objects.get(username="admin")
    audit(admin, "test.touch", admin)
    seed("--scale", "10", "--reset")
    assert User.objects.get(username="admin").pk == admin.pk  # kept and updated in place
    assert authenticate(username="admin", password=DEMO_PASSWORD) is not None
    assert RoleGrant.objects.filter(role=Role.RESIDENT).count() == 11


def test_members_option_spreads_members_over_the_branches(db):
    seed("--scale", "0", "--members", "60")
    assert RoleGrant.objects.filter(role=Role.MEMBER).count() == 60
    branches = Organization.objects.filter(kind=OrgKind.BRANCH)
    assert sum(b.member_count for b in branches) == 60
    with pytest.raises(CommandError, match="至少"):
        seed("--reset", "--members", "5")


def test_it_refuses_to_seed_a_production_database(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="生产环境"):
        seed()
    assert not User.objects.exists()


def test_new_rows_get_fresh_keys_after_the_bulk_load(seeded):
    # Keys were pre-assigned in bulk: the database's own sequence must have moved past them.
    newcomer = User.objects.create_user("newcomer", password=DEMO_PASSWORD)
    grant = RoleGrant.objects.create(
        user=newcomer, role=Role.RESIDENT, organization=Organization.objects.get(name="和平社区")
    )
    assert newcomer.pk > User.objects.exclude(pk=newcomer.pk).order_by("-pk")[0].pk
    assert grant.pk > RoleGrant.objects.exclude(pk=grant.pk).order_by("-pk")[0].pk
