"""One-stop services (一网通办): the service catalog, applications and their legal lifecycle.

Sources: catalog.md (国办发〔2018〕45号, GB/T 39554.1-2020) for the catalog fields and code
lists; onestop.md §2–§3 (行政许可法 第三十二、四十二、四十四、四十五、八十二条) for the
lifecycle and the time limits, which are read from the rule set (core/rules_data/onestop*.json).
"""

from __future__ import annotations

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from dangqun.certs.catalog import CERT_TYPES

from .choices import (
    DEFICIENCY_STATES,
    EVENT_LABELS,
    OPEN_STATES,
    Channel,
    CrossRegion,
    FileKind,
    HandlingMode,
    ItemStatus,
    ItemType,
    LifeEvent,
    MaterialForm,
    MaterialSource,
    Outcome,
    ResultType,
    SharedData,
    State,
    StopReason,
    TaskState,
)


def default_process() -> dict:
    """受理 → 审核 → 批准: 受理 is the lifecycle's own step; the review has two stages."""
    return {
        "stages": [
            {"name": "审核", "tasks": [{"key": "audit", "name": "审核", "org": "department"}]},
            {"name": "批准", "tasks": [{"key": "approve", "name": "批准", "org": "department"}]},
        ]
    }


def default_form_schema() -> dict:
    return {
        "fields": [
            {
                "name": "applicant_name",
                "label": "申请人姓名",
                "type": "text",
                "required": True,
                "prefill": "full_name",
                "validators": {"max_length": 30},
            },
            {
                "name": "id_number",
                "label": "身份证号",
                "type": "id_number",
                "required": True,
                "prefill": "id_number",
            },
            {"name": "phone", "label": "联系电话", "type": "phone", "required": True, "prefill": "phone"},
        ]
    }


