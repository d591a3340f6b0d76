"""Every change to meetings, attendance, polls, 四议两公开 and appraisals.

Each action: checks the actor's right on the organization (`meetings.change`), applies the rules
(every broken rule reported at once), saves, and writes one audit event — inside one
transaction, so a refused action leaves nothing half-saved.

Secret ballots: a cast fills a randomly chosen empty ballot slot and ticks the voter on the
roll; the audit event says that someone voted, never what. Closing the poll writes the ballots
again in a shuffled order with new random keys and the roll in member order, so no stored
order or key follows the order in which people voted.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation, Violation, raise_if_any
from dangqun.core.notifications import notify
from dangqun.core.permissions import require
from dangqun.members.choices import Status
from dangqun.members.models import PartyMember
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization
from dangqun.orgs.rules import add_years

from . import queries
from . import rules as R
from .choices import (
    NEEDS_REASON,
    ROSTER_KINDS,
    SECRET_MODES,
    AttendanceStatus,
    BallotMode,
    Choice,
    DecisionStatus,
    DecisionStep,
    Grade,
    MeetingKind,
    MeetingStatus,
    PollStatus,
    SignInMethod,
    VillageBody,
    VoteKind,
)
from .models import (
    Appraisal,
    AppraisalEntry,
    Attendance,
    Ballot,
    Candidate,
    DecisionRecord,
    DisciplinaryProbation,
    Election,
    ElectionBallot,
    Meeting,
    MeetingAttachment,
    RollEntry,
    VillageDecision,
    Vote,
    validate_attachment,
)

MANAGE = queries.MANAGE_PERM
EARLIEST = date(2000, 1, 1)
TEXT_MAX = 20_000


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) else None


def _text(
    value: Any, field: str, label: str, found: list[Violation], *, required: bool = True, max_len: int = 200
) -> str:
    text = str(value or "").strip()
    if required and not text:
        found.append(Violation("required", _("请填写%(label)s。") % {"label": label}, field=field))
    elif len(text) > max_len:
        found.append(
            Violation(
                "too_long", _("%(label)s不能超过 %(n)d 个字。") % {"label": label, "n": max_len}, field=field
            )
        )
    return text


def _sane_time(at: datetime, field: str, found: list[Violation]) -> None:
    if timezone.is_naive(at):
        found.append(Violation("naive_time", _("时间须带时区。"), field=field))
        return
    latest = timezone.now() + timedelta(days=2 * 366)
    if not (timezone.localdate(at) >= EARLIEST and at <= latest):
        found.append(
            Violation(
                "time_out_of_range",
                _("时间应在 %(a)s 至 %(b)s 之间。") % {"a": EARLIEST, "b": timezone.localdate(latest)},
                field=field,
            )
        )


def _locked_meeting(meeting: Meeting) -> Meeting:
    return Meeting.objects.select_for_update().select_related("organization", "branch").get(pk=meeting.pk)


def _secretary_lecture_problems(kind: str, lecturer: str, by_secretary: bool) -> list[Violation]:
    """Only a 党课 is the secretary's 党课 (支部工作条例 第十五条), and the record names the lecturer."""
    if not by_secretary:
        return []
    if kind != MeetingKind.LECTURE:
        return [
            Violation(
                "secretary_lecture_kind",
                _("只有党课才能登记为支部书记讲党课。"),
                field="lecturer_is_secretary",
            )
        ]
    if not lecturer:
        return [Violation("required", _("请填写主讲人（支部书记姓名）。"), field="lecturer")]
    return []


QUORUM_FIELDS = ["quorate", "quorum_base", "quorum_present", "quorum_needed", "quorum_source"]


def _assess_quorum(meeting: Meeting, found: list[Violation]) -> bool:
    """Set the quorum of a meeting being recorded as held (or whose attendance is corrected once
    held) from its attendance now. A meeting without its quorum is still recorded, but no
    decision can stand on it: a vote or an election on record is refused — the attendance or
    the poll is wrong, and the secretary must say which. Returns whether fields changed."""
    quorum = queries.meeting_quorum(meeting)
    if quorum is None:
        return False
    if not quorum.quorate and (meeting.votes.exists() or meeting.elections.exists()):
        found.append(
            Violation(
                "polls_without_quorum",
                _("会上已有表决或选举，但按出席登记会议未达到法定人数，请核对出席情况。%(why)s")
                % {"why": quorum.violation.message if quorum.violation else ""},
                quorum.source,
                "attendance",
            )
        )
    before = [getattr(meeting, f) for f in QUORUM_FIELDS]
    meeting.quorate = quorum.quorate
    meeting.quorum_base, meeting.quorum_present = quorum.base, quorum.present
    meeting.quorum_needed, meeting.quorum_source = quorum.needed, quorum.source[:300]
    return before != [getattr(meeting, f) for f in QUORUM_FIELDS]


