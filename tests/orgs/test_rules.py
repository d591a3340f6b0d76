"""Setup warnings on boundary values, from the shipped national rule values (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dangqun.core.rulesets import Rule, RuleSet, default_rule_entries
from dangqun.orgs.choices import OrgKind, SettingMode
from dangqun.orgs.rules import (
    NOTICE,
    REMINDER,
    WARNING,
    OrgFacts,
    add_months,
    setup_warnings,
    term_reminder_due,
)

TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    entries = {
        e["key"]: Rule(
            e["key"],
            e["value"],
            e["version"],
            date.fromisoformat(e["effective_from"]),
            e["clause"],
            e["source"],
        )
        for e in default_rule_entries()
        if e["key"].startswith("party.org.")
    }
    return RuleSet(entries, TODAY)


def branch(**kw) -> OrgFacts:
    base = {
        "kind": OrgKind.BRANCH,
        "members": 12,
        "full_members": 12,
        "committee_size": 3,
        "term_started_on": date(2025, 1, 1),
        "term_ends_on": date(2028, 1, 1),
    }
    return OrgFacts(**{**base, **kw})


def codes(facts: OrgFacts, rules: RuleSet, today: date = TODAY) -> set[str]:
    return {w.code for w in setup_warnings(facts, rules, today)}


def test_a_well_set_up_branch_has_no_warnings(rules):
    assert setup_warnings(branch(), rules, TODAY) == []


def test_it_accepts_a_branch_of_exactly_50_members(rules):
    assert "branch_too_large" not in codes(branch(members=50, full_members=45), rules)


def test_it_suggests_splitting_a_branch_of_51_members(rules):
    (found,) = setup_warnings(branch(members=51, full_members=45), rules, TODAY)
    assert found.code == "branch_too_large"
    assert found.rule == "party.org.branch_normal_max_members"
    assert found.level == WARNING
    assert "51 名党员" in found.message
    assert "超过一般不超过 50 人的规定，可考虑分设支部" in found.message
    assert found.source == "中国共产党支部工作条例（试行）2018 第五条"
    assert found.source in found.message


def test_the_54_member_example_of_the_rules(rules):
    (found,) = setup_warnings(branch(members=54, full_members=50, committee_size=5), rules, TODAY)
    assert found.message.startswith("该支部有 54 名党员，超过一般不超过 50 人的规定，可考虑分设支部（")


def test_it_accepts_a_branch_of_exactly_3_full_members(rules):
    assert codes(branch(members=3, full_members=3, committee_size=0), rules) == set()


def test_it_warns_about_a_branch_of_2_full_members_that_is_not_joint(rules):
    facts = branch(members=4, full_members=2, committee_size=0)
    assert codes(facts, rules) == {"branch_too_small"}
    joint = replace(facts, setting_mode=SettingMode.JOINT, covered_units=5)
    assert codes(joint, rules) == set()


def test_it_warns_about_a_joint_branch_covering_more_than_5_units(rules):
    facts = branch(members=4, full_members=2, committee_size=0, setting_mode=SettingMode.JOINT)
    assert "joint_branch_too_wide" not in codes(replace(facts, covered_units=5), rules)
    (found,) = setup_warnings(replace(facts, covered_units=6), rules, TODAY)
    assert found.code == "joint_branch_too_wide"
    assert found.rule == "party.org.joint_branch_max_units"


def test_a_branch_of_6_full_members_needs_no_committee(rules):
    assert codes(branch(members=6, full_members=6, committee_size=0), rules) == set()


def test_a_branch_of_7_full_members_needs_a_committee_of_3_to_5(rules):
    assert codes(branch(members=7, full_members=7, committee_size=0), rules) == {"committee_required"}
    assert codes(branch(members=7, full_members=7, committee_size=2), rules) == {"committee_required"}
    assert codes(branch(members=7, full_members=7, committee_size=3), rules) == set()
    assert codes(branch(members=7, full_members=7, committee_size=5), rules) == set()


def test_a_committee_of_6_or_7_is_above_normal_and_8_is_too_many(rules):
    (six,) = setup_warnings(branch(committee_size=6), rules, TODAY)
    assert (six.code, six.level) == ("committee_above_normal", NOTICE)
    assert codes(branch(committee_size=7), rules) == {"committee_above_normal"}
    (eight,) = setup_warnings(branch(committee_size=8), rules, TODAY)
    assert (eight.code, eight.rule) == ("committee_required", "party.org.branch_committee_max_size")


def test_a_small_branch_has_no_committee_and_at_most_one_deputy(rules):
    small = branch(members=5, full_members=5, committee_size=0)
    assert codes(replace(small, deputy_secretaries=1), rules) == set()
    assert codes(replace(small, deputy_secretaries=2), rules) == {"too_many_deputies"}
    assert codes(replace(small, committee_size=3), rules) == {"committee_not_needed"}


def test_a_party_committee_needs_more_than_100_members(rules):
    committee = OrgFacts(
        kind=OrgKind.PARTY_COMMITTEE, members=100, full_members=100, term_ends_on=date(2029, 1, 1)
    )
    (found,) = setup_warnings(committee, rules, TODAY)
    assert found.code == "committee_too_small"
    assert "党员超过 100 人" in found.message
    assert setup_warnings(replace(committee, members=101), rules, TODAY) == []


@pytest.mark.parametrize(("members", "warned"), [(49, True), (50, False), (100, False), (101, True)])
def test_a_general_branch_has_50_to_100_members(rules, members, warned):
    facts = OrgFacts(
        kind=OrgKind.GENERAL_BRANCH,
        members=members,
        full_members=members,
        term_started_on=date(2025, 1, 1),
        term_ends_on=date(2028, 1, 1),
    )
    assert ("general_branch_size" in codes(facts, rules)) is warned


def test_a_project_organization_is_noted(rules):
    (found,) = setup_warnings(branch(setting_mode=SettingMode.PROJECT), rules, TODAY)
    assert (found.code, found.level, found.rule) == (
        "project_organization",
        NOTICE,
        "party.org.project_min_months",
    )
    assert "6 个月以上" in found.message


def test_a_missing_term_end_is_a_warning(rules):
    assert codes(branch(term_ends_on=None), rules) == {"term_end_missing"}


def test_a_passed_term_is_a_warning(rules):
    (found,) = setup_warnings(
        branch(term_started_on=date(2023, 1, 1), term_ends_on=date(2026, 1, 1)), rules, TODAY
    )
    assert found.code == "term_ended"
    assert "2026-01-01" in found.message


def test_a_term_ending_exactly_3_months_from_today_is_reminded(rules):
    end = date(2027, 2, 25)
    assert add_months(TODAY, 3) == end
    (found,) = setup_warnings(branch(term_started_on=date(2024, 2, 25), term_ends_on=end), rules, TODAY)
    assert (found.code, found.level) == ("term_ending", REMINDER)
    assert "还有 92 天" in found.message
    assert term_reminder_due(end, rules, TODAY)


def test_a_term_ending_3_months_and_a_day_away_is_not_yet_reminded(rules):
    end = date(2027, 2, 26)
    assert codes(branch(term_started_on=date(2024, 2, 26), term_ends_on=end), rules) == set()
    assert not term_reminder_due(end, rules, TODAY)


def test_a_term_ending_today_is_still_reminded_not_passed(rules):
    assert codes(branch(term_started_on=date(2023, 11, 25), term_ends_on=TODAY), rules) == {"term_ending"}


def test_a_branch_term_of_3_years_passes_and_longer_needs_approval(rules):
    start = date(2025, 1, 1)
    assert codes(branch(term_started_on=start, term_ends_on=date(2028, 1, 1)), rules) == set()
    (extended,) = setup_warnings(branch(term_started_on=start, term_ends_on=date(2028, 6, 1)), rules, TODAY)
    assert (extended.code, extended.level) == ("term_extended", NOTICE)
    assert codes(branch(term_started_on=start, term_ends_on=date(2029, 1, 1)), rules) == {"term_extended"}
    (too_long,) = setup_warnings(branch(term_started_on=start, term_ends_on=date(2029, 1, 2)), rules, TODAY)
    assert (too_long.code, too_long.level) == ("term_too_long", WARNING)


def test_a_village_or_community_branch_has_a_5_year_term(rules):
    village = branch(
        is_village_or_community=True, term_started_on=date(2025, 1, 1), term_ends_on=date(2030, 1, 1)
    )
    assert codes(village, rules) == set()
    assert codes(replace(village, is_village_or_community=False), rules) == {"term_too_long"}


def test_service_organizations_and_groups_have_no_setup_rules(rules):
    for kind in (OrgKind.GROUP, OrgKind.STREET, OrgKind.WINDOW):
        assert setup_warnings(OrgFacts(kind=kind, members=0, full_members=0), rules, TODAY) == []


def test_warnings_read_the_rule_values_not_constants(rules):
    """A local override of the branch size (an administrator's rule value) moves the threshold."""
    key = "party.org.branch_normal_max_members"
    national = {k: rules.rule(k) for k in rules.keys()}  # noqa: SIM118 — RuleSet is not a dict
    local = RuleSet({**national, key: replace(rules.rule(key), value=60, organization_id=1)}, TODAY)
    assert "branch_too_large" not in codes(branch(members=55, full_members=50, committee_size=5), local)
    assert "branch_too_large" in codes(branch(members=61, full_members=50, committee_size=5), local)


def test_every_warning_is_reported_at_once(rules):
    facts = branch(members=60, full_members=60, committee_size=0, term_ends_on=None)
    assert codes(facts, rules) == {"branch_too_large", "committee_required", "term_end_missing"}


def test_add_months_keeps_the_end_of_month():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
