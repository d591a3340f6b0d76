"""One signed POST of an outgoing webhook (one-stop announcements, learning pushes).

The body is the payload as sorted JSON, signed with HMAC-SM3 under the operator's secret
(header X-Dangqun-Signature: sm3=<hex>) and named by a delivery key (X-Dangqun-Delivery) that
stays the same on every retry, so that a receiver can drop a delivery it already has. Retries,
locks and the delivery records belong to the callers; this only sends and says how it went.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .crypto import webhook_signature

TIMEOUT = 10  # seconds


def post_signed(url: str, payload: Any, *, secret: str, delivery: str) -> tuple[bool, str]:
    """(True, "") on a 2xx answer, else (False, what went wrong) — never raises for the network."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    request = urllib.request.Request(  # noqa: S310 — the URL is the operator's setting (http/https)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Dangqun-Delivery": delivery,
            "X-Dangqun-Signature": "sm3=" + webhook_signature(body, secret),
        },
    )
    try:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook URL must be http(s)")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            ok = 200 <= response.status < 300
            return ok, "" if ok else f"HTTP {response.status}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, str(exc)[:300]
