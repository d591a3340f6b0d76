"""Daily reminders: terms ending soon (选举工作条例 第五条: remind 3 months before)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant
from dangqun.core.models import RuleValue
from dangqun.core.notifications import notify
from dangqun.core.permissions import ROLE_PERMISSIONS
from dangqun.core.rulesets import ruleset_for

from .models import Organization
from .rules import TERM_KINDS, add_months, term_reminder_due

REMINDER_KEY = "party.org.term_reminder_months"

# Who hears of a term ending: the secretaries and the administrators whose grant covers it.
REMINDED_ROLES = {role for role, perms in ROLE_PERMISSIONS.items() if "orgs.change" in perms} | {
    Role.BRANCH_SECRETARY
}


def remind_term_endings(today: date | None = None) -> int:
    """Notify once per organization and term end; running again sends nothing new (the key).

    Returns how many organizations were due (notify() cannot tell a new row from a repeat:
    bulk_create with ignore_conflicts reports every row).

    The reminder window is each organization's own rule value (an override may lengthen it),
    so candidates are pre-selected with the longest window in force and then checked exactly.
    """
    today = today or timezone.localdate()
    windows = RuleValue.objects.filter(key=REMINDER_KEY, effective_from__lte=today)
    longest = max((int(v) for v in windows.values_list("value", flat=True)), default=0)
    if not longest:
        return 0
    candidates = list(
        Organization.objects.filter(
            kind__in=TERM_KINDS,
            is_active=True,
            term_ends_on__gte=today,
            term_ends_on__lte=add_months(today, longest),
        ).order_by("path")
    )
    due = [
        org
        for org in candidates
        if term_reminder_due(org.term_ends_on, ruleset_for(org, today, prefix=REMINDER_KEY), today)
    ]
    if not due:
        return 0
    covering: dict[int, set[int]] = defaultdict(set)  # organization id -> users granted on it
    ancestor_ids = {pk for org in due for pk in org.ancestor_ids()}
    for grant in RoleGrant.objects.filter(organization_id__in=ancestor_ids, role__in=REMINDED_ROLES).only(
        "user_id", "organization_id"
    ):
        covering[grant.organization_id].add(grant.user_id)
    reminded = 0
    # Stored text is in the site's default language: the job has no reader to ask.
    with translation.override(settings.LANGUAGE_CODE):
        for org in due:
            recipients = {uid for pk in org.ancestor_ids() for uid in covering.get(pk, ())}
            if not recipients:
                continue
            reminded += 1
            notify(
                sorted(recipients),
                key=f"term-ending:{org.pk}:{org.term_ends_on.isoformat()}",
                title=_("%(name)s 本届任期将于 %(end)s 届满") % {"name": org.name, "end": org.term_ends_on},
                body=_("还有 %(days)s 天。请按规定做好换届准备；延期换届须经上级党组织批准。")
                % {"days": (org.term_ends_on - today).days},
                url=reverse("orgs:detail", args=[org.pk]),
            )
    return reminded


@db_periodic_task(crontab(hour="7", minute="0"))
def remind_term_endings_daily() -> int:
    return remind_term_endings()
