"""Quorum of a 支委会 and a 支部党员大会 recorded as held (支部工作条例 第十一条、第十二条): computed
from the attendance, stored with the meeting, shown on its page and in the API; a meeting
without its quorum stays on record but does not count in the compliance report, and carries
no decision."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.meetings import actions, queries
from dangqun.meetings import rules as R
from dangqun.meetings.choices import AttendanceStatus, BallotMode, ComplianceState, MeetingKind, VoteKind
from dangqun.meetings.models import Vote
from dangqun.members.rules import default_ruleset
from dangqun.orgs.actions import do_update_organization

from .conftest import hold, make_meeting, mark

RULES = default_ruleset(date(2026, 6, 1), prefix="")


def at_(y, m, d, h=14):
    return timezone.make_aware(datetime(y, m, d, h))


def committee_meeting(tree, secretary, people, when):
    return make_meeting(
        tree.branch_a, secretary, when, kind=MeetingKind.COMMITTEE, attendee_ids=[p.pk for p in people]
    )


# --- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "present", "quorate", "needed"),
    [(5, 3, True, 3), (5, 2, False, 3), (4, 2, False, 3), (4, 3, True, 3), (3, 2, True, 2), (7, 4, True, 4)],
)
def test_a_committee_needs_strictly_more_than_half_of_its_members(members, present, quorate, needed):
    q = R.committee_quorum(members, present, RULES)
    assert (q.quorate, q.needed) == (quorate, needed)
    assert q.quorate == (2 * present > members)


def test_a_committee_without_quorum_says_why_and_cites_the_rule():
    q = R.committee_quorum(4, 2, RULES)
    assert q.violation.code == "meeting_no_quorum"
    assert "中国共产党支部工作条例（试行）2018 第十二条" in q.violation.message
    assert q.source == "中国共产党支部工作条例（试行）2018 第十二条"
    assert R.committee_quorum(0, 0, RULES).quorate is False


@pytest.mark.parametrize(("present", "quorate"), [(5, False), (6, True)])
def test_an_assembly_needs_more_than_half_of_the_voting_members(present, quorate):
    q = R.assembly_quorum(10, present, RULES)
    assert (q.quorate, q.needed) == (quorate, 6)
    assert q.source == RULES.source("party.vote.quorum_fraction")


# --- recording a meeting as held ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_committee_with_three_of_five_present_is_quorate(tree, secretary, roster, at):
    meeting = committee_meeting(tree, secretary, roster[:5], at)
    meeting = hold(meeting, secretary, present=roster[:3])
    assert (meeting.quorate, meeting.quorum_base, meeting.quorum_present, meeting.quorum_needed) == (
        True,
        5,
        3,
        3,
    )
    assert "第十二条" in meeting.quorum_source


@pytest.mark.django_db
def test_a_committee_with_two_of_four_present_is_held_but_not_quorate(tree, secretary, roster, at):
    meeting = committee_meeting(tree, secretary, roster[:4], at)
    meeting = hold(meeting, secretary, present=roster[:2])
    meeting.refresh_from_db()
    assert meeting.status == "held"  # the record stays: it proves what happened
    assert (meeting.quorate, meeting.quorum_base, meeting.quorum_present) == (False, 4, 2)
    event = AuditEvent.objects.filter(action="meeting.close").latest("id")
    assert event.payload["quorate"] is False


@pytest.mark.django_db
def test_leaving_committee_members_off_the_list_does_not_make_a_quorum(
    tree, secretary, street_admin, roster, at
):
    do_update_organization(tree.branch_a, actor=street_admin, committee_size=5)
    meeting = committee_meeting(tree, secretary, roster[:3], at)  # 3 listed, 2 of them present
    meeting = hold(meeting, secretary, present=roster[:2])
    assert (meeting.quorate, meeting.quorum_base, meeting.quorum_needed) == (False, 5, 3)


@pytest.mark.django_db
def test_probationary_members_do_not_make_an_assemblys_quorum(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    meeting = hold(meeting, secretary, present=roster[:5] + roster[10:])  # 5 of 10 full + 2 probationary
    assert (meeting.quorate, meeting.quorum_base, meeting.quorum_present, meeting.quorum_needed) == (
        False,
        10,
        5,
        6,
    )


@pytest.mark.django_db
def test_other_kinds_have_no_quorum(tree, secretary, roster, at):
    lecture = hold(
        make_meeting(tree.branch_a, secretary, at, kind=MeetingKind.LECTURE), secretary, present=[]
    )
    assert lecture.quorate is None


@pytest.mark.django_db
def test_correcting_attendance_after_the_meeting_reassesses_its_quorum(tree, secretary, roster, at):
    meeting = hold(committee_meeting(tree, secretary, roster[:5], at), secretary, present=roster[:3])
    assert meeting.quorate is True
    actions.do_record_attendance(meeting, {roster[2].pk: (AttendanceStatus.LEAVE, "出差")}, actor=secretary)
    meeting.refresh_from_db()
    assert (meeting.quorate, meeting.quorum_present) == (False, 2)


# --- no decision without a quorum -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_committee_meeting_takes_no_vote_or_election(tree, secretary, roster, at):
    meeting = committee_meeting(tree, secretary, roster[:4], at)
    mark(meeting, secretary, roster[:2], roster[2:4])
    with pytest.raises(RuleViolation) as err:
        actions.do_open_vote(
            meeting, kind=VoteKind.OTHER, subject="事项", mode=BallotMode.HANDS, actor=secretary
        )
    assert err.value.code == "not_assembly"
    assert not Vote.objects.exists()


@pytest.mark.django_db
def test_an_assembly_with_a_vote_cannot_be_recorded_without_its_quorum(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    mark(meeting, secretary, roster[:6])
    vote = actions.do_open_vote(
        meeting, kind=VoteKind.OTHER, subject="事项", mode=BallotMode.HANDS, actor=secretary
    )
    actions.do_close_vote(vote, actor=secretary, in_favour=6, against=0, abstain=0)
    # The attendance is then corrected: one of the six was in fact on leave.
    mark(meeting, secretary, [], roster[5:])
    actions.do_update_meeting(meeting, actor=secretary, minutes="会议记录。")
    with pytest.raises(RuleViolation) as err:
        actions.do_close_meeting(meeting, actor=secretary, now=at + timedelta(hours=2))
    assert err.value.code == "polls_without_quorum"
    assert RULES.source("party.vote.quorum_fraction") in err.value.violations[0].message
    meeting.refresh_from_db()
    assert (meeting.status, meeting.quorate) == ("planned", None)


@pytest.mark.django_db
def test_a_held_assembly_with_a_vote_keeps_its_quorum(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    mark(meeting, secretary, roster[:6], roster[6:])
    vote = actions.do_open_vote(
        meeting, kind=VoteKind.OTHER, subject="事项", mode=BallotMode.HANDS, actor=secretary
    )
    actions.do_close_vote(vote, actor=secretary, in_favour=6, against=0, abstain=0)
    actions.do_update_meeting(meeting, actor=secretary, minutes="会议记录。")
    actions.do_close_meeting(meeting, actor=secretary, now=at + timedelta(hours=2))
    with pytest.raises(RuleViolation) as err:
        actions.do_record_attendance(
            meeting, {roster[0].pk: (AttendanceStatus.LEAVE, "病假")}, actor=secretary
        )
    assert err.value.code == "polls_without_quorum"
    meeting.refresh_from_db()
    assert meeting.quorate is True
    assert meeting.attendance.get(member=roster[0]).status == AttendanceStatus.PRESENT


# --- the compliance report ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_meeting_without_quorum_does_not_count_and_the_period_says_why(
    tree, secretary, street_admin, roster
):
    do_update_organization(tree.branch_a, actor=street_admin, committee_size=4)
    tree.branch_a.refresh_from_db()
    hold(committee_meeting(tree, secretary, roster[:4], at_(2025, 4, 3)), secretary, present=roster[:2])
    hold(committee_meeting(tree, secretary, roster[:4], at_(2025, 5, 3)), secretary, present=roster[:3])
    (report,) = queries.compliance_report(secretary, 2025, 2, today=date(2025, 12, 1))
    april, may, june = {i.kind: i for i in report.items}[MeetingKind.COMMITTEE].periods
    assert (april.held, april.not_quorate, april.state) == (0, 1, ComplianceState.MISSING)
    assert "未达到法定人数" in april.note
    assert (may.held, may.not_quorate, may.state, may.note) == (1, 0, ComplianceState.OK, "")
    assert june.state == ComplianceState.MISSING


# --- page and API ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_and_the_api_show_a_meeting_without_quorum(tree, secretary, roster, at, client):
    meeting = hold(committee_meeting(tree, secretary, roster[:4], at), secretary, present=roster[:2])
    client.force_login(secretary)
    page = client.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "未达到法定人数" in page
    assert "第十二条" in page
    client.logout()
    raw, _token = issue_token(secretary, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = client.get(f"/api/v1/meetings/{meeting.pk}", **auth).json()
    assert body["quorate"] is False
    assert (body["quorum_base"], body["quorum_present"], body["quorum_needed"]) == (4, 2, 3)
    assert "第十二条" in body["quorum_source"]
    listed = client.get("/api/v1/meetings", **auth).json()["items"]
    assert [m["quorate"] for m in listed if m["id"] == meeting.pk] == [False]
