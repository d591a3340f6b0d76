"""Party members, their development record, probation and dues (party.md §1, §5).

State changes happen only in actions.py; the FSM methods below say which status changes are
legal (django-fsm-2), the actions say when, with the rules, the audit event and the counters.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from pypinyin import Style, lazy_pinyin, pinyin

from dangqun.accounts.choices import Gender
from dangqun.core import crypto
from dangqun.core.fields import EncryptedTextField
from dangqun.core.validators import mask_id_number, mask_phone
from dangqun.orgs.rules import add_years

from .choices import DuesCategory, PaymentMethod, Status

# The development steps of the development record (发展党员工作细则: 5 stages, 25 steps).
FIRST_STEP, LAST_STEP = 1, 25

# Evidence files: PDF or images, recognised by their first bytes (not by the name a browser sends).
EVIDENCE_SIGNATURES = {
    b"%PDF-": ("pdf", "application/pdf"),
    b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
    b"\xff\xd8\xff": ("jpg", "image/jpeg"),
}
EVIDENCE_EXTENSIONS = {".pdf": "pdf", ".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}


def evidence_max_bytes() -> int:
    return int(getattr(settings, "MEMBERS_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))


def sniff_evidence(head: bytes) -> tuple[str, str] | None:
    """(kind, content type) of a PDF/PNG/JPEG from its first bytes, or None."""
    for magic, kind in EVIDENCE_SIGNATURES.items():
        if head.startswith(magic):
            return kind
    return None


def validate_evidence_file(f) -> None:
    """PDF, PNG or JPEG only, its content matching its name, at most 10 MB by default."""
    limit = evidence_max_bytes()
    if f.size > limit:
        raise ValidationError(
            _("证明材料不能超过 %(mb)s MB，该文件为 %(size).1f MB。")
            % {"mb": limit // (1024 * 1024), "size": f.size / (1024 * 1024)},
            code="evidence_too_large",
        )
    ext = Path(f.name or "").suffix.lower()
    pos = f.tell() if hasattr(f, "tell") else 0
    f.seek(0)
    head = f.read(16)
    f.seek(pos)
    sniffed = sniff_evidence(head)
    if ext not in EVIDENCE_EXTENSIONS or sniffed is None or EVIDENCE_EXTENSIONS[ext] != sniffed[0]:
        raise ValidationError(
            _("证明材料只能是 PDF、PNG 或 JPG 文件，且文件内容须与扩展名一致。"), code="evidence_type"
        )


# Readings of a surname tried for search (单 dan/shan/chan, 曾 ceng/zeng): pypinyin has no
# surname mode, so every reading of the first character is indexed.
MAX_SURNAME_READINGS = 4
NAME_PINYIN_MAX = 400


def _ascii_lower(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


@functools.lru_cache(maxsize=4096)
def _readings(char: str) -> tuple[str, ...]:
    """Every reading of one character (surnames repeat: an import computes each once)."""
    return tuple(pinyin(char, heteronym=True, style=Style.NORMAL)[0][:MAX_SURNAME_READINGS])


def name_pinyin_key(name: str) -> str:
    """The search key of a name: full pinyin and initials, for each reading of the surname.

    "张三" → "zhangsan zs"; "单雄信" → "danxiongxin chanxiongxin shanxiongxin dxx cxx sxx".
    The first word is the usual reading (the roster sorts by it). Searching "zs" or
    "zhangsan" is a substring match on this one column (queries.search_members).
    """
    name = (name or "").strip()
    if not name:
        return ""
    syllables = lazy_pinyin(name, errors=lambda s: [s])
    readings = [syllables[0]]
    if "\u4e00" <= name[0] <= "\u9fff":
        readings += [r for r in _readings(name[0]) if r != syllables[0]]
    fulls, initials = [], []
    for first in readings:
        parts = [first, *syllables[1:]]
        full = _ascii_lower("".join(parts))
        short = _ascii_lower("".join(p[:1] for p in parts))
        if full and full not in fulls:
            fulls.append(full)
        if short and short not in initials:
            initials.append(short)
    return " ".join(fulls + initials)[:NAME_PINYIN_MAX]


class PartyMember(ConcurrentTransitionMixin, models.Model):
    """A person in the party's care: from 入党申请人 to 正式党员, and the end states.

    Status follows the legal lifecycle (党章; 发展党员工作细则) as FSM transitions; a concurrent
    change of the same person's status fails instead of being overwritten. The ID number and
    phone are SM4-GCM encrypted with an HMAC-SM3 blind index (DESIGN.md: sensitive data).
    Key dates: 党龄 counts from `full_on` (党章 第七条: the end of probation), probation from
    `admitted_on` (the 支部大会 that admitted the person).
    """

    name = models.CharField(_("姓名"), max_length=60)
    # Filled on save from the name (name_pinyin_key): search by 张三 / zhangsan / zs.
    name_pinyin = models.CharField(_("姓名拼音"), max_length=NAME_PINYIN_MAX, blank=True, editable=False)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_member",
        verbose_name=_("平台账号"),
    )
    branch = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="party_members", verbose_name=_("党支部")
    )
    group = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="group_members",
        verbose_name=_("党小组"),
    )
    status = FSMField(_("身份"), choices=Status.choices, default=Status.APPLICANT, protected=True)
    applied_on = models.DateField(_("递交入党申请书日期"), null=True, blank=True)
    talked_on = models.DateField(_("谈话日期"), null=True, blank=True)
    activist_on = models.DateField(_("列为入党积极分子日期"), null=True, blank=True)
    candidate_on = models.DateField(_("列为发展对象日期"), null=True, blank=True)
    admitted_on = models.DateField(_("支部大会接收日期（预备期起算）"), null=True, blank=True)
    probation_ends_on = models.DateField(_("预备期满日期"), null=True, blank=True)
    full_on = models.DateField(_("转为正式党员日期（党龄起算）"), null=True, blank=True)
    ended_on = models.DateField(_("转出/出党/去世等日期"), null=True, blank=True)
    imported_through_step = models.PositiveSmallIntegerField(
        _("平台启用前已完成至第几步"),
        default=0,
        validators=[MaxValueValidator(LAST_STEP)],
        help_text=_("登记已有党员时，此前的发展步骤视为已完成"),
    )
    transferred_in = models.BooleanField(_("转入的预备党员"), default=False)
    post = models.CharField(_("职务"), max_length=60, blank=True)
    occupation = models.CharField(_("职业"), max_length=60, blank=True)
    dues_category = models.CharField(_("党费类别"), max_length=20, choices=DuesCategory.choices, blank=True)
    dues_base = models.DecimalField(_("党费基数"), max_digits=12, decimal_places=2, null=True, blank=True)
    # A graduate whose relationship stays at the school (党员教育管理工作条例 2019): at most
    # party.transfer.graduate_keep_years after graduation. `graduate_branch` is the school's
    # branch that keeps it: once the member is accepted elsewhere the warning stops by itself.
    graduated_on = models.DateField(_("毕业日期（组织关系暂留学校）"), null=True, blank=True)
    graduate_branch = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("保留毕业生组织关系的党支部"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = _("党员")
        ordering = ["branch_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=~models.Q(id_number_index=""),
                name="party_member_unique_id_number",
            ),
        ]
        indexes = [
            models.Index(fields=["branch", "status"], name="member_branch_status"),
            # The roster: one branch in pinyin order, a page at a time.
            models.Index(fields=["branch", "name_pinyin", "id"], name="member_branch_pinyin"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # The blind indexes follow the plaintext (same scheme as accounts.User).
        self.id_number_index = crypto.blind_index(self.id_number, purpose="id") if self.id_number else ""
        self.phone_index = crypto.blind_index(self.phone, purpose="phone") if self.phone else ""
        self.name_pinyin = name_pinyin_key(self.name)
        fields = kwargs.get("update_fields")
        if fields is not None:
            extra = {"id_number": "id_number_index", "phone": "phone_index", "name": "name_pinyin"}
            kwargs["update_fields"] = set(fields) | {extra[f] for f in fields if f in extra}
        super().save(*args, **kwargs)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def party_standing_years(self, on: date) -> int | None:
        """党龄 in whole years on `on`, counted from the full-membership date. A year is complete
        on the same day a year later, as for every other party time limit (orgs.rules.add_years):
        from 29 February, on 28 February of a common year."""
        if self.full_on is None or on < self.full_on:
            return None
        years = on.year - self.full_on.year
        return years - (on < add_years(self.full_on, years))

    # --- the legal lifecycle (actions call these; each returns nothing and sets its dates) ---

    @transition(field=status, source=Status.APPLICANT, target=Status.ACTIVIST)
    def make_activist(self, on: date) -> None:
        """Step 3: 确定为入党积极分子 (支委会)."""
        self.activist_on = on

    @transition(field=status, source=Status.ACTIVIST, target=Status.CANDIDATE)
    def make_candidate(self, on: date) -> None:
        """Step 7: 确定为发展对象."""
        self.candidate_on = on

    @transition(field=status, source=Status.CANDIDATE, target=Status.PROBATIONARY)
    def admit(self, meeting_on: date, probation_ends_on: date) -> None:
        """Step 17 approves the 支部大会 of step 15: probationary from the meeting's date."""
        self.admitted_on, self.probation_ends_on = meeting_on, probation_ends_on

    @transition(field=status, source=Status.PROBATIONARY, target=Status.PROBATIONARY)
    def extend_probation(self, probation_ends_on: date) -> None:
        self.probation_ends_on = probation_ends_on

    @transition(field=status, source=Status.PROBATIONARY, target=Status.FULL)
    def make_full(self, full_on: date) -> None:
        """Step 24: full member from the day probation ended (not the approval date)."""
        self.full_on = full_on

    @transition(field=status, source=Status.PROBATIONARY, target=Status.DISQUALIFIED)
    def disqualify(self, on: date) -> None:
        """取消预备党员资格, from the higher committee's approval (actions.do_cancel_probation)."""
        self.ended_on = on

    @transition(field=status, source=[Status.PROBATIONARY, Status.FULL], target=Status.TRANSFERRED_OUT)
    def transfer_out(self, on: date) -> None:
        self.ended_on = on

    @transition(field=status, source=[Status.PROBATIONARY, Status.FULL, Status.SUSPENDED], target=Status.LEFT)
    def leave(self, on: date) -> None:
        self.ended_on = on

    @transition(field=status, source=Status.FULL, target=Status.SUSPENDED)
    def suspend(self, on: date) -> None:
        self.ended_on = on

    @transition(field=status, source=Status.SUSPENDED, target=Status.FULL)
    def reinstate(self, on: date) -> None:
        self.ended_on = None

    @transition(
        field=status,
        source=[s for s in Status if s not in (Status.DECEASED, Status.TRANSFERRED_OUT, Status.LEFT)],
        target=Status.DECEASED,
    )
    def decease(self, on: date) -> None:
        self.ended_on = on


