"""/api/v1/orgs: scoped like the pages; 401 anonymous, 404 out of scope; list query count pinned."""

from __future__ import annotations

import pytest

from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind


@pytest.fixture
def api(client, request):
    def call(persona: str | None, path: str):
        if persona:
            client.force_login(request.getfixturevalue(persona))
        return client.get(f"/api/v1{path}")

    return call


@pytest.mark.parametrize(
    ("persona", "count"),
    [
        ("street_admin", 9),
        ("secretary", 2),
        ("outsider", 1),
        ("member", 0),
        ("resident", 0),
        ("department_admin", 1),
        ("window_staff", 1),
    ],
)
def test_list_shows_the_visible_subtree(tree, api, persona, count):
    response = api(persona, "/orgs")
    assert response.status_code == 200
    assert response.json()["count"] == count
    assert len(response.json()["items"]) == count


def test_list_is_in_tree_order_and_paginated(tree, api):
    everything = api("street_admin", "/orgs").json()["items"]
    names = [o["name"] for o in everything]
    # Tree order: the street, then each node before the nodes beneath it.
    assert names[0] == tree.street.name
    assert names.index(tree.committee.name) < names.index(tree.branch_a.name) < names.index(tree.group_a.name)
    page = api("street_admin", "/orgs?page_size=3&page=2").json()
    assert page["count"] == 9
    assert page["items"] == everything[3:6]


def test_list_query_count_is_fixed(tree, client, street_admin, root_admin, django_assert_num_queries):
    client.force_login(street_admin)
    # session, user, grants (+1 deferred grant.user_id), count, page
    with django_assert_num_queries(5):
        client.get("/api/v1/orgs")
    for i in range(10):
        do_create_organization(
            name=f"第{i}党支部", kind=OrgKind.BRANCH, parent=tree.committee, actor=root_admin
        )
    with django_assert_num_queries(5):
        assert client.get("/api/v1/orgs").json()["count"] == 19


@pytest.mark.parametrize("path", ["/orgs", "/orgs/1", "/orgs/1/subtree"])
def test_anonymous_gets_401(tree, api, path):
    response = api(None, path)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
        ("department_admin", 404),
        ("window_staff", 404),
    ],
)
def test_detail_and_subtree_are_scoped(tree, api, persona, status):
    detail = api(persona, f"/orgs/{tree.branch_a.pk}")
    assert detail.status_code == status
    assert api(persona, f"/orgs/{tree.branch_a.pk}/subtree").status_code == status
    if status == 404:
        assert detail.json()["code"] == "not_found"


def test_detail_carries_ancestors_and_warnings(tree, api):
    body = api("street_admin", f"/orgs/{tree.committee.pk}").json()
    assert [a["name"] for a in body["ancestors"]] == [tree.street.name]
    assert body["rule_members"] == 20
    assert body["kind_label"] == "基层党委"
    small = next(w for w in body["warnings"] if w["code"] == "committee_too_small")
    assert small["rule"] == "party.org.committee_min_members"
    assert small["source"] == "中国共产党支部工作条例（试行）2018 第五条"
    assert small["level"] == "warning"


def test_subtree_lists_the_node_and_everything_below(tree, api):
    body = api("secretary", f"/orgs/{tree.branch_a.pk}/subtree").json()
    assert [o["name"] for o in body["items"]] == [tree.branch_a.name, tree.group_a.name]


def test_an_unknown_id_is_404(tree, api):
    assert api("street_admin", "/orgs/999999").status_code == 404


@pytest.mark.parametrize("bad", ["abc", "null,null", "-1", "0", "99999999999999999999999"])
def test_a_malformed_or_impossible_id_is_a_json_error(tree, api, bad):
    response = api("street_admin", f"/orgs/{bad}")
    assert response.status_code in (404, 422)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["code"] in ("not_found", "invalid_input")


def test_a_page_number_past_any_tree_is_bad_input_not_a_server_error(client, street_admin):
    client.force_login(street_admin)
    response = client.get("/api/v1/orgs?page=207747269528521728&page_size=4611")
    assert response.status_code == 422
    assert client.get("/api/v1/orgs?page=1&page_size=10").status_code == 200
