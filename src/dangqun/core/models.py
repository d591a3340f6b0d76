"""Shared kernel models: audit chain, versioned rule values, work calendar."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One append-only audit event (DESIGN.md: audit chain).

    Requests only insert (no lock on a chain head on the hot path). A sealing job then
    takes unsealed events in insertion order, gives each the next `seq`, and stores
    `digest = SM3(prev_digest | canonical event)`. Editing or deleting a sealed event
    breaks the recomputed chain; `dangqun audit verify` names the first broken event.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人名称"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=80, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=80, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True, db_index=True)
    payload = models.JSONField(_("内容"), default=dict, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    seq = models.PositiveBigIntegerField(_("链序号"), null=True, blank=True, unique=True)
    prev_digest = models.CharField(_("前一摘要"), max_length=64, blank=True)
    digest = models.CharField(_("SM3 摘要"), max_length=64, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("审计事件")
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq or '-'} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """The last sealed event: makes truncation of the chain's tail detectable."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"head #{self.seq}"


class RuleValue(models.Model):
    """One value of a versioned rule set (DESIGN.md: rules are data where the law is data).

    A rule is identified by `key` (e.g. "party.activist_min_years"). Several versions coexist;
    the one in force on a date is the newest whose `effective_from` is on or before it.
    An organization may override a national value for its subtree (`organization` set).
    """

    key = models.CharField(_("规则"), max_length=100, db_index=True)
    version = models.CharField(_("版本"), max_length=40)
    effective_from = models.DateField(_("生效日期"))
    value = models.JSONField(_("值"))
    clause = models.CharField(_("条款"), max_length=200, blank=True)
    source = models.CharField(_("依据"), max_length=300)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    organization = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_overrides",
        verbose_name=_("适用组织（空为全国）"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("规则值")
        constraints = [
            # Two partial constraints instead of nulls_distinct=False, which SQLite lacks.
            models.UniqueConstraint(
                fields=["key", "version"],
                condition=models.Q(organization__isnull=True),
                name="rule_value_unique_national",
            ),
            models.UniqueConstraint(
                fields=["key", "version", "organization"],
                condition=models.Q(organization__isnull=False),
                name="rule_value_unique_override",
            ),
        ]
        ordering = ["key", "-effective_from"]

    def __str__(self) -> str:
        return f"{self.key}={self.value} ({self.version})"


class CalendarDay(models.Model):
    """An administrator's entry in the work calendar: a holiday or a make-up workday (调休).

    Entries override chinesecalendar for that date. Importing a year's official schedule
    makes the year known (CalendarYear), so deadlines can be computed into it.
    """

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=60, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("节假日与调休")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'班' if self.is_workday else '休'} {self.name}"


class CalendarYear(models.Model):
    """A year whose official holiday schedule was imported (beyond chinesecalendar's years)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("来源"), max_length=300, blank=True)
    imported_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("已导入年度日历")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class Notification(models.Model):
    """An in-app message to one user (reminders, state changes). `key` makes sending idempotent:
    the same reminder for the same thing is stored once, however often a job runs."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    key = models.CharField(_("去重键"), max_length=200)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("站内通知")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once")]

    def __str__(self) -> str:
        return self.title
