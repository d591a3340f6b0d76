"""Reads: scoped access for staff, and the public verification (valid / revoked / unknown).

Verification shows only what a holder shows anyway: type, issuer, dates, the masked name —
never the ID number or the certificate's fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.crypto import sm3_hex
from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm

from . import signing
from .actions import data_digest
from .identifiers import IdentifierError, normalize, parse_identifier
from .models import Certificate, CertStatus

PDF_MAGIC = b"%PDF-"


class Status:
    VALID = "valid"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    TAMPERED = "tampered"


@dataclass
class Verification:
    status: str
    message: str
    identifier: str = ""
    cert: Certificate | None = None

    def as_dict(self) -> dict[str, Any]:
        c = self.cert
        out: dict[str, Any] = {"status": self.status, "message": self.message, "identifier": self.identifier}
        if c is None or self.status in (Status.UNKNOWN, Status.TAMPERED):
            return out
        out.update(
            type=c.type_name,
            type_code=c.type_code,
            issuer=c.issuer_name,
            issuer_credit_code=c.issuer_credit_code,
            issued_at=c.issued_at,
            valid_until=c.valid_until,
            holder_masked=c.holder_masked,
            revoked_at=c.revoked_at,
            key_id=c.key_id,
            signature=c.signature,
            data_sm3=c.data_sm3,
            pdf_sm3=c.pdf_sm3,
        )
        return out

    @property
    def issued_at(self) -> datetime | None:
        return self.cert.issued_at if self.cert else None

    @property
    def valid_until(self) -> date | None:
        return self.cert.valid_until if self.cert else None


def access_certificate(actor: Any, identifier: str, perm: str = "onestop.view") -> Certificate:
    """The certificate if `actor` has `perm` on its issuer's subtree; otherwise 404."""
    cert = Certificate.objects.select_related("issuer").filter(identifier=normalize(identifier)[:100]).first()
    if cert is None or not has_perm(actor, perm, cert.issuer):
        raise NotFound()
    return cert


def signature_ok(cert: Certificate, pdf_sm3: str) -> bool:
    """The identifier's check character, the data digest and the SM2 signature over both digests."""
    try:
        parse_identifier(cert.identifier)
    except IdentifierError:
        return False
    if data_digest(cert) != cert.data_sm3:
        return False
    key = signing.public_key(cert.key_id)
    if key is None:
        return False
    return signing.verify(
        signing.signed_message(cert.identifier, cert.data_sm3, pdf_sm3), cert.signature, key
    )


def _standing(cert: Certificate, identifier: str) -> Verification:
    if cert.status == CertStatus.REVOKED:
        when = timezone.localtime(cert.revoked_at).strftime("%Y-%m-%d") if cert.revoked_at else ""
        return Verification(
            Status.REVOKED, _("该证照已于 %(d)s 注销，不再有效。") % {"d": when}, identifier, cert
        )
    if cert.valid_until and cert.valid_until < timezone.localdate():
        return Verification(
            Status.EXPIRED,
            _("该证照已于 %(d)s 过期。") % {"d": cert.valid_until.isoformat()},
            identifier,
            cert,
        )
    return Verification(Status.VALID, _("证照真实有效。"), identifier, cert)


def verify_identifier(value: str) -> Verification:
    """Public check by identifier: the record exists, is intact (signature) and its standing."""
    shown = normalize(value)[:100]
    try:
        ident = str(parse_identifier(value))
    except IdentifierError as exc:
        return Verification(Status.UNKNOWN, exc.message, shown)
    cert = Certificate.objects.filter(identifier=ident).first()
    if cert is None:
        return Verification(Status.UNKNOWN, _("未找到该证照：请核对证照标识，或向签发单位咨询。"), ident)
    if not signature_ok(cert, cert.pdf_sm3):
        return Verification(Status.TAMPERED, _("该证照的登记信息未通过签名校验，请向签发单位核实。"), ident)
    return _standing(cert, ident)


def verify_pdf(content: bytes, identifier: str = "") -> Verification:
    """Public check of a PDF file: its SM3 must equal the digest signed at issuance.

    With an identifier, the file is compared with that certificate (a mismatch is "tampered");
    without one, the certificate is found by the file's digest (no match is "unknown").
    """
    digest = sm3_hex(content)
    if identifier.strip():
        found = verify_identifier(identifier)
        if found.status == Status.UNKNOWN or found.cert is None:
            return found
        cert = found.cert
        if cert.pdf_sm3 != digest:
            return Verification(
                Status.TAMPERED,
                _("文件内容与签发时不一致：该文件可能被修改过，不能作为有效证照。"),
                cert.identifier,
            )
    else:
        cert = Certificate.objects.filter(pdf_sm3=digest).first()
        if cert is None:
            return Verification(
                Status.UNKNOWN,
                _("没有与该文件一致的证照：文件可能被修改过，或不是本平台签发的证照。"),
            )
    if not signature_ok(cert, digest):
        return Verification(Status.TAMPERED, _("文件未通过签名校验：该文件可能被修改过。"), cert.identifier)
    return _standing(cert, cert.identifier)


def looks_like_pdf(head: bytes) -> bool:
    return head.startswith(PDF_MAGIC)
