"""疑似自行脱党 for organizational life (party.md §5): no meeting of the branch attended for 6
consecutive complete months — the same flag as for unpaid dues, with its own reason, in the same
places (the dues ledger and arrears pages and API, the member's dues page, the monthly job)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.core.models import Notification
from dangqun.meetings import actions as MA
from dangqun.meetings.choices import AttendanceStatus, MeetingKind
from dangqun.members import rules as R
from dangqun.members.actions import do_enroll_member
from dangqun.members.actions_transfer import do_accept_transfer, do_issue_transfer
from dangqun.members.choices import Status
from dangqun.members.queries import dues_ledger
from dangqun.members.tasks import notify_dues_lapses, notify_life_lapses

from .conftest import make_id, national

pytestmark = pytest.mark.django_db

MONTHS = [date(2026, m, 15) for m in range(1, 10)]  # a 主题党日 on the 15th, January–September 2026


def enroll(branch, name, actor, *, status=Status.FULL, admitted_on=date(2015, 7, 1)):
    return do_enroll_member(
        branch=branch,
        name=name,
        id_number=make_id(date(1980, 1, 1)),
        status=status,
        admitted_on=admitted_on,
        actor=actor,
    )


def hold(branch, on: date, present: set[int], actor):
    """A held 主题党日 of the branch: the roster expected, `present` present, the others absent."""
    at = timezone.make_aware(datetime(on.year, on.month, on.day, 14, 0))
    meeting = MA.do_create_meeting(
        organization=branch,
        kind=MeetingKind.THEME_DAY,
        topic=f"主题党日 {on:%Y-%m}",
        starts_at=at,
        actor=actor,
    )
    entries = {
        a.member_id: (AttendanceStatus.PRESENT, "")
        if a.member_id in present
        else (AttendanceStatus.ABSENT, "外出")
        for a in meeting.attendance.all()
    }
    MA.do_record_attendance(meeting, entries, actor=actor)
    MA.do_update_meeting(meeting, minutes="学习讨论", actor=actor)
    return MA.do_close_meeting(meeting, actor=actor)


@pytest.fixture
def life(tree, secretary, root_admin):
    """Branch A, January–September 2026:
    steady attends every month; lapsed attends January, August, September only (February–July
    absent: 6 months); newcomer is admitted on 2026-03-15 and never attends; mover comes from
    branch B on 2026-03-10 and never attends; B's own member has no recorded meeting at all."""
    steady = enroll(tree.branch_a, "常到会", root_admin)
    lapsed = enroll(tree.branch_a, "久未到", root_admin)
    newcomer = enroll(
        tree.branch_a, "新接收", root_admin, status=Status.PROBATIONARY, admitted_on=date(2026, 3, 15)
    )
    mover = enroll(tree.branch_b, "新转入", root_admin)
    quiet = enroll(tree.branch_b, "乙支部", root_admin)
    transfer = do_issue_transfer(mover, to_branch=tree.branch_a, issued_on=date(2026, 3, 1), actor=root_admin)
    do_accept_transfer(transfer, accepted_on=date(2026, 3, 10), actor=secretary)
    for on in MONTHS:
        present = {steady.pk} | ({lapsed.pk} if on.month in (1, 8, 9) else set())
        hold(tree.branch_a, on, present, secretary)
    return {"steady": steady, "lapsed": lapsed, "newcomer": newcomer, "mover": mover, "quiet": quiet}


def rows(month: date, today: date = date(2026, 12, 1)):
    return {r.member_id: r for r in dues_ledger(month, today=today).rows}


# --- the rule, pure ----------------------------------------------------------------------------


def test_six_months_in_a_row_are_flagged_with_their_own_reason_and_source():
    gap = R.months_range(date(2026, 2, 1), date(2026, 7, 1))
    flag = R.life_lapse_flag(gap, national(date(2026, 8, 1)))
    assert flag.code == "suspected_lapse_life"
    assert "连续 6 个月（2026年2月 至 2026年7月）未参加党的组织生活" in flag.message
    assert "中国共产党章程 第九条" in flag.message
    assert R.life_lapse_flag(gap[1:], national(date(2026, 8, 1))) is None


def test_the_months_count_from_the_first_whole_month_and_from_the_first_record():
    months = R.months_without_life(
        belongs_from=date(2026, 3, 15), records_from=date(2026, 1, 15), through=date(2026, 8, 1), attended=[]
    )
    assert months == R.months_range(date(2026, 4, 1), date(2026, 8, 1))
    on_the_first = R.months_without_life(
        belongs_from=date(2026, 3, 1), records_from=date(2026, 1, 15), through=date(2026, 8, 1), attended=[]
    )
    assert on_the_first[0] == date(2026, 3, 1)
    assert (
        R.months_without_life(
            belongs_from=date(2015, 7, 1), records_from=None, through=date(2026, 8, 1), attended=[]
        )
        == []
    )


