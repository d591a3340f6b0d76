"""Public verification (anyone, rate-limited per address) and staff reads/revocation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router
from ninja.files import UploadedFile

from dangqun.core.errors import RuleViolation
from dangqun.core.schemas import ERRORS, PUBLIC_ERRORS

from . import conf, signing
from .actions import do_revoke_certificate
from .models import Certificate
from .queries import access_certificate, looks_like_pdf, verify_identifier, verify_pdf
from .schemas import CertificateOut, PublicKeyOut, RevokeIn, VerifyOut
from .throttle import RateLimited, hit

router = Router(tags=["certs"])


def _limited(exc: RateLimited) -> JsonResponse:
    response = JsonResponse(exc.as_dict(), status=429, json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(exc.retry_after)
    return response


@router.get(
    "/certs/verify/{identifier}",
    auth=None,
    response={200: VerifyOut, **PUBLIC_ERRORS},
    summary="按证照标识核验电子证照（公开）",
)
def verify_by_identifier(request: HttpRequest, identifier: str) -> Any:
    """valid / revoked / expired / unknown / tampered, with only what the holder shows."""
    try:
        hit(request, "verify", conf.verify_rate())
    except RateLimited as exc:
        return _limited(exc)
    return verify_identifier(identifier).as_dict()


@router.post(
    "/certs/verify",
    auth=None,
    response={200: VerifyOut, **PUBLIC_ERRORS},
    summary="上传 PDF 核验电子证照（公开）",
)
def verify_by_pdf(
    request: HttpRequest,
    pdf: File[UploadedFile],
    identifier: Form[str] = "",
) -> Any:
    """Valid only if the file's SM3 equals the digest signed at issuance and the signature holds."""
    try:
        hit(request, "verify-upload", conf.upload_rate())
    except RateLimited as exc:
        return _limited(exc)
    limit = conf.max_upload_bytes()
    if pdf.size is not None and pdf.size > limit:
        raise RuleViolation(
            "cert_pdf_too_large", _("文件过大（最大 %(mb)d MB）。") % {"mb": limit // (1024 * 1024)}
        )
    content = pdf.read(limit + 1)
    if len(content) > limit:
        raise RuleViolation(
            "cert_pdf_too_large", _("文件过大（最大 %(mb)d MB）。") % {"mb": limit // (1024 * 1024)}
        )
    if not looks_like_pdf(content[:8]):
        raise RuleViolation("cert_pdf_format", _("上传的文件不是 PDF。"))
    return verify_pdf(content, identifier[:200]).as_dict()


@router.get(
    "/certs/keys",
    auth=None,
    response={200: list[PublicKeyOut], **PUBLIC_ERRORS},
    summary="电子证照签名公钥（公开）",
)
def public_keys(request: HttpRequest) -> Any:
    """Every SM2 public key that verification trusts; `key_id` links a certificate to its key."""
    try:
        hit(request, "verify", conf.verify_rate())
    except RateLimited as exc:
        return _limited(exc)
    return [
        {"key_id": kid, "public_key": key.hex} for kid, key in sorted(signing.known_public_keys().items())
    ]


def _out(cert: Certificate) -> dict[str, Any]:
    return {
        "identifier": cert.identifier,
        "type": cert.type_name,
        "type_code": cert.type_code,
        "issuer_id": cert.issuer_id,
        "issuer": cert.issuer_name,
        "issuer_credit_code": cert.issuer_credit_code,
        "holder_masked": cert.holder_masked,
        "issued_at": cert.issued_at,
        "valid_until": cert.valid_until,
        "status": cert.status,
        "revoked_at": cert.revoked_at,
        "revoke_reason": cert.revoke_reason,
        "source": cert.source,
    }


@router.get(
    "/certs/issued/{identifier}", response={200: CertificateOut, **ERRORS}, summary="证照详情（工作人员）"
)
def certificate_detail(request: HttpRequest, identifier: str) -> Any:
    """Needs onestop.view on the issuer's subtree; 404 otherwise."""
    return _out(access_certificate(request.auth, identifier))


@router.post(
    "/certs/issued/{identifier}/revoke",
    response={200: CertificateOut, **ERRORS},
    summary="注销电子证照",
)
def revoke(request: HttpRequest, identifier: str, payload: RevokeIn) -> Any:
    """Needs onestop.configure on the issuer's subtree; audited; the certificate stays verifiable."""
    cert = access_certificate(request.auth, identifier)
    return _out(do_revoke_certificate(cert, payload.reason, actor=request.auth))
