"""Versioned rule sets: the version in force on a date, organization overrides, shipped defaults."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent, RuleValue
from dangqun.core.rulesets import default_rule_entries, ruleset_for, sync_default_rules

KEY = "test.fix_working_days"


def rule(value, effective_from: str, version: str, organization=None) -> RuleValue:
    # No action writes rule values yet (the admin does, audited): build them directly.
    return RuleValue.objects.create(
        key=KEY,
        version=version,
        effective_from=date.fromisoformat(effective_from),
        value=value,
        clause="第一条",
        source="测试规定",
        organization=organization,
    )


@pytest.fixture
def versions(db):
    rule(15, "2019-12-01", "2019.1")
    rule(10, "2026-07-01", "2026.1")
    rule(5, "2030-01-01", "2030.1")  # published, not yet in force


def test_the_newest_version_in_force_on_the_date_applies(versions):
    assert ruleset_for(None, date(2026, 6, 30))[KEY] == 15
    assert ruleset_for(None, date(2026, 7, 1))[KEY] == 10
    assert ruleset_for(None, date(2029, 12, 31))[KEY] == 10
    assert ruleset_for(None, date(2030, 1, 1))[KEY] == 5
    assert ruleset_for(None, date(2026, 7, 1)).rule(KEY).version == "2026.1"


def test_a_date_before_the_first_version_has_no_value(versions):
    with pytest.raises(RuleViolation) as err:
        ruleset_for(None, date(2019, 11, 30))[KEY]
    assert err.value.code == "rule_missing"
    assert KEY in err.value.message


def test_a_missing_key_raises_rule_missing(db):
    rules = ruleset_for(None, date(2026, 1, 1))
    with pytest.raises(RuleViolation) as err:
        rules["no.such_rule"]
    assert err.value.code == "rule_missing"
    with pytest.raises(AttributeError):
        _ = rules.no__such_rule


def test_an_override_applies_to_its_subtree_only(tree, versions):
    rule(20, "2020-01-01", "branch-a", organization=tree.branch_a)
    on = date(2026, 8, 1)
    assert ruleset_for(tree.branch_a, on)[KEY] == 20
    assert ruleset_for(tree.group_a, on)[KEY] == 20  # a 党小组 under branch A
    assert ruleset_for(tree.branch_b, on)[KEY] == 10  # the sibling branch keeps the national value
    assert ruleset_for(tree.committee, on)[KEY] == 10  # the parent too
    assert ruleset_for(None, on)[KEY] == 10
    assert ruleset_for(tree.group_a, on).rule(KEY).organization_id == tree.branch_a.pk


def test_the_nearest_ancestor_wins_even_over_a_newer_farther_override(tree, versions):
    rule(30, "2026-01-01", "committee", organization=tree.committee)
    rule(20, "2020-01-01", "branch-a", organization=tree.branch_a)
    on = date(2026, 8, 1)
    assert ruleset_for(tree.group_a, on)[KEY] == 20
    assert ruleset_for(tree.branch_b, on)[KEY] == 30
    assert ruleset_for(tree.street, on)[KEY] == 10


def test_an_override_not_yet_in_force_does_not_apply(tree, versions):
    rule(20, "2027-01-01", "branch-a-2027", organization=tree.branch_a)
    assert ruleset_for(tree.group_a, date(2026, 12, 31))[KEY] == 10
    assert ruleset_for(tree.group_a, date(2027, 1, 1))[KEY] == 20


def test_attribute_access_and_citation(versions):
    rules = ruleset_for(None, date(2026, 8, 1))
    assert rules.test__fix_working_days == 10
    assert rules.source(KEY) == "测试规定 第一条"
    assert ruleset_for(None, date(2026, 8, 1), prefix="test.").keys() == [KEY]


def test_the_shipped_defaults_are_in_the_table_after_migrate(db):
    rules = ruleset_for(None, date(2026, 1, 1))
    assert rules["calendar.max_working_days"] == 3650
    assert rules["onestop.decision_working_days"] == 20
    assert rules.source("onestop.decision_working_days") == "中华人民共和国行政许可法 第四十二条"
    shipped = {(e["key"], e["version"]) for e in default_rule_entries()}
    stored = set(RuleValue.objects.filter(organization__isnull=True).values_list("key", "version"))
    assert shipped <= stored


def test_syncing_the_defaults_is_idempotent_and_keeps_administrators_changes(db):
    assert sync_default_rules() == 0  # migrate already synced
    count = RuleValue.objects.count()
    RuleValue.objects.filter(key="onestop.decision_working_days").update(value=15)
    RuleValue.objects.filter(key="feedback.fix_working_days").delete()
    assert sync_default_rules() == 1  # only the missing one comes back
    assert sync_default_rules() == 0
    assert RuleValue.objects.count() == count
    assert RuleValue.objects.get(key="onestop.decision_working_days").value == 15


def test_the_sync_corrects_the_citation_of_shipped_rows_but_not_of_changed_values(db):
    """A database migrated before a clause was corrected gets the corrected clause; a row whose
    value an operator changed is theirs and keeps what it says."""
    quorum = "meetings.committee.quorum_fraction"
    RuleValue.objects.filter(key=quorum).update(clause="第九条", description="旧")
    RuleValue.objects.filter(key="onestop.decision_working_days").update(value=15, clause="本地")
    assert sync_default_rules() == 1
    shipped = next(e for e in default_rule_entries() if e["key"] == quorum)
    row = RuleValue.objects.get(key=quorum, organization__isnull=True)
    assert (row.clause, row.description) == (shipped["clause"], shipped["description"])
    assert ruleset_for(None, date(2026, 1, 1)).source(quorum).endswith(shipped["clause"])
    assert RuleValue.objects.get(key="onestop.decision_working_days").clause == "本地"
    assert sync_default_rules() == 0


# --- answered from the per-process snapshot, never stale ---------------------------------------


def test_rule_sets_are_read_without_a_query_once_loaded(versions, django_assert_num_queries):
    ruleset_for(None, date(2026, 7, 1))
    with django_assert_num_queries(0):
        assert ruleset_for(None, date(2026, 7, 1))[KEY] == 10


def test_a_rule_written_now_applies_at_once(tree, versions):
    assert ruleset_for(tree.branch_a, date(2026, 7, 1))[KEY] == 10  # the snapshot is loaded
    override = rule(7, "2026-01-01", "local.1", organization=tree.community)
    assert ruleset_for(tree.branch_a, date(2026, 7, 1))[KEY] == 10  # another subtree
    override.organization = tree.committee
    override.save()
    assert ruleset_for(tree.branch_a, date(2026, 7, 1))[KEY] == 7
    override.delete()
    assert ruleset_for(tree.branch_a, date(2026, 7, 1))[KEY] == 10


def test_defaults_restored_by_the_sync_apply_at_once(db):
    RuleValue.objects.filter(key="feedback.fix_working_days").delete()
    with pytest.raises(RuleViolation):
        ruleset_for(None, date(2026, 1, 1))["feedback.fix_working_days"]
    sync_default_rules()  # bulk_create: no signals, the sync itself must say so
    assert ruleset_for(None, date(2026, 1, 1))["feedback.fix_working_days"] > 0


def test_a_caller_changing_a_value_does_not_change_the_rule(db):
    rule(["a", "b"], "2020-01-01", "2020.1")
    ruleset_for(None, date(2026, 1, 1))[KEY].append("c")
    getattr(ruleset_for(None, date(2026, 1, 1)), KEY.replace(".", "__")).clear()
    assert ruleset_for(None, date(2026, 1, 1))[KEY] == ["a", "b"]


def test_of_two_values_with_the_same_date_the_newer_row_applies(db):
    rule(1, "2026-01-01", "2026.1")
    rule(2, "2026-01-01", "2026.1-corrected")
    assert ruleset_for(None, date(2026, 1, 1)).rule(KEY).version == "2026.1-corrected"


# --- the admin: overrides within one's subtree, national values by superusers only --------------


@pytest.fixture
def staff_street_admin(street_admin, settings):
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns without it
    street_admin.is_staff = True
    street_admin.save(update_fields=["is_staff"])
    street_admin.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="core",
            codename__in=["add_rulevalue", "change_rulevalue", "view_rulevalue"],
        )
    )
    return street_admin


def admin_form(organization) -> dict:
    return {
        "key": KEY,
        "version": "street-2026",
        "effective_from": "2026-01-01",
        "value": "12",
        "source": "街道规定",
        "clause": "",
        "description": "",
        "organization": str(organization.pk) if organization else "",
    }


def test_an_administrator_adds_an_override_for_their_subtree_through_the_admin(
    client, tree, versions, staff_street_admin
):
    client.force_login(staff_street_admin)
    response = client.post("/admin/core/rulevalue/add/", admin_form(tree.branch_a))
    assert response.status_code == 302
    assert ruleset_for(tree.group_a, date(2026, 8, 1))[KEY] == 12
    event = AuditEvent.objects.get(action="rule.add")
    assert event.actor == staff_street_admin
    assert event.payload["organization"] == tree.branch_a.pk


def test_only_a_superuser_changes_a_national_value_in_the_admin(client, versions, staff_street_admin):
    client.force_login(staff_street_admin)
    response = client.post("/admin/core/rulevalue/add/", admin_form(None))
    assert response.status_code == 200
    assert "全国默认值只能由系统管理员修改" in response.content.decode()
    national = RuleValue.objects.get(key=KEY, version="2026.1")
    assert client.get(f"/admin/core/rulevalue/{national.pk}/change/").status_code == 200  # view only
    response = client.post(f"/admin/core/rulevalue/{national.pk}/change/", admin_form(None))
    assert response.status_code == 403
    assert RuleValue.objects.get(pk=national.pk).value == 10


def test_the_rule_value_list_searches_and_filters(client, root_admin, tree, versions, settings):
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    rule(20, "2020-01-01", "branch-a", organization=tree.branch_a)
    client.force_login(root_admin)
    page = client.get("/admin/core/rulevalue/", {"q": "test.fix", "scope": "override"}).content.decode()
    assert "branch-a" in page
    assert "2019.1" not in page
