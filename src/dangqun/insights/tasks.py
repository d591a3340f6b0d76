"""Scheduled jobs: the statistics every minute, a nightly rebuild, the monthly suggestions."""

from __future__ import annotations

import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from dangqun.core.locks import expiring_lock

from . import stats

log = logging.getLogger(__name__)
REFRESH_LOCK_SECONDS = 3600  # longer than the nightly rebuild; a killed worker's lock ends by itself


@db_periodic_task(crontab(minute="*"))
def refresh_statistics() -> dict[str, int]:
    """Case slices touched by onestop events, and any slice left dirty (≤ 60 s behind)."""
    with expiring_lock("insights-refresh", REFRESH_LOCK_SECONDS):
        return stats.refresh_recent()


@db_periodic_task(crontab(hour="3", minute="15"))
def rebuild_statistics() -> dict[str, int]:
    """Everything recomputed once a night: whatever a missed signal left behind is corrected."""
    with expiring_lock("insights-refresh", REFRESH_LOCK_SECONDS):
        return stats.rebuild()


@db_periodic_task(crontab(day="1", hour="6", minute="30"))
def monthly_suggestions() -> dict[str, int]:
    """On the 1st: suggestions from the month just ended."""
    from .actions import do_generate_suggestions

    month = stats.prev_month(timezone.localdate())
    result = do_generate_suggestions(month, actor="insights-job")
    log.info("insights: suggestions for %s: %s", month, result)
    return result
