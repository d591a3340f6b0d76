"""Per-IP rate limits kept in Django's cache (shared by every process when the cache is Redis)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from dangqun.core.errors import RuleViolation
from dangqun.core.net import client_ip

# Public tracking: enough for a person checking a few numbers, too few to guess check codes
# (32^6 ≈ 10^9 codes: at 20 tries a minute, one guess in 50 million a day per address).
TRACK_LIMIT = 20
TRACK_WINDOW = 60


class Throttled(RuleViolation):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "rate_limited",
            _("查询过于频繁，请 %(s)s 秒后再试。") % {"s": retry_after},
            {"retry_after": retry_after},
        )
        self.retry_after = retry_after


def check(request: HttpRequest, scope: str, limit: int | None = None, window: int | None = None) -> None:
    """Count one request of this address in the current window; raise Throttled past the limit."""
    limit = limit or getattr(settings, "ONESTOP_TRACK_LIMIT", TRACK_LIMIT)
    window = window or TRACK_WINDOW
    key = f"dangqun:throttle:{scope}:{client_ip(request)}"
    if cache.add(key, 1, timeout=window):
        return
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        return
    if count > limit:
        raise Throttled(window)