# ---------------------------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_create_meeting(
    *,
    organization: Organization,
    kind: str,
    topic: str,
    starts_at: datetime,
    actor: Any,
    ends_at: datetime | None = None,
    place: str = "",
    lecturer: str = "",
    lecturer_is_secretary: bool = False,
    attendee_ids: Iterable[Any] | None = None,
) -> Meeting:
    """Record a meeting of a branch or party group (支部工作条例 第十一—十三条). The expected
    attendees come from the roster: the branch's members, a group's members for a 党小组会, or
    the people chosen for a 支委会 or a 谈心谈话 (among the branch's members). A 党课 may be
    recorded as given by the branch secretary (第十五条: at least once a year)."""
    require(actor, MANAGE, organization)
    found: list[Violation] = []
    if kind not in MeetingKind.values:
        raise RuleViolation("meeting_kind", _("请选择会议类型。"), field="kind")
    if organization.kind not in (OrgKind.BRANCH, OrgKind.GROUP):
        raise RuleViolation("meeting_org", _("会议只能由党支部或党小组召开。"), field="organization")
    if (kind == MeetingKind.GROUP) != (organization.kind == OrgKind.GROUP):
        found.append(
            Violation(
                "meeting_org_kind", _("党小组会由党小组召开；其他会议由党支部召开。"), field="organization"
            )
        )
    branch = queries.branch_of(organization)
    if branch is None:
        raise RuleViolation("meeting_org", _("该党小组不在任何党支部之下。"), field="organization")
    clean_topic = _text(topic, "topic", _("会议主题"), found)
    clean_place = _text(place, "place", _("地点"), found, required=False)
    clean_lecturer = _text(lecturer, "lecturer", _("主讲人"), found, required=False, max_len=60)
    found += _secretary_lecture_problems(kind, clean_lecturer, bool(lecturer_is_secretary))
    _sane_time(starts_at, "starts_at", found)
    if ends_at is not None:
        _sane_time(ends_at, "ends_at", found)
        if ends_at < starts_at:
            found.append(Violation("ends_before_start", _("结束时间不能早于开始时间。"), field="ends_at"))
    members: list[PartyMember] = []
    if kind in ROSTER_KINDS or kind == MeetingKind.GROUP:
        members = list(queries.expected_roster(organization, kind))
    else:
        wanted = set()
        for raw in attendee_ids or []:
            try:
                wanted.add(int(raw))
            except (TypeError, ValueError):
                found.append(Violation("attendee_not_found", _("参会人员有误。"), field="attendees"))
        members = list(queries.branch_roster(branch).filter(pk__in=wanted))
        if len(members) != len(wanted):
            found.append(Violation("attendee_not_found", _("参会人员须是本支部的党员。"), field="attendees"))
        if not wanted:
            found.append(
                Violation("attendees_required", _("支委会和谈心谈话须选择参加的人员。"), field="attendees")
            )
    raise_if_any(found)
    meeting = Meeting.objects.create(
        organization=organization,
        branch=branch,
        kind=kind,
        topic=clean_topic,
        place=clean_place,
        lecturer=clean_lecturer,
        lecturer_is_secretary=bool(lecturer_is_secretary),
        starts_at=starts_at,
        ends_at=ends_at,
        held_on=timezone.localdate(starts_at),
        created_by=_user(actor),
    )
    Attendance.objects.bulk_create([Attendance(meeting=meeting, member=m) for m in members])
    audit(actor, "meeting.create", meeting, kind=kind, organization=organization.pk, expected=len(members))
    users = [m.user_id for m in members if m.user_id]
    if users and meeting.starts_at >= timezone.now():
        title = _("会议通知：%(kind)s · %(topic)s") % {"kind": MeetingKind(kind).label, "topic": clean_topic}
        body = _("%(at)s 在 %(place)s") % {
            "at": timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M"),
            "place": clean_place or _("（地点待定）"),
        }
        transaction.on_commit(
            lambda: notify(users, f"meeting:{meeting.pk}:invite", title, body, url=f"/meetings/{meeting.pk}/")
        )
    return meeting


EDITABLE = ("topic", "place", "lecturer", "lecturer_is_secretary", "minutes", "starts_at", "ends_at")


@transaction.atomic
def do_update_meeting(meeting: Meeting, *, actor: Any, **changes: Any) -> Meeting:
    """Change the record of a meeting: times only while it is planned; nothing once cancelled."""
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    found: list[Violation] = []
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise RuleViolation("meeting_field", _("不能修改这些内容：%(f)s") % {"f": "、".join(sorted(unknown))})
    if meeting.status == MeetingStatus.CANCELLED:
        raise RuleViolation("meeting_cancelled", _("会议已取消，不能修改。"))
    if meeting.status != MeetingStatus.PLANNED and ({"starts_at", "ends_at"} & set(changes)):
        found.append(Violation("meeting_held", _("会议已召开，不能再改时间。"), field="starts_at"))
    if "topic" in changes:
        changes["topic"] = _text(changes["topic"], "topic", _("会议主题"), found)
    if "place" in changes:
        changes["place"] = _text(changes["place"], "place", _("地点"), found, required=False)
    if "lecturer" in changes:
        changes["lecturer"] = _text(
            changes["lecturer"], "lecturer", _("主讲人"), found, required=False, max_len=60
        )
    if "lecturer_is_secretary" in changes:
        changes["lecturer_is_secretary"] = bool(changes["lecturer_is_secretary"])
    if {"lecturer", "lecturer_is_secretary"} & set(changes):
        found += _secretary_lecture_problems(
            meeting.kind,
            changes.get("lecturer", meeting.lecturer),
            changes.get("lecturer_is_secretary", meeting.lecturer_is_secretary),
        )
    if "minutes" in changes:
        changes["minutes"] = _text(
            changes["minutes"], "minutes", _("会议记录"), found, required=False, max_len=TEXT_MAX
        )
    starts_at = changes.get("starts_at", meeting.starts_at)
    ends_at = changes.get("ends_at", meeting.ends_at)
    if "starts_at" in changes:
        _sane_time(starts_at, "starts_at", found)
    if "ends_at" in changes and ends_at is not None:
        _sane_time(ends_at, "ends_at", found)
    if ends_at is not None and starts_at is not None and ends_at < starts_at:
        found.append(Violation("ends_before_start", _("结束时间不能早于开始时间。"), field="ends_at"))
    raise_if_any(found)
    for name, value in changes.items():
        setattr(meeting, name, value)
    fields = list(changes)
    if "starts_at" in changes:
        meeting.held_on = timezone.localdate(meeting.starts_at)
        fields.append("held_on")
    if fields:
        meeting.save(update_fields=fields)
    audit(actor, "meeting.update", meeting, fields=sorted(changes))
    return meeting


