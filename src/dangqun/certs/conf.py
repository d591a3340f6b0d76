"""Settings of the certs app, read from Django settings first, then the environment.

SITE_URL                     absolute base of the verification links in QR codes
CERT_VERIFY_RATE             public verifications per client address and window: "60/60"
CERT_VERIFY_UPLOAD_RATE      PDF uploads per client address and window: "10/60"
CERT_VERIFY_MAX_BYTES        largest PDF accepted for verification (bytes)
The signing keys: see certs.signing.
"""

from __future__ import annotations

import os

from django.conf import settings

DEFAULT_SITE_URL = "http://127.0.0.1:8000"


def setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, "") or default
    return str(value)


def site_url() -> str:
    return setting("SITE_URL", DEFAULT_SITE_URL).rstrip("/")


def rate(name: str, default: str) -> tuple[int, int]:
    """(requests, seconds) from "N/S"; a malformed value falls back to the default."""
    try:
        count, seconds = (int(x) for x in setting(name, default).split("/"))
    except ValueError:
        count, seconds = (int(x) for x in default.split("/"))
    return max(count, 1), max(seconds, 1)


def verify_rate() -> tuple[int, int]:
    return rate("CERT_VERIFY_RATE", "60/60")


def upload_rate() -> tuple[int, int]:
    return rate("CERT_VERIFY_UPLOAD_RATE", "10/60")


def max_upload_bytes() -> int:
    return int(setting("CERT_VERIFY_MAX_BYTES", str(10 * 1024 * 1024)))
