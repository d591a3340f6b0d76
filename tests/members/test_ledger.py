"""The monthly dues ledger and the 疑似自行脱党 flag for the branch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dangqun.core.models import Notification
from dangqun.members.actions import do_enroll_member, do_record_dues_payment, do_set_dues_rate
from dangqun.members.choices import Status
from dangqun.members.queries import dues_ledger
from dangqun.members.tasks import notify_dues_lapses

from .conftest import make_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def dues_book(tree, secretary, root_admin, full_members):
    paid, lapsed, no_rate = full_members
    for m in (paid, lapsed):
        for year in (2024, 2025):
            do_set_dues_rate(m, year, category="employed", income="4500", actor=secretary)
    do_record_dues_payment(
        paid,
        period_start=date(2024, 7, 1),
        months=6,
        paid_on=date(2024, 7, 5),
        idempotency_key="p-24",
        actor=secretary,
    )
    do_record_dues_payment(
        paid,
        period_start=date(2025, 1, 1),
        months=6,
        paid_on=date(2025, 1, 5),
        idempotency_key="p-25",
        actor=secretary,
    )
    do_record_dues_payment(
        lapsed,
        period_start=date(2024, 7, 1),
        months=6,
        paid_on=date(2024, 7, 5),
        idempotency_key="l-24",
        actor=secretary,
    )
    newcomer = do_enroll_member(
        branch=tree.branch_a,
        name="新预备",
        id_number=make_id(date(2000, 8, 8)),
        status=Status.PROBATIONARY,
        admitted_on=date(2025, 5, 10),
        actor=root_admin,
    )
    return paid, lapsed, no_rate, newcomer


def test_the_ledger_shows_what_is_due_paid_and_in_arrears(tree, dues_book):
    paid, lapsed, no_rate, newcomer = dues_book
    ledger = dues_ledger(date(2025, 6, 1))
    rows = {r.member_id: r for r in ledger.rows}
    assert (rows[paid.pk].due, rows[paid.pk].paid, rows[paid.pk].arrears_months) == (
        Decimal("45.00"),
        True,
        0,
    )
    assert not rows[paid.pk].suspected_lapse
    assert (rows[lapsed.pk].paid, rows[lapsed.pk].arrears_months, rows[lapsed.pk].arrears_amount) == (
        False,
        6,
        Decimal("270.00"),
    )
    assert rows[lapsed.pk].suspected_lapse
    assert (rows[no_rate.pk].due, rows[no_rate.pk].arrears_months) == (None, 12)
    # A probationary member owes from the month of their branch meeting (May 2025).
    assert (rows[newcomer.pk].arrears_months, rows[newcomer.pk].suspected_lapse) == (2, False)
    branch = ledger.branches[tree.branch_a.pk]
    assert (branch.members, branch.due, branch.paid, branch.outstanding) == (
        4,
        Decimal("90.00"),
        Decimal("45.00"),
        Decimal("45.00"),
    )
    assert (branch.unpaid_members, branch.rate_missing, branch.suspected_lapses) == (3, 2, 2)


def test_five_consecutive_unpaid_months_are_not_yet_a_lapse(dues_book):
    lapsed = dues_book[1]
    row = next(r for r in dues_ledger(date(2025, 5, 1)).rows if r.member_id == lapsed.pk)
    # June 2024 and January–May 2025 are unpaid: six months, but not six in a row.
    assert (row.arrears_months, row.suspected_lapse) == (6, False)


def test_the_branch_secretary_is_told_once_and_no_status_changes(tree, secretary, dues_book):
    notify_dues_lapses(date(2025, 6, 1))
    notify_dues_lapses(date(2025, 6, 1))  # a job run twice tells once
    [note] = Notification.objects.filter(recipient=secretary)
    assert "2 名党员连续 6 个月以上未交纳党费" in note.title
    assert "由支部大会决定" in note.body
    for m in dues_book[:3]:
        m.refresh_from_db()
        assert m.status == Status.FULL