@transaction.atomic
def do_record_attendance(
    meeting: Meeting, entries: Mapping[Any, tuple[str, str]], *, actor: Any, now: datetime | None = None
) -> int:
    """Record who was present, absent (with the reason) or on leave (with the reason). A sign-in
    by QR stays as it is unless the secretary changes the person's status."""
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    if meeting.status == MeetingStatus.CANCELLED:
        raise RuleViolation("meeting_cancelled", _("会议已取消。"))
    rows = {a.member_id: a for a in meeting.attendance.select_related("member")}
    found: list[Violation] = []
    changed: list[Attendance] = []
    now = now or timezone.now()
    for raw, (status, reason) in entries.items():
        try:
            row = rows[int(raw)]
        except (KeyError, TypeError, ValueError):
            found.append(
                Violation("attendee_not_found", _("应到名单中没有编号为 %(id)s 的党员。") % {"id": raw})
            )
            continue
        reason = (reason or "").strip()
        if status not in AttendanceStatus.values:
            found.append(
                Violation("attendance_status", _("出席情况有误：%(name)s。") % {"name": row.member.name})
            )
            continue
        if status in NEEDS_REASON and not reason:
            found.append(
                Violation(
                    "attendance_reason",
                    _("%(name)s：缺席或请假须写明原因。") % {"name": row.member.name},
                    field=f"reason_{row.member_id}",
                )
            )
            continue
        if len(reason) > 200:
            found.append(Violation("too_long", _("原因不能超过 200 个字。"), field=f"reason_{row.member_id}"))
            continue
        reason = reason if status in NEEDS_REASON else ""
        if (row.status, row.reason) == (status, reason):
            continue
        if status == AttendanceStatus.PRESENT:
            row.method, row.signed_in_at = SignInMethod.RECORDED, now
        else:
            row.method, row.signed_in_at = "", None
        row.status, row.reason = status, reason
        changed.append(row)
    raise_if_any(found)
    Attendance.objects.bulk_update(changed, ["status", "reason", "method", "signed_in_at"])
    # A correction after the meeting was recorded as held reassesses its quorum (inside this
    # transaction: a refused correction leaves the attendance as it was).
    requorum = meeting.status == MeetingStatus.HELD and bool(changed) and _assess_quorum(meeting, found)
    raise_if_any(found)
    if requorum:
        meeting.save(update_fields=QUORUM_FIELDS)
    audit(actor, "meeting.attendance", meeting, changed=len(changed), quorate=meeting.quorate)
    return len(changed)


@transaction.atomic
def do_close_meeting(meeting: Meeting, *, actor: Any, now: datetime | None = None) -> Meeting:
    """Mark the meeting as held: it has started, its minutes are written, every expected
    attendee is accounted for, and no vote or election is still open. Only then does the
    compliance report count it — and, for a 支部党员大会 or a 支委会, only with its quorum
    (支部工作条例 第十一条, 第十二条): one without is recorded as held but not quorate."""
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    now = now or timezone.now()
    found: list[Violation] = []
    if meeting.status != MeetingStatus.PLANNED:
        raise RuleViolation("meeting_not_planned", _("只有已安排的会议才能登记为已召开。"))
    if meeting.starts_at > now:
        found.append(Violation("meeting_not_started", _("会议还没有开始。"), field="starts_at"))
    if not meeting.minutes.strip():
        found.append(Violation("minutes_required", _("请先填写会议记录。"), field="minutes"))
    pending = meeting.attendance.filter(status=AttendanceStatus.EXPECTED).count()
    if pending:
        found.append(
            Violation(
                "attendance_pending",
                _("还有 %(n)d 人未登记出席情况（出席、缺席或请假）。") % {"n": pending},
                field="attendance",
            )
        )
    if (
        meeting.votes.filter(status=PollStatus.OPEN).exists()
        or meeting.elections.filter(status=PollStatus.OPEN).exists()
    ):
        found.append(Violation("poll_open", _("还有未结束的表决或选举。"), field="votes"))
    if not pending:
        _assess_quorum(meeting, found)
    raise_if_any(found)
    meeting.status, meeting.closed_at = MeetingStatus.HELD, now
    meeting.save(update_fields=["status", "closed_at", *QUORUM_FIELDS])
    audit(actor, "meeting.close", meeting, held_on=meeting.held_on, quorate=meeting.quorate)
    return meeting


@transaction.atomic
def do_cancel_meeting(meeting: Meeting, *, actor: Any, reason: str) -> Meeting:
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    found: list[Violation] = []
    reason = _text(reason, "reason", _("取消原因"), found)
    if meeting.status != MeetingStatus.PLANNED:
        found.append(Violation("meeting_not_planned", _("只有已安排的会议才能取消。")))
    if meeting.votes.exists() or meeting.elections.exists():
        found.append(Violation("meeting_has_polls", _("会议已有表决或选举，不能取消。")))
    raise_if_any(found)
    meeting.status = MeetingStatus.CANCELLED
    meeting.save(update_fields=["status"])
    audit(actor, "meeting.cancel", meeting, reason=reason)
    return meeting


@transaction.atomic
def do_attach_file(meeting: Meeting, f: Any, *, actor: Any) -> MeetingAttachment:
    """Attach a scanned record or photo: PDF, PNG or JPEG by content, at most 10 MB."""
    require(actor, MANAGE, meeting.organization)
    if meeting.status == MeetingStatus.CANCELLED:
        raise RuleViolation("meeting_cancelled", _("会议已取消。"))
    try:
        _kind, content_type = validate_attachment(f)
    except ValidationError as exc:
        raise RuleViolation(exc.code or "attachment", exc.messages[0], field="file") from None
    name = str(getattr(f, "name", "") or "")[-200:]
    attachment = MeetingAttachment(
        meeting=meeting, original_name=name, content_type=content_type, size=f.size, uploaded_by=_user(actor)
    )
    attachment.file.save(name or "attachment", f, save=False)
    attachment.save()
    audit(actor, "meeting.attach", meeting, attachment=attachment.pk, size=f.size, content_type=content_type)
    return attachment


