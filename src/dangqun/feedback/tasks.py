"""Daily jobs of the feedback loop: remind unrated cases, escalate overdue fixes."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import actions


@db_periodic_task(crontab(hour="8", minute="5"))
def daily_feedback_jobs() -> None:
    actions.remind_unrated()
    actions.escalate_overdue_fixes()
