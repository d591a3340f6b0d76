"""Per-address rate limits for the public verification (fixed window in the Django cache).

The cache is shared by every process when REDIS_URL is set, so the limit holds across
workers; with the default local-memory cache it holds per process.
"""

from __future__ import annotations

import math

from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from dangqun.core.errors import RuleViolation
from dangqun.core.net import client_ip


class RateLimited(RuleViolation):
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(
            "rate_limited",
            _("查询过于频繁，请 %(s)d 秒后再试。") % {"s": retry_after},
            {"retry_after": retry_after},
        )
        self.retry_after = retry_after


def hit(request: HttpRequest, scope: str, limit: tuple[int, int]) -> None:
    """Count one request from the client's address; raise RateLimited past `limit`."""
    count_allowed, window = limit
    key = f"dq:certs:{scope}:{client_ip(request)}"
    cache.add(key, 0, timeout=window)  # the window starts at the first request
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count > count_allowed:
        raise RateLimited(max(1, math.ceil(window)))