@transaction.atomic
def do_sign_in(
    meeting: Meeting,
    code: str,
    *,
    actor: Any,
    now: datetime | None = None,
    seen_at: datetime | None = None,
) -> Attendance:
    """Sign in by the rotating code shown at the meeting (party.md §9). The sign-in binds to the
    signed-in member; it is refused outside the window, with a wrong or old code, or when the
    code was seen too long ago (`seen_at`: when this browser scanned it, kept by the server)."""
    now = now or timezone.now()
    seen_at = seen_at or now
    meeting = Meeting.objects.select_related("branch").get(pk=meeting.pk)
    rules = queries.rules_for(meeting.branch, timezone.localdate(now))
    member = queries.own_member(actor)
    row = (
        Attendance.objects.select_for_update().filter(meeting=meeting, member=member).first()
        if member is not None
        else None
    )
    if row is None:
        raise RuleViolation(
            "signin_not_expected", _("您不在本次会议的应到名单中，请联系党支部书记。"), field="code"
        )
    if meeting.status != MeetingStatus.PLANNED:
        raise RuleViolation("signin_closed", _("会议已结束或已取消，不能签到。"), field="code")
    code_ok = R.code_matches(queries.signin_secret(meeting), meeting.pk, code, seen_at, rules)
    raise_if_any(
        R.check_sign_in(
            code_ok=code_ok,
            seen_at=seen_at,
            now=now,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            rules=rules,
        )
    )
    if row.status == AttendanceStatus.PRESENT:
        return row  # signing in twice changes nothing
    row.status, row.reason, row.method, row.signed_in_at = AttendanceStatus.PRESENT, "", SignInMethod.QR, now
    row.save(update_fields=["status", "reason", "method", "signed_in_at"])
    audit(actor, "meeting.sign_in", meeting, member=member.pk)
    return row


@transaction.atomic
def do_record_disciplinary_probation(
    member: PartyMember,
    *,
    starts_on: date,
    ends_on: date,
    decided_by: str,
    reason: str,
    actor: Any,
) -> DisciplinaryProbation:
    """留党察看 (党章 第四十条: one or two years): while it lasts the member does not vote, elect
    or stand for election."""
    require(actor, "members.change", member.branch)
    found: list[Violation] = []
    decided_by = _text(decided_by, "decided_by", _("决定机关"), found, max_len=120)
    reason = _text(reason, "reason", _("处分事由"), found, max_len=300)
    if member.status != Status.FULL:
        found.append(Violation("probation_status", _("只有正式党员才会受到留党察看处分。"), field="member"))
    if ends_on < starts_on:
        found.append(Violation("probation_dates", _("结束日期不能早于开始日期。"), field="ends_on"))
    elif ends_on > add_years(starts_on, 2):
        found.append(Violation("probation_length", _("留党察看最长不超过两年。"), field="ends_on"))
    if starts_on < EARLIEST or starts_on > timezone.localdate():
        found.append(
            Violation("date_out_of_range", _("开始日期应在 2000 年以后、不晚于今天。"), field="starts_on")
        )
    raise_if_any(found)
    record = DisciplinaryProbation.objects.create(
        member=member,
        starts_on=starts_on,
        ends_on=ends_on,
        decided_by=decided_by,
        reason=reason,
        recorded_by=_user(actor),
    )
    audit(actor, "member.disciplinary_probation", member, starts_on=starts_on, ends_on=ends_on)
    return record


# ---------------------------------------------------------------------------------------------
# Votes of a 支部党员大会 (party.md §3, members.rules.branch_meeting_result)
# ---------------------------------------------------------------------------------------------


def _assembly(meeting: Meeting, what: str) -> list[Violation]:
    found = []
    if meeting.kind != MeetingKind.BRANCH_ASSEMBLY:
        found.append(Violation("not_assembly", _("%(what)s只能在支部党员大会上进行。") % {"what": what}))
    if meeting.status != MeetingStatus.PLANNED:
        found.append(Violation("meeting_not_planned", _("会议已结束或已取消。")))
    return found


def _count(value: Any, field: str, label: str, found: list[Violation]) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        found.append(Violation("count", _("%(label)s应为整数。") % {"label": label}, field=field))
        return 0
    if not 0 <= n <= 1_000_000:
        found.append(
            Violation("count", _("%(label)s应在 0 至 1000000 之间。") % {"label": label}, field=field)
        )
        return 0
    return n


def _open_roll(members: list[PartyMember], slot: type[Ballot | ElectionBallot], **poll: Any) -> None:
    """An online poll's roll and one empty ballot slot per voter, created together: their keys
    and order say nothing of who."""
    RollEntry.objects.bulk_create([RollEntry(member=m, **poll) for m in members])
    slot.objects.bulk_create([slot(**poll) for _m in members])


@transaction.atomic
def do_open_vote(
    meeting: Meeting,
    *,
    kind: str,
    subject: str,
    mode: str,
    actor: Any,
    subject_member: PartyMember | None = None,
    written_for: int = 0,
    written_against: int = 0,
    written_abstain: int = 0,
) -> Vote:
    """Open a vote at a 支部党员大会, one matter or one person at a time. Entitled: full members
    with a vote (not probationary, not under 留党察看); present: those of them present now. It
    is refused without a quorum (more than half of the entitled present). Written opinions of
    absent entitled members, submitted before the meeting, are recorded here."""
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    found = _assembly(meeting, _("表决"))
    subject = _text(subject, "subject", _("表决事项"), found)
    if kind not in VoteKind.values:
        found.append(Violation("vote_kind", _("请选择事项类型。"), field="kind"))
    if mode not in BallotMode.values:
        found.append(Violation("vote_mode", _("请选择表决方式。"), field="mode"))
    wanted_status = {VoteKind.ADMISSION: Status.CANDIDATE, VoteKind.FULL_MEMBERSHIP: Status.PROBATIONARY}
    if kind in wanted_status:
        if subject_member is None or subject_member.branch_id != meeting.branch_id:
            found.append(Violation("vote_subject", _("请选择本支部的表决对象。"), field="subject_member"))
        elif subject_member.status != wanted_status[kind]:
            found.append(
                Violation(
                    "vote_subject_status",
                    _("%(name)s 目前是%(status)s，不能就此事项表决。")
                    % {"name": subject_member.name, "status": Status(subject_member.status).label},
                    field="subject_member",
                )
            )
    elif subject_member is not None and subject_member.branch_id != meeting.branch_id:
        found.append(Violation("vote_subject", _("请选择本支部的表决对象。"), field="subject_member"))
    written = [
        _count(written_for, "written_for", _("书面意见赞成"), found),
        _count(written_against, "written_against", _("书面意见反对"), found),
        _count(written_abstain, "written_abstain", _("书面意见弃权"), found),
    ]
    rules = queries.rules_for(meeting.branch, meeting.held_on)
    entitled, voters = queries.roll_call(meeting)
    found += R.quorum_problems(len(entitled), len(voters), rules)
    if not found:
        check = R.vote_outcome(
            entitled=len(entitled),
            present=len(voters),
            in_favour=0,
            against=0,
            abstain=0,
            written_for=written[0],
            written_against=written[1],
            written_abstain=written[2],
            rules=rules,
        )
        found += [v for v in check.violations if v.code == "vote_counts"]
    raise_if_any(found)
    vote = Vote.objects.create(
        meeting=meeting,
        kind=kind,
        subject=subject,
        subject_member=subject_member,
        mode=mode,
        entitled=len(entitled),
        present=len(voters),
        written_for=written[0],
        written_against=written[1],
        written_abstain=written[2],
        opened_by=_user(actor),
    )
    if mode == BallotMode.ONLINE:
        _open_roll(voters, Ballot, vote=vote)
    audit(
        actor, "vote.open", vote, meeting=meeting.pk, entitled=vote.entitled, present=vote.present, mode=mode
    )
    return vote