class DevelopmentStep(models.Model):
    """One of the 25 steps of 发展党员 (发展党员工作细则), recorded once per person.

    `data` keeps what the step decided (review passed, votes, training, 公示 dates); `flags` the
    warnings at the time (a late talk, a late approval): an exception is a field with its reason
    and approver (party.md §9), never a remark that silences a warning.
    """

    member = models.ForeignKey(
        PartyMember, on_delete=models.CASCADE, related_name="steps", verbose_name=_("党员")
    )
    step = models.PositiveSmallIntegerField(
        _("步骤"), validators=[MinValueValidator(FIRST_STEP), MaxValueValidator(LAST_STEP)]
    )
    done_on = models.DateField(_("完成日期"))
    responsible = models.CharField(_("负责人"), max_length=200, blank=True)
    notes = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("登记内容"), default=dict, blank=True)
    flags = models.JSONField(_("提示"), default=list, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("登记人"),
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("发展步骤")
        ordering = ["member_id", "step"]
        constraints = [
            models.UniqueConstraint(fields=["member", "step"], name="development_step_once"),
            models.CheckConstraint(
                condition=models.Q(step__gte=FIRST_STEP, step__lte=LAST_STEP), name="development_step_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.step}"


class StepEvidence(models.Model):
    """A scanned document proving a step (申请书, 谈话记录, 公示, 会议记录): PDF or image."""

    step = models.ForeignKey(
        DevelopmentStep, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("步骤")
    )
    file = models.FileField(
        _("文件"), upload_to="members/evidence/%Y/%m/", validators=[validate_evidence_file]
    )
    original_name = models.CharField(_("原文件名"), max_length=200, blank=True)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("证明材料")

    def __str__(self) -> str:
        return self.original_name or self.file.name


class ProbationExtension(models.Model):
    """延长预备期 (党章 第七条): once, 6–12 months, by a 支部大会 with higher approval."""

    member = models.ForeignKey(
        PartyMember, on_delete=models.CASCADE, related_name="probation_extensions", verbose_name=_("党员")
    )
    months = models.PositiveSmallIntegerField(_("延长月数"))
    meeting_on = models.DateField(_("支部大会日期"))
    approved_on = models.DateField(_("上级党委批准日期"))
    approved_by = models.CharField(_("批准机关"), max_length=120)
    reason = models.TextField(_("原因"))
    previous_end = models.DateField(_("原预备期满日期"))
    new_end = models.DateField(_("延长后预备期满日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("延长预备期")

    def __str__(self) -> str:
        return f"{self.member} +{self.months}"


class ProbationCancellation(models.Model):
    """取消预备党员资格 (党章 第七条; party.md §1 rule 14): decided by a 支部大会, approved by the
    higher committee, with the reason. The person leaves the probationary members on the
    approval date (PartyMember.disqualify); at most once, as the status can change only once."""

    member = models.OneToOneField(
        PartyMember, on_delete=models.CASCADE, related_name="probation_cancellation", verbose_name=_("党员")
    )
    meeting_on = models.DateField(_("支部大会日期"))
    approved_on = models.DateField(_("上级党委批准日期"))
    approved_by = models.CharField(_("批准机关"), max_length=120)
    reason = models.TextField(_("原因"))
    probation_ends_on = models.DateField(_("原预备期满日期"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("取消预备党员资格")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approved_on__gte=models.F("meeting_on")),
                name="probation_cancel_approved_after_meeting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} ✖ {self.approved_on}"


class _PersonLink(models.Model):
    assigned_on = models.DateField(_("指定日期"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.person} → {self.member}"


class ContactPerson(_PersonLink):
    """培养联系人 (step 5): 1–2 full members, never the person themselves (细则 第十一条)."""

    member = models.ForeignKey(PartyMember, on_delete=models.CASCADE, related_name="contact_links")
    person = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="contact_for")

    class Meta:
        verbose_name = verbose_name_plural = _("培养联系人")
        constraints = [
            models.UniqueConstraint(fields=["member", "person"], name="contact_person_once"),
            models.CheckConstraint(
                condition=~models.Q(member=models.F("person")), name="contact_person_not_self"
            ),
        ]


class Introducer(_PersonLink):
    """入党介绍人 (step 9): 2 full members, never the person themselves (党章 第五条)."""

    member = models.ForeignKey(PartyMember, on_delete=models.CASCADE, related_name="introducer_links")
    person = models.ForeignKey(PartyMember, on_delete=models.PROTECT, related_name="introduced")

    class Meta:
        verbose_name = verbose_name_plural = _("入党介绍人")
        constraints = [
            models.UniqueConstraint(fields=["member", "person"], name="introducer_once"),
            models.CheckConstraint(
                condition=~models.Q(member=models.F("person")), name="introducer_not_self"
            ),
        ]


class DuesRate(models.Model):
    """A member's dues for one year: fixed at the start of the year for the whole year (党费规定 一(二)).

    Quarterly payment and hardship amounts need an approval, recorded here with its date.
    """

    member = models.ForeignKey(
        PartyMember, on_delete=models.CASCADE, related_name="dues_rates", verbose_name=_("党员")
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    category = models.CharField(_("类别"), max_length=20, choices=DuesCategory.choices)
    base = models.DecimalField(_("基数"), max_digits=12, decimal_places=2)
    rate = models.DecimalField(_("比例"), max_digits=6, decimal_places=4)
    monthly_amount = models.DecimalField(_("每月党费"), max_digits=10, decimal_places=2)
    quarterly_approved_on = models.DateField(_("批准按季交纳日期"), null=True, blank=True)
    quarterly_approved_by = models.CharField(_("批准按季交纳的组织"), max_length=120, blank=True)
    hardship_approved_on = models.DateField(_("批准减免日期"), null=True, blank=True)
    hardship_approved_by = models.CharField(_("批准减免的组织"), max_length=120, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("党费标准")
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="dues_rate_once_a_year")]
        indexes = [models.Index(fields=["year", "member"], name="dues_rate_year_member")]

    def __str__(self) -> str:
        return f"{self.member} {self.year}: {self.monthly_amount}"

    @property
    def quarterly_approved(self) -> bool:
        return self.quarterly_approved_on is not None


class DuesPayment(models.Model):
    """One payment covering `months` consecutive months from `period_start` (first days of months).

    `idempotency_key` makes a retried request record the payment once. A payment of 1000 yuan
    or more is flagged: it goes wholly to the centre (党费规定).
    """

    member = models.ForeignKey(
        PartyMember, on_delete=models.PROTECT, related_name="dues_payments", verbose_name=_("党员")
    )
    period_start = models.DateField(_("起始月份"))
    period_end = models.DateField(_("截止月份"))
    months = models.PositiveSmallIntegerField(_("月数"))
    amount = models.DecimalField(_("金额"), max_digits=10, decimal_places=2)
    amount_due = models.DecimalField(_("应交金额"), max_digits=10, decimal_places=2)
    paid_on = models.DateField(_("交纳日期"))
    method = models.CharField(
        _("方式"), max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.MONTHLY
    )
    large_payment = models.BooleanField(_("大额党费（全额上缴中央）"), default=False)
    idempotency_key = models.CharField(_("幂等键"), max_length=80, unique=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("党费交纳")
        ordering = ["member_id", "period_start"]
        indexes = [
            models.Index(fields=["member", "period_start"], name="dues_payment_member_period"),
            models.Index(fields=["period_start", "period_end"], name="dues_payment_period"),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.period_start:%Y-%m} ×{self.months}: {self.amount}"


# Transfers, introduction letters and flowing members live in transfers.py (party.md §6);
# imported here so that Django registers them with the app's models.
from .transfers import (  # noqa: E402, F401
    FlowingContact,
    FlowingMember,
    IntroductionLetter,
    LetterCounter,
    Transfer,
)
