"""Models of the learning app: the content library, requirements and study records, the
recommender's stored results, and one-source-many-channel distribution (sources, products,
pushes, deliveries).

Rules: annual study hours from the rule set (party.learning.annual_hours_member = 32,
party.learning.annual_hours_cadre = 56; 党员教育管理工作条例 2019 第二十条). No leaderboards and no
check-in points (party.md §7): records are shown to the member, and only as aggregates to others.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    Audience,
    Channel,
    DeliveryStatus,
    ItemStatus,
    Kind,
    Level,
    Post,
    ProductKind,
    ProductStatus,
    Topic,
)


class ContentItem(models.Model):
    """One piece of study content: an article, a PDF document, a video or audio link, a course
    (made of lessons) or a quiz (made of questions).

    `organization` is the owner: its learners (the subtree) may see it; none = every learner.
    `posts` lists the posts it is meant for (empty: everyone). `search_name` / `search_text` hold
    rjieba tokens with their pinyin (onestop.search.index_texts) for Chinese and pinyin search,
    and feed the recommender's TF-IDF.
    """

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=200)
    summary = models.CharField(_("摘要"), max_length=500, blank=True)
    body = models.TextField(_("正文"), blank=True)
    url = models.URLField(_("音视频链接"), max_length=500, blank=True)
    document = models.FileField(_("PDF 文件"), upload_to="learning/docs/%Y/", blank=True)
    topic = models.CharField(_("主题"), max_length=20, choices=Topic.choices, db_index=True)
    posts = models.JSONField(_("适用岗位"), default=list, blank=True)
    level = models.CharField(_("难度"), max_length=20, choices=Level.choices, default=Level.BASIC)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    minutes = models.PositiveSmallIntegerField(_("学习时长（分钟）"), default=20)
    pass_percent = models.PositiveSmallIntegerField(_("测验及格分"), default=60)
    organization = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="learning_items",
        verbose_name=_("发布组织"),
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ItemStatus.choices, default=ItemStatus.PUBLISHED, db_index=True
    )
    search_name = models.TextField(blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("学习内容")
        verbose_name_plural = _("学习内容")
        ordering = ["-published_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    """One lesson of a course, in order."""

    course = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="lessons")
    order = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.URLField(_("链接"), max_length=500, blank=True)
    minutes = models.PositiveSmallIntegerField(_("时长（分钟）"), default=10)

    class Meta:
        ordering = ["course", "order"]
        constraints = [models.UniqueConstraint(fields=["course", "order"], name="learning_lesson_order")]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """One single-choice question of a quiz; `answer` is the index of the right option."""

    quiz = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("序号"))
    text = models.CharField(_("题目"), max_length=300)
    options = models.JSONField(_("选项"), default=list)
    answer = models.PositiveSmallIntegerField(_("正确选项"))

    class Meta:
        ordering = ["quiz", "order"]
        constraints = [models.UniqueConstraint(fields=["quiz", "order"], name="learning_question_order")]

    def __str__(self) -> str:
        return self.text


class LearnerProfile(models.Model):
    """A learner's post, branch and preferences: what the recommender starts from.

    Created on first use from the account's party record or member grant. `is_cadre` (书记或
    班子成员) sets the annual target to 56 hours instead of 32. `changed_at` moves on every study
    record or preference change, so stored recommendations older than it are recomputed.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_profile"
    )
    branch = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.CharField(_("岗位/行业"), max_length=30, choices=Post.choices, default=Post.OTHER)
    is_cadre = models.BooleanField(_("书记或班子成员"), default=False)
    hidden_topics = models.JSONField(_("不感兴趣的主题"), default=list, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("学员画像")
        verbose_name_plural = _("学员画像")
        indexes = [models.Index(fields=["branch", "post"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_post_display()}"


class Requirement(models.Model):
    """Required study: an organization asks its learners (the subtree) to finish an item by a date."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="learning_requirements"
    )
    item = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="requirements")
    audience = models.CharField(_("对象"), max_length=20, choices=Audience.choices, default=Audience.ALL)
    year = models.PositiveSmallIntegerField(_("年度"))
    due_on = models.DateField(_("完成期限"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("必学要求")
        verbose_name_plural = _("必学要求")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "item", "year"], name="learning_requirement_once")
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.item} · {self.due_on}"


class StudyRecord(models.Model):
    """One learner's study of one item: opened, seconds spent, finished, quiz score.

    `credited_seconds` counts toward the annual hours from the moment the item is finished:
    the time spent, but never more than the item's duration (a left-open tab earns nothing more).
    `year` is the Shanghai year it was finished in.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="study_records")
    item = models.ForeignKey(ContentItem, on_delete=models.CASCADE, related_name="records")
    opened_at = models.DateTimeField()
    seconds_spent = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    quiz_score = models.PositiveSmallIntegerField(null=True, blank=True)
    credited_seconds = models.PositiveIntegerField(default=0)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "item"], name="learning_record_once")]
        indexes = [models.Index(fields=["user", "year"]), models.Index(fields=["item", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.item}"


class ProgressReport(models.Model):
    """One progress report of a client, by its idempotency key: a retried request counts once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    record = models.ForeignKey(StudyRecord, on_delete=models.CASCADE, related_name="reports")
    seconds = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="learning_report_once")]

    def __str__(self) -> str:
        return self.key


class StoredRecommendations(models.Model):
    """The daily batch's ranking for one learner (item ids, scores, reason codes); the API reads it
    while it is newer than the profile's last change, and computes live otherwise."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    index_version = models.CharField(max_length=64)
    entries = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.computed_at}"


class ItemNeighbors(models.Model):
    """Co-study neighbours of an item (learners who finished both), from the daily batch."""

    item = models.OneToOneField(ContentItem, on_delete=models.CASCADE, related_name="+", primary_key=True)
    neighbors = models.JSONField(default=list)  # [[item_id, weight], ...] best first

    def __str__(self) -> str:
        return str(self.item_id)


# ---------------------------------------------------------------------------------------------
# One source, many channels


class Source(models.Model):
    """A collected source (e.g. a meeting report with photos): collected once, made into products."""

    organization = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("素材正文"))
    topic = models.CharField(_("主题"), max_length=20, choices=Topic.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("素材")
        verbose_name_plural = _("素材")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class SourcePhoto(models.Model):
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("照片"), upload_to="learning/photos/%Y/")
    caption = models.CharField(_("说明"), max_length=200, blank=True)

    def __str__(self) -> str:
        return self.caption or self.image.name


