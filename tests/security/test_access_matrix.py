"""The access matrix: every route and API operation has a declared policy (access_policy.py),
parameterless GETs behave as declared for every persona, and objects are refused across
branches, departments and people."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver

from dangqun.config.api import api
from tests.feedback.conftest import ENDED, case, dispatch_table  # noqa: F401 — fixtures
from tests.onestop.conftest import *  # noqa: F403 — items, applicant, calendar

from .access_policy import API, PAGES, PERSONAS

OBJECT_POLICIES = {"public", "auth", "own", "scope", "own+scope"}


def walk(patterns, prefix="", ns=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or ns)
        else:
            yield prefix + str(p.pattern), (f"{ns}:{p.name}" if ns and p.name else p.name)


def page_routes() -> dict:
    """Route name → pattern, for every page (the admin and the API are listed separately)."""
    return {
        name or path: path  # an unnamed route is known by its pattern
        for path, name in walk(get_resolver().url_patterns)
        if not path.startswith(("admin/", "api/v1/"))
    }


def api_operations() -> list[str]:
    schema = api.get_openapi_schema()
    return [f"{m.upper()} {path}" for path, ops in schema["paths"].items() for m in ops]


def is_plain(path: str) -> bool:
    return "<" not in path and "(?P" not in path


def test_every_route_has_a_policy():
    routes = page_routes()
    missing = sorted(str(n) for n in routes if n not in PAGES)
    stale = sorted(str(n) for n in PAGES if n not in routes)
    assert not missing, f"routes without a policy in tests/security/access_policy.py: {missing}"
    assert not stale, f"policies for routes that no longer exist: {stale}"
    ops = api_operations()
    missing_ops = sorted(o for o in ops if o not in API)
    stale_ops = sorted(o for o in API if o not in ops)
    assert not missing_ops, f"API operations without a policy: {missing_ops}"
    assert not stale_ops, f"policies for API operations that no longer exist: {stale_ops}"


def test_the_policies_are_well_formed():
    routes = page_routes()
    for table, plain in (
        (PAGES, lambda k: is_plain(routes[k])),
        (API, lambda k: "{" not in k and k.startswith("GET")),
    ):
        for key, policy in table.items():
            if key is not None and plain(key):
                assert len(policy) == len(PERSONAS), (key, policy)
                assert set(policy) <= set("odlm"), (key, policy)
            else:
                assert policy in OBJECT_POLICIES, (key, policy)


def classify(response, login_url: str) -> str:
    status = response.status_code
    if status in (401,) or (status == 302 and response["Location"].split("?")[0] == login_url):
        return "l"
    if status in (403, 404):
        return "d"
    if status == 405:
        return "m"
    if status < 400 or status == 422:
        return "o"
    return f"?{status}"


@pytest.fixture
def personas(tree, resident, member, secretary, window_staff, department_admin, street_admin):
    return dict(
        zip(
            PERSONAS,
            (None, resident, member, secretary, window_staff, department_admin, street_admin),
            strict=True,
        )
    )


def test_parameterless_routes_behave_as_declared(client, personas):
    login_url = resolve_url(settings.LOGIN_URL)
    routes = page_routes()
    targets = [("/" + path, PAGES[name]) for name, path in routes.items() if name and is_plain(path)]
    targets += [
        (op.split(" ", 1)[1], API[op]) for op in api_operations() if op.startswith("GET ") and "{" not in op
    ]
    wrong = []
    for url, expected in targets:
        got = ""
        for user in personas.values():
            client.logout()
            if user is not None:
                client.force_login(user)
            got += classify(client.get(url), login_url)
        if got != expected:
            wrong.append(f"{url}: declared {expected}, got {got}")
    assert not wrong, "\n".join(wrong)


# --- objects: across branches, departments and people ------------------------------------------------


@pytest.fixture
def other_department(tree, root_admin):
    from dangqun.accounts.choices import Role
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind
    from tests.conftest import make_user

    dept = do_create_organization(
        name="民政办", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=root_admin
    )
    return make_user("civil_admin", Role.DEPARTMENT_ADMIN, dept, full_name="民政科长")


def statuses(client, user, urls: list[str]) -> list[int]:
    client.logout()
    client.force_login(user)
    return [client.get(url).status_code for url in urls]


def test_a_member_record_is_refused_across_branches(
    client, tree, secretary, outsider, street_admin, root_admin
):
    from datetime import date

    from dangqun.core.validators import id_check_char
    from dangqun.members.actions import do_enroll_member
    from dangqun.members.choices import Status

    member = do_enroll_member(
        branch=tree.branch_a,
        name="刘正式",
        id_number="11010519700301" + "101" + id_check_char("11010519700301101"),
        status=Status.FULL,
        admitted_on=date(2015, 7, 1),
        actor=root_admin,
    )
    urls = [f"/members/{member.pk}/", f"/api/v1/members/{member.pk}", f"/members/{member.pk}/dues/"]
    assert statuses(client, outsider, urls) == [404, 404, 404]  # the secretary of branch B
    assert statuses(client, secretary, urls) == [200, 200, 200]
    assert statuses(client, street_admin, urls) == [200, 200, 200]


def test_a_case_is_refused_across_departments_and_people(
    client,
    case,  # noqa: F811 — the fixture imported above
    applicant,
    other_resident,
    window_staff,
    department_admin,
    other_department,
):
    from dangqun.feedback.actions import do_rate_case

    fix = do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=ENDED).fix
    urls = [
        f"/services/applications/{case.pk}/",
        f"/api/v1/applications/{case.pk}",
        f"/feedback/ratings/{fix.rating_id}/",
        f"/feedback/fixes/{fix.pk}/",
        f"/api/v1/feedback/ratings/{fix.rating_id}",
    ]
    assert statuses(client, other_department, urls) == [404] * 5  # another department's admin
    assert statuses(client, other_resident, urls) == [404] * 5  # another resident
    assert statuses(client, applicant, urls)[:3] == [200, 200, 200]
    assert statuses(client, department_admin, urls) == [200, 200, 200, 200, 200]
    assert statuses(client, window_staff, urls[:2]) == [200, 200]  # the receiving window


def test_a_message_is_seen_by_its_author_its_unit_and_the_desk_only(
    client,
    dispatch_table,  # noqa: F811 — the fixture imported above
    resident,
    other_resident,
    department_admin,
    other_department,
    street_admin,
):
    from dangqun.feedback.message_actions import do_leave_message

    message = do_leave_message(
        kind="complaint", title="路灯不亮很久", body="和平路的路灯坏了一个月没人修", actor=resident
    )
    urls = [f"/feedback/messages/{message.pk}/", f"/api/v1/feedback/messages/{message.pk}"]
    assert statuses(client, other_resident, urls) == [404, 404]
    assert statuses(client, other_department, urls) == [404, 404]
    assert statuses(client, resident, urls) == [200, 200]
    assert statuses(client, department_admin, urls) == [200, 200]  # the unit it was dispatched to
    assert statuses(client, street_admin, urls) == [200, 200]  # the dispatch desk
