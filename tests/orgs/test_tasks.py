"""Term reminders: the secretaries and administrators covering an organization, once per term end."""

from __future__ import annotations

from datetime import date

from dangqun.core.models import Notification
from dangqun.orgs.actions import do_update_organization
from dangqun.orgs.tasks import remind_term_endings

TODAY = date(2026, 11, 25)


def test_it_reminds_the_covering_secretary_and_admin_once(tree, street_admin, secretary, outsider, member):
    # Exactly 3 months away: inside the reminder window.
    do_update_organization(tree.branch_a, actor=street_admin, term_ends_on=date(2027, 2, 25))
    assert remind_term_endings(TODAY) == 1
    reminded = set(Notification.objects.values_list("recipient__username", "key"))
    key = f"term-ending:{tree.branch_a.pk}:2027-02-25"
    assert reminded == {("street_admin", key), ("secretary_a", key)}
    note = Notification.objects.get(recipient=secretary)
    assert "2027-02-25" in note.title
    assert note.url == f"/orgs/{tree.branch_a.pk}/"
    # Idempotent: the daily job runs again, nothing new is stored.
    remind_term_endings(TODAY)
    remind_term_endings(date(2026, 11, 26))
    assert Notification.objects.count() == 2


def test_it_does_not_remind_before_the_window_or_after_the_end(tree, street_admin, secretary):
    do_update_organization(tree.branch_a, actor=street_admin, term_ends_on=date(2027, 2, 26))
    do_update_organization(tree.branch_b, actor=street_admin, term_ends_on=date(2026, 11, 24))
    assert remind_term_endings(TODAY) == 0
    assert not Notification.objects.exists()


def test_a_new_term_end_is_a_new_reminder(tree, street_admin, secretary):
    do_update_organization(tree.branch_a, actor=street_admin, term_ends_on=date(2027, 1, 1))
    remind_term_endings(TODAY)
    do_update_organization(tree.branch_a, actor=street_admin, term_ends_on=date(2027, 1, 31))
    remind_term_endings(TODAY)
    assert Notification.objects.filter(recipient=secretary).count() == 2