class Product(models.Model):
    """One channel product of a source; edited and approved on its own. An edit after approval
    sends it back to review."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="products")
    kind = models.CharField(_("产品类型"), max_length=20, choices=ProductKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=ProductStatus.choices, default=ProductStatus.DRAFT
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "kind"]
        constraints = [models.UniqueConstraint(fields=["source", "kind"], name="learning_product_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.title}"


class Push(models.Model):
    """A push of a source's approved products to audiences over channels.

    `audience` is a list of segments, each {"org": id, "posts": [...], "ages": [...]}; the
    recipients are their union (e.g. one branch, plus every 村干部 of the street). Running a push
    again sends nothing twice: deliveries are unique per (push, channel, target).
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="pushes")
    audience = models.JSONField(default=list)
    channels = models.JSONField(default=list)
    topic = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source} @ {self.created_at:%Y-%m-%d}"


class Delivery(models.Model):
    """One delivery of a push over one channel to one target (a user, the feed, the webhook)."""

    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    target = models.CharField(max_length=64)  # "u:<user id>", "feed", "webhook"
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["push", "channel", "target"], name="learning_delivery_once")
        ]
        indexes = [models.Index(fields=["channel", "status"])]

    def __str__(self) -> str:
        return f"{self.push_id} {self.channel} {self.target}"


class BranchPopularity(models.Model):
    """The items most finished in a branch over the last 90 days, from the daily batch (the live
    path reads this row instead of aggregating the branch's records)."""

    branch = models.OneToOneField(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", primary_key=True
    )
    items = models.JSONField(default=list)  # [[item_id, finishes], ...] most first
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.branch_id)
