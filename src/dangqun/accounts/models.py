"""Users with real-name identity, scoped roles and API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dangqun.core import crypto
from dangqun.core.fields import EncryptedTextField
from dangqun.core.validators import mask_id_number, mask_phone

from .choices import STAFF_ROLES, Gender, Role


class User(AbstractUser):
    """A person who signs in. Real-name identity per 网络安全法 第二十四条.

    The resident ID number and phone are stored SM4-GCM encrypted and found by an HMAC-SM3
    blind index (`id_number_index`, `phone_index`); screens show them masked.
    """

    full_name = models.CharField(_("姓名"), max_length=60, blank=True)
    id_number = EncryptedTextField(_("身份证号"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    totp_secret = EncryptedTextField(_("动态口令密钥"), blank=True, editable=False)
    totp_confirmed = models.BooleanField(_("已启用双因素认证"), default=False)
    # The TOTP time step of the last accepted code: a code is accepted once (RFC 6238 §5.2).
    totp_last_step = models.PositiveBigIntegerField(default=0, editable=False)
    failed_logins = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    elder_mode = models.BooleanField(_("长辈模式"), default=False)
    language = models.CharField(_("界面语言"), max_length=10, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=~models.Q(id_number_index=""),
                name="user_unique_id_number",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def save(self, *args, **kwargs) -> None:
        # The blind indexes follow the plaintext; recomputed on every save that touches them.
        self.id_number_index = crypto.blind_index(self.id_number, purpose="id") if self.id_number else ""
        self.phone_index = crypto.blind_index(self.phone, purpose="phone") if self.phone else ""
        fields = kwargs.get("update_fields")
        if fields is not None:
            extra = {"id_number": "id_number_index", "phone": "phone_index"}
            kwargs["update_fields"] = set(fields) | {extra[f] for f in fields if f in extra}
        super().save(*args, **kwargs)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def is_locked(self) -> bool:
        return bool(self.locked_until and self.locked_until > timezone.now())

    def role_set(self) -> set[str]:
        if not hasattr(self, "_role_cache"):
            self._role_cache = set(self.grants.values_list("role", flat=True))
        return self._role_cache

    @property
    def needs_two_factor(self) -> bool:
        return self.is_superuser or bool(self.role_set() & STAFF_ROLES)


class RoleGrant(models.Model):
    """A role held over an organization and its whole subtree."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="grants", verbose_name=_("组织")
    )
    granted_at = models.DateTimeField(_("授予时间"), auto_now_add=True)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("授予人")
    )

    class Meta:
        verbose_name = verbose_name_plural = _("角色授权")
        constraints = [models.UniqueConstraint(fields=["user", "role", "organization"], name="grant_unique")]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.organization}"


class ApiToken(models.Model):
    """A bearer token for the API. Only the SM3 digest of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=60, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("访问令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class DeletionRequest(models.Model):
    """个人信息保护法 第四十七条: a person asks for their personal information to be deleted.

    What the law requires to keep (case files, party records, the audit log) is kept, minimised
    (contact details removed) and listed in `retained` with its legal basis; the rest is deleted
    or unlinked. Nothing is erased without a recorded decision.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("待处理")
        DONE = "done", _("已删除")
        REFUSED = "refused", _("不予删除")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deletion_requests")
    reason = models.TextField(_("理由"), blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.TextField(_("处理说明"), blank=True)
    deleted = models.JSONField(_("已删除或解除关联"), default=dict, blank=True)
    retained = models.JSONField(_("依法保留（已最小化）"), default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("个人信息删除申请")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(state="pending"), name="one_pending_deletion_request"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.get_state_display()}"


class Consent(models.Model):
    """个人信息保护法 第十四条: a person's consent to one use of their data, informed, voluntary and
    explicit — what (data), for what (purpose), to whom (recipient), on what basis, when.

    Recorded by the action that shares the data, in its transaction (onestop: 免提交 uses data the
    platform already holds instead of an upload). Withdrawal (第十五条) stops further use; what was
    processed before it stays valid, so a case already handed in is not undone.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("有效")
        WITHDRAWN = "withdrawn", _("已撤回")

    person = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="consents", verbose_name=_("本人")
    )
    purpose = models.CharField(_("用途"), max_length=300)
    data = models.CharField(_("数据类别"), max_length=32)  # a key, e.g. onestop SharedData "id_card"
    data_name = models.CharField(_("数据名称"), max_length=100)
    recipient = models.ForeignKey(
        "orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_name = models.CharField(_("接收方"), max_length=200)  # as it was named when consent was given
    legal_basis = models.CharField(_("法律依据"), max_length=300)
    source_type = models.CharField(_("来源"), max_length=60)  # e.g. "onestop.application"
    source_id = models.PositiveBigIntegerField()
    reference = models.CharField(_("编号"), max_length=64, blank=True)  # e.g. the application number
    granted_at = models.DateTimeField(_("同意时间"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = _("个人信息使用同意")
        constraints = [
            # Idempotent: one active consent per person, use and data; a new one only after withdrawal.
            models.UniqueConstraint(
                fields=["person", "source_type", "source_id", "data"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="one_active_consent",
            )
        ]
        indexes = [models.Index(fields=["source_type", "source_id"])]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.purpose}"

    @property
    def state(self) -> str:
        return self.State.ACTIVE if self.withdrawn_at is None else self.State.WITHDRAWN

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)
