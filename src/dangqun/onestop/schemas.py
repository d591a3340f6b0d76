from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from .choices import Channel, LifeEvent, Outcome, State, StopReason

MAX_PK = 2**63 - 1
PK = Annotated[int, Field(ge=1, le=MAX_PK)]


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise ValueError("不能包含控制字符")
    return value


Text = Annotated[str, AfterValidator(_printable)]


class SearchFilters(Schema):
    q: Text = Field("", max_length=50, description="检索词：中文、全拼或简拼，如 社保 / shebao / sb")
    department: PK | None = Field(None, description="实施部门编号")
    life_event: LifeEvent | None = Field(None, description="一件事主题")
    channel: Channel | None = Field(None, description="办理渠道")
    page: int = Field(1, ge=1, le=1000)
    page_size: int = Field(20, ge=1, le=50)


class ItemHitOut(Schema):
    code: str = Field(..., description="基本编码")
    name: str
    department: str
    department_id: int
    score: float = Field(..., description="相关度（无检索词时为 0）")
    handling_mode: str
    promised_limit_days: int
    url: str


class ItemPageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[ItemHitOut]


class MaterialOut(Schema):
    id: int
    name: str
    form: str
    count: int
    required: bool
    core: bool
    deficiency_allowed: bool
    shared: str
    allowed_kinds: list[str]
    max_size_kb: int
    max_pages: int


class FieldOut(Schema):
    name: str
    label: str
    type: str
    required: bool = False
    choices: list[Any] = []
    help: str = ""


class ItemOut(Schema):
    code: str
    implementation_code: str
    name: str
    department: str
    department_id: int
    item_type: str
    item_type_label: str
    handling_mode: str
    handling_mode_label: str
    statutory_limit_days: int
    promised_limit_days: int
    legal_basis: str
    conditions: str
    is_free: bool
    fees: list[dict[str, Any]]
    channels: list[str]
    cross_region: str
    life_events: list[str]
    result_type: str
    result_name: str
    status: str
    version: int
    materials: list[MaterialOut]
    form: list[FieldOut]


class ApplyIn(Schema):
    form: dict[str, Any] = Field(default_factory=dict, description="表单字段（名称见事项的 form）")
    undertaking: Text = Field("", max_length=500, description="容缺受理承诺（缺可容缺材料时必填）")
    use_shared: bool = Field(True, description="使用平台已有的共享材料（免提交）")
    consent: bool = Field(
        False,
        description="申请人同意本次办理使用平台已有的数据代替上传（个人信息保护法 第十四条）；"
        "使用共享材料时必须为 true，同意记录可在 /api/v1/me/consents 查看和撤回",
    )


class CertificateRefOut(Schema):
    """The e-certificate issued for an approved application (certs: GB/T 36904 identifier)."""

    id: int
    identifier: str = Field(..., description="证照标识")
    type_code: str
    type: str = Field(..., description="证照名称")
    status: Literal["valid", "revoked"]
    issued_at: datetime
    verify_url: str = Field(..., description="公开核验地址（证照二维码的内容）")
    download_url: str = Field(..., description="PDF 下载地址：仅申请人和有权查看该办件的工作人员")


class ApplicationOut(Schema):
    id: int
    number: str | None
    check_code: str | None = Field(None, description="查询码：仅申请人可见")
    item_code: str
    item_name: str
    state: State
    state_label: str
    submitted_at: datetime | None
    received_on: date | None
    promised_due: date | None
    decision_due: date | None
    due_date: date | None
    stopped_days: int
    stopped_since: date | None
    extension_days: int
    deficiency_due: date | None = Field(None, description="容缺材料补齐期限（容缺受理时）")
    deficiency_consequence: str = Field("", description="受理时告知的逾期未补齐材料的后果")
    deficiency_missed: bool = Field(
        False, description="容缺逾期：补齐期限已过、材料仍未补齐，待工作人员作出决定"
    )
    outcome: str
    reasons: str
    replayed: bool = False
    certificate: CertificateRefOut | None = Field(None, description="准予后签发的电子证照")


class ApplicationListOut(Schema):
    count: int
    items: list[ApplicationOut]


class NoticeItemIn(Schema):
    material_id: PK | None = None
    problem: Text = Field(..., min_length=1, max_length=300)


class StaffActionIn(Schema):
    action: Literal["accept", "refuse", "notice", "decide", "deliver", "extend", "stop", "resume", "review"]
    note: Text = Field("", max_length=1000)
    reasons: Text = Field("", max_length=2000)
    items: list[NoticeItemIn] = Field(default_factory=list, max_length=50)
    outcome: Outcome | None = None
    days: int | None = Field(None, ge=1, le=60)
    reason: StopReason | None = None
    deficiency_due: date | None = None
    deficiency_consequence: Text = Field(
        "", max_length=500, description="容缺受理：逾期未补齐的后果（留空则用规则设定的默认表述）"
    )
    task_id: PK | None = None
    passed: bool | None = None


class QueueFilters(Schema):
    state: State | None = None
    due: Literal["overdue", "warning", "stopped", "deficiency_missed"] | None = None
    department: PK | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=100)


class QueueRowOut(Schema):
    id: int
    number: str | None
    item_name: str
    department: str
    state: State
    state_label: str
    due_date: date | None
    days_left: int | None
    flag: str
    deficiency_missed: bool = Field(False, description="容缺逾期：补齐期限已过、材料仍未补齐")


class QueuePageOut(Schema):
    count: int = Field(..., description="总数（最多计到 10000）")
    more: bool = Field(False, description="是否超过 10000 件")
    page: int
    items: list[QueueRowOut]


class TrackStepOut(Schema):
    state: str
    state_label: str
    at: datetime


class TrackOut(Schema):
    number: str
    item_name: str
    department: str
    state: str
    state_label: str
    received_on: date | None
    promised_due: date | None
    stopped_days: int
    deficiency_due: date | None = Field(None, description="容缺材料补齐期限")
    deficiency_consequence: str = Field("", description="逾期未补齐材料的后果（受理时告知）")
    deficiency_missed: bool = Field(False, description="补齐期限已过、材料仍未补齐")
    outcome: str
    history: list[TrackStepOut]
