"""Meetings (三会一课 and organizational life), votes, elections, 四议两公开, annual appraisal.

party.md §3, §4, §8, §9. State changes happen only in actions.py.

Secret ballots (§4): who has voted (RollEntry) and what was voted (Ballot, ElectionBallot) are
kept apart. A ballot has a random UUID key, no voter, no time; the slots are created in one
batch when the poll opens and each cast fills a randomly chosen empty slot, so neither the
keys nor the rows' physical order follow the order of the voters. When the poll closes, the
ballots are written again in a shuffled order and the roll in member order (see actions).
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dangqun.members.models import sniff_evidence

from .choices import (
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
    VoteKind,
)

ATTACHMENT_EXTENSIONS = {".pdf": "pdf", ".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}


def attachment_max_bytes() -> int:
    return int(getattr(settings, "MEETINGS_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


def validate_attachment(f) -> tuple[str, str]:
    """PDF, PNG or JPEG, recognised by its first bytes (not by the name a browser sends) and
    matching its extension; at most 10 MB by default. Returns (kind, content type)."""
    limit = attachment_max_bytes()
    if f.size > limit:
        raise ValidationError(
            _("附件不能超过 %(mb)s MB，该文件为 %(size).1f MB。")
            % {"mb": limit // (1024 * 1024), "size": f.size / (1024 * 1024)},
            code="attachment_too_large",
        )
    ext = Path(f.name or "").suffix.lower()
    f.seek(0)
    head = f.read(16)
    f.seek(0)
    sniffed = sniff_evidence(head)
    if ext not in ATTACHMENT_EXTENSIONS or sniffed is None or ATTACHMENT_EXTENSIONS[ext] != sniffed[0]:
        raise ValidationError(
            _("附件只能是 PDF、PNG 或 JPG 文件，且文件内容须与扩展名一致。"), code="attachment_type"
        )
    return sniffed


def new_signin_key() -> str:
    return secrets.token_hex(16)


class Meeting(models.Model):
    """One meeting of a branch or a party group (支部工作条例 第十一—十三条).

    `branch` is the branch the meeting belongs to (the group's branch for a 党小组会): the
    compliance report counts by it. `held_on` is the Shanghai date of `starts_at`. The
    expected attendees are the Attendance rows, taken from the roster when the meeting is
    created. `signin_key` keys the rotating sign-in codes of this meeting only.

    Quorum (支部工作条例 第十一条 for the 支部党员大会, 第十二条 for the 支委会) is assessed when
    the meeting is recorded as held, and again whenever its attendance is corrected: `quorate`
    is None for the other kinds (and for meetings held before the check existed). A meeting
    without its quorum stays on record — the record proves what happened — but is not counted
    as held in the compliance report. `lecturer_is_secretary`: the 党课 was given by the
    branch's own secretary (第十五条: at least once a year), as the record states it on the day;
    the platform's role grants are no history of who was secretary when.
    """

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="meetings", verbose_name=_("组织")
    )
    branch = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.PROTECT,
        related_name="branch_meetings",
        verbose_name=_("党支部"),
    )
    kind = models.CharField(_("类型"), max_length=20, choices=MeetingKind.choices)
    topic = models.CharField(_("主题"), max_length=200)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    held_on = models.DateField(_("日期"), editable=False)
    lecturer = models.CharField(_("主讲人"), max_length=60, blank=True)
    lecturer_is_secretary = models.BooleanField(_("主讲人是本支部书记"), default=False)
    status = models.CharField(
        _("状态"), max_length=20, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    minutes = models.TextField(_("会议记录"), blank=True)
    signin_key = models.CharField(max_length=32, default=new_signin_key, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    quorate = models.BooleanField(_("达到法定人数"), null=True, blank=True)
    # What the quorum was computed from, kept as it was then: committee size and voting rights
    # change later, the record must not.
    quorum_base = models.PositiveIntegerField(_("应到人数（法定人数基数）"), default=0)
    quorum_present = models.PositiveIntegerField(_("实到人数（计入法定人数）"), default=0)
    quorum_needed = models.PositiveIntegerField(_("法定人数（至少）"), default=0)
    quorum_source = models.CharField(_("法定人数依据"), max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("会议")
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["branch", "held_on"], name="meeting_branch_day"),
            models.Index(fields=["branch", "kind", "status", "held_on"], name="meeting_compliance"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                name="meeting_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.held_on} {self.get_kind_display()}：{self.topic}"


class Attendance(models.Model):
    """One expected attendee of a meeting and what became of them: present (signed in by QR
    or recorded by the secretary), absent with a reason, or on leave with a reason."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(
        "members.PartyMember", on_delete=models.PROTECT, related_name="meeting_attendance"
    )
    status = models.CharField(
        _("出席情况"), max_length=20, choices=AttendanceStatus.choices, default=AttendanceStatus.EXPECTED
    )
    reason = models.CharField(_("缺席或请假原因"), max_length=200, blank=True)
    method = models.CharField(_("签到方式"), max_length=20, choices=SignInMethod.choices, blank=True)
    signed_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("出席情况")
        ordering = ["meeting_id", "member__name", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "member"], name="attendance_once"),
            models.CheckConstraint(
                condition=~Q(status__in=[AttendanceStatus.ABSENT, AttendanceStatus.LEAVE], reason=""),
                name="attendance_absence_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.meeting_id}: {self.status}"


class MeetingAttachment(models.Model):
    """A scanned record, photo or document of the meeting: PDF or image, checked by content."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("文件"), upload_to="meetings/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("会议附件")
        ordering = ["meeting_id", "id"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class DisciplinaryProbation(models.Model):
    """留党察看: during it the member has no right to vote, elect or be elected (党章 第四十条;
    party.md §4). Recorded once with its dates and the deciding organization, then used by
    every vote, election and appraisal of the period."""

    member = models.ForeignKey(
        "members.PartyMember", on_delete=models.PROTECT, related_name="disciplinary_probations"
    )
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    decided_by = models.CharField(_("决定机关"), max_length=120)
    reason = models.CharField(_("处分事由"), max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("留党察看")
        ordering = ["member_id", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="probation_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.starts_on}–{self.ends_on}"


class Vote(models.Model):
    """A decision of a 支部党员大会 on one matter or one person (candidates one by one).

    `entitled`: full members of the branch with a vote on the day (probationary members and
    members under 留党察看 have none); `present`: those of them present when the vote opened.
    Written opinions submitted before the meeting by entitled members who are absent count as
    votes (支部工作条例 第九条). The outcome is the arithmetic of members.rules.branch_meeting_result.
    """

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="votes")
    kind = models.CharField(_("事项类型"), max_length=20, choices=VoteKind.choices)
    subject = models.CharField(_("表决事项"), max_length=200)
    subject_member = models.ForeignKey(
        "members.PartyMember",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="votes_about",
        verbose_name=_("表决对象"),
    )
    mode = models.CharField(_("表决方式"), max_length=20, choices=BallotMode.choices)
    status = models.CharField(_("状态"), max_length=20, choices=PollStatus.choices, default=PollStatus.OPEN)
    entitled = models.PositiveIntegerField(_("应到会有表决权人数"))
    present = models.PositiveIntegerField(_("实到有表决权人数"))
    written_for = models.PositiveIntegerField(_("书面意见赞成"), default=0)
    written_against = models.PositiveIntegerField(_("书面意见反对"), default=0)
    written_abstain = models.PositiveIntegerField(_("书面意见弃权"), default=0)
    in_favour = models.PositiveIntegerField(_("赞成"), null=True, blank=True)
    against = models.PositiveIntegerField(_("反对"), null=True, blank=True)
    abstain = models.PositiveIntegerField(_("弃权"), null=True, blank=True)
    quorum = models.BooleanField(_("达到法定人数"), null=True)
    adopted = models.BooleanField(_("通过"), null=True)
    quorum_needed = models.PositiveIntegerField(default=0)
    votes_needed = models.PositiveIntegerField(default=0)
    source = models.CharField(_("依据"), max_length=300, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("表决")
        ordering = ["meeting_id", "id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def written_total(self) -> int:
        return self.written_for + self.written_against + self.written_abstain

    @property
    def secret(self) -> bool:
        return self.mode != BallotMode.HANDS


class Election(models.Model):
    """A committee election at a 支部党员大会 (基层组织选举工作条例 2020; party.md §4): secret
    ballot, 差额 candidates, valid with more than 4/5 of the entitled present, elected with
    more than half of the votes of those present (members.rules.election_result)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.PROTECT, related_name="elections")
    title = models.CharField(_("选举事项"), max_length=200)
    seats = models.PositiveSmallIntegerField(_("应选人数"))
    mode = models.CharField(_("投票方式"), max_length=20, choices=BallotMode.choices)
    status = models.CharField(_("状态"), max_length=20, choices=PollStatus.choices, default=PollStatus.OPEN)
    entitled = models.PositiveIntegerField(_("应到会有选举权人数"))
    present = models.PositiveIntegerField(_("实到有选举权人数"))
    valid = models.BooleanField(_("选举有效"), null=True)
    runoff = models.JSONField(_("得票相等须再次投票的候选人"), default=list, blank=True)
    shortfall = models.PositiveSmallIntegerField(_("差额（应选未选出人数）"), default=0)
    turnout_needed = models.PositiveIntegerField(default=0)
    votes_needed = models.PositiveIntegerField(default=0)
    candidates_needed = models.PositiveIntegerField(default=0)
    problems = models.JSONField(_("问题"), default=list, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("选举")
        ordering = ["meeting_id", "id"]

    def __str__(self) -> str:
        return self.title


class Candidate(models.Model):
    """A candidate of an election (a full member with the right to be elected)."""

    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="candidates")
    member = models.ForeignKey("members.PartyMember", on_delete=models.PROTECT, related_name="candidacies")
    votes = models.PositiveIntegerField(_("得票"), null=True, blank=True)
    elected = models.BooleanField(_("当选"), default=False)

    class Meta:
        verbose_name = verbose_name_plural = _("候选人")
        ordering = ["election_id", "id"]
        constraints = [models.UniqueConstraint(fields=["election", "member"], name="candidate_once")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.election_id}"


