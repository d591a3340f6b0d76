"""Boundary audit of the organization setup rules (party.md §2): sizes on their thresholds,
terms extended or shortened by at most one year, reminders at month ends."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.rulesets import Rule, RuleSet, default_rule_entries
from dangqun.orgs.choices import OrgKind, SettingMode
from dangqun.orgs.rules import NOTICE, REMINDER, WARNING, OrgFacts, setup_warnings, term_reminder_due

TODAY = date(2026, 11, 30)


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


def facts(**kw) -> OrgFacts:
    base = {
        "kind": OrgKind.BRANCH,
        "members": 12,
        "full_members": 12,
        "committee_size": 3,
        "term_started_on": date(2025, 1, 1),
        "term_ends_on": date(2028, 1, 1),
    }
    return OrgFacts(**{**base, **kw})


def found(f: OrgFacts, rules: RuleSet, today: date = TODAY) -> dict[str, str]:
    return {w.code: w.level for w in setup_warnings(f, rules, today)}


# --- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("members", "warned"), [(49, True), (50, False), (100, False), (101, True)])
def test_a_general_branch_is_50_to_100_members_both_included(rules, members, warned):
    f = facts(kind=OrgKind.GENERAL_BRANCH, members=members, full_members=members)
    assert ("general_branch_size" in found(f, rules)) is warned


@pytest.mark.parametrize(("members", "warned"), [(100, True), (101, False)])
def test_a_party_committee_needs_more_than_100_members(rules, members, warned):
    f = facts(kind=OrgKind.PARTY_COMMITTEE, members=members, full_members=members)
    assert ("committee_too_small" in found(f, rules)) is warned


def test_a_branch_counts_probationary_members_towards_50(rules):
    assert "branch_too_large" not in found(facts(members=50, full_members=45), rules)
    assert "branch_too_large" in found(facts(members=51, full_members=45), rules)


def test_three_full_members_make_a_branch_whatever_the_probationary_members(rules):
    small = {"committee_size": 0}
    assert "branch_too_small" not in found(facts(members=3, full_members=3, **small), rules)
    assert "branch_too_small" in found(facts(members=10, full_members=2, **small), rules)
    joint = facts(members=2, full_members=2, setting_mode=SettingMode.JOINT, covered_units=5, **small)
    assert found(joint, rules) == {}
    assert found(facts(**{**joint.__dict__, "covered_units": 6}), rules) == {"joint_branch_too_wide": WARNING}


@pytest.mark.parametrize(
    ("full", "size", "expected"),
    [
        (6, 0, {}),
        (6, 3, {"committee_not_needed": WARNING}),
        (7, 0, {"committee_required": WARNING}),
        (7, 2, {"committee_required": WARNING}),
        (7, 3, {}),
        (7, 5, {}),
        (8, 6, {"committee_above_normal": NOTICE}),
        (8, 7, {"committee_above_normal": NOTICE}),
        (8, 8, {"committee_required": WARNING}),
    ],
)
def test_committee_sizes_on_their_edges(rules, full, size, expected):
    assert found(facts(members=full, full_members=full, committee_size=size), rules) == expected


@pytest.mark.parametrize(("deputies", "warned"), [(1, False), (2, True)])
def test_without_a_committee_at_most_one_deputy(rules, deputies, warned):
    f = facts(members=5, full_members=5, committee_size=0, deputy_secretaries=deputies)
    assert ("too_many_deputies" in found(f, rules)) is warned


# --- terms: 3 years (village 5), extended or shortened by at most 1 year with approval ----------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 1, 1), date(2028, 1, 1), {}),
        (date(2025, 1, 1), date(2028, 1, 2), {"term_extended": NOTICE}),
        (date(2025, 1, 1), date(2029, 1, 1), {"term_extended": NOTICE}),
        (date(2025, 1, 1), date(2029, 1, 2), {"term_too_long": WARNING}),
        # Shortened: a day short needs approval, one year short is the most that may be approved.
        (date(2026, 1, 1), date(2028, 12, 31), {"term_shortened": NOTICE}),
        (date(2026, 1, 1), date(2028, 1, 1), {"term_shortened": NOTICE}),
        (date(2026, 1, 1), date(2027, 12, 31), {"term_too_short": WARNING}),
        # From 29 February: three years end on 28 February, four on 29 February.
        (date(2024, 2, 29), date(2027, 2, 28), {"term_ending": REMINDER}),
        (date(2024, 2, 29), date(2027, 3, 1), {"term_extended": NOTICE}),
        (date(2024, 2, 29), date(2028, 2, 29), {"term_extended": NOTICE}),
        (date(2024, 2, 29), date(2028, 3, 1), {"term_too_long": WARNING}),
    ],
)
def test_a_branch_term_is_three_years_give_or_take_one_with_approval(rules, start, end, expected):
    assert found(facts(term_started_on=start, term_ends_on=end), rules) == expected


def test_a_village_term_is_five_years_and_may_be_shortened_by_one(rules):
    village = {"is_village_or_community": True, "term_started_on": date(2025, 1, 1)}
    assert found(facts(**village, term_ends_on=date(2030, 1, 1)), rules) == {}
    assert found(facts(**village, term_ends_on=date(2029, 1, 1)), rules) == {"term_shortened": NOTICE}
    assert found(facts(**village, term_ends_on=date(2028, 12, 31)), rules) == {"term_too_short": WARNING}


def test_shortening_messages_name_the_rule_and_its_source(rules):
    [w] = setup_warnings(facts(term_started_on=date(2026, 1, 1), term_ends_on=date(2027, 6, 1)), rules, TODAY)
    assert w.rule == "party.org.term_change_max_years"
    assert "不足 3 年" in w.message
    assert "中国共产党基层组织选举工作条例 2020" in w.message


@pytest.mark.parametrize(
    ("today", "end", "due"),
    [
        (date(2026, 11, 30), date(2027, 2, 28), True),  # 30 November + 3 months = 28 February
        (date(2026, 11, 30), date(2027, 3, 1), False),
        (date(2027, 11, 30), date(2028, 2, 29), True),
        (date(2026, 11, 30), date(2026, 11, 30), True),  # the last day is still reminded
        (date(2026, 12, 1), date(2026, 11, 30), False),  # then it is ended, not ending
    ],
)
def test_the_term_reminder_is_three_months_to_the_day(rules, today, end, due):
    assert term_reminder_due(end, rules, today) is due
