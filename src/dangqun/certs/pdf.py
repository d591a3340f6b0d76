"""The certificate as a PDF: one A4 page rendered by WeasyPrint with Noto CJK fonts.

The page shows the type, the holder, the certificate's fields, the issuer, the dates, the
identifier and a QR code (segno, PNG data URI) that opens the public verification page
`<SITE_URL>/certs/verify/<identifier>`. WeasyPrint may fetch nothing but data: URIs, so a
field's text can never make it read a file or call a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import segno
import weasyprint
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import conf

QR_SCALE = 6  # pixels per module in the embedded PNG
QR_BORDER = 4  # the quiet zone scanners need, in modules


@dataclass(frozen=True)
class CertificateContent:
    identifier: str
    type_name: str
    holder_name: str
    holder_id_number: str
    issuer_name: str
    issuer_credit_code: str
    issued_at: datetime
    valid_until: date | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)


def verification_url(identifier: str) -> str:
    return conf.site_url() + reverse("certs:verify", args=[identifier])


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def qr_data_uri(url: str) -> str:
    return qr_code(url).png_data_uri(scale=QR_SCALE, border=QR_BORDER)


def _fetcher() -> weasyprint.URLFetcher:
    return weasyprint.URLFetcher(allowed_protocols={"data"}, timeout=1)


def render_certificate_pdf(content: CertificateContent) -> bytes:
    url = verification_url(content.identifier)
    local = timezone.localtime(content.issued_at)
    html = render_to_string(
        "certs/pdf.html",
        {
            "c": content,
            "issued_on": local.date(),
            "verify_url": url,
            "qr": qr_data_uri(url),
        },
    )
    css = weasyprint.CSS(string=render_to_string("certs/pdf.css"), url_fetcher=_fetcher())
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_fetcher())
    return document.write_pdf(stylesheets=[css], pdf_identifier=content.identifier.encode())