def _roll_entry(actor: Any, **poll: Any) -> RollEntry:
    member = queries.own_member(actor)
    entry = (
        RollEntry.objects.select_for_update().filter(member=member, **poll).first()
        if member is not None
        else None
    )
    if entry is None:
        raise RuleViolation(
            "not_on_roll", _("您不在本次投票的名单中（须是到会的有表决权的正式党员）。"), field="choice"
        )
    if entry.has_voted:
        raise RuleViolation("already_voted", _("您已经投过票了，每人只能投一次。"), field="choice")
    return entry


def _fill_a_slot(empty_slots: QuerySet, entry: RollEntry, **ballot: Any) -> None:
    """Put the ballot into an empty slot picked at random (the slot says nothing of the voter)
    and mark the voter's roll entry as voted."""
    empty = list(empty_slots.values_list("pk", flat=True))
    if not empty:  # cannot happen: one slot per voter on the roll
        raise RuleViolation("ballot_box_full", _("票箱已满。"))
    empty_slots.model.objects.filter(pk=secrets.choice(empty)).update(**ballot)
    entry.has_voted = True
    entry.save(update_fields=["has_voted"])


@transaction.atomic
def do_cast_ballot(vote: Vote, choice: str, *, actor: Any) -> None:
    """Cast a secret ballot in an online vote. Returns nothing: the ballot is not the voter's."""
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    if vote.status != PollStatus.OPEN or vote.mode != BallotMode.ONLINE:
        raise RuleViolation("poll_closed", _("这项表决不在进行中，或不是在线投票。"), field="choice")
    if choice not in Choice.values:
        raise RuleViolation("ballot_choice", _("请选择赞成、反对或弃权。"), field="choice")
    entry = _roll_entry(actor, vote=vote)
    _fill_a_slot(Ballot.objects.filter(vote=vote, choice=""), entry, choice=choice)
    audit(actor, "vote.ballot_cast", vote)


def _shuffled(items: list[Any]) -> list[Any]:
    out = list(items)
    secrets.SystemRandom().shuffle(out)
    return out


def _reseal(slot: type[Ballot | ElectionBallot], field: str, cast: list[Any], **poll: Any) -> None:
    """After counting an online poll, write its cast ballots (each one's `field`) again in a
    shuffled order and its roll again by member: neither the keys nor the order of the rows
    tell who voted how."""
    slot.objects.filter(**poll).delete()
    slot.objects.bulk_create([slot(**poll, **{field: c}) for c in _shuffled(cast)])
    roll = list(RollEntry.objects.filter(**poll).order_by("member_id").values_list("member_id", "has_voted"))
    RollEntry.objects.filter(**poll).delete()
    RollEntry.objects.bulk_create([RollEntry(member_id=m, has_voted=v, **poll) for m, v in roll])


@transaction.atomic
def do_close_vote(
    vote: Vote,
    *,
    actor: Any,
    in_favour: int | None = None,
    against: int | None = None,
    abstain: int | None = None,
    now: datetime | None = None,
) -> Vote:
    """Close a vote and record its outcome: adopted when in favour (with the written opinions)
    are more than half of the ENTITLED. Counts are entered for a show of hands or paper ballots;
    an online vote counts its ballots, which are then written again in a shuffled order."""
    require(actor, MANAGE, vote.meeting.organization)
    vote = Vote.objects.select_for_update().select_related("meeting", "meeting__branch").get(pk=vote.pk)
    if vote.status != PollStatus.OPEN:
        raise RuleViolation("poll_closed", _("这项表决已经结束。"))
    found: list[Violation] = []
    if vote.mode == BallotMode.ONLINE:
        tally = dict.fromkeys(Choice.values, 0)
        for choice in Ballot.objects.filter(vote=vote).exclude(choice="").values_list("choice", flat=True):
            tally[choice] += 1
        counts = [tally[Choice.FOR], tally[Choice.AGAINST], tally[Choice.ABSTAIN]]
    else:
        counts = [
            _count(in_favour, "in_favour", _("赞成票"), found),
            _count(against, "against", _("反对票"), found),
            _count(abstain, "abstain", _("弃权票"), found),
        ]
    raise_if_any(found)
    rules = queries.rules_for(vote.meeting.branch, vote.meeting.held_on)
    outcome = R.vote_outcome(
        entitled=vote.entitled,
        present=vote.present,
        in_favour=counts[0],
        against=counts[1],
        abstain=counts[2],
        written_for=vote.written_for,
        written_against=vote.written_against,
        written_abstain=vote.written_abstain,
        rules=rules,
    )
    raise_if_any([v for v in outcome.violations if v.code == "vote_counts"])
    if vote.mode == BallotMode.ONLINE:
        cast = list(Ballot.objects.filter(vote=vote).exclude(choice="").values_list("choice", flat=True))
        _reseal(Ballot, "choice", cast, vote=vote)
    vote.in_favour, vote.against, vote.abstain = counts
    vote.quorum, vote.adopted = outcome.quorum, outcome.adopted
    vote.quorum_needed, vote.votes_needed = outcome.quorum_needed, outcome.votes_needed
    vote.source = rules.source("party.vote.majority_fraction_of_entitled")
    vote.status, vote.closed_at = PollStatus.CLOSED, now or timezone.now()
    vote.save()
    audit(
        actor,
        "vote.close",
        vote,
        in_favour=counts[0],
        against=counts[1],
        abstain=counts[2],
        written_for=vote.written_for,
        adopted=outcome.adopted,
    )
    return vote


