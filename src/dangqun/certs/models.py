"""E-certificates (电子证照, onestop.md §4; GB/T 36904 identifiers, SM2 signatures)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dangqun.core import crypto
from dangqun.core.fields import EncryptedTextField


class CertStatus(models.TextChoices):
    VALID = "valid", _("有效")
    REVOKED = "revoked", _("已注销")


class SerialCounter(models.Model):
    """The last serial issued per issuer (credit code) and certificate type.

    do_issue_certificate locks the row (select_for_update) for the rest of its transaction, so
    two issuances of the same type by the same issuer never share a serial; different issuers
    or types never wait for each other (on PostgreSQL; SQLite serializes every writer anyway).
    """

    issuer_credit_code = models.CharField(max_length=18)
    type_code = models.CharField(max_length=21)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = _("证照流水号")
        constraints = [
            models.UniqueConstraint(fields=["issuer_credit_code", "type_code"], name="certs_serial_unique")
        ]

    def __str__(self) -> str:
        return f"{self.issuer_credit_code}/{self.type_code}: {self.last}"


class Certificate(models.Model):
    """One issued e-certificate: the PDF as issued, its SM3 digest and the SM2 signature.

    The signature covers identifier + SM3(canonical data) + SM3(PDF) (certs.signing), so the
    stored PDF, the printed data and the identifier can each be checked later. The holder's
    name and ID number are SM4-GCM encrypted, the ID number with an HMAC-SM3 blind index; the
    public verification shows only `holder_masked` (张*明). Certificates are never deleted: a
    wrong one is revoked (status, date, reason, who) and stays verifiable as revoked.
    `source` names what the certificate was issued for ("onestop.application:<number>"), so the
    one-stop app links to it without a foreign key into its models.
    """

    identifier = models.CharField(_("证照标识"), max_length=100, unique=True)
    type_code = models.CharField(_("证照类型代码"), max_length=21)
    type_name = models.CharField(_("证照名称"), max_length=60)
    issuer = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="certificates", verbose_name=_("签发单位")
    )
    issuer_name = models.CharField(_("签发单位名称（签发时）"), max_length=120)
    issuer_credit_code = models.CharField(_("签发单位统一社会信用代码"), max_length=18)
    serial = models.PositiveBigIntegerField(_("流水号"))
    version = models.PositiveSmallIntegerField(_("版本号"), default=1)
    holder_name = EncryptedTextField(_("持证人姓名"))
    holder_masked = models.CharField(_("持证人（脱敏）"), max_length=60)
    holder_id_number = EncryptedTextField(_("持证人证件号码"), blank=True)
    holder_id_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    data = models.JSONField(_("证照数据"), default=dict)
    salt = models.CharField(max_length=32, editable=False)
    data_sm3 = models.CharField(_("数据摘要（SM3）"), max_length=64)
    issued_at = models.DateTimeField(_("签发时间"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    pdf = models.FileField(_("证照文件"), upload_to="certs/", max_length=200)
    pdf_sm3 = models.CharField(_("文件摘要（SM3）"), max_length=64, db_index=True)
    key_id = models.CharField(_("签名密钥标识"), max_length=16)
    signature = models.CharField(_("SM2 签名"), max_length=128)
    status = models.CharField(_("状态"), max_length=10, choices=CertStatus.choices, default=CertStatus.VALID)
    revoked_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    revoke_reason = models.CharField(_("注销原因"), max_length=200, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("注销人"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("签发人"),
    )
    source = models.CharField(_("来源"), max_length=120, blank=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = _("电子证照")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["issuer", "-issued_at"], name="certs_issuer_issued")]

    def __str__(self) -> str:
        return f"{self.type_name} {self.identifier}"

    def save(self, *args, **kwargs) -> None:
        self.holder_id_index = (
            crypto.blind_index(self.holder_id_number, purpose="id") if self.holder_id_number else ""
        )
        fields = kwargs.get("update_fields")
        if fields is not None and "holder_id_number" in fields:
            kwargs["update_fields"] = set(fields) | {"holder_id_index"}
        super().save(*args, **kwargs)
