"""API shapes of ratings, fixes, appeals and messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from dangqun.onestop.schemas import PK

Text = Field(..., min_length=1, max_length=3000)


class RatingIn(Schema):
    application: PK
    level: int = Field(..., description="1–5：非常不满意 … 非常满意（1、2 为差评）")
    aspects: dict[str, int] = {}
    reasons: list[str] = Field([], max_length=10)
    comment: str = Field("", max_length=500)
    channel: Literal["web", "mobile", "hotline"] = "web"


class VisitRatingIn(Schema):
    level: int
    aspects: dict[str, int] = {}
    reasons: list[str] = Field([], max_length=10)
    comment: str = Field("", max_length=500)
    anonymous: bool = True


class FixOut(Schema):
    id: int
    state: str
    state_label: str
    due: date
    overdue: bool
    callback_at: datetime | None
    fixed_at: datetime | None
    on_time: bool | None
    reply: str
    replied_at: datetime | None
    solved: bool | None
    escalated_to: str | None


class RatingOut(Schema):
    id: int
    mode: str
    level: int
    level_label: str
    unit: str
    staff: str
    item: str | None
    late: bool
    counted: bool
    rated_on: date
    fix: FixOut | None


class FixStepIn(Schema):
    step: Literal["callback", "fix", "reply", "confirm"]
    note: str = Field("", max_length=2000)
    verified: bool | None = None
    solved: bool | None = None


class AppealIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class AppealDecisionIn(Schema):
    upheld: bool
    note: str = Field(..., min_length=1, max_length=2000)


class AppealOut(Schema):
    id: int
    rating: int
    state: str
    reason: str
    decision_note: str


class MessageIn(Schema):
    kind: str = Field(..., max_length=16)
    title: str = Field(..., max_length=100)
    body: str = Field(..., max_length=3000)
    location: str = Field("", max_length=200)
    enterprise_name: str = Field("", max_length=100)
    credit_code: str = Field("", max_length=30)


class MessageOut(Schema):
    id: int
    number: str
    kind: str
    title: str
    state: str
    state_label: str
    category: str
    unit: str | None
    urgency: str
    due_at: datetime | None
    overdue: bool
    reply: str
    level: int | None


class MessageStepIn(Schema):
    step: Literal["dispatch", "dispute", "accept", "reply", "callback", "rate", "merge"]
    unit: PK | None = None
    urgency: Literal["emergency", "ordinary", "complex"] = "ordinary"
    category: str = Field("", max_length=40)
    note: str = Field("", max_length=3000)
    level: int | None = None
    into: PK | None = None
