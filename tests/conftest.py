"""Personas and a small street, built through actions (DESIGN.md: tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.utils import translation

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant, User
from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

PASSWORD = "Demo-Passw0rd!"


@dataclass
class Street:
    street: Organization
    community: Organization
    committee: Organization
    branch_a: Organization
    branch_b: Organization
    group_a: Organization
    department: Organization
    hall: Organization
    window: Organization


def make_user(username: str, role: str | None = None, org: Organization | None = None, **fields) -> User:
    user = User.objects.create_user(
        username=username, password=PASSWORD, full_name=fields.pop("full_name", username), **fields
    )
    if role:
        RoleGrant.objects.create(user=user, role=role, organization=org)
    return user


@pytest.fixture(autouse=True)
def _clean_cache():
    # Rate-limit counters and the calendar cache live in the cache: every test starts clean.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _per_process_snapshots(monkeypatch, _clean_cache):
    """Query counts must not depend on the clock. The per-process snapshots (work calendar and
    rule sets, catalog search, learning index) re-read their tables every RELOAD_SECONDS, for
    processes without a shared cache, and whenever the shared version they were loaded under
    changes; the cache is cleared for every test. Left alone, a snapshot from an earlier test
    reloaded at a random moment: inside a measured block that is extra queries. So each test
    starts without one and keeps the one it loads; writes still drop it at once, and the reload
    itself is tested with a clock of its own (tests/core/test_calendar.py)."""
    from dangqun.core import workcalendar
    from dangqun.learning import recommend
    from dangqun.onestop import search

    for module in (workcalendar, search, recommend):
        monkeypatch.setattr(module, "RELOAD_SECONDS", 24 * 3600.0)
        module.reset()
    yield
    for module in (workcalendar, search, recommend):
        module.reset()


@pytest.fixture(autouse=True)
def _default_language():
    # A page request leaves its language active in the thread (LocaleMiddleware never resets it):
    # after an English page, messages built outside a request would be English in the next test.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def root_admin(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def tree(root_admin) -> Street:
    def mk(name, kind, parent, **kw):
        return do_create_organization(name=name, kind=kind, parent=parent, actor=root_admin, **kw)

    street = mk("幸福街道", OrgKind.STREET, None)
    community = mk("和平社区", OrgKind.COMMUNITY, street)
    committee = mk("幸福街道党工委", OrgKind.PARTY_COMMITTEE, street)
    branch_a = mk(
        "和平社区第一党支部", OrgKind.BRANCH, committee, full_members=12, is_village_or_community=True
    )
    branch_b = mk("和平社区第二党支部", OrgKind.BRANCH, committee, full_members=8)
    group_a = mk("第一党小组", OrgKind.GROUP, branch_a)
    department = mk("社会保障科", OrgKind.DEPARTMENT, street)
    hall = mk("街道政务服务大厅", OrgKind.SERVICE_HALL, street)
    window = mk("综合受理1号窗口", OrgKind.WINDOW, hall)
    return Street(street, community, committee, branch_a, branch_b, group_a, department, hall, window)


@pytest.fixture
def street_admin(tree) -> User:
    return make_user("street_admin", Role.STREET_ADMIN, tree.street, full_name="王街道")


@pytest.fixture
def secretary(tree) -> User:
    return make_user("secretary_a", Role.BRANCH_SECRETARY, tree.branch_a, full_name="李书记")


@pytest.fixture
def outsider(tree) -> User:
    """The secretary of a sibling branch: must not see branch A's data."""
    return make_user("secretary_b", Role.BRANCH_SECRETARY, tree.branch_b, full_name="赵书记")


@pytest.fixture
def member(tree) -> User:
    return make_user("member_a", Role.MEMBER, tree.branch_a, full_name="张党员")


@pytest.fixture
def resident(tree) -> User:
    return make_user("resident", Role.RESIDENT, tree.community, full_name="陈居民")


@pytest.fixture
def department_admin(tree) -> User:
    return make_user("dept_admin", Role.DEPARTMENT_ADMIN, tree.department, full_name="周科长")


@pytest.fixture
def window_staff(tree) -> User:
    return make_user("window_staff", Role.WINDOW_STAFF, tree.window, full_name="吴窗口")
