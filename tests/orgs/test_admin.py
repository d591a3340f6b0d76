"""Organization admin: tree order, filter by kind, saving through the actions (audited)."""

from __future__ import annotations

from dangqun.core.models import AuditEvent
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

URL = "/admin/orgs/organization/"


def test_the_changelist_is_in_tree_order_and_filters_by_kind(tree, root_admin, client):
    client.force_login(root_admin)
    html = client.get(URL).content.decode()
    assert html.index(tree.committee.name) < html.index(tree.branch_a.name) < html.index(tree.group_a.name)
    branches = client.get(URL, {"kind__exact": OrgKind.BRANCH}).content.decode()
    assert tree.branch_a.name in branches
    assert tree.hall.name not in branches


def add_data(**kw) -> dict:
    data = {"name": "", "kind": "", "parent": "", "covered_units": 1, "committee_size": 0}
    data.update(deputy_secretaries=0, full_members=0, probationary_members=0, is_active="on")
    return {**data, **kw}


def test_adding_goes_through_the_action(tree, root_admin, client):
    client.force_login(root_admin)
    response = client.post(
        URL + "add/",
        add_data(name="第三党支部", kind=OrgKind.BRANCH, parent=tree.committee.pk, full_members=4),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    created = Organization.objects.get(name="第三党支部")
    assert created.path.startswith(tree.committee.path)
    assert created.depth == tree.committee.depth + 1
    assert AuditEvent.objects.filter(action="org.create", object_id=str(created.pk)).exists()


def test_a_kind_under_the_wrong_parent_is_refused_beside_the_field(tree, root_admin, client):
    client.force_login(root_admin)
    response = client.post(URL + "add/", add_data(name="错位小组", kind=OrgKind.GROUP, parent=tree.hall.pk))
    assert response.status_code == 200
    assert "“党小组”不能设在“服务大厅”之下。" in response.content.decode()
    assert not Organization.objects.filter(name="错位小组").exists()


def test_changing_goes_through_the_action_with_the_old_values_audited(tree, root_admin, client):
    client.force_login(root_admin)
    org = tree.branch_b
    response = client.post(
        f"{URL}{org.pk}/change/",
        {
            "name": "和平社区第二党支部（改）",
            "covered_units": 1,
            "committee_size": 3,
            "deputy_secretaries": 0,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    org.refresh_from_db()
    assert org.name == "和平社区第二党支部（改）"
    event = AuditEvent.objects.filter(action="org.update", object_id=str(org.pk)).last()
    assert event.payload["before"]["name"] == "和平社区第二党支部"


def test_organizations_are_never_deleted(tree, root_admin, client):
    client.force_login(root_admin)
    assert client.get(f"{URL}{tree.group_a.pk}/delete/").status_code == 403
