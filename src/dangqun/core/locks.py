"""A lock that ends by itself: a worker killed while holding it cannot block the work forever.

huey's lock_task has no expiry, so a consumer killed with SIGKILL inside it left the lock behind
and every later attempt (the retry job, the stale-delivery sweep) gave up as "locked". This one
lives in Django's cache (Redis in production, shared by every process) with a timeout longer
than the work it guards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from huey.exceptions import TaskLockedException


@contextmanager
def expiring_lock(name: str, seconds: int) -> Iterator[None]:
    """Hold `name` for at most `seconds`; raise TaskLockedException when someone else holds it."""
    key = f"dangqun:lock:{name}"
    if not cache.add(key, 1, timeout=seconds):
        raise TaskLockedException(name)
    try:
        yield
    finally:
        cache.delete(key)
