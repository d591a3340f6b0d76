"""Scheduled scans for the branches: a flag, never a decision (party.md §5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.notifications import notify
from dangqun.core.rulesets import ruleset_for

from . import rules as R
from .importing import UPLOAD_DIR
from .queries import Ledger, due_items, dues_ledger


def _lapse_months(month: date) -> int:
    return ruleset_for(None, month, prefix="party.dues.")["party.dues.arrears_flag_months"]


def _lapse_ledger(month: date) -> Ledger:
    return dues_ledger(R.month_of(month), lapse_months=_lapse_months(month))


def _secretaries(branch_ids: Iterable[int]) -> dict[int, list[int]]:
    secretaries: dict[int, list[int]] = defaultdict(list)
    grants = RoleGrant.objects.filter(role=Role.BRANCH_SECRETARY, organization_id__in=set(branch_ids))
    for org_id, user_id in grants.values_list("organization_id", "user_id"):
        secretaries[org_id].append(user_id)
    return secretaries


def _notify_branches(month: date, counts: dict[int, int], kind: str, title: str, body: str) -> int:
    """One notification per branch secretary and month: `title` and `body` are translated
    templates over %(m)s (the month), %(n)d (members flagged) and %(k)d (months in a row)."""
    if not counts:
        return 0
    months = _lapse_months(month)
    secretaries = _secretaries(counts)
    label = R.month_label(R.month_of(month))
    sent = 0
    for branch_id, count in counts.items():
        values = {"m": label, "n": count, "k": months}
        sent += notify(
            secretaries.get(branch_id, []),
            key=f"members.{kind}:{branch_id}:{month:%Y-%m}",
            title=title % values,
            body=body % values,
        )
    return sent


def notify_dues_lapses(month: date, ledger: Ledger | None = None) -> int:
    """Tell each branch secretary how many members have party.dues.arrears_flag_months (6) or more
    consecutive unpaid months up to `month`.

    党章 第九条: the branch meeting decides whether someone has left the party; the software
    only points at the facts. Idempotent per branch and month (the notification key).
    """
    ledger = ledger or _lapse_ledger(month)
    return _notify_branches(
        month,
        {b: t.suspected_lapses for b, t in ledger.branches.items() if t.suspected_lapses},
        "dues_lapse",
        _("%(n)d 名党员连续 %(k)d 个月以上未交纳党费"),
        _(
            "截至%(m)s，本支部有 %(n)d 名党员连续 %(k)d 个月以上未交纳党费，"
            "疑似自行脱党。请核实情况，由支部大会决定。"
        ),
    )


def notify_life_lapses(month: date, ledger: Ledger | None = None) -> int:
    """Tell each branch secretary how many members attended no recorded meeting of the branch for
    party.dues.arrears_flag_months (6) or more consecutive complete months up to `month`
    (queries.dues_ledger counts them). The same flag as for dues, its own reason and key."""
    ledger = ledger or _lapse_ledger(month)
    return _notify_branches(
        month,
        {b: t.suspected_life_lapses for b, t in ledger.branches.items() if t.suspected_life_lapses},
        "life_lapse",
        _("%(n)d 名党员连续 %(k)d 个月以上未参加组织生活"),
        _(
            "截至%(m)s，本支部有 %(n)d 名党员连续 %(k)d 个月以上没有出席会议的记录"
            "（未参加党的组织生活），疑似自行脱党。请核实情况，由支部大会决定。"
        ),
    )


@db_periodic_task(crontab(day="2", hour="6", minute="30"))
def notify_dues_lapses_monthly() -> int:
    # On the 2nd, about the month just ended (payments of its last day are recorded by then).
    # One ledger for both reasons of the flag: unpaid dues and no organizational life.
    month = R.add_months(R.month_of(timezone.localdate()), -1)
    ledger = _lapse_ledger(month)
    return notify_dues_lapses(month, ledger) + notify_life_lapses(month, ledger)


# ---------------------------------------------------------------------------------------------
# Development steps: overdue steps and activist reviews (发展党员工作细则 time limits)
# ---------------------------------------------------------------------------------------------

REMINDER_TITLES = {
    "talk": gettext_lazy("%(name)s：入党申请后的谈话已逾期（应于 %(due)s 前）"),
    "activist_review": gettext_lazy("%(name)s：本月应进行入党积极分子考察（%(due)s）"),
    "admission_approval": gettext_lazy("%(name)s：上级党委审批接收预备党员已逾期（一般应于 %(due)s 前）"),
    "probation_end": gettext_lazy("%(name)s：预备期已于 %(due)s 期满，应及时讨论转正"),
    "full_approval": gettext_lazy("%(name)s：上级党委审批转正已逾期（一般应于 %(due)s 前）"),
}


def remind_due_steps(today: date | None = None) -> int:
    """Notify each branch secretary of the overdue steps of their branch and of the activist
    reviews due this month. One notification per member, step and due date (the key), so the
    daily run repeats nothing; a step done meanwhile simply stops appearing.

    Returns how many items were due (notify() cannot tell a new row from a repeat).
    """
    today = today or timezone.localdate()
    items = [i for i in due_items(None, today, today) if i.overdue or i.kind == "activist_review"]
    if not items:
        return 0
    secretaries: dict[int, list[int]] = defaultdict(list)
    grants = RoleGrant.objects.filter(
        role=Role.BRANCH_SECRETARY, organization_id__in={i.branch_id for i in items}
    )
    for org_id, user_id in grants.values_list("organization_id", "user_id"):
        secretaries[org_id].append(user_id)
    reminded = 0
    # Stored text is in the site's default language: the job has no reader to ask.
    with translation.override(settings.LANGUAGE_CODE):
        for item in items:
            recipients = secretaries.get(item.branch_id)
            if not recipients:
                continue
            reminded += 1
            notify(
                recipients,
                key=f"members.due:{item.member_id}:{item.step}:{item.due_on.isoformat()}",
                title=str(REMINDER_TITLES[item.kind])
                % {"name": item.member_name, "due": item.due_on.isoformat()},
                body=_("%(branch)s · 第%(n)d步“%(step)s”。请在党员页面登记办理情况。")
                % {"branch": item.branch_name, "n": item.step, "step": R.STEPS[item.step].name},
                url=reverse("members:detail", args=[item.member_id]),
            )
    return reminded


@db_periodic_task(crontab(hour="7", minute="10"))
def remind_due_steps_daily() -> int:
    return remind_due_steps()


def clean_import_uploads(older_than_hours: int = 24) -> int:
    """Delete roster files uploaded for an import preview and never confirmed."""
    if not default_storage.exists(UPLOAD_DIR):
        return 0
    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    removed = 0
    for name in default_storage.listdir(UPLOAD_DIR)[1]:
        path = f"{UPLOAD_DIR}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            removed += 1
    return removed


@db_periodic_task(crontab(hour="3", minute="40"))
def clean_import_uploads_daily() -> int:
    return clean_import_uploads()