# ---------------------------------------------------------------------------------------------
# Elections (party.md §4, members.rules.election_result)
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_open_election(
    meeting: Meeting,
    *,
    title: str,
    seats: int,
    candidate_ids: Iterable[Any],
    mode: str,
    actor: Any,
) -> Election:
    """Open a committee election. Refused unless: more than 4/5 of the entitled are present,
    there are at least 20% more candidates than seats (差额), the ballot is secret, and every
    candidate is a full member of the branch with the right to be elected."""
    require(actor, MANAGE, meeting.organization)
    meeting = _locked_meeting(meeting)
    found = _assembly(meeting, _("选举"))
    title = _text(title, "title", _("选举事项"), found)
    seats = _count(seats, "seats", _("应选人数"), found)
    if seats < 1:
        found.append(Violation("seats", _("应选人数至少为 1。"), field="seats"))
    if mode not in SECRET_MODES:
        found.append(Violation("election_not_secret", _("选举应采用无记名投票方式。"), field="mode"))
    entitled, voters = queries.roll_call(meeting)
    eligible = {m.pk: m for m in entitled}
    wanted: list[int] = []
    for raw in candidate_ids:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError):
            wanted.append(-1)
    if len(set(wanted)) != len(wanted):
        found.append(Violation("candidate_twice", _("同一人不能重复列为候选人。"), field="candidates"))
    if any(pk not in eligible for pk in wanted):
        found.append(
            Violation(
                "candidate_not_eligible",
                _("候选人须是本支部有选举权和被选举权的正式党员（预备党员、受留党察看处分的党员除外）。"),
                field="candidates",
            )
        )
    if seats >= 1:
        rules = queries.rules_for(meeting.branch, meeting.held_on)
        found += R.election_problems(len(entitled), len(voters), len(set(wanted)), seats, rules)
    raise_if_any(found)
    election = Election.objects.create(
        meeting=meeting,
        title=title,
        seats=seats,
        mode=mode,
        entitled=len(entitled),
        present=len(voters),
        opened_by=_user(actor),
    )
    Candidate.objects.bulk_create([Candidate(election=election, member=eligible[pk]) for pk in wanted])
    if mode == BallotMode.ONLINE:
        _open_roll(voters, ElectionBallot, election=election)
    audit(
        actor,
        "election.open",
        election,
        meeting=meeting.pk,
        seats=seats,
        candidates=len(wanted),
        entitled=election.entitled,
        present=election.present,
    )
    return election


@transaction.atomic
def do_cast_election_ballot(election: Election, candidate_ids: Iterable[Any], *, actor: Any) -> None:
    """Cast a secret ballot marking at most `seats` candidates (none is a valid blank ballot)."""
    election = Election.objects.select_for_update().get(pk=election.pk)
    if election.status != PollStatus.OPEN or election.mode != BallotMode.ONLINE:
        raise RuleViolation("poll_closed", _("这项选举不在进行中，或不是在线投票。"), field="candidates")
    try:
        chosen = [int(c) for c in candidate_ids]
    except (TypeError, ValueError):
        raise RuleViolation(
            "ballot_candidates", _("选票上只能选择本次选举的候选人。"), field="candidates"
        ) from None
    allowed = list(election.candidates.values_list("pk", flat=True))
    raise_if_any(R.ballot_problems(chosen, allowed, election.seats))
    entry = _roll_entry(actor, election=election)
    _fill_a_slot(
        ElectionBallot.objects.filter(election=election, selections__isnull=True),
        entry,
        selections=sorted(chosen),
    )
    audit(actor, "election.ballot_cast", election)


@transaction.atomic
def do_close_election(
    election: Election,
    *,
    actor: Any,
    votes: Mapping[Any, Any] | None = None,
    now: datetime | None = None,
) -> Election:
    """Count and record the result per candidate: elected with more than half of the votes of
    those present, most votes first; a tie for the last seat and seats left empty are reported
    (another ballot, or a further election for the missing seats)."""
    require(actor, MANAGE, election.meeting.organization)
    election = (
        Election.objects.select_for_update().select_related("meeting", "meeting__branch").get(pk=election.pk)
    )
    if election.status != PollStatus.OPEN:
        raise RuleViolation("poll_closed", _("这项选举已经结束。"))
    candidates = list(election.candidates.select_related("member"))
    found: list[Violation] = []
    if election.mode == BallotMode.ONLINE:
        tally = {c.pk: 0 for c in candidates}
        cast = list(
            ElectionBallot.objects.filter(election=election, selections__isnull=False).values_list(
                "selections", flat=True
            )
        )
        for selections in cast:
            for pk in selections:
                tally[pk] = tally.get(pk, 0) + 1
    else:
        given = {str(k): v for k, v in (votes or {}).items()}
        tally = {}
        for c in candidates:
            if str(c.pk) not in given:
                found.append(
                    Violation(
                        "votes_missing",
                        _("请填写 %(name)s 的得票数。") % {"name": c.member.name},
                        field=f"votes_{c.pk}",
                    )
                )
            else:
                tally[c.pk] = _count(given[str(c.pk)], f"votes_{c.pk}", c.member.name, found)
    raise_if_any(found)
    rules = queries.rules_for(election.meeting.branch, election.meeting.held_on)
    outcome = R.election_outcome(
        election.entitled, election.present, {str(pk): n for pk, n in tally.items()}, election.seats, rules
    )
    raise_if_any([v for v in outcome.result.violations if v.code == "election_counts"])
    elected = {int(pk) for pk in outcome.result.elected}
    for c in candidates:
        c.votes, c.elected = tally[c.pk], c.pk in elected
    Candidate.objects.bulk_update(candidates, ["votes", "elected"])
    if election.mode == BallotMode.ONLINE:
        _reseal(ElectionBallot, "selections", cast, election=election)
    result = outcome.result
    election.valid = result.valid
    election.runoff = [int(pk) for pk in result.runoff]
    election.shortfall = outcome.shortfall
    election.turnout_needed, election.votes_needed = result.turnout_needed, result.votes_needed
    election.candidates_needed = result.candidates_needed
    election.problems = [v.as_dict() for v in result.violations] + [
        {"code": "note", "message": n} for n in outcome.notes
    ]
    election.status, election.closed_at = PollStatus.CLOSED, now or timezone.now()
    election.save()
    audit(
        actor,
        "election.close",
        election,
        valid=result.valid,
        elected=sorted(elected),
        runoff=election.runoff,
        shortfall=outcome.shortfall,
        votes={str(k): v for k, v in tally.items()},
    )
    return election


