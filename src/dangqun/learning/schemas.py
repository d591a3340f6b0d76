"""Request and response shapes of the learning API."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema


class RecommendationOut(Schema):
    id: int
    title: str
    kind: str
    topic: str
    topic_label: str
    minutes: int
    required: bool
    due_on: date | None = None
    reason: str
    reason_code: str


class ProgressOut(Schema):
    year: int
    hours: float
    target: int
    source: str
    finished: int
    percent: int
    is_cadre: bool


class RecommendationsOut(Schema):
    items: list[RecommendationOut]
    source: str = Field(description="stored（每日批量）或 live（实时计算）")
    progress: ProgressOut


class RecommendationFilters(Schema):
    limit: int = Field(10, ge=1, le=50)


class ItemFilters(Schema):
    q: str = Field("", max_length=50)
    topic: str = Field("", max_length=20)
    kind: str = Field("", max_length=20)
    limit: int = Field(20, ge=1, le=100)


class ItemOut(Schema):
    id: int
    title: str
    kind: str
    topic: str
    topic_label: str
    level: str
    summary: str
    minutes: int
    posts: list[str]
    published_at: datetime


class LessonOut(Schema):
    order: int
    title: str
    body: str
    url: str
    minutes: int


class QuestionOut(Schema):
    order: int
    text: str
    options: list[str]


class ItemDetailOut(ItemOut):
    body: str
    url: str
    document_url: str | None = None
    lessons: list[LessonOut]
    questions: list[QuestionOut]
    pass_percent: int


class ProgressIn(Schema):
    key: str = Field(..., min_length=8, max_length=64, description="幂等标识：重试同一请求不会重复计时")
    seconds: int = Field(0, ge=0, le=3600)
    finished: bool = False
    answers: list[int] | None = None


class RecordOut(Schema):
    item_id: int
    seconds_spent: int
    finished: bool
    quiz_score: int | None = None
    credited_hours: float
    applied: bool


class TopicIn(Schema):
    topic: str = Field(..., max_length=20)
    hidden: bool = True


class ProfileIn(Schema):
    post: str = Field(..., max_length=30)


class ProfileOut(Schema):
    post: str
    post_label: str
    branch_id: int | None = None
    is_cadre: bool
    hidden_topics: list[str]


class RequirementIn(Schema):
    organization_id: int = Field(..., ge=1, le=2**62)
    item_id: int = Field(..., ge=1, le=2**62)
    due_on: date
    audience: str = Field("all", max_length=20)


class RequirementOut(Schema):
    id: int
    organization_id: int
    item_id: int
    audience: str
    year: int
    due_on: date


class ProgressFilters(Schema):
    year: int | None = Field(None, ge=2000, le=2100)


class RequirementProgressOut(Schema):
    item_id: int
    title: str
    due_on: date
    bound: int
    finished: int
    percent: int


class OrgProgressOut(Schema):
    organization_id: int
    year: int
    learners: int
    reached: int
    reached_percent: int
    average_hours: float
    member_target: int
    cadre_target: int
    requirements: list[RequirementProgressOut]


class SourceIn(Schema):
    organization_id: int = Field(..., ge=1, le=2**62)
    title: str = Field(..., max_length=200)
    body: str = Field(..., max_length=20000)
    topic: str = Field("", max_length=20)


class ProductOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    status: str


class ProductIn(Schema):
    title: str = Field(..., max_length=200)
    body: str = Field(..., max_length=20000)


class SegmentIn(Schema):
    org: int = Field(..., ge=1, le=2**62)
    posts: list[str] = []
    ages: list[str] = []


class PushIn(Schema):
    audience: list[SegmentIn]
    channels: list[str]
    topic: str = Field("", max_length=20)


class PushOut(Schema):
    id: int
    source_id: int
    audience: list[dict]
    channels: list[str]
    recipients: int
    last_run_at: datetime | None = None
    deliveries: dict[str, dict[str, int]]


class SourceOut(Schema):
    id: int
    organization_id: int
    title: str
    body: str
    topic: str
    products: list[ProductOut]
    pushes: list[PushOut]
