"""The branch secretary's own 党课 (支部工作条例 第十五条: at least once a year): recorded with the
党课, reported per branch and year — pending until the year ends, missing after."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.core.errors import RuleViolation
from dangqun.meetings import actions, queries
from dangqun.meetings import rules as R
from dangqun.meetings.choices import ComplianceState, MeetingKind
from dangqun.meetings.models import Meeting
from dangqun.members.rules import default_ruleset

from .conftest import hold, make_meeting

RULES = default_ruleset(date(2026, 6, 1), prefix="")
FACTS = R.BranchFacts(has_committee=True, groups=[], members=5, members_talked=5)


def at_(y, m, d, h=14):
    return timezone.make_aware(datetime(y, m, d, h))


def secretary_item(items):
    return {i.kind: i for i in items}[R.SECRETARY_LECTURE]


def lecture(tree, secretary, when, **kw):
    kw.setdefault("lecturer", "李书记")
    return make_meeting(tree.branch_a, secretary, when, kind=MeetingKind.LECTURE, **kw)


# --- the rule ----------------------------------------------------------------------------------


def test_the_yearly_duty_is_pending_during_the_year_and_missing_after():
    def state(quarter, today, held=None):
        items = R.assess_compliance(
            2025, quarter, today=today, facts=FACTS, held=held or {}, attendance={}, rules=RULES
        )
        return secretary_item(items)

    assert state(2, date(2025, 12, 1)).state == ComplianceState.PENDING
    assert state(4, date(2025, 12, 31)).state == ComplianceState.PENDING
    assert state(4, date(2026, 1, 1)).state == ComplianceState.MISSING
    done = state(4, date(2026, 3, 1), {(R.SECRETARY_LECTURE, None, 3): 1})
    assert done.state == ComplianceState.OK
    assert (done.periods[0].held, done.periods[0].required) == (1, 1)
    assert done.label == "书记讲党课"
    assert done.source == "中国共产党支部工作条例（试行）2018 第十五条"


# --- recording ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_lecture_is_recorded_as_given_by_the_secretary(tree, secretary, roster, at):
    meeting = lecture(tree, secretary, at, lecturer_is_secretary=True)
    assert Meeting.objects.get(pk=meeting.pk).lecturer_is_secretary is True


@pytest.mark.django_db
def test_only_a_lecture_with_a_named_lecturer_can_be_the_secretarys(tree, secretary, roster, at):
    with pytest.raises(RuleViolation) as err:
        make_meeting(tree.branch_a, secretary, at, lecturer="李书记", lecturer_is_secretary=True)
    assert err.value.code == "secretary_lecture_kind"
    with pytest.raises(RuleViolation) as err:
        lecture(tree, secretary, at, lecturer="", lecturer_is_secretary=True)
    assert err.value.violations[0].field == "lecturer"
    meeting = lecture(tree, secretary, at)
    with pytest.raises(RuleViolation):
        actions.do_update_meeting(meeting, actor=secretary, lecturer="", lecturer_is_secretary=True)
    actions.do_update_meeting(meeting, actor=secretary, lecturer_is_secretary=True)
    meeting.refresh_from_db()
    assert meeting.lecturer_is_secretary is True


# --- the compliance report ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_report_counts_only_held_lectures_by_the_secretary(tree, secretary, roster):
    hold(lecture(tree, secretary, at_(2025, 2, 10), lecturer="王老师"), secretary)  # not the secretary
    lecture(tree, secretary, at_(2025, 3, 10), lecturer_is_secretary=True)  # planned, never held
    (report,) = queries.compliance_report(secretary, 2025, 1, today=date(2025, 6, 1))
    items = {i.kind: i for i in report.items}
    assert items[MeetingKind.LECTURE].state == ComplianceState.OK
    assert secretary_item(report.items).state == ComplianceState.PENDING
    (report,) = queries.compliance_report(secretary, 2025, 4, today=date(2026, 1, 5))
    assert secretary_item(report.items).state == ComplianceState.MISSING

    hold(lecture(tree, secretary, at_(2025, 11, 20), lecturer_is_secretary=True), secretary)
    (report,) = queries.compliance_report(secretary, 2025, 4, today=date(2026, 1, 5))
    assert secretary_item(report.items).state == ComplianceState.OK
    (report,) = queries.compliance_report(secretary, 2025, 3, today=date(2026, 1, 5))
    assert secretary_item(report.items).state == ComplianceState.PENDING  # as of September


# --- form and API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_and_the_api_carry_the_secretarys_lecture(tree, secretary, street_admin, roster, client):
    client.force_login(secretary)
    response = client.post(
        reverse("meetings:create"),
        {
            "organization": tree.branch_a.pk,
            "kind": MeetingKind.LECTURE,
            "topic": "书记讲党课",
            "starts_at": "2026-03-12T09:30",
            "lecturer": "李书记",
            "lecturer_is_secretary": "on",
        },
    )
    assert response.status_code == 302
    meeting = Meeting.objects.get()
    assert meeting.lecturer_is_secretary is True
    assert "本支部书记" in client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    client.logout()

    raw, _token = issue_token(street_admin, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(f"/api/v1/meetings/{meeting.pk}", **auth).json()["lecturer_is_secretary"] is True
    body = client.get("/api/v1/compliance/meetings", {"year": 2026, "quarter": 1}, **auth).json()
    items = {i["kind"]: i for i in body["branches"][0]["items"]}
    assert items["secretary_lecture"]["label"] == "书记讲党课"
    assert items["secretary_lecture"]["state"] in ("pending", "missing")  # the meeting is not held
