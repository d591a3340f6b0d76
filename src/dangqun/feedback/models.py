"""好差评 ratings and their fix loop, window visits, and messages and complaints (onestop.md §5–§6).

A rating is never deleted: a mistaken or malicious one is taken out of the statistics by an
upheld appeal (申诉复核), and the appeal stays on record beside it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField

from .choices import (
    AppealState,
    FixState,
    Level,
    MessageKind,
    MessageState,
    Mode,
    RatingChannel,
    Urgency,
)


def new_token() -> str:
    return secrets.token_urlsafe(16)


class Visit(models.Model):
    """One visit at a window (一次一评): the receipt carries its number and a QR code to rate it."""

    number = models.CharField(_("回执编号"), max_length=32, unique=True)
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    window = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("办理单位")
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey("onestop.ServiceItem", null=True, blank=True, on_delete=models.PROTECT)
    application = models.ForeignKey(
        "onestop.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visited_on = models.DateField(_("来访日期"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("窗口来访")

    def __str__(self) -> str:
        return self.number


class Rating(models.Model):
    """One 好差评: of a case handled (一事一评) or of a window visit (一次一评)."""

    mode = models.CharField(_("评价方式"), max_length=5, choices=Mode.choices)
    application = models.OneToOneField(
        "onestop.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="rating"
    )
    visit = models.OneToOneField(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="rating"
    )
    # Who is rated: the unit that handled the case (谁办理、谁负责) and the staff member shown to the rater.
    unit = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("被评价单位")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("被评价工作人员"),
    )
    item = models.ForeignKey(
        "onestop.ServiceItem", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(_("评价等级"), choices=Level.choices)
    aspects = models.JSONField(_("分项评价"), default=dict, blank=True)
    reasons = models.JSONField(_("差评原因"), default=list, blank=True)
    comment = models.TextField(_("评价内容"), blank=True)
    channel = models.CharField(_("评价渠道"), max_length=8, choices=RatingChannel.choices)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    anonymous = models.BooleanField(_("匿名"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("热线录入人"),
    )
    late = models.BooleanField(_("补评"), default=False)
    # Resident groups at the time of rating (the dashboards compare them).
    elderly = models.BooleanField(default=False)
    enterprise = models.BooleanField(default=False)
    rural = models.BooleanField(default=False)
    # False once an appeal is upheld: the rating stays, but leaves the statistics.
    counted = models.BooleanField(_("计入统计"), default=True)
    rated_on = models.DateField(_("评价日期"), db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("好差评")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=False, visit__isnull=True)
                | Q(application__isnull=True, visit__isnull=False),
                name="rating_of_case_or_visit",
            ),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="rating_level_1_5"),
        ]
        indexes = [models.Index(fields=["unit", "rated_on"], name="rating_unit_day")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} · {self.unit}"

    @property
    def is_bad(self) -> bool:
        return self.level <= Level.UNSATISFIED


class Fix(models.Model):
    """The fix loop of a real-name 差评: callback and verification, fix, reply, the rater's word."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="fix")
    unit = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    state = FSMField(_("状态"), choices=FixState.choices, default=FixState.OPEN)
    due = models.DateField(_("整改期限"))
    callback_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    callback_note = models.TextField(_("回访记录"), blank=True)
    verified = models.BooleanField(_("情况属实"), null=True)
    fix_note = models.TextField(_("整改措施"), blank=True)
    fixed_at = models.DateTimeField(_("整改时间"), null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reply = models.TextField(_("答复内容"), blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    solved = models.BooleanField(_("评价人认为已解决"), null=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    on_time = models.BooleanField(_("按期整改"), null=True)
    escalated_to = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("督办单位"),
    )
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("差评整改")
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["unit", "state", "due"], name="fix_unit_state_due")]

    def __str__(self) -> str:
        return f"{self.rating} · {self.get_state_display()}"


class Appeal(models.Model):
    """申诉复核: the rated unit contests a rating; someone else decides."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="appeal")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("申诉理由"))
    state = models.CharField(
        _("状态"), max_length=10, choices=AppealState.choices, default=AppealState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.TextField(_("复核意见"), blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("申诉复核")

    def __str__(self) -> str:
        return f"{self.rating} · {self.get_state_display()}"


class ClassificationRule(models.Model):
    """A row of the dispatch table: words found in a message → category, unit, time-limit class."""

    keywords = models.CharField(_("关键词"), max_length=300, help_text=_("以空格或逗号分隔，命中任一即可"))
    category = models.CharField(_("分类"), max_length=40)
    kind = models.CharField(_("限于留言类型"), max_length=16, choices=MessageKind.choices, blank=True)
    unit = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("承办单位")
    )
    urgency = models.CharField(
        _("时限类别"), max_length=10, choices=Urgency.choices, default=Urgency.ORDINARY
    )
    priority = models.PositiveSmallIntegerField(_("优先级"), default=100, help_text=_("数字小的先匹配"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = verbose_name_plural = _("留言分类规则")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.category} → {self.unit}"


class Message(models.Model):
    """A message or complaint (线上留言 / 12345-style), from receipt to the caller's rating."""

    number = models.CharField(_("留言编号"), max_length=32, unique=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    kind = models.CharField(_("类型"), max_length=16, choices=MessageKind.choices)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("内容"))
    location = models.CharField(_("地点"), max_length=200, blank=True)
    enterprise_name = models.CharField(_("企业名称"), max_length=100, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    category = models.CharField(_("分类"), max_length=40, blank=True)
    urgency = models.CharField(
        _("时限类别"), max_length=10, choices=Urgency.choices, default=Urgency.ORDINARY
    )
    unit = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("承办单位"),
    )
    state = FSMField(_("状态"), choices=MessageState.choices, default=MessageState.RECEIVED)
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    dispute_reason = models.TextField(_("退回理由"), blank=True)
    reply = models.TextField(_("答复"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    on_time = models.BooleanField(null=True)
    callback_note = models.TextField(_("回访记录"), blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    level = models.PositiveSmallIntegerField(_("满意度"), choices=Level.choices, null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("留言诉求")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_idempotency",
            )
        ]
        indexes = [models.Index(fields=["unit", "state", "due_at"], name="message_unit_state_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class MessageAttachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="feedback/%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=5)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = _("留言附件")

    def __str__(self) -> str:
        return self.original_name


class MessageEvent(models.Model):
    """The message's history, shown to its author (staff names stay internal)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)
    unit = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} {self.action}"
