"""Meetings fixtures: a branch roster built through members.actions, meetings through our actions."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.core.validators import id_check_char
from dangqun.meetings import actions
from dangqun.meetings.choices import AttendanceStatus, MeetingKind
from dangqun.meetings.models import Meeting
from dangqun.members.actions import do_enroll_member, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.models import PartyMember
from tests.conftest import make_user

_seq = itertools.count(100)


def make_id(born: date, *, region: str = "310101") -> str:
    """A valid GB 11643 number (a fresh sequence number each call)."""
    first17 = f"{region}{born:%Y%m%d}{next(_seq) % 1000:03d}"
    return first17 + id_check_char(first17)


def enroll(
    branch, actor, name: str, *, status: str = Status.FULL, user=None, group=None, i: int = 0
) -> PartyMember:
    return do_enroll_member(
        branch=branch,
        name=name,
        id_number=make_id(date(1960 + i % 40, 1 + i % 12, 1 + i % 28)),
        status=status,
        admitted_on=date(2015, 7, 1) if status == Status.FULL else date(2026, 7, 1),
        actor=actor,
        user=user,
        group=group,
    )


@pytest.fixture
def at():
    """A fixed meeting time in the past (Shanghai 2026-03-10 14:00)."""
    return timezone.make_aware(datetime(2026, 3, 10, 14, 0))


@pytest.fixture
def member_record(tree, secretary, member) -> PartyMember:
    """The member persona's own party record: a full member of branch A, in group A."""
    return enroll(tree.branch_a, secretary, "张党员", user=member, group=tree.group_a, i=1)


@pytest.fixture
def roster(tree, secretary, member_record) -> list[PartyMember]:
    """Branch A: 10 full members (the member persona among them) and 2 probationary members."""
    people = [member_record]
    people += [enroll(tree.branch_a, secretary, f"正式{i}", i=i + 2) for i in range(9)]
    people += [
        enroll(tree.branch_a, secretary, f"预备{i}", status=Status.PROBATIONARY, i=i + 20) for i in range(2)
    ]
    return people


@pytest.fixture
def voter_user(tree):
    """Make a user with a member grant in branch A linked to a party member record."""

    def make(person: PartyMember, username: str | None = None):
        user = make_user(username or f"u{person.pk}", Role.MEMBER, tree.branch_a, full_name=person.name)
        PartyMember.objects.filter(pk=person.pk).update(user=user)
        person.user = user
        return user

    return make


@pytest.fixture
def candidate(tree, secretary) -> PartyMember:
    return do_register_applicant(
        branch=tree.branch_a,
        name="周发展",
        id_number=make_id(date(1995, 5, 20)),
        applied_on=date(2023, 1, 10),
        actor=secretary,
    )


def make_meeting(org, actor, at, kind: str = MeetingKind.BRANCH_ASSEMBLY, **kw: Any) -> Meeting:
    kw.setdefault("topic", "学习贯彻党的二十届三中全会精神")
    kw.setdefault("place", "党群服务中心二楼")
    return actions.do_create_meeting(organization=org, kind=kind, starts_at=at, actor=actor, **kw)


def mark(meeting: Meeting, actor, present: list[PartyMember], absent: list[PartyMember] = ()) -> None:
    entries = {p.pk: (AttendanceStatus.PRESENT, "") for p in present}
    entries.update({p.pk: (AttendanceStatus.ABSENT, "出差") for p in absent})
    actions.do_record_attendance(meeting, entries, actor=actor)


def hold(meeting: Meeting, actor, present: list[PartyMember] | None = None) -> Meeting:
    """Record everyone present (or `present` present and the rest on leave), minutes, close."""
    rows = list(meeting.attendance.all())
    chosen = {p.pk for p in present} if present is not None else {r.member_id for r in rows}
    actions.do_record_attendance(
        meeting,
        {
            r.member_id: (AttendanceStatus.PRESENT, "")
            if r.member_id in chosen
            else (AttendanceStatus.LEAVE, "病假")
            for r in rows
        },
        actor=actor,
    )
    actions.do_update_meeting(meeting, actor=actor, minutes="会议记录。")
    return actions.do_close_meeting(meeting, actor=actor, now=meeting.starts_at + timedelta(hours=2))