class RollEntry(models.Model):
    """Who may cast a secret ballot in a poll, and whether they have: the only place that
    names voters. No time, no link to a ballot; rewritten in member order at close."""

    vote = models.ForeignKey(Vote, null=True, blank=True, on_delete=models.CASCADE, related_name="roll")
    election = models.ForeignKey(
        Election, null=True, blank=True, on_delete=models.CASCADE, related_name="roll"
    )
    member = models.ForeignKey("members.PartyMember", on_delete=models.PROTECT, related_name="+")
    has_voted = models.BooleanField(default=False)

    class Meta:
        verbose_name = verbose_name_plural = _("投票名册")
        constraints = [
            models.UniqueConstraint(
                fields=["vote", "member"], condition=Q(vote__isnull=False), name="roll_vote_once"
            ),
            models.UniqueConstraint(
                fields=["election", "member"], condition=Q(election__isnull=False), name="roll_election_once"
            ),
            models.CheckConstraint(
                condition=Q(vote__isnull=False, election__isnull=True)
                | Q(vote__isnull=True, election__isnull=False),
                name="roll_one_poll",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}"


class Ballot(models.Model):
    """A secret ballot of a Vote: a random key and the choice, nothing else. An empty choice is
    an unused slot (deleted at close)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    choice = models.CharField(max_length=10, choices=Choice.choices, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("选票（表决）")

    def __str__(self) -> str:
        return str(self.id)


class ElectionBallot(models.Model):
    """A secret ballot of an Election: a random key and the sorted ids of the candidates marked
    (an empty list is a ballot marking nobody); null is an unused slot (deleted at close)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    election = models.ForeignKey(Election, on_delete=models.CASCADE, related_name="ballots")
    selections = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("选票（选举）")

    def __str__(self) -> str:
        return str(self.id)


class Appraisal(models.Model):
    """The annual 民主评议党员 of a branch (党员教育管理工作条例 2019 第二十六条): every member
    takes part; full members get a grade decided by the branch, probationary members none;
    优秀 is capped by a rule value. The software computes and checks; people decide."""

    branch = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="appraisals", verbose_name=_("党支部")
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    status = models.CharField(_("状态"), max_length=20, choices=PollStatus.choices, default=PollStatus.OPEN)
    excellent_cap = models.PositiveIntegerField(_("优秀名额上限"), default=0)
    source = models.CharField(_("依据"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("民主评议党员")
        ordering = ["-year", "branch_id"]
        constraints = [models.UniqueConstraint(fields=["branch", "year"], name="appraisal_once_a_year")]

    def __str__(self) -> str:
        return f"{self.branch_id} {self.year}"


class AppraisalEntry(models.Model):
    """One participant of an appraisal; `graded` is False for a probationary member."""

    appraisal = models.ForeignKey(Appraisal, on_delete=models.CASCADE, related_name="entries")
    member = models.ForeignKey("members.PartyMember", on_delete=models.PROTECT, related_name="appraisals")
    graded = models.BooleanField(_("评定等次"), default=True)
    grade = models.CharField(_("等次"), max_length=20, choices=Grade.choices, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("评议结果")
        ordering = ["appraisal_id", "member__name", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["appraisal", "member"], name="appraisal_entry_once"),
            models.CheckConstraint(condition=Q(graded=True) | Q(grade=""), name="appraisal_ungraded_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.grade}"


class VillageDecision(models.Model):
    """A village matter decided by 四议两公开 (party.md §8): six steps in order, each recorded
    once (DecisionRecord) after its predecessor and its thresholds."""

    branch = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.PROTECT,
        related_name="village_decisions",
        verbose_name=_("党支部"),
    )
    title = models.CharField(_("事项"), max_length=200)
    summary = models.TextField(_("事项说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.IN_PROGRESS
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("四议两公开")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def next_step(self) -> int | None:
        done = {r.step for r in self.records.all()}
        if self.status != DecisionStatus.IN_PROGRESS:
            return None
        return next((s for s in DecisionStep.values if s not in done), None)


class DecisionRecord(models.Model):
    """One step of 四议两公开 with its date and figures (`data`: counts, dates, texts)."""

    decision = models.ForeignKey(VillageDecision, on_delete=models.CASCADE, related_name="records")
    step = models.PositiveSmallIntegerField(_("步骤"), choices=DecisionStep.choices)
    held_on = models.DateField(_("日期"))
    passed = models.BooleanField(_("通过"), default=True)
    data = models.JSONField(_("登记内容"), default=dict, blank=True)
    notes = models.TextField(_("说明"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("四议两公开步骤")
        ordering = ["decision_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "step"], name="decision_step_once"),
            models.CheckConstraint(condition=Q(step__gte=1, step__lte=6), name="decision_step_range"),
        ]

    def __str__(self) -> str:
        return f"{self.decision_id} · {self.step}"
