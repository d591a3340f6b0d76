"""The printable bulletin (打印简报): one A4 document rendered by WeasyPrint with the Noto CJK
fonts, as certs.pdf does. WeasyPrint may fetch nothing but data: URIs, so an editor's text can
never make it read a file or call a server."""

from __future__ import annotations

from typing import Any

import weasyprint
from django.template.loader import render_to_string
from django.utils import timezone


def _fetcher() -> weasyprint.URLFetcher:
    return weasyprint.URLFetcher(allowed_protocols={"data"}, timeout=1)


def bulletin_pdf(product: Any, organization: Any) -> bytes:
    html = render_to_string(
        "learning/bulletin.html",
        {"product": product, "organization": organization, "today": timezone.localdate()},
    )
    return weasyprint.HTML(string=html, base_url=None, url_fetcher=_fetcher()).write_pdf()
