"""Pre-aggregated statistics, improvement suggestions and the tasks they become (onestop.md §5, §9).

The dashboards read only the *Stat tables: monthly rows per unit (with the unit's materialized
path copied in, so a subtree is one range condition without a join) and per item, channel,
resident group… They are written by `stats` alone — a whole slice (one item or unit, one month)
is recomputed from the source rows and replaced, so a refresh is exact and idempotent, and the
full `rebuild` is the same computation over everything. Dimension keys are plain integers (0 for
"none") rather than nullable foreign keys: unique constraints then hold on SQLite and
PostgreSQL alike, and a row never blocks deleting what it counts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import Group, SliceKind, SuggestionKind, SuggestionState, TaskStatus

REASON_FIELDS = ("slow", "runs", "guide", "attitude", "system", "result", "other")


class CaseStat(models.Model):
    """Applications of one month per (department, item, channel): counted on the day each thing
    happened — 收件 (received_on), 受理 (accepted_on), 办结 (completed_on), 一次性告知 (issued_on)."""

    month = models.DateField()
    unit_id = models.BigIntegerField()
    unit_path = models.CharField(max_length=255)
    item_id = models.BigIntegerField()
    channel = models.CharField(max_length=10)
    submitted = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    # Completed no later than the promised date (承诺办结日期, moved by stops and extensions).
    on_time = models.PositiveIntegerField(default=0)
    # Completed cases whose working days could be counted (the calendar knows their years) …
    timed = models.PositiveIntegerField(default=0)
    # … and those working days summed: after receipt up to completion, stopped days excluded.
    work_days = models.PositiveBigIntegerField(default=0)
    noticed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "unit_id", "item_id", "channel"], name="case_stat_key")
        ]
        indexes = [
            models.Index(fields=["month", "unit_path"], name="case_stat_month_path"),
            models.Index(fields=["item_id", "month"], name="case_stat_item_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} unit {self.unit_id} item {self.item_id} {self.channel}"


class NoticeMaterialStat(models.Model):
    """How often a material was listed on a one-time notice (一次性告知), per item and month."""

    month = models.DateField()
    unit_id = models.BigIntegerField()
    unit_path = models.CharField(max_length=255)
    item_id = models.BigIntegerField()
    material = models.CharField(max_length=120)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "unit_id", "item_id", "material"], name="notice_material_stat_key"
            )
        ]
        indexes = [
            models.Index(fields=["month", "unit_path"], name="notice_stat_month_path"),
            models.Index(fields=["item_id", "month"], name="notice_stat_item_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} item {self.item_id} {self.material}: {self.count}"


class RatingStat(models.Model):
    """Counted ratings (好差评) of one month per (unit, item, channel, mode, window, group).

    `group` ALL holds every rating once; ELDERLY / ENTERPRISE / RURAL rows repeat the ratings of
    that group. Ratings taken out by an upheld appeal (counted=False) are not here.
    """

    month = models.DateField()
    unit_id = models.BigIntegerField()
    unit_path = models.CharField(max_length=255)
    item_id = models.BigIntegerField(default=0)
    channel = models.CharField(max_length=8)
    mode = models.CharField(max_length=5)
    window_id = models.BigIntegerField(default=0)
    group = models.CharField(max_length=10, choices=Group.choices, default=Group.ALL)
    count = models.PositiveIntegerField(default=0)
    level_sum = models.PositiveIntegerField(default=0)
    l1 = models.PositiveIntegerField(default=0)
    l2 = models.PositiveIntegerField(default=0)
    l3 = models.PositiveIntegerField(default=0)
    l4 = models.PositiveIntegerField(default=0)
    l5 = models.PositiveIntegerField(default=0)
    r_slow = models.PositiveIntegerField(default=0)
    r_runs = models.PositiveIntegerField(default=0)
    r_guide = models.PositiveIntegerField(default=0)
    r_attitude = models.PositiveIntegerField(default=0)
    r_system = models.PositiveIntegerField(default=0)
    r_result = models.PositiveIntegerField(default=0)
    r_other = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "unit_id", "item_id", "channel", "mode", "window_id", "group"],
                name="rating_stat_key",
            )
        ]
        indexes = [
            models.Index(fields=["month", "group", "unit_path"], name="rating_stat_month_path"),
            models.Index(fields=["unit_id", "month"], name="rating_stat_unit_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} unit {self.unit_id} {self.group}: {self.count}"


class FixStat(models.Model):
    """差评整改 opened in one month per unit, and how far each got (callback, fix, reply, close)."""

    month = models.DateField()
    unit_id = models.BigIntegerField()
    unit_path = models.CharField(max_length=255)
    count = models.PositiveIntegerField(default=0)
    voided = models.PositiveIntegerField(default=0)
    called_back = models.PositiveIntegerField(default=0)
    fixed = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "unit_id"], name="fix_stat_key")]
        indexes = [models.Index(fields=["month", "unit_path"], name="fix_stat_month_path")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} unit {self.unit_id}: {self.count}"


class MessageStat(models.Model):
    """Messages and complaints received in one month per (unit, kind); unit 0 = not dispatched yet."""

    month = models.DateField()
    unit_id = models.BigIntegerField(default=0)
    unit_path = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    level_sum = models.PositiveIntegerField(default=0)
    bad = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "unit_id", "kind"], name="message_stat_key")]
        indexes = [models.Index(fields=["month", "unit_path"], name="message_stat_month_path")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} unit {self.unit_id} {self.kind}: {self.count}"


class Slice(models.Model):
    """One unit of recomputation: (kind, key, month) — key is the item for cases, the unit otherwise.

    Marked dirty inside the transaction that changed a source row (so the mark commits with the
    change), recomputed right after commit, and swept by the per-minute job if that failed. Its
    row lock serializes two refreshes of the same slice on PostgreSQL.
    """

    kind = models.CharField(max_length=8, choices=SliceKind.choices)
    key = models.BigIntegerField()
    month = models.DateField()
    dirty = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key", "month"], name="slice_key")]
        indexes = [models.Index(fields=["dirty"], name="slice_dirty")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {self.month:%Y-%m}"


class Cursor(models.Model):
    """How far a job has read an append-only source (onestop.Event ids for the case slices)."""

    name = models.CharField(max_length=40, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.position}"


class Suggestion(models.Model):
    """An improvement suggestion for one unit, from one month's figures, with its evidence.

    The text is rendered from `kind` and `evidence` at display time (so it is translated);
    `metric` is the figure the suggestion is about and `baseline` what it is compared with
    (e.g. the elderly's average level vs everyone else's). Generating again for the same month
    refreshes an open suggestion's numbers and never duplicates it.
    """

    month = models.DateField(_("统计月份"))
    unit = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, editable=False)
    kind = models.CharField(_("类型"), max_length=20, choices=SuggestionKind.choices)
    subject = models.CharField(max_length=120)
    subject_label = models.CharField(_("对象"), max_length=200)
    metric = models.FloatField(_("指标"))
    baseline = models.FloatField(_("对照值"), null=True, blank=True)
    evidence = models.JSONField(_("依据数据"), default=dict)
    state = models.CharField(
        _("状态"), max_length=10, choices=SuggestionState.choices, default=SuggestionState.OPEN
    )
    dismiss_reason = models.TextField(_("不采纳理由"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("改进建议")
        ordering = ["-month", "unit_path", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["month", "unit", "kind", "subject"], name="suggestion_key")
        ]
        indexes = [models.Index(fields=["month", "unit_path"], name="suggestion_month_path")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.get_kind_display()} {self.subject_label}"


class ImprovementTask(models.Model):
    """An accepted suggestion, tracked: who does what by when, and how it ended."""

    suggestion = models.OneToOneField(Suggestion, on_delete=models.PROTECT, related_name="task")
    title = models.CharField(_("任务"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("负责人")
    )
    due = models.DateField(_("完成期限"))
    status = models.CharField(_("进度"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    note = models.TextField(_("进展说明"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_on = models.DateField(_("完成日期"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("改进任务")
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return self.title