# --- the ledger ---------------------------------------------------------------------------------


def test_six_complete_months_without_a_meeting_attended_are_flagged(tree, life):
    june, july = rows(date(2026, 6, 1)), rows(date(2026, 7, 1))
    assert (june[life["lapsed"].pk].life_gap_months, june[life["lapsed"].pk].suspected_lapse_life) == (
        5,
        False,
    )
    assert (july[life["lapsed"].pk].life_gap_months, july[life["lapsed"].pk].suspected_lapse_life) == (
        6,
        True,
    )
    assert (july[life["steady"].pk].life_gap_months, july[life["steady"].pk].suspected_lapse_life) == (
        0,
        False,
    )
    # Counted per branch apart from the unpaid-dues flag.
    assert (
        dues_ledger(date(2026, 7, 1), today=date(2026, 12, 1))
        .branches[tree.branch_a.pk]
        .suspected_life_lapses
        == 1
    )


def test_the_running_month_never_counts(life):
    # On 20 July, July is not over: February–June is five months, not yet a lapse.
    row = rows(date(2026, 7, 1), today=date(2026, 7, 20))[life["lapsed"].pk]
    assert (row.life_gap_months, row.suspected_lapse_life) == (5, False)


def test_months_before_admission_or_the_transfer_in_are_not_counted(life):
    august = rows(date(2026, 8, 1))
    # Both were on the roster since January, but belong to branch A from April: April–August.
    for who in ("newcomer", "mover"):
        assert (august[life[who].pk].life_gap_months, august[life[who].pk].suspected_lapse_life) == (5, False)
    september = rows(date(2026, 9, 1))
    for who in ("newcomer", "mover"):
        assert september[life[who].pk].suspected_lapse_life is True


def test_a_branch_that_records_no_meetings_flags_nobody(life):
    assert rows(date(2026, 9, 1))[life["quiet"].pk].life_gap_months == 0


# --- the pages and the API ----------------------------------------------------------------------


def test_the_ledger_and_the_arrears_pages_show_it(client, tree, secretary, life):
    client.force_login(secretary)
    ledger = client.get(reverse("members:dues_ledger", args=[tree.branch_a.pk]), {"month": "2026-07"})
    text = ledger.content.decode()
    assert "1 人连续 6 个月以上未参加组织生活" in text
    arrears = client.get(reverse("members:dues_arrears", args=[tree.branch_a.pk]), {"month": "2026-07"})
    body = arrears.content.decode()
    assert "连续 6 个月以上未参加组织生活" in body
    assert "久未到" in body


def test_the_ledger_api_lists_it_apart_from_the_dues_rows(client, token_for, tree, secretary, life):
    response = client.get(
        "/api/v1/dues/ledger", {"branch": tree.branch_a.pk, "month": "2026-07"}, headers=token_for(secretary)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["totals"]["suspected_life_lapses"] == 1
    assert body["life_lapses"] == [
        {"member_id": life["lapsed"].pk, "name": "久未到", "status": "full", "life_gap_months": 6}
    ]


def test_the_members_dues_page_shows_the_reason(client, tree, secretary, root_admin):
    # Relative to today: the member page counts the 12 months ending with the running month.
    this = R.month_of(timezone.localdate())
    absent = enroll(tree.branch_a, "近来未到", root_admin)
    for k in range(8, 0, -1):
        m = R.add_months(this, -k)
        hold(tree.branch_a, m.replace(day=10), {absent.pk} if k == 8 else set(), secretary)
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[absent.pk])).content.decode()
    assert "连续 7 个月" in page
    assert "未参加党的组织生活" in page


# --- the monthly job ------------------------------------------------------------------------------


def test_the_secretary_is_told_once_with_its_own_reason_and_no_status_changes(tree, secretary, life):
    notify_life_lapses(date(2026, 7, 1))
    notify_life_lapses(date(2026, 7, 1))  # a job run twice tells once
    [note] = Notification.objects.filter(recipient=secretary, title__contains="组织生活")
    assert "1 名党员连续 6 个月以上未参加组织生活" in note.title
    assert "由支部大会决定" in note.body
    # The dues notification is a separate one (its own key and text).
    notify_dues_lapses(date(2026, 7, 1))
    assert not Notification.objects.filter(recipient=secretary, title__contains="组织生活").exclude(
        pk=note.pk
    )
    life["lapsed"].refresh_from_db()
    assert life["lapsed"].status == Status.FULL
