from __future__ import annotations

from datetime import date
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator

from .choices import Status

MAX_PK = 2**63 - 1  # a BIGINT: larger ids are "not found", never a database error
PK = Annotated[int, Field(ge=1, le=MAX_PK)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no form needs control characters.
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("不能包含控制字符")
    return value


Text = Annotated[str, AfterValidator(_printable)]


class DuesQuoteOut(Schema):
    category: str = Field(..., description="党费类别")
    category_label: str
    base: str = Field(..., description="基数（元，两位小数）；固定金额的类别为 0.00", examples=["4500.00"])
    rate: str = Field(..., description="比例（小数，如 0.01 即 1%）；固定金额的类别为 0", examples=["0.01"])
    monthly_dues: str = Field(
        ..., description="每月应交党费（元，两位小数，四舍五入到分）", examples=["45.00"]
    )
    fixed: bool = Field(..., description="是否为固定金额（农民、学生、下岗失业、低保）")
    max_monthly_dues: str | None = Field(None, description="可选金额上限（农民党员 0.2—1 元）")
    source: str = Field(..., description="依据")


class MemberFilters(Schema):
    status: Status | None = Field(None, description="身份")
    branch: PK | None = Field(None, description="党支部编号")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class MemberSummaryOut(Schema):
    id: int
    name: str
    gender: str
    status: str
    status_label: str
    branch_id: int
    branch_name: str
    group_id: int | None
    group_name: str | None
    admitted_on: date | None
    full_on: date | None


class MemberPageOut(Schema):
    items: list[MemberSummaryOut]
    count: int
    page: int
    page_size: int


class MemberOut(MemberSummaryOut):
    id_number_masked: str = Field(..., description="身份证号（脱敏）")
    phone_masked: str
    birth_date: date | None
    applied_on: date | None
    talked_on: date | None
    activist_on: date | None
    candidate_on: date | None
    probation_ends_on: date | None
    party_standing_years: int | None = Field(None, description="党龄（整年，自转为正式党员之日起）")
    transferred_in: bool
    post: str
    occupation: str
    dues_category: str


class TimelineEntryOut(Schema):
    step: int
    stage: int
    stage_name: str
    name: str
    state: str = Field(
        ..., description="done 已完成 / due 可办理 / overdue 已逾期 / waiting 未到时间 / pending / locked"
    )
    state_label: str
    done_on: date | None
    earliest_on: date | None = Field(None, description="最早可办理日期")
    due_on: date | None = Field(None, description="应办理期限（或下次考察日期）")


class TimelineOut(Schema):
    member_id: int
    status: str
    status_label: str
    entries: list[TimelineEntryOut]


class StepIn(Schema):
    """One development step; fill in only what the step records (others are refused)."""

    step: int = Field(..., ge=1, le=25, description="步骤编号 1—25")
    done_on: date = Field(..., description="完成日期")
    responsible: Text = Field("", max_length=200, description="负责人")
    notes: Text = Field("", max_length=2000, description="说明")
    contact_person_ids: list[PK] | None = Field(
        None, max_length=5, description="第5步：培养联系人（党员编号）"
    )
    introducer_ids: list[PK] | None = Field(None, max_length=5, description="第9步：入党介绍人（党员编号）")
    passed: bool | None = Field(None, description="第10步政治审查、第13步预审：是否合格")
    training_days: Count | None = Field(None, description="第11步：集中培训天数")
    training_hours: Count | None = Field(None, description="第11步：集中培训学时")
    publicity_start: date | None = Field(None, description="第13步：公示开始日期")
    publicity_end: date | None = Field(None, description="第13步：公示结束日期")
    entitled: Count | None = Field(None, description="第15、23步：应到会有表决权的正式党员人数")
    present: Count | None = Field(None, description="实到会有表决权的正式党员人数")
    in_favour: Count | None = Field(None, description="到会赞成票")
    written_in_favour: Count | None = Field(None, description="会前书面表示赞成的人数")
    written_total: Count | None = Field(None, description="会前提交书面意见的人数")
    leaving_unit_on: date | None = Field(None, description="第15步：将离开工作、学习单位的日期（如有）")
    approved_by: Text | None = Field(None, max_length=120, description="第17、24步：审批的上级党委")
    approving_org_id: PK | None = Field(
        None, description="第17、24步：审批的上级党委在本平台的组织编号（代替 approved_by）"
    )
    delay_reason: Text | None = Field(None, max_length=500, description="审批超过6个月的原因")
    delay_approved_by: Text | None = Field(None, max_length=120, description="批准延期的组织或负责人")


class FlagOut(Schema):
    code: str
    message: str
    source: str = ""


class StepOut(Schema):
    id: int
    step: int
    name: str
    done_on: date
    member_status: str
    member_status_label: str
    flags: list[FlagOut]


class CancelProbationIn(Schema):
    """取消预备党员资格: the 支部大会 decision and the higher committee's approval, with the reason."""

    meeting_on: date = Field(..., description="作出取消决定的支部大会日期")
    approved_on: date = Field(..., description="上级党委批准日期（不早于支部大会日期）")
    approved_by: Text = Field(..., max_length=120, description="批准的上级党委")
    reason: Text = Field(..., max_length=2000, description="取消预备党员资格的原因")


class CancelProbationOut(Schema):
    id: int
    member_id: int
    meeting_on: date
    approved_on: date
    approved_by: str
    reason: str
    probation_ends_on: date | None = Field(None, description="原预备期满日期")
    member_status: str = Field(..., description="取消后的身份：disqualified 取消预备党员资格")
    member_status_label: str


class ExtendProbationIn(Schema):
    """延长预备期: by how many months, the 支部大会 decision and the higher committee's approval,
    with the reason (党章 第七条: once, 6–12 months)."""

    months: int = Field(..., ge=1, le=120, description="延长月数（按规则为 6—12 个月，只能延长一次）")
    meeting_on: date = Field(..., description="作出延长决定的支部大会日期")
    approved_on: date = Field(..., description="上级党委批准日期（不早于支部大会日期）")
    approved_by: Text = Field(..., max_length=120, description="批准的上级党委")
    reason: Text = Field(..., max_length=2000, description="延长预备期的原因")


class ExtendProbationOut(Schema):
    id: int
    member_id: int
    months: int
    meeting_on: date
    approved_on: date
    approved_by: str
    reason: str
    previous_end: date = Field(..., description="原预备期满日期")
    probation_ends_on: date = Field(..., description="延长后的预备期满日期（转正日期随之顺延）")
    member_status: str = Field(..., description="身份：仍为 probationary 预备党员")
    member_status_label: str