# ---------------------------------------------------------------------------------------------
# 四议两公开 (party.md §8)
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_start_decision(*, branch: Organization, title: str, summary: str = "", actor: Any) -> VillageDecision:
    """Start a village matter through 四议两公开 (村、社区 party organizations)."""
    require(actor, MANAGE, branch)
    found: list[Violation] = []
    title = _text(title, "title", _("事项"), found)
    summary = _text(summary, "summary", _("事项说明"), found, required=False, max_len=TEXT_MAX)
    if branch.kind != OrgKind.BRANCH:
        found.append(Violation("decision_branch", _("请选择党支部。"), field="branch"))
    elif not branch.is_village_or_community:
        found.append(Violation("decision_branch", _("四议两公开适用于村（社区）党组织。"), field="branch"))
    raise_if_any(found)
    decision = VillageDecision.objects.create(
        branch=branch, title=title, summary=summary, created_by=_user(actor)
    )
    audit(actor, "decision.start", decision, branch=branch.pk)
    return decision


def _date(
    value: Any, field: str, label: str, found: list[Violation], *, required: bool = True
) -> date | None:
    if value in (None, ""):
        if required:
            found.append(Violation("required", _("请填写%(label)s。") % {"label": label}, field=field))
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            found.append(Violation("date", _("%(label)s不是有效日期。") % {"label": label}, field=field))
            return None
    if not EARLIEST <= value <= timezone.localdate():
        found.append(
            Violation(
                "date_out_of_range",
                _("%(label)s应在 2000 年以后、不晚于今天。") % {"label": label},
                field=field,
            )
        )
        return None
    return value


@transaction.atomic
def do_record_decision_step(
    decision: VillageDecision,
    step: int,
    *,
    held_on: Any,
    actor: Any,
    data: Mapping[str, Any] | None = None,
    notes: str = "",
) -> DecisionRecord:
    """Record the next step of 四议两公开. A step cannot start before its predecessor, nor be
    dated before it; the 党员大会 and the 村民（代表）会议 are checked against their thresholds
    (notice, quorum: blocking) and their majority (a matter not adopted stops there)."""
    require(actor, MANAGE, decision.branch)
    decision = VillageDecision.objects.select_for_update().select_related("branch").get(pk=decision.pk)
    data = dict(data or {})
    found: list[Violation] = []
    if decision.status != DecisionStatus.IN_PROGRESS:
        raise RuleViolation(
            "decision_closed", _("这项事项已经%(s)s。") % {"s": DecisionStatus(decision.status).label}
        )
    expected = decision.next_step
    if step not in DecisionStep.values or step != expected:
        raise RuleViolation(
            "decision_order",
            _("须按顺序办理：下一步是“%(next)s”。") % {"next": DecisionStep(expected).label},
            field="step",
        )
    on = _date(held_on, "held_on", _("日期"), found)
    previous = decision.records.filter(step=step - 1).first() if step > 1 else None
    if on and previous and on < previous.held_on:
        found.append(
            Violation(
                "decision_date_order",
                _("日期不能早于上一步“%(prev)s”（%(d)s）。")
                % {"prev": DecisionStep(previous.step).label, "d": previous.held_on},
                field="held_on",
            )
        )
    notes = _text(notes, "notes", _("说明"), found, required=False, max_len=TEXT_MAX)
    rules = queries.rules_for(decision.branch, on or timezone.localdate())
    passed, clean = True, {}
    if step == DecisionStep.PROPOSAL:
        clean["proposal"] = _text(data.get("proposal"), "proposal", _("提议内容"), found, max_len=TEXT_MAX)
    elif step == DecisionStep.CONSULTATION:
        clean["opinion"] = _text(data.get("opinion"), "opinion", _("商议意见"), found, max_len=TEXT_MAX)
    elif step == DecisionStep.MEMBER_REVIEW:
        plan = _date(data.get("plan_sent_on"), "plan_sent_on", _("方案送达日期"), found)
        counts = [
            _count(data.get(k), k, label, found)
            for k, label in (
                ("entitled", _("应到党员")),
                ("present", _("实到党员")),
                ("in_favour", _("赞成")),
            )
        ]
        if on and plan and not found:
            check = R.check_member_review(
                plan_sent_on=plan,
                held_on=on,
                entitled=counts[0],
                present=counts[1],
                in_favour=counts[2],
                rules=rules,
            )
            found += check.problems
            passed = check.adopted
        clean.update(plan_sent_on=plan, entitled=counts[0], present=counts[1], in_favour=counts[2])
    elif step == DecisionStep.VILLAGER_DECISION:
        body = data.get("body")
        if body not in VillageBody.values:
            found.append(Violation("village_body", _("请选择村民会议或村民代表会议。"), field="body"))
        by_households = bool(data.get("by_households")) and body == VillageBody.VILLAGERS
        notice = _date(
            data.get("notice_on"), "notice_on", _("通知日期"), found, required=body == VillageBody.VILLAGERS
        )
        counts = [
            _count(data.get(k), k, label, found)
            for k, label in (
                ("total", _("应到人数（户数）")),
                ("present", _("到会人数（户数）")),
                ("in_favour", _("赞成")),
            )
        ]
        if on and not found:
            check = R.check_village_decision(
                body=body,
                notice_on=notice,
                held_on=on,
                total=counts[0],
                present=counts[1],
                in_favour=counts[2],
                rules=rules,
                by_households=by_households,
            )
            found += check.problems
            passed = check.adopted
        clean.update(
            body=body,
            by_households=by_households,
            notice_on=notice,
            total=counts[0],
            present=counts[1],
            in_favour=counts[2],
        )
    elif step == DecisionStep.RESOLUTION_PUBLIC:
        clean["resolution"] = _text(
            data.get("resolution"), "resolution", _("决议内容"), found, max_len=TEXT_MAX
        )
        clean["place"] = _text(data.get("place"), "place", _("公开方式或地点"), found)
    else:
        clean["result"] = _text(data.get("result"), "result", _("实施结果"), found, max_len=TEXT_MAX)
        clean["place"] = _text(data.get("place"), "place", _("公开方式或地点"), found)
    raise_if_any(found)
    record = DecisionRecord.objects.create(
        decision=decision,
        step=step,
        held_on=on,
        passed=passed,
        data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in clean.items()},
        notes=notes,
        recorded_by=_user(actor),
    )
    if not passed:
        decision.status = DecisionStatus.REJECTED
    elif step == DecisionStep.RESULT_PUBLIC:
        decision.status = DecisionStatus.COMPLETED
    if decision.status != DecisionStatus.IN_PROGRESS:
        decision.save(update_fields=["status"])
    audit(actor, "decision.step", decision, step=step, held_on=on, passed=passed)
    return record