class ServiceItem(models.Model):
    """A service item (事项 / 业务办理项) of the catalog, with the national fields of catalog.md.

    Time limits are in working days (行政许可法 第八十二条). `promised_limit_days` is what the
    applicant is promised (承诺办结时限); `statutory_limit_days` the legal limit (法定办结时限),
    0 meaning "the general rule" (onestop.decision_working_days, joint items the joint limit).
    `search_name` / `search_text` hold the search tokens (rjieba words, full pinyin, initials)
    joined by spaces; they are written by actions.do_save_item, never by hand.
    `certificate_type` (a certs.catalog code) makes an approval issue that e-certificate to the
    applicant, signed by the department (onestop.md §4).
    """

    code = models.CharField(_("基本编码"), max_length=12, unique=True)
    implementation_code = models.CharField(_("实施编码"), max_length=31, unique=True)
    name = models.CharField(_("事项名称"), max_length=120)
    department = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.PROTECT,
        related_name="service_items",
        verbose_name=_("实施主体"),
    )
    receiving_org = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_items",
        verbose_name=_("受理窗口"),
        help_text=_("一窗受理：收件的大厅窗口；留空则由实施主体直接受理"),
    )
    implementer_credit_code = models.CharField(_("实施主体统一社会信用代码"), max_length=18)
    legal_basis = models.TextField(_("设定和实施依据"), blank=True)
    item_type = models.CharField(_("事项类型"), max_length=2, choices=ItemType.choices)
    level = models.CharField(_("行使层级"), max_length=1, default="5")
    handling_mode = models.CharField(_("办件类型"), max_length=1, choices=HandlingMode.choices)
    statutory_limit_days = models.PositiveSmallIntegerField(_("法定办结时限（工作日）"), default=0)
    promised_limit_days = models.PositiveSmallIntegerField(_("承诺办结时限（工作日）"), default=0)
    limit_note = models.CharField(_("时限说明"), max_length=200, blank=True)
    conditions = models.TextField(_("受理条件"), blank=True)
    service_objects = models.JSONField(_("服务对象"), default=list, blank=True)
    is_free = models.BooleanField(_("不收费"), default=True)
    fees = models.JSONField(
        _("收费项目"), default=list, blank=True, help_text=_("[{name, standard, basis, waivable}]")
    )
    channels = models.JSONField(_("办理渠道"), default=list, blank=True)
    cross_region = models.CharField(
        _("跨域通办"), max_length=10, choices=CrossRegion.choices, default=CrossRegion.NONE
    )
    visits = models.PositiveSmallIntegerField(_("到办事现场次数"), default=0)
    life_events = models.JSONField(_("一件事主题"), default=list, blank=True)
    keywords = models.CharField(_("检索关键词"), max_length=200, blank=True)
    form_schema = models.JSONField(_("申请表单"), default=default_form_schema)
    process = models.JSONField(_("审查流程"), default=default_process)
    result_type = models.CharField(_("审批结果类型"), max_length=12, choices=ResultType.choices)
    result_name = models.CharField(_("审批结果名称"), max_length=120, blank=True)
    # Blank: no e-certificate. Otherwise the type issued on approval (actions.do_decide).
    certificate_type = models.CharField(
        _("电子证照类型"),
        max_length=21,
        choices=sorted(CERT_TYPES.items()),
        blank=True,
        help_text=_("准予后自动签发的电子证照；留空则不签发"),
    )
    status = models.CharField(
        _("事项状态"), max_length=10, choices=ItemStatus.choices, default=ItemStatus.ACTIVE
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    address = models.CharField(_("办理地点"), max_length=200, blank=True)
    hours = models.CharField(_("办理时间"), max_length=200, blank=True)
    phone = models.CharField(_("咨询电话"), max_length=60, blank=True)
    search_name = models.TextField(editable=False, blank=True)
    search_text = models.TextField(editable=False, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("服务事项")
        ordering = ["code"]
        indexes = [models.Index(fields=["department", "status"], name="item_department_status")]

    def __str__(self) -> str:
        return self.name

    def channel_labels(self) -> list[str]:
        return [str(Channel(c).label) for c in self.channels if c in Channel.values]

    def life_event_labels(self) -> list[str]:
        return [str(LifeEvent(e).label) for e in self.life_events if e in LifeEvent.values]

    @property
    def is_joint(self) -> bool:
        return self.handling_mode == HandlingMode.JOINT

    @property
    def is_immediate(self) -> bool:
        return self.handling_mode == HandlingMode.IMMEDIATE


class Material(models.Model):
    """A required material (申请材料) of a service item.

    `core` materials must be present for acceptance; a non-core material with `deficiency_allowed`
    may be missing under 容缺受理 (a signed undertaking, onestop.md §2). `shared` names data the
    platform already holds (免提交): offered instead of an upload (国务院令第716号 第七条).
    """

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="materials")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("材料名称"), max_length=120)
    form = models.CharField(
        _("材料形式"), max_length=12, choices=MaterialForm.choices, default=MaterialForm.ORIGINAL
    )
    source = models.CharField(
        _("来源渠道"), max_length=12, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    count = models.PositiveSmallIntegerField(_("份数"), default=1)
    required = models.BooleanField(_("必要"), default=True)
    core = models.BooleanField(_("核心材料"), default=True)
    deficiency_allowed = models.BooleanField(_("可容缺"), default=False)
    shared = models.CharField(
        _("可共享获取（免提交）"), max_length=20, choices=SharedData.choices, blank=True
    )
    allowed_kinds = models.JSONField(_("允许的文件类型"), default=list, blank=True)
    max_size_kb = models.PositiveIntegerField(_("大小上限（KB）"), default=10240)
    max_pages = models.PositiveSmallIntegerField(_("页数上限"), default=20)
    spec = models.CharField(_("规格"), max_length=200, blank=True)
    note = models.CharField(_("填报须知"), max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("申请材料")
        ordering = ["item_id", "position", "id"]

    def __str__(self) -> str:
        return self.name

    def kinds(self) -> list[str]:
        return list(self.allowed_kinds) or [FileKind.PDF, FileKind.JPEG, FileKind.PNG]


class SearchMiss(models.Model):
    """A search that found nothing, counted per normalized query and day ("searched but not found")."""

    query = models.CharField(_("检索词"), max_length=100)
    day = models.DateField(_("日期"))
    count = models.PositiveIntegerField(_("次数"), default=0)
    last_filters = models.JSONField(_("最近一次的筛选条件"), default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("无结果检索")
        constraints = [models.UniqueConstraint(fields=["query", "day"], name="search_miss_unique")]
        indexes = [models.Index(fields=["day", "count"], name="search_miss_day")]

    def __str__(self) -> str:
        return f"{self.query} ({self.day}: {self.count})"


class Authorization(models.Model):
    """帮办代办: a resident authorizes a staff member to apply for one item on their behalf.

    Recorded who (agent), for whom (principal), what (item), valid until; the resident sees it on
    their page and can revoke it (onestop.md §3).
    """

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("帮办人")
    )
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="onestop_authorizations",
        verbose_name=_("委托人"),
    )
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("事项"))
    org = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("帮办窗口")
    )
    valid_until = models.DateField(_("有效期至"))
    basis = models.CharField(_("授权方式"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("帮办代办授权")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.agent} → {self.principal}: {self.item}"

    def is_valid_on(self, day: date) -> bool:
        return self.revoked_at is None and day <= self.valid_until


class SerialCounter(models.Model):
    """The last application serial per implementation code and day (办件编号: 实施编码 + yyyyMMdd + serial).

    Allocated by an UPDATE … SET last = last + 1 on one row: the row lock orders concurrent
    submissions on PostgreSQL, SQLite's IMMEDIATE transactions serialize writers anyway.
    """

    prefix = models.CharField(max_length=40)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="serial_counter_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}{self.day:%Y%m%d}:{self.last}"


def new_token() -> str:
    return uuid.uuid4().hex


class Application(ConcurrentTransitionMixin, models.Model):
    """An application (办件) and its legal lifecycle (onestop.md §3).

    草稿 → 已提交 → 已受理 | 不予受理 | 补正中 → 审查中 → 已决定 → 已办结. Deadlines are stored as dates
    (Asia/Shanghai legal dates) so that the staff queue can sort and filter by them; they are
    recomputed by actions when the clock stops, resumes or is extended (rules.deadlines).
    """

    # NULL while a draft: unique only among numbered applications (several drafts have none).
    number = models.CharField(_("办件编号"), max_length=48, unique=True, null=True, blank=True)
    check_code = models.CharField(_("查询码"), max_length=8, blank=True)
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="applications")
    item_version = models.PositiveIntegerField(default=1)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="onestop_applications"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    authorization = models.ForeignKey(Authorization, null=True, blank=True, on_delete=models.PROTECT)
    department = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    receiving_org = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("申请渠道"), max_length=10, default="web")
    state = FSMField(_("状态"), choices=State.choices, default=State.DRAFT, protected=True)
    form_data = models.JSONField(_("表单"), default=dict, blank=True)
    # The item's review process as it stood at acceptance: a later edit of the item does not
    # change the rules an accepted case is reviewed under (onestop/process.py replays it).
    review_process = models.JSONField(_("受理时的审查流程"), default=dict, blank=True)
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    # NULL when the client sent no Idempotency-Key (the partial unique constraint skips NULLs).
    idempotency_key = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # --- time limits (working days, snapshot of the item and the rule set at submission) ---
    received_on = models.DateField(_("收件日期"), null=True, blank=True)
    promised_days = models.PositiveSmallIntegerField(default=0)
    decision_days = models.PositiveSmallIntegerField(default=0)
    max_extension_days = models.PositiveSmallIntegerField(default=0)
    extension_days = models.PositiveSmallIntegerField(_("延长工作日"), default=0)
    stopped_days = models.PositiveSmallIntegerField(_("挂起工作日"), default=0)
    stopped_since = models.DateField(_("挂起起始日"), null=True, blank=True)
    stop_reason = models.CharField(max_length=12, choices=StopReason.choices, blank=True)
    notice_due = models.DateField(_("一次性告知期限"), null=True, blank=True)
    promised_due = models.DateField(_("承诺办结日期"), null=True, blank=True)
    decision_due = models.DateField(_("法定办结期限"), null=True, blank=True)
    delivery_due = models.DateField(_("送达期限"), null=True, blank=True)
    # The deadline the queue sorts by; NULL exactly when the application is closed (or a draft).
    due_date = models.DateField(_("当前期限"), null=True, blank=True)
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    deemed_accepted = models.BooleanField(_("逾期未告知视为受理"), default=False)
    deficiency_due = models.DateField(_("容缺材料补齐期限"), null=True, blank=True)
    undertaking = models.TextField(_("容缺承诺"), blank=True)
    undertaking_signed_at = models.DateTimeField(null=True, blank=True)
    # What the acceptance told the applicant happens if the 容缺 materials are not supplied in
    # time (onestop.deficiency_missed_outcome at acceptance, the text as staff stated it).
    deficiency_outcome = models.CharField(
        _("逾期未补齐的处理"), max_length=10, choices=Outcome.choices, blank=True
    )
    deficiency_consequence = models.TextField(_("逾期未补齐的后果"), blank=True)
    # Set once by the 容缺逾期 job (actions.flag_missed_deficiencies) and never cleared: the day
    # the deadline was found passed with materials still missing.
    deficiency_missed_on = models.DateField(_("容缺逾期日期"), null=True, blank=True)
    decided_on = models.DateField(_("决定日期"), null=True, blank=True)
    outcome = models.CharField(_("决定"), max_length=10, choices=Outcome.choices, blank=True)
    reasons = models.TextField(_("理由"), blank=True)
    completed_on = models.DateField(_("办结日期"), null=True, blank=True)
    # --- 跨省通办 / 异地代收代办: the receiving window forwarded; the competent authority decides ---
    forwarded_at = models.DateTimeField(_("转办时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("办件")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="application_idempotency",
            ),
        ]
        indexes = [
            # The staff queue: open applications by due date, within a department or a window, or
            # across the whole scope. Not partial: SQLite cannot match a partial index's condition
            # against bound parameters. Closed applications have no due date (NULL), so the queue's
            # "due_date IS NOT NULL" skips them in every one of these indexes.
            models.Index(fields=["department", "due_date", "id"], name="app_queue_department"),
            models.Index(fields=["receiving_org", "due_date", "id"], name="app_queue_receiving"),
            models.Index(fields=["due_date", "id"], name="app_queue_due"),
            models.Index(fields=["applicant", "created_at"], name="app_applicant"),
            # The 容缺逾期 job: the few applications awaiting minor materials and not flagged yet
            # (IS [NOT] NULL conditions: SQLite matches them, unlike bound parameters).
            models.Index(
                fields=["deficiency_due"],
                name="app_deficiency_pending",
                condition=models.Q(deficiency_due__isnull=False, deficiency_missed_on__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"草稿 #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def deficiency_overdue(self) -> bool:
        """容缺逾期: the deadline passed (flagged by the job), materials still missing, no decision yet."""
        return (
            self.deficiency_missed_on is not None
            and self.deficiency_due is not None
            and self.state in DEFICIENCY_STATES
        )

    # --- the legal lifecycle: actions call these after checking every rule ---

    @transition(field=state, source=State.DRAFT, target=State.SUBMITTED)
    def submit(self) -> None:
        """The applicant (or an assisting staff member) hands in the application."""

    @transition(field=state, source=State.SUBMITTED, target=State.ACCEPTED)
    def accept(self) -> None:
        """受理 (行政许可法 第三十二条)."""

    @transition(field=state, source=State.SUBMITTED, target=State.NOT_ACCEPTED)
    def refuse(self) -> None:
        """不予受理, with reasons."""

    @transition(
        field=state, source=[State.SUBMITTED, State.ACCEPTED, State.REVIEWING], target=State.CORRECTING
    )
    def request_correction(self) -> None:
        """一次性告知: the applicant must correct or complete materials."""

    @transition(field=state, source=State.CORRECTING, target=State.SUBMITTED)
    def resubmit(self) -> None:
        """Corrected materials for an application not accepted yet: back to acceptance."""

    @transition(field=state, source=State.CORRECTING, target=State.REVIEWING)
    def resume_review(self) -> None:
        """Corrected materials for an application already (or deemed) accepted."""

    @transition(field=state, source=State.ACCEPTED, target=State.REVIEWING)
    def begin_review(self) -> None:
        """审查中: the first review task was taken up."""

    @transition(field=state, source=[State.ACCEPTED, State.REVIEWING], target=State.DECIDED)
    def decide(self) -> None:
        """准予 / 不予 with reasons."""

    @transition(field=state, source=State.DECIDED, target=State.COMPLETED)
    def complete(self) -> None:
        """已办结: the result was delivered (within 10 working days of the decision)."""

    @transition(field=state, source=[State.SUBMITTED, State.CORRECTING], target=State.WITHDRAWN)
    def withdraw(self) -> None:
        """The applicant withdraws before acceptance."""


class ApplicationMaterial(models.Model):
    """A material handed in for an application: an uploaded file, or shared data (免提交)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="onestop/%Y/%m/", max_length=200, blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=5, choices=FileKind.choices, blank=True)
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveSmallIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    from_shared = models.BooleanField(_("共享获取"), default=False)
    defect = models.CharField(_("告知的问题"), max_length=300, blank=True)
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("办件材料")
        constraints = [
            models.UniqueConstraint(fields=["application", "material"], name="application_material_unique")
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.material}"


class Event(models.Model):
    """Every transition and clock change of an application: who, when, from, to, note."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=True, help_text=_("在进度查询中显示（不含经办人和备注）"))
    data = models.JSONField(default=dict, blank=True)
    # Set with the event when the applicant is to be told; cleared by tasks.announce. A lost
    # announcement (killed worker, queue down) is found by tasks.sweep_unannounced.
    pending_announce = models.BooleanField(default=False)

    class Meta:
        verbose_name = verbose_name_plural = _("办件记录")
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["at"],
                name="onestop_event_pending_announce",
                condition=models.Q(pending_announce=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.application}: {self.action}"

    @property
    def action_label(self) -> str:
        return str(EVENT_LABELS.get(self.action, self.action))

    @property
    def from_state_label(self) -> str:
        return str(State(self.from_state).label) if self.from_state in State.values else self.from_state

    @property
    def to_state_label(self) -> str:
        return str(State(self.to_state).label) if self.to_state in State.values else self.to_state


class CorrectionNotice(models.Model):
    """一次性告知书: every missing or defective material at once (行政许可法 第三十二条).

    Due within onestop.notice_working_days of receipt; a later notice is recorded as `late` and the
    application counts as accepted from the receipt date.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notices")
    issued_on = models.DateField(_("告知日期"))
    items = models.JSONField(_("告知事项"), default=list)
    late = models.BooleanField(_("逾期告知"), default=False)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    resolved_on = models.DateField(_("补正日期"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("一次性告知")
        ordering = ["issued_on", "id"]

    def __str__(self) -> str:
        return f"{self.application} {self.issued_on}"


class ClockStop(models.Model):
    """挂起: a period not counted in the time limit; `working_days` is set when it ends."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="clock_stops")
    reason = models.CharField(_("原因"), max_length=12, choices=StopReason.choices)
    started_on = models.DateField(_("开始"))
    ended_on = models.DateField(_("结束"), null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(_("挂起工作日"), default=0)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("挂起")
        ordering = ["started_on", "id"]

    def __str__(self) -> str:
        return f"{self.application} {self.get_reason_display()}"


class Extension(models.Model):
    """An extension of the decision limit with its recorded reasons (行政许可法 第四十二条)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延长工作日"))
    reason = models.TextField(_("理由"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on = models.DateField(_("批准日期"))

    class Meta:
        verbose_name = verbose_name_plural = _("延期")

    def __str__(self) -> str:
        return f"{self.application} +{self.days}"


class ReviewTask(models.Model):
    """One task of the item's review process (a stage may hold parallel tasks, one per department)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tasks")
    stage = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=40)
    name = models.CharField(max_length=60)
    org = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=TaskState.choices, default=TaskState.PENDING)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opinion = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("审查任务")
        ordering = ["stage", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "stage", "key"], name="review_task_unique")
        ]

    def __str__(self) -> str:
        return f"{self.application} {self.name}"


class WebhookDelivery(models.Model):
    """One outgoing webhook per (application, state): a unique key, so a retried job never sends twice."""

    key = models.CharField(max_length=120, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=300)
    payload = models.JSONField()
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("推送记录")
        # tasks.retry_stale_webhooks looks for pending deliveries every minute: only those indexed
        indexes = [
            models.Index(
                fields=["created_at"],
                name="onestop_webhook_pending",
                condition=models.Q(delivered_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.key
