"""Graduates whose relationship stays at the school (party.md §6): at most 2 years after
graduation — the same day two years later is still allowed, the day after is overdue."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.members import rules_transfer as RT
from dangqun.members.actions import do_enroll_member
from dangqun.members.actions_transfer import do_accept_transfer, do_issue_transfer, do_record_graduation
from dangqun.members.choices import Status
from dangqun.members.queries_transfer import branch_transfers, member_relation
from dangqun.orgs.rules import add_years

from .conftest import make_id, national

pytestmark = pytest.mark.django_db


@pytest.fixture
def graduate(tree, root_admin):
    return do_enroll_member(
        branch=tree.branch_a,
        name="毕业生",
        id_number=make_id(date(2000, 9, 1)),
        status=Status.FULL,
        admitted_on=date(2019, 6, 1),
        actor=root_admin,
    )


# --- the rule, pure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graduated_on", "today", "overdue"),
    [
        (date(2023, 6, 30), date(2025, 6, 30), False),  # exactly two years: still allowed
        (date(2023, 6, 30), date(2025, 7, 1), True),  # the day after: overdue
        (date(2024, 2, 29), date(2026, 2, 28), False),  # 29 February → 28 February
        (date(2024, 2, 29), date(2026, 3, 1), True),
    ],
)
def test_two_years_from_graduation_the_last_day_included(graduated_on, today, overdue):
    rules = national(today)
    assert RT.graduate_keep_until(graduated_on, rules) == add_years(graduated_on, 2)
    assert RT.graduate_overdue(graduated_on, today, rules) is overdue
    flag = RT.graduate_flag(graduated_on, today, rules)
    assert (flag is not None) is overdue


def test_the_warning_names_the_limit_and_its_source():
    flag = RT.graduate_flag(date(2023, 6, 30), date(2025, 7, 1), national(date(2025, 7, 1)))
    assert flag.code == "graduate_kept_too_long"
    assert "至 2025-06-30" in flag.message
    assert "党员教育管理工作条例 2019" in flag.message


def test_the_keep_years_are_a_rule_value():
    rule = national(date(2025, 1, 1)).rule("party.transfer.graduate_keep_years")
    assert (rule.value, rule.source) == (2, "党员教育管理工作条例 2019")


# --- the action and where the warning shows -----------------------------------------------------


def test_recording_keeps_the_schools_branch_and_is_audited(tree, secretary, graduate):
    do_record_graduation(graduate, graduated_on=date(2023, 6, 30), actor=secretary)
    graduate.refresh_from_db()
    assert (graduate.graduated_on, graduate.graduate_branch_id) == (date(2023, 6, 30), tree.branch_a.pk)
    assert AuditEvent.objects.filter(action="member.graduation", object_id=str(graduate.pk)).exists()


def test_it_refuses_a_future_date_and_someone_not_yet_a_member(tree, secretary, graduate, applicant):
    tomorrow = timezone.localdate().replace(year=timezone.localdate().year + 1)
    with pytest.raises(RuleViolation) as err:
        do_record_graduation(graduate, graduated_on=tomorrow, actor=secretary)
    assert err.value.code == "date_out_of_range"
    with pytest.raises(RuleViolation) as err:
        do_record_graduation(applicant, graduated_on=date(2023, 6, 30), actor=secretary)
    assert err.value.code == "graduate_not_member"


def test_the_relationship_and_the_branch_page_warn_when_overdue(tree, secretary, graduate):
    do_record_graduation(graduate, graduated_on=date(2023, 6, 30), actor=secretary)
    graduate.refresh_from_db()
    rel = member_relation(graduate, date(2025, 6, 30))
    assert (rel.graduate.keep_until, rel.graduate.overdue, rel.graduate_warning) == (
        date(2025, 6, 30),
        False,
        None,
    )
    rel = member_relation(graduate, date(2025, 7, 1))
    assert rel.graduate.overdue
    assert rel.graduate_warning.code == "graduate_kept_too_long"
    data = branch_transfers(tree.branch_a, date(2025, 7, 1))
    assert [(r.member.pk, r.overdue) for r in data.graduates] == [(graduate.pk, True)]
    assert data.overdue_graduates == 1


def test_the_warning_stops_once_another_branch_accepts_the_member(tree, secretary, root_admin, graduate):
    do_record_graduation(graduate, graduated_on=date(2020, 6, 30), actor=secretary)
    transfer = do_issue_transfer(
        graduate, to_branch=tree.branch_b, issued_on=date(2025, 7, 1), actor=secretary
    )
    do_accept_transfer(transfer, accepted_on=date(2025, 7, 5), actor=root_admin)
    graduate.refresh_from_db()
    assert member_relation(graduate, date(2025, 8, 1)).graduate is None
    assert branch_transfers(tree.branch_a, date(2025, 8, 1)).graduates == []
    assert branch_transfers(tree.branch_b, date(2025, 8, 1)).graduates == []


# --- pages and API --------------------------------------------------------------------------------


def test_the_page_records_it_and_the_relationship_page_warns(client, secretary, graduate):
    client.force_login(secretary)
    url = reverse("members:graduate", args=[graduate.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"graduated_on": "2020-06-30"}).status_code == 302
    page = client.get(reverse("members:relation", args=[graduate.pk])).content.decode()
    assert "2020-06-30 毕业" in page
    assert "请督促其及时转接组织关系" in page


def test_the_api_records_it_and_reports_the_limit(client, token_for, secretary, graduate):
    response = client.post(
        f"/api/v1/members/{graduate.pk}/graduation",
        {"graduated_on": "2020-06-30"},
        content_type="application/json",
        headers=token_for(secretary),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["graduated_on"], body["graduate_keep_until"], body["graduate_overdue"]) == (
        "2020-06-30",
        "2022-06-30",
        True,
    )
    assert body["graduate_warning"]["code"] == "graduate_kept_too_long"


def test_the_api_hides_a_member_of_another_branch(client, token_for, outsider, graduate):
    response = client.post(
        f"/api/v1/members/{graduate.pk}/graduation",
        {"graduated_on": "2020-06-30"},
        content_type="application/json",
        headers=token_for(outsider),
    )
    assert response.status_code == 404
