"""Organization pages: per-persona allow/deny, query counts, warnings, the staff edit form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.core import workcalendar
from dangqun.core.models import AuditEvent
from dangqun.orgs.actions import do_create_organization, do_update_organization
from dangqun.orgs.choices import OrgKind

PERSONAS = ["street_admin", "secretary", "outsider", "member", "resident", "department_admin", "window_staff"]


@pytest.fixture
def as_user(client, request):
    def login(name: str | None):
        if name:
            client.force_login(request.getfixturevalue(name))
        return client

    return login


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 200),
        ("member", 403),
        ("resident", 403),
        ("department_admin", 200),
        ("window_staff", 200),
    ],
)
def test_tree_page_access(tree, as_user, persona, status):
    response = as_user(persona).get(reverse("orgs:tree"))
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_street_admin_sees_the_whole_tree_nested(tree, street_admin, client):
    client.force_login(street_admin)
    html = client.get(reverse("orgs:tree")).content.decode()
    for org in vars(tree).values():
        assert org.name in html
    # Nested lists: the group sits inside branch A's item, inside the committee's list.
    a, group, b = (
        html.index(tree.branch_a.name),
        html.index(tree.group_a.name),
        html.index(tree.branch_b.name),
    )
    assert a < group < b
    assert html[a:group].count("<ul>") == 1
    assert html.count("<ul") == html.count("</ul>")
    assert html.count("<li>") == html.count("</li>")
    # The committee's count is the sum of its branches: 12 + 8.
    assert "党员 20 人（正式 20 人）" in html


def test_a_secretary_sees_branch_a_and_its_group_only(tree, secretary, client):
    client.force_login(secretary)
    html = client.get(reverse("orgs:tree")).content.decode()
    assert tree.branch_a.name in html
    assert tree.group_a.name in html
    assert tree.branch_b.name not in html
    assert tree.committee.name not in html


def test_tree_page_query_count_does_not_grow_with_the_tree(
    tree, street_admin, root_admin, client, django_assert_num_queries
):
    client.force_login(street_admin)
    # session, user, grants (+1: core.permissions defers grant.user_id, see the report),
    # organizations, roles for the navigation, unread count
    with django_assert_num_queries(6):
        client.get(reverse("orgs:tree"))
    for i in range(15):
        branch = do_create_organization(
            name=f"新建第{i}党支部",
            kind=OrgKind.BRANCH,
            parent=tree.committee,
            actor=root_admin,
            full_members=5,
        )
        do_create_organization(name=f"第{i}党小组", kind=OrgKind.GROUP, parent=branch, actor=root_admin)
    with django_assert_num_queries(6):
        response = client.get(reverse("orgs:tree"))
    assert "新建第14党支部" in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
        ("department_admin", 404),
        ("window_staff", 404),
    ],
)
def test_detail_page_access(tree, as_user, persona, status):
    assert as_user(persona).get(reverse("orgs:detail", args=[tree.branch_a.pk])).status_code == status


def test_an_unknown_organization_is_404(tree, street_admin, client):
    client.force_login(street_admin)
    assert client.get(reverse("orgs:detail", args=[999999])).status_code == 404


def test_detail_page_shows_breadcrumb_children_and_counts(tree, secretary, client):
    client.force_login(secretary)
    html = client.get(reverse("orgs:detail", args=[tree.branch_a.pk])).content.decode()
    # Ancestors out of the secretary's scope are named, not linked.
    assert tree.committee.name in html
    assert reverse("orgs:detail", args=[tree.committee.pk]) not in html
    assert reverse("orgs:detail", args=[tree.group_a.pk]) in html
    assert "正式党员 12 人，预备党员 0 人" in html
    assert reverse("orgs:edit", args=[tree.branch_a.pk]) not in html  # a secretary does not edit


def test_detail_page_shows_setup_warnings_with_their_source(tree, street_admin, client):
    do_update_organization(
        tree.branch_b,
        actor=street_admin,
        committee_size=0,
        term_started_on=timezone.localdate() - timedelta(days=900),
        term_ends_on=timezone.localdate() + timedelta(days=30),
    )
    client.force_login(street_admin)
    html = client.get(reverse("orgs:detail", args=[tree.branch_b.pk])).content.decode()
    assert "应设立 3 至 5 人的支部委员会" in html
    assert "中国共产党支部工作条例（试行）2018 第十八条" in html
    assert "party.org.committee_required_full_members" not in html or "规则：" in html
    assert "提醒：" in html
    assert "请做好换届准备" in html


def test_a_committee_counts_the_members_of_its_branches(tree, street_admin, client):
    client.force_login(street_admin)
    html = client.get(reverse("orgs:detail", args=[tree.committee.pk])).content.decode()
    assert "20 人（正式 20 人）" in html
    assert "该基层党委下有 20 名党员，党员超过 100 人方可设立基层党委" in html


def test_detail_page_query_count(tree, street_admin, client, django_assert_num_queries):
    client.force_login(street_admin)
    workcalendar.rule_values()  # rule values come from the per-process snapshot: load it first
    # session, user, organization, grants (+1 deferred grant.user_id), ancestors, branch totals,
    # children, roles for the navigation, unread count
    with django_assert_num_queries(9):
        client.get(reverse("orgs:detail", args=[tree.committee.pk]))


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 403),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
        ("department_admin", 404),
    ],
)
def test_edit_page_access(tree, as_user, persona, status):
    url = reverse("orgs:edit", args=[tree.branch_a.pk])
    assert as_user(persona).get(url).status_code == status
    if persona not in (None, "street_admin"):
        assert as_user(persona).post(url, {"name": "改名"}).status_code == status


def edit_data(org, **changes) -> dict:
    data = {
        "name": org.name,
        "short_name": org.short_name,
        "code": org.code,
        "credit_code": org.credit_code,
        "setting_mode": org.setting_mode,
        "covered_units": org.covered_units,
        "committee_size": org.committee_size,
        "deputy_secretaries": org.deputy_secretaries,
        "term_started_on": org.term_started_on or "",
        "term_ends_on": org.term_ends_on or "",
        "address": org.address,
        "phone": org.phone,
        "is_active": "on" if org.is_active else "",
    }
    if org.is_village_or_community:
        data["is_village_or_community"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""} | {k: "" for k, v in data.items() if v == ""}


def test_the_street_admin_edits_through_the_action(tree, street_admin, client):
    client.force_login(street_admin)
    org = tree.branch_b
    url = reverse("orgs:edit", args=[org.pk])
    response = client.post(
        url, edit_data(org, committee_size=3, term_started_on="2025-03-01", term_ends_on="2028-03-01")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("orgs:detail", args=[org.pk])
    org.refresh_from_db()
    assert org.committee_size == 3
    assert str(org.term_ends_on) == "2028-03-01"
    event = AuditEvent.objects.filter(action="org.update", object_id=str(org.pk)).last()
    assert event.actor == street_admin
    assert set(event.payload["after"]) == {"committee_size", "term_started_on", "term_ends_on"}


def test_edit_errors_are_shown_beside_the_field(tree, street_admin, client):
    client.force_login(street_admin)
    org = tree.branch_b
    response = client.post(
        reverse("orgs:edit", args=[org.pk]),
        edit_data(org, name="", term_started_on="2025-03-01", term_ends_on="2024-03-01"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_term_ends_on_error"' in html
    assert "任期届满日期不能早于任期开始日期" in html
    assert 'aria-describedby="id_term_ends_on_error"' in html
    assert 'id="id_name_error"' in html
    org.refresh_from_db()
    assert org.name == "和平社区第二党支部"


def test_an_id_beyond_any_database_integer_is_404(tree, street_admin, client):
    client.force_login(street_admin)
    assert client.get("/orgs/99999999999999999999999/").status_code == 404
