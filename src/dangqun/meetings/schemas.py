from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from ninja import Field, Schema

from .choices import MeetingKind, MeetingStatus

MAX_PK = 2**63 - 1  # a BIGINT: larger ids are "not found", never a database error
PK = Annotated[int, Field(ge=1, le=MAX_PK)]


class MeetingFilters(Schema):
    branch: PK | None = Field(None, description="党支部编号")
    kind: MeetingKind | None = Field(None, description="会议类型")
    status: MeetingStatus | None = Field(None, description="状态")
    year: int | None = Field(None, ge=2000, le=2100, description="年度")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class MeetingOut(Schema):
    id: int
    kind: str
    kind_label: str
    topic: str
    place: str
    starts_at: datetime
    ends_at: datetime | None
    held_on: date
    status: str
    status_label: str
    organization_id: int
    organization_name: str
    branch_id: int
    branch_name: str
    expected: int = Field(..., description="应到人数")
    present: int = Field(..., description="实到人数")
    my_attendance: str | None = Field(None, description="本人的出席情况（本人在应到名单中时）")
    quorate: bool | None = Field(
        None,
        description="是否达到法定人数：支部党员大会、支委会登记为已召开时核定；未达到的会议不计入落实情况；"
        "其他会议和未核定的为空",
    )


class MeetingPageOut(Schema):
    items: list[MeetingOut]
    count: int
    page: int
    page_size: int


class AttendanceOut(Schema):
    member_id: int
    name: str
    status: str
    status_label: str
    reason: str
    method: str
    signed_in_at: datetime | None


class VoteBriefOut(Schema):
    id: int
    subject: str
    status: str
    adopted: bool | None


class ElectionBriefOut(Schema):
    id: int
    title: str
    status: str
    valid: bool | None


class MeetingDetailOut(MeetingOut):
    lecturer: str
    lecturer_is_secretary: bool = Field(..., description="党课的主讲人是本支部书记（支部工作条例 第十五条）")
    quorum_base: int = Field(
        ..., description="法定人数基数：应到会有表决权的党员（党员大会）或委员（支委会）"
    )
    quorum_present: int = Field(..., description="计入法定人数的实到人数")
    quorum_needed: int = Field(..., description="达到法定人数至少须到会的人数（超过半数）")
    quorum_source: str = Field(..., description="法定人数的依据")
    minutes: str | None = Field(None, description="会议记录（仅管理和查看本组织的工作人员可见）")
    absent: int
    leave: int
    attendance: list[AttendanceOut] | None = Field(None, description="出席名单（仅工作人员可见）")
    votes: list[VoteBriefOut]
    elections: list[ElectionBriefOut]


class SignInIn(Schema):
    code: str = Field(..., min_length=1, max_length=64, description="会场二维码或屏幕上显示的 8 位签到码")


class SignInOut(Schema):
    meeting_id: int
    status: str
    status_label: str
    signed_in_at: datetime | None


class VoteOut(Schema):
    id: int
    meeting_id: int
    kind: str
    kind_label: str
    subject: str
    subject_member_id: int | None
    subject_member_name: str | None
    mode: str
    mode_label: str
    secret: bool
    status: str
    entitled: int = Field(..., description="应到会有表决权的正式党员")
    present: int = Field(..., description="实到有表决权的正式党员")
    written_for: int
    written_against: int
    written_abstain: int
    in_favour: int | None
    against: int | None
    abstain: int | None
    quorum: bool | None
    adopted: bool | None
    quorum_needed: int
    votes_needed: int
    ballots_cast: int | None = Field(None, description="在线投票已投票人数（进行中时）")
    source: str


class VoteListOut(Schema):
    items: list[VoteOut]


class CandidateOut(Schema):
    id: int
    member_id: int
    name: str
    votes: int | None
    elected: bool


class ElectionOut(Schema):
    id: int
    meeting_id: int
    title: str
    seats: int
    mode: str
    status: str
    entitled: int
    present: int
    valid: bool | None
    turnout_needed: int
    votes_needed: int
    candidates_needed: int
    shortfall: int
    runoff: list[int]
    candidates: list[CandidateOut]
    notes: list[str]


class ComplianceFilters(Schema):
    year: int | None = Field(None, ge=2000, le=2100, description="年度（默认本年）")
    quarter: int | None = Field(None, ge=1, le=4, description="季度（默认本季度）")
    branch: PK | None = Field(None, description="党支部编号（默认管辖范围内全部支部）")


class PeriodOut(Schema):
    label: str
    held: int = Field(..., description="已召开且计入的次数（未达到法定人数的会议不计入）")
    required: int
    state: str
    not_quorate: int = Field(0, description="已召开但未达到法定人数、不计入的会议数")
    note: str = ""


class ComplianceItemOut(Schema):
    kind: str = Field(..., description="会议类型，或 secretary_lecture（支部书记本人讲党课，每年至少 1 次）")
    label: str
    state: str
    state_label: str
    periods: list[PeriodOut]
    expected: int
    present: int
    leave: int
    attendance_rate: str | None
    note: str
    source: str


class BranchComplianceOut(Schema):
    branch_id: int
    branch_name: str
    items: list[ComplianceItemOut]


class ComplianceOut(Schema):
    year: int
    quarter: int
    branches: list[BranchComplianceOut]
