"""Meeting records through the actions: roster, attendance, closing, attachments, sign-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent, Notification
from dangqun.meetings import actions, queries
from dangqun.meetings import rules as R
from dangqun.meetings.choices import AttendanceStatus, MeetingKind, MeetingStatus, SignInMethod
from dangqun.meetings.models import Attendance, Meeting, MeetingAttachment
from dangqun.members.choices import Status

from .conftest import enroll, hold, make_meeting, mark

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_the_expected_attendees_of_a_branch_meeting_are_its_members(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    assert meeting.branch == tree.branch_a
    assert meeting.held_on.isoformat() == "2026-03-10"
    assert {a.member_id for a in meeting.attendance.all()} == {p.pk for p in roster}
    assert AuditEvent.objects.filter(action="meeting.create", object_id=str(meeting.pk)).count() == 1


def test_a_group_meeting_expects_the_groups_members_and_belongs_to_its_branch(
    tree, secretary, roster, member_record, at
):
    meeting = make_meeting(tree.group_a, secretary, at, kind=MeetingKind.GROUP)
    assert meeting.branch == tree.branch_a
    assert [a.member_id for a in meeting.attendance.all()] == [member_record.pk]


def test_a_group_meeting_is_held_by_a_group_and_other_meetings_by_a_branch(tree, secretary, roster, at):
    with pytest.raises(RuleViolation) as err:
        make_meeting(tree.branch_a, secretary, at, kind=MeetingKind.GROUP)
    assert err.value.code == "meeting_org_kind"
    with pytest.raises(RuleViolation):
        make_meeting(tree.group_a, secretary, at, kind=MeetingKind.LECTURE)
    assert not Meeting.objects.exists()


def test_a_talk_needs_chosen_members_of_the_branch(tree, secretary, outsider, roster, at):
    other = enroll(tree.branch_b, outsider, "他支部", i=33)
    with pytest.raises(RuleViolation) as err:
        make_meeting(tree.branch_a, secretary, at, kind=MeetingKind.TALK)
    assert err.value.code == "attendees_required"
    with pytest.raises(RuleViolation) as err:
        make_meeting(
            tree.branch_a, secretary, at, kind=MeetingKind.TALK, attendee_ids=[roster[1].pk, other.pk]
        )
    assert err.value.code == "attendee_not_found"
    talk = make_meeting(tree.branch_a, secretary, at, kind=MeetingKind.TALK, attendee_ids=[roster[1].pk])
    assert [a.member_id for a in talk.attendance.all()] == [roster[1].pk]
    assert Meeting.objects.count() == 1


def test_every_problem_is_reported_at_once_and_nothing_is_saved(tree, secretary, roster, at):
    with pytest.raises(RuleViolation) as err:
        make_meeting(tree.branch_a, secretary, at, topic=" ", ends_at=at - timedelta(hours=1))
    assert {v.code for v in err.value.violations} == {"required", "ends_before_start"}
    assert not Meeting.objects.exists()
    assert not Attendance.objects.exists()


def test_only_the_branchs_managers_create_meetings(tree, outsider, street_admin, member, roster, at):
    for actor in (outsider, street_admin, member):
        with pytest.raises(PermissionDenied):
            make_meeting(tree.branch_a, actor, at)


def test_attendees_with_an_account_are_notified_of_a_future_meeting(
    tree, secretary, roster, member, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=True):
        make_meeting(tree.branch_a, secretary, timezone.now() + timedelta(days=3))
    assert Notification.objects.filter(recipient=member, key__startswith="meeting:").count() == 1


def test_absence_and_leave_need_a_reason(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    with pytest.raises(RuleViolation) as err:
        actions.do_record_attendance(
            meeting,
            {roster[0].pk: (AttendanceStatus.PRESENT, ""), roster[1].pk: (AttendanceStatus.ABSENT, " ")},
            actor=secretary,
        )
    assert err.value.code == "attendance_reason"
    # Nothing half-saved: the valid first entry was not written either.
    assert meeting.attendance.filter(status=AttendanceStatus.PRESENT).count() == 0
    mark(meeting, secretary, [roster[0]], absent=[roster[1]])
    row = meeting.attendance.get(member=roster[1])
    assert (row.status, row.reason) == (AttendanceStatus.ABSENT, "出差")
    assert meeting.attendance.get(member=roster[0]).method == SignInMethod.RECORDED


def test_closing_needs_minutes_and_everyone_accounted_for(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    with pytest.raises(RuleViolation) as err:
        actions.do_close_meeting(meeting, actor=secretary, now=at + timedelta(hours=2))
    assert {v.code for v in err.value.violations} == {"minutes_required", "attendance_pending"}
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.PLANNED
    hold(meeting, secretary)
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.HELD
    with pytest.raises(RuleViolation):
        actions.do_update_meeting(meeting, actor=secretary, starts_at=at + timedelta(days=1))


def test_a_meeting_cannot_be_closed_before_it_starts(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    with pytest.raises(RuleViolation) as err:
        actions.do_close_meeting(meeting, actor=secretary, now=at - timedelta(minutes=1))
    assert "meeting_not_started" in {v.code for v in err.value.violations}


def test_attachments_are_checked_by_content(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    ok = actions.do_attach_file(meeting, SimpleUploadedFile("记录.pdf", PDF), actor=secretary)
    assert ok.content_type == "application/pdf"
    assert ok.size == len(PDF)
    actions.do_attach_file(meeting, SimpleUploadedFile("photo.png", PNG), actor=secretary)
    for name, body in [("fake.pdf", b"<html>not a pdf</html>"), ("x.png", PDF), ("x.exe", PDF)]:
        with pytest.raises(RuleViolation) as err:
            actions.do_attach_file(meeting, SimpleUploadedFile(name, body), actor=secretary)
        assert err.value.code == "attachment_type"
    assert MeetingAttachment.objects.count() == 2


def test_a_too_large_attachment_is_refused(tree, secretary, roster, at, settings):
    settings.MEETINGS_ATTACHMENT_MAX_BYTES = 100
    meeting = make_meeting(tree.branch_a, secretary, at)
    with pytest.raises(RuleViolation) as err:
        actions.do_attach_file(meeting, SimpleUploadedFile("big.pdf", PDF + b"0" * 200), actor=secretary)
    assert err.value.code == "attachment_too_large"


def test_a_cancelled_meeting_is_not_counted_and_not_changed(tree, secretary, roster, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    actions.do_cancel_meeting(meeting, actor=secretary, reason="台风")
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.CANCELLED
    with pytest.raises(RuleViolation):
        actions.do_update_meeting(meeting, actor=secretary, topic="x")


# --- rotating QR sign-in (party.md §9) ---------------------------------------------------------------


def _code(meeting, when):
    rules = queries.rules_for(meeting.branch)
    return queries.current_code(meeting, when, rules).code


def test_a_member_signs_in_with_the_code_shown_now(tree, secretary, roster, member, member_record, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    row = actions.do_sign_in(meeting, _code(meeting, at), actor=member, now=at + timedelta(seconds=5))
    assert (row.member_id, row.status, row.method) == (
        member_record.pk,
        AttendanceStatus.PRESENT,
        SignInMethod.QR,
    )
    # Twice is harmless.
    actions.do_sign_in(meeting, _code(meeting, at), actor=member, now=at + timedelta(seconds=6))
    assert AuditEvent.objects.filter(action="meeting.sign_in").count() == 1


def test_an_old_code_is_refused(tree, secretary, roster, member, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    step = R.time_step(at, 30)
    code = R.signin_code(queries.signin_secret(meeting), meeting.pk, step)
    start = R.step_ends_at(step - 1, 30, at.tzinfo)  # when this code appeared
    actions.do_sign_in(meeting, code, actor=member, now=start + timedelta(seconds=59))
    meeting.attendance.update(status=AttendanceStatus.EXPECTED)
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, code, actor=member, now=start + timedelta(seconds=60))
    assert err.value.code == "signin_code"
    assert not meeting.attendance.filter(status=AttendanceStatus.PRESENT).exists()


def test_sign_in_is_refused_outside_the_window(tree, secretary, roster, member, at):
    meeting = make_meeting(tree.branch_a, secretary, at, ends_at=at + timedelta(hours=1))
    early = at - timedelta(minutes=31)
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, _code(meeting, early), actor=member, now=early)
    assert err.value.code == "signin_closed"
    late = at + timedelta(hours=1, seconds=1)
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, _code(meeting, late), actor=member, now=late)
    assert err.value.code == "signin_closed"


def test_a_code_from_another_meeting_or_a_stranger_does_not_work(
    tree, secretary, roster, member, outsider, at
):
    meeting = make_meeting(tree.branch_a, secretary, at)
    other = make_meeting(tree.branch_a, secretary, at, topic="另一个会")
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, _code(other, at), actor=member, now=at)
    assert err.value.code == "signin_code"
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, _code(meeting, at), actor=outsider, now=at)
    assert err.value.code == "signin_not_expected"


def test_the_sign_in_binds_to_the_signed_in_member_not_to_the_code(
    tree, secretary, roster, member, member_record, voter_user, at
):
    """Two people using the same fresh code each sign in themselves only."""
    meeting = make_meeting(tree.branch_a, secretary, at)
    other = voter_user(roster[3])
    code = _code(meeting, at)
    actions.do_sign_in(meeting, code, actor=other, now=at)
    assert set(
        meeting.attendance.filter(status=AttendanceStatus.PRESENT).values_list("member_id", flat=True)
    ) == {roster[3].pk}


def test_a_scan_confirmed_too_late_is_refused(tree, secretary, roster, member, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(
            meeting, _code(meeting, at), actor=member, seen_at=at, now=at + timedelta(seconds=301)
        )
    assert err.value.code == "signin_late"
    actions.do_sign_in(meeting, _code(meeting, at), actor=member, seen_at=at, now=at + timedelta(seconds=299))


def test_no_sign_in_after_the_meeting_is_closed(tree, secretary, roster, member, at):
    meeting = make_meeting(tree.branch_a, secretary, at)
    hold(meeting, secretary, present=roster[1:])
    with pytest.raises(RuleViolation) as err:
        actions.do_sign_in(meeting, _code(meeting, at), actor=member, now=at)
    assert err.value.code == "signin_closed"


def test_entitled_voters_exclude_probationary_and_disciplinary_probation(tree, secretary, roster, at):
    from datetime import date

    actions.do_record_disciplinary_probation(
        roster[2],
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        decided_by="街道纪工委",
        reason="违纪",
        actor=secretary,
    )
    voters = queries.entitled_voters(tree.branch_a, date(2026, 3, 10))
    assert len(voters) == 9
    assert roster[2] not in voters
    assert all(v.status == Status.FULL for v in voters)
    assert len(queries.entitled_voters(tree.branch_a, date(2027, 1, 1))) == 10
