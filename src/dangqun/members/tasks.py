"""Scheduled scans for the branches: a flag, never a decision (party.md §5)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.notifications import notify
from dangqun.core.rulesets import ruleset_for

from . import rules as R
from .queries import dues_ledger


def notify_dues_lapses(month: date) -> int:
    """Tell each branch secretary how many members have party.dues.arrears_flag_months (6) or more
    consecutive unpaid months up to `month`.

    党章 第九条: the branch meeting decides whether someone has left the party; the software
    only points at the facts. Idempotent per branch and month (the notification key).
    """
    months = ruleset_for(None, month, prefix="party.dues.")["party.dues.arrears_flag_months"]
    ledger = dues_ledger(R.month_of(month), lapse_months=months)
    lapsed = {b: t.suspected_lapses for b, t in ledger.branches.items() if t.suspected_lapses}
    if not lapsed:
        return 0
    secretaries: dict[int, list[int]] = defaultdict(list)
    grants = RoleGrant.objects.filter(role=Role.BRANCH_SECRETARY, organization_id__in=lapsed)
    for org_id, user_id in grants.values_list("organization_id", "user_id"):
        secretaries[org_id].append(user_id)
    sent = 0
    label = R.month_label(R.month_of(month))
    for branch_id, count in lapsed.items():
        sent += notify(
            secretaries.get(branch_id, []),
            key=f"members.dues_lapse:{branch_id}:{month:%Y-%m}",
            title=_("%(n)d 名党员连续 %(k)d 个月以上未交纳党费") % {"n": count, "k": months},
            body=_(
                "截至%(m)s，本支部有 %(n)d 名党员连续 %(k)d 个月以上未交纳党费，"
                "疑似自行脱党。请核实情况，由支部大会决定。"
            )
            % {"m": label, "n": count, "k": months},
        )
    return sent


@db_periodic_task(crontab(day="2", hour="6", minute="30"))
def notify_dues_lapses_monthly() -> int:
    # On the 2nd, about the month just ended (payments of its last day are recorded by then).
    return notify_dues_lapses(R.add_months(R.month_of(timezone.localdate()), -1))
