"""Every change to e-certificates: issue, revoke (onestop.md §4)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.crypto import sm3_hex
from dangqun.core.errors import RuleViolation
from dangqun.core.permissions import require
from dangqun.core.validators import validate_credit_code, validate_id_number
from dangqun.orgs.models import Organization

from . import catalog, signing
from .identifiers import IdentifierError, build_identifier, mask_name, validate_type_code
from .models import Certificate, CertStatus, SerialCounter
from .pdf import CertificateContent, render_certificate_pdf

MAX_FIELDS = 40
MAX_LABEL = 40
MAX_VALUE = 500
MAX_SOURCE = 120


def certificate_document(cert: Certificate) -> dict[str, Any]:
    """The certificate's data as signed: SM3 over signing.canonical_json() of this dict.

    The random `salt` keeps the digest from confirming a guessed name or ID number.
    """
    return {
        "v": 1,
        "identifier": cert.identifier,
        "type_code": cert.type_code,
        "type_name": cert.type_name,
        "issuer_credit_code": cert.issuer_credit_code,
        "issuer_name": cert.issuer_name,
        "holder_name": cert.holder_name,
        "holder_id_number": cert.holder_id_number or "",
        "data": cert.data,
        "issued_at": cert.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "salt": cert.salt,
    }


def data_digest(cert: Certificate) -> str:
    return sm3_hex(signing.canonical_json(certificate_document(cert)))


def _check_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """A flat mapping label → text, number or yes/no, small enough to print on one page."""
    if not isinstance(data, Mapping):
        raise RuleViolation("cert_data", _("证照数据应为“项目: 内容”的对照表"), field="data")
    if len(data) > MAX_FIELDS:
        raise RuleViolation("cert_data", _("证照数据最多 %(n)d 项") % {"n": MAX_FIELDS}, field="data")
    clean: dict[str, Any] = {}
    for label, value in data.items():
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
            raise RuleViolation(
                "cert_data", _("证照数据的项目名应为 1 至 %(n)d 个字") % {"n": MAX_LABEL}, field="data"
            )
        # Floats are refused: their text form is not canonical across databases and languages.
        if isinstance(value, float) or not isinstance(value, str | int | bool) or value is None:
            raise RuleViolation(
                "cert_data",
                _("“%(label)s”的内容应为文字、整数或是/否（金额请写成文字，如“680.00”）") % {"label": label},
                field="data",
            )
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise RuleViolation("cert_data", _("“%(label)s”的内容过长") % {"label": label}, field="data")
        clean[label.strip()] = value
    return clean


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


def _holder(holder: Mapping[str, Any]) -> tuple[str, str]:
    name = str(holder.get("name") or "").strip()
    if not name or len(name) > 60:
        raise RuleViolation("cert_holder_name", _("请填写持证人姓名（不超过 60 个字）"), field="holder")
    raw_id = holder.get("id_number") or ""
    try:
        id_number = validate_id_number(raw_id) if raw_id else ""
    except ValidationError as exc:
        raise RuleViolation(exc.code or "id_number", exc.messages[0], field="holder") from None
    return name, id_number


def _next_serial(credit_code: str, type_code: str) -> int:
    """Lock this issuer's counter for the type and take the next number (see SerialCounter)."""
    counter, _created = SerialCounter.objects.select_for_update().get_or_create(
        issuer_credit_code=credit_code, type_code=type_code
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


@transaction.atomic
def do_issue_certificate(
    issuer: Organization,
    type_code: str,
    holder: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    actor: Any,
    source: str = "",
    type_name: str | None = None,
    valid_until: date | None = None,
) -> Certificate:
    """Issue an e-certificate: serial, GB/T 36904 identifier, PDF, SM3 digests, SM2 signature.

    Needs onestop.handle on the issuer's subtree. The issuer must have a valid unified social
    credit code (GB 32100). `holder` is {"name", "id_number" (optional, resident ID)}; `data`
    maps labels to values printed in this order. `source` links back to what the certificate
    was issued for, e.g. "onestop.application:<number>". Everything happens in one transaction
    (the serial counter stays locked until it commits); the audit event names the identifier.
    """
    require(actor, "onestop.handle", issuer)
    try:
        credit_code = validate_credit_code(issuer.credit_code)
    except ValidationError as exc:
        raise RuleViolation(
            "cert_issuer_credit_code",
            _("签发单位“%(org)s”未登记有效的统一社会信用代码：%(m)s")
            % {"org": issuer.name, "m": exc.messages[0]},
            field="issuer",
        ) from None
    try:
        type_code = validate_type_code(type_code)
    except IdentifierError as exc:
        raise RuleViolation(exc.code, exc.message, field="type_code") from None
    name_of_type = (type_name or "").strip() or catalog.type_name(type_code)
    if not name_of_type or len(name_of_type) > 60:
        raise RuleViolation(
            "cert_type_name", _("未知的证照类型“%(code)s”，请同时给出证照名称") % {"code": type_code}
        )
    holder_name, holder_id = _holder(holder)
    fields = _check_data(data)
    if len(source) > MAX_SOURCE:
        raise RuleViolation("cert_source", _("来源标记过长"), field="source")
    issued_at = timezone.now().replace(microsecond=0)
    if valid_until is not None and valid_until < timezone.localdate(issued_at):
        raise RuleViolation("cert_valid_until", _("有效期不能早于签发日期"), field="valid_until")
    key = signing.signing_key_for(credit_code)  # before the counter: a key error burns no serial

    serial = _next_serial(credit_code, type_code)
    ident = str(build_identifier(type_code, credit_code, serial))
    cert = Certificate(
        identifier=ident,
        type_code=type_code,
        type_name=name_of_type,
        issuer=issuer,
        issuer_name=issuer.name,
        issuer_credit_code=credit_code,
        serial=serial,
        version=1,
        holder_name=holder_name,
        holder_masked=mask_name(holder_name),
        holder_id_number=holder_id,
        data=fields,
        salt=secrets.token_hex(16),
        issued_at=issued_at,
        valid_until=valid_until,
        key_id=key.key_id,
        issued_by=actor if getattr(actor, "pk", None) else None,
        source=source,
    )
    cert.data_sm3 = data_digest(cert)
    pdf_bytes = render_certificate_pdf(
        CertificateContent(
            identifier=ident,
            type_name=name_of_type,
            holder_name=holder_name,
            holder_id_number=holder_id,
            issuer_name=issuer.name,
            issuer_credit_code=credit_code,
            issued_at=issued_at,
            valid_until=valid_until,
            fields=[(label, _display(value)) for label, value in fields.items()],
        )
    )
    cert.pdf_sm3 = sm3_hex(pdf_bytes)
    cert.signature = signing.sign(signing.signed_message(ident, cert.data_sm3, cert.pdf_sm3), key)
    # An unguessable file name: the PDF carries personal data, its identifier is public.
    cert.pdf.save(f"{issued_at:%Y/%m}/{secrets.token_urlsafe(18)}.pdf", ContentFile(pdf_bytes), save=False)
    try:
        cert.save()
        audit(
            actor, "cert.issue", cert, identifier=ident, type_code=type_code, source=source, key_id=key.key_id
        )
    except BaseException:
        cert.pdf.delete(save=False)
        raise
    return cert


@transaction.atomic
def do_revoke_certificate(cert: Certificate, reason: str, *, actor: Any) -> Certificate:
    """Revoke (注销) a certificate: it stays verifiable, as revoked on that date.

    Needs onestop.configure on the issuer's subtree (department or street administrators).
    A reason is required; a certificate is revoked once (the row is locked while checking).
    """
    require(actor, "onestop.configure", cert.issuer)
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 200:
        raise RuleViolation("cert_revoke_reason", _("请填写注销原因（2 至 200 个字）"), field="reason")
    locked = Certificate.objects.select_for_update().get(pk=cert.pk)
    if locked.status == CertStatus.REVOKED:
        raise RuleViolation(
            "cert_already_revoked",
            _("该证照已于 %(d)s 注销") % {"d": timezone.localtime(locked.revoked_at).strftime("%Y-%m-%d")},
        )
    cert.status, cert.revoked_at, cert.revoke_reason = CertStatus.REVOKED, timezone.now(), reason
    cert.revoked_by = actor if getattr(actor, "pk", None) else None
    cert.save(update_fields=["status", "revoked_at", "revoke_reason", "revoked_by"])
    audit(actor, "cert.revoke", cert, identifier=cert.identifier, reason=reason)
    return cert