# ---------------------------------------------------------------------------------------------
# 民主评议党员
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def do_open_appraisal(*, branch: Organization, year: int, actor: Any) -> Appraisal:
    """Open the year's appraisal: every probationary and full member takes part; full members
    will get a grade, probationary members none; the cap on 优秀 is fixed from the rule."""
    require(actor, MANAGE, branch)
    found: list[Violation] = []
    if branch.kind != OrgKind.BRANCH:
        found.append(Violation("appraisal_branch", _("民主评议由党支部组织。"), field="branch"))
    this_year = timezone.localdate().year
    if not EARLIEST.year <= int(year) <= this_year:
        found.append(Violation("appraisal_year", _("年度应在 2000 年至今年之间。"), field="year"))
    raise_if_any(found)
    members = list(queries.branch_roster(branch))
    graded = [m for m in members if m.status == Status.FULL]
    rules = queries.rules_for(
        branch, date(int(year), 12, 31) if int(year) < this_year else timezone.localdate()
    )
    try:
        with transaction.atomic():
            appraisal = Appraisal.objects.create(
                branch=branch,
                year=int(year),
                excellent_cap=R.excellent_cap(len(graded), rules),
                source=rules.source("meetings.appraisal.excellent_cap_fraction"),
                created_by=_user(actor),
            )
    except IntegrityError:
        raise RuleViolation("appraisal_exists", _("该支部本年度的民主评议已经开始。"), field="year") from None
    AppraisalEntry.objects.bulk_create(
        [AppraisalEntry(appraisal=appraisal, member=m, graded=m.status == Status.FULL) for m in members]
    )
    audit(
        actor,
        "appraisal.open",
        appraisal,
        year=appraisal.year,
        participants=len(members),
        cap=appraisal.excellent_cap,
    )
    return appraisal


@transaction.atomic
def do_record_grades(
    appraisal: Appraisal, grades: Mapping[Any, str], *, actor: Any, close: bool = False
) -> Appraisal:
    """Record the grades the branch decided (member id → grade; "" clears). The whole set is
    checked: no grade for probationary members, 优秀 within the cap; closing needs every full
    member graded."""
    require(actor, MANAGE, appraisal.branch)
    appraisal = Appraisal.objects.select_for_update().select_related("branch").get(pk=appraisal.pk)
    if appraisal.status != PollStatus.OPEN:
        raise RuleViolation("appraisal_closed", _("本次民主评议已经结束。"))
    entries = {e.member_id: e for e in appraisal.entries.select_related("member")}
    found: list[Violation] = []
    merged = {pk: e.grade for pk, e in entries.items()}
    for raw, grade in grades.items():
        try:
            merged[int(raw)] = (grade or "").strip()
        except (TypeError, ValueError):
            found.append(Violation("appraisal_unknown", _("评议名单中没有这些党员。"), field="grades"))
    rules = queries.rules_for(appraisal.branch)
    found += R.grade_problems(
        merged,
        graded_ids=[pk for pk, e in entries.items() if e.graded],
        ungraded_ids=[pk for pk, e in entries.items() if not e.graded],
        rules=rules,
    )
    if close:
        missing = [e.member.name for pk, e in entries.items() if e.graded and not merged.get(pk)]
        if missing:
            found.append(
                Violation(
                    "appraisal_incomplete",
                    _("还有 %(n)d 名正式党员没有评定等次：%(names)s。")
                    % {"n": len(missing), "names": "、".join(missing)},
                    field="grades",
                )
            )
    raise_if_any(found)
    changed = []
    for pk, e in entries.items():
        if e.graded and merged.get(pk, "") != e.grade:
            e.grade = merged[pk]
            changed.append(e)
    AppraisalEntry.objects.bulk_update(changed, ["grade"])
    if close:
        appraisal.status, appraisal.closed_at = PollStatus.CLOSED, timezone.now()
        appraisal.save(update_fields=["status", "closed_at"])
    tally = {g: sum(1 for pk in entries if merged.get(pk) == g) for g in Grade.values}
    audit(actor, "appraisal.grades", appraisal, changed=len(changed), closed=close, tally=tally)
    return appraisal
