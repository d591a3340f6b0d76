"""疑似自行脱党 counts complete months only (party.md §5): the running month's dues can be paid
until its last day, so a member whose last paid month is May is not flagged on 1 or 30 November
(June–October: five complete months; November is still running and shows as "not yet paid"),
and is flagged on 1 December (June–November). The same boundary for organizational life."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.meetings import actions as MA
from dangqun.meetings.choices import AttendanceStatus, MeetingKind
from dangqun.members import rules as R
from dangqun.members.actions import do_enroll_member, do_record_dues_payment, do_set_dues_rate
from dangqun.members.choices import Status
from dangqun.members.queries import dues_ledger

from .conftest import make_id, national

pytestmark = pytest.mark.django_db

NOT_YET = (date(2026, 11, 1), date(2026, 11, 30))  # November running: June–October complete
FLAGGED = date(2026, 12, 1)  # November over: June–November


def enroll(branch, name, actor):
    return do_enroll_member(
        branch=branch,
        name=name,
        id_number=make_id(date(1975, 6, 1)),
        status=Status.FULL,
        admitted_on=date(2015, 7, 1),
        actor=actor,
    )


def on(monkeypatch, today: date) -> None:
    """The pages and the ledger read today from timezone.localdate."""
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: today)


@pytest.fixture
def paid_through_may(tree, root_admin, secretary):
    """A full member of branch A who paid December 2025 to May 2026 (six months at once)."""
    m = enroll(tree.branch_a, "吴交到五月", root_admin)
    for year in (2025, 2026):
        do_set_dues_rate(m, year, category="employed", income="4500", actor=root_admin)
    do_record_dues_payment(
        m,
        period_start=date(2025, 12, 1),
        months=6,
        paid_on=date(2025, 12, 5),
        idempotency_key="may-26",
        actor=secretary,
    )
    return m


def ledger_row(member, month: date, today: date):
    return next(r for r in dues_ledger(month, today=today).rows if r.member_id == member.pk)


# --- the rule, pure ----------------------------------------------------------------------------


def test_the_rule_leaves_out_the_months_after_the_last_complete_one():
    unpaid = R.months_range(date(2026, 6, 1), date(2026, 11, 1))  # June–November: six months
    rules = national(date(2026, 11, 1))
    assert R.lapse_flag(unpaid, rules, through=date(2026, 10, 1)) is None
    flag = R.lapse_flag(unpaid, rules, through=date(2026, 11, 1))
    assert flag.code == "suspected_lapse"
    assert "连续 6 个月（2026年6月 至 2026年11月）" in flag.message
    assert R.lapse_flag(unpaid, rules) == flag  # without `through`: the months as given


# --- dues: the ledger ----------------------------------------------------------------------------


@pytest.mark.parametrize("today", NOT_YET)
def test_the_ledger_does_not_flag_in_the_running_month(paid_through_may, today):
    row = ledger_row(paid_through_may, date(2026, 11, 1), today)
    # November is listed as not yet paid, but only June–October count toward the flag.
    assert (row.paid, row.arrears_months, row.suspected_lapse) == (False, 6, False)


def test_the_ledger_flags_once_the_sixth_month_is_over(paid_through_may):
    november = ledger_row(paid_through_may, date(2026, 11, 1), FLAGGED)
    assert (november.arrears_months, november.suspected_lapse) == (6, True)
    december = ledger_row(paid_through_may, date(2026, 12, 1), FLAGGED)
    assert (december.arrears_months, december.suspected_lapse) == (7, True)


def test_a_month_still_to_come_never_counts(paid_through_may):
    # The ledger of January 2027 looked at on 1 November: only June–October are complete.
    row = ledger_row(paid_through_may, date(2027, 1, 1), date(2026, 11, 1))
    assert row.suspected_lapse is False


# --- dues: the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("today", NOT_YET)
def test_the_member_and_ledger_pages_do_not_flag_in_the_running_month(
    client, monkeypatch, tree, secretary, paid_through_may, today
):
    on(monkeypatch, today)
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[paid_through_may.pk])).content.decode()
    assert "2026年11月" in page  # still listed as not yet paid
    assert "疑似自行脱党" not in page
    ledger = client.get(reverse("members:dues_ledger", args=[tree.branch_a.pk])).content.decode()
    assert "人连续 6 个月以上未交纳" not in ledger


def test_the_member_and_ledger_pages_flag_on_the_first_of_december(
    client, monkeypatch, tree, secretary, paid_through_may
):
    on(monkeypatch, FLAGGED)
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[paid_through_may.pk])).content.decode()
    assert "连续 6 个月（2026年6月 至 2026年11月）未交纳党费，疑似自行脱党" in page
    ledger = client.get(reverse("members:dues_ledger", args=[tree.branch_a.pk])).content.decode()
    assert "1 人连续 6 个月以上未交纳" in ledger


# --- organizational life: the same boundary --------------------------------------------------------


def hold(branch, day: date, present: set[int], actor):
    """A held 主题党日 of the branch: `present` present, the rest of the roster absent."""
    meeting = MA.do_create_meeting(
        organization=branch,
        kind=MeetingKind.THEME_DAY,
        topic=f"主题党日 {day:%Y-%m}",
        starts_at=timezone.make_aware(datetime(day.year, day.month, day.day, 14, 0)),
        actor=actor,
    )
    MA.do_record_attendance(
        meeting,
        {
            a.member_id: (AttendanceStatus.PRESENT, "")
            if a.member_id in present
            else (AttendanceStatus.ABSENT, "外出")
            for a in meeting.attendance.all()
        },
        actor=actor,
    )
    MA.do_update_meeting(meeting, minutes="学习讨论", actor=actor)
    return MA.do_close_meeting(meeting, actor=actor)


@pytest.fixture
def last_seen_in_may(tree, root_admin, secretary):
    """A full member present at the branch's 主题党日 of May 2026, absent June–November."""
    m = enroll(tree.branch_a, "郑五月后未到", root_admin)
    for month in range(5, 12):
        hold(tree.branch_a, date(2026, month, 10), {m.pk} if month == 5 else set(), secretary)
    return m


@pytest.mark.parametrize("today", NOT_YET)
def test_organizational_life_is_not_flagged_in_the_running_month(
    client, monkeypatch, secretary, last_seen_in_may, today
):
    row = ledger_row(last_seen_in_may, date(2026, 11, 1), today)
    assert (row.life_gap_months, row.suspected_lapse_life) == (5, False)
    on(monkeypatch, today)
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[last_seen_in_may.pk])).content.decode()
    assert "未参加党的组织生活" not in page


def test_organizational_life_is_flagged_on_the_first_of_december(
    client, monkeypatch, secretary, last_seen_in_may
):
    row = ledger_row(last_seen_in_may, date(2026, 12, 1), FLAGGED)
    assert (row.life_gap_months, row.suspected_lapse_life) == (6, True)
    on(monkeypatch, FLAGGED)
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[last_seen_in_may.pk])).content.decode()
    assert "连续 6 个月（2026年6月 至 2026年11月）未参加党的组织生活" in page
