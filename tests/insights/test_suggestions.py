"""Improvement suggestions: generated from seeded patterns with their numbers, accepted into a
tracked task or dismissed with a reason (audited), and their effect shown the next month."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.insights import stats, suggest
from dangqun.insights.actions import (
    do_accept_suggestion,
    do_dismiss_suggestion,
    do_generate_suggestions,
    do_update_task,
)
from dangqun.insights.models import Suggestion
from dangqun.onestop.models import SearchMiss

from .conftest import make_app, make_fix, notice, rate, visit

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def patterns(tree, item, other_item, applicant, window_staff, django_capture_on_commit_callbacks):
    """October 2026, with the patterns of issue 5:
    - item: 25 applications, 10 with a one-time notice (40 %), 7 of them naming 申请书;
    - other_item: 25 completed, only 15 on time (60 %);
    - at the window, the elderly rate 2.5 on average, everyone else 4.5 (12 ratings each);
    - 社保补贴 searched 9 times without a result;
    - a fix past its deadline in the department.
    """
    day = date(2026, 10, 12)
    for n in range(25):
        app = make_app(item, applicant, received=day)
        if n < 10:
            notice(app, day + timedelta(days=1), ["申请书"] if n < 7 else ["近期免冠照片"], window_staff)
    for n in range(25):
        make_app(
            other_item,
            applicant,
            received=day,
            accepted=day,
            completed=date(2026, 10, 20),
            promised=date(2026, 10, 26) if n < 15 else date(2026, 10, 16),
        )
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(24):
            v = visit(tree.window, item.department, window_staff, day, about=item)
            elderly = n % 2 == 0
            rate(
                item.department,
                (2 if n % 4 == 0 else 3) if elderly else (4 if n % 4 == 1 else 5),
                day,
                visit=v,
                channel="qr",
                elderly=elderly,
            )
        overdue = rate(
            item.department, 1, day, app=make_app(item, applicant, received=day), reasons=["guide"]
        )
        make_fix(overdue, due=timezone.localdate() - timedelta(days=3))
    SearchMiss.objects.create(query="社保补贴", day=day, count=6)
    SearchMiss.objects.create(query="社保补贴", day=day + timedelta(days=1), count=3)
    SearchMiss.objects.create(query="偶尔一次", day=day, count=1)
    stats.rebuild()


def by_kind(kind: str, month: date = OCT) -> list[Suggestion]:
    return list(Suggestion.objects.filter(month=month, kind=kind))


def test_suggestions_come_from_the_patterns_with_their_numbers(
    tree, item, other_item, patterns, street_admin
):
    result = do_generate_suggestions(OCT, actor=street_admin)
    assert result["created"] == Suggestion.objects.count() > 0

    (notice_s,) = by_kind("notice_material")
    assert notice_s.unit == item.department
    assert notice_s.evidence == {
        "item": item.name,
        "submitted": 26,  # 25 + the application rated for the overdue fix
        "noticed": 10,
        "share": round(10 / 26, 4),
        "material": "申请书",
        "material_count": 7,
    }
    assert "38%" in suggest.text(notice_s)
    assert "申请书" in suggest.text(notice_s)
    assert "请修改办事指南" in suggest.text(notice_s)

    (slow,) = by_kind("on_time_low")
    assert slow.unit == other_item.department
    assert (slow.evidence["completed"], slow.evidence["on_time"], slow.metric) == (25, 15, 0.6)

    groups = {s.subject: s for s in by_kind("group_low")}
    window = groups["window:elderly"]
    assert window.unit == tree.window
    assert (window.evidence["group_avg"], window.evidence["others_avg"], window.evidence["n"]) == (
        2.5,
        4.5,
        12,
    )
    assert "帮办代办" in suggest.text(window)
    assert "2.5" in suggest.text(window)
    assert "4.5" in suggest.text(window)

    (miss,) = by_kind("search_miss")
    assert (miss.subject, miss.evidence["count"], miss.evidence["days"]) == ("社保补贴", 9, 2)
    assert miss.unit == tree.street

    # Overdue fixes are a figure of today: suggested only for the current or the previous month.
    assert by_kind("overdue_fixes") == []
    do_generate_suggestions(NOV, actor=street_admin)
    (late,) = by_kind("overdue_fixes", NOV)
    assert late.unit == item.department
    assert late.evidence["overdue"] == 1
    assert "已超期" in suggest.text(late)

    assert AuditEvent.objects.filter(action="insights.suggestions.generate").count() == 2


def test_generating_again_neither_duplicates_nor_changes_a_decision(patterns, street_admin, department_admin):
    do_generate_suggestions(OCT, actor=street_admin)
    count = Suggestion.objects.count()
    (notice_s,) = by_kind("notice_material")
    do_dismiss_suggestion(notice_s, reason="指南上月已修改", actor=department_admin)
    result = do_generate_suggestions(OCT, actor="insights-job")
    assert Suggestion.objects.count() == count
    assert result["created"] == 0
    notice_s.refresh_from_db()
    assert notice_s.state == "dismissed"
    assert notice_s.dismiss_reason == "指南上月已修改"


def test_accepting_makes_a_tracked_task_and_next_month_shows_the_effect(
    item, applicant, window_staff, patterns, department_admin, street_admin
):
    do_generate_suggestions(OCT, actor=street_admin)
    (s,) = by_kind("notice_material")
    today = timezone.localdate()
    with pytest.raises(RuleViolation) as err:
        do_accept_suggestion(s, owner=department_admin, due=today - timedelta(days=1), actor=department_admin)
    assert err.value.code == "task_due_past"
    task = do_accept_suggestion(
        s, owner=department_admin, due=today + timedelta(days=20), actor=department_admin
    )
    s.refresh_from_db()
    assert (s.state, task.owner, task.status) == ("accepted", department_admin, "open")
    assert AuditEvent.objects.filter(action="insights.suggestion.accept", object_id=str(s.pk)).exists()
    with pytest.raises(RuleViolation):
        do_accept_suggestion(
            s, owner=department_admin, due=today + timedelta(days=20), actor=department_admin
        )
    # November: the guide was clarified, 2 of 20 applications get a notice.
    for n in range(20):
        app = make_app(item, applicant, received=date(2026, 11, 5))
        if n < 2:
            notice(app, date(2026, 11, 6), ["申请书"], window_staff)
    stats.rebuild()
    effect = suggest.effect(s, today=date(2026, 12, 6))
    assert effect["before"] == "38%"
    assert effect["after"] == "10%"
    assert effect["verdict"] == "已改善"
    with pytest.raises(RuleViolation) as err:
        do_update_task(task, status="done", actor=department_admin)
    assert err.value.code == "task_note"
    do_update_task(task, status="done", note="办事指南写明申请书须本人签字", actor=department_admin)
    task.refresh_from_db()
    assert task.status == "done"
    assert task.done_on == timezone.localdate()


def test_a_department_admin_decides_only_in_their_subtree(
    patterns, street_admin, department_admin, other_admin
):
    do_generate_suggestions(OCT, actor=street_admin)
    (s,) = by_kind("notice_material")  # of the department of `department_admin`
    with pytest.raises(RuleViolation) as err:
        do_dismiss_suggestion(s, reason="不是我们的事项", actor=other_admin)
    assert err.value.status == 403
    with pytest.raises(RuleViolation) as err:
        do_dismiss_suggestion(s, reason="短", actor=department_admin)
    assert err.value.code == "dismiss_reason"
    with pytest.raises(RuleViolation) as err:
        do_accept_suggestion(
            s, owner=other_admin, due=timezone.localdate() + timedelta(days=5), actor=department_admin
        )
    assert err.value.code == "task_owner"


def test_the_suggestions_page_and_api_show_only_what_is_in_scope(
    client, tree, item, patterns, street_admin, department_admin, other_admin
):
    do_generate_suggestions(OCT, actor=street_admin)
    client.force_login(department_admin)
    html = client.get("/insights/suggestions/?month=2026-10").content.decode()
    assert "申请书" in html  # their department's item
    assert "社保补贴" not in html  # the street's suggestion
    client.force_login(street_admin)
    html = client.get("/insights/suggestions/?month=2026-10").content.decode()
    assert "社保补贴" in html
    assert "申请书" in html

    token, _ = issue_token(other_admin, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    (s,) = by_kind("notice_material")
    theirs = client.get("/api/v1/insights/suggestions?month=2026-10", **auth).json()
    assert [x["kind"] for x in theirs] == ["on_time_low"]  # other_item is of their department
    r = client.post(
        f"/api/v1/insights/suggestions/{s.pk}/dismiss",
        {"reason": "不是我们的"},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 404
    token, _ = issue_token(department_admin, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = client.get("/api/v1/insights/suggestions?month=2026-10", **auth).json()
    assert {x["kind"] for x in listed} == {"notice_material", "group_low"}
    assert all(x["unit_id"] == item.department.pk for x in listed)
    due = (timezone.localdate() + timedelta(days=10)).isoformat()
    r = client.post(
        f"/api/v1/insights/suggestions/{s.pk}/accept",
        {"owner_id": department_admin.pk, "due": due},
        content_type="application/json",
        **auth,
    )
    assert r.status_code == 200
    assert r.json()["state"] == "accepted"
    assert r.json()["task"]["due"] == due
    # And through the page: dismissing another one needs its reason.
    client.force_login(department_admin)
    do_generate_suggestions(NOV, actor=street_admin)
    (late,) = by_kind("overdue_fixes", NOV)
    r = client.post(f"/insights/suggestions/{late.pk}/dismiss/", {"reason": ""}, follow=True)
    assert "请写明不采纳的理由" in r.content.decode()
    r = client.post(f"/insights/suggestions/{late.pk}/dismiss/", {"reason": "已于昨日督办完毕"})
    assert r.status_code == 302
    late.refresh_from_db()
    assert late.state == "dismissed"


def test_the_suggest_command_and_the_monthly_job(patterns, capsys):
    from django.core.management import call_command

    call_command("insights", "suggest", "--month", "2026-10")
    assert "created=" in capsys.readouterr().out
    assert Suggestion.objects.filter(month=OCT).exists()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("insights", "suggest", "--month", "2026/10")
    call_command("insights", "rebuild")
    call_command("insights", "refresh")
    assert "refresh:" in capsys.readouterr().out.splitlines()[-1]


def test_the_demo_seeder_rebuilds_and_wipes(patterns, capsys):
    from django.core.management import call_command

    from dangqun.insights.models import CaseStat

    call_command("seed_insights")
    assert "统计已重算" in capsys.readouterr().out
    assert CaseStat.objects.exists()
    do_generate_suggestions(OCT, actor="test")
    assert Suggestion.objects.exists()
    call_command("seed_insights", "--wipe")
    assert not CaseStat.objects.exists()
    assert not Suggestion.objects.exists()


def test_next_months_page_shows_the_effect_of_an_accepted_suggestion(
    client, item, applicant, window_staff, patterns, street_admin, department_admin
):
    do_generate_suggestions(OCT, actor=street_admin)
    (s,) = by_kind("notice_material")
    do_accept_suggestion(
        s, owner=department_admin, due=timezone.localdate() + timedelta(days=9), actor=department_admin
    )
    for n in range(20):
        app = make_app(item, applicant, received=date(2026, 11, 5))
        if n < 2:
            notice(app, date(2026, 11, 6), ["申请书"], window_staff)
    stats.rebuild()
    client.force_login(department_admin)
    html = client.get("/insights/suggestions/?month=2026-11").content.decode()
    assert "2026-10 采纳建议的改进效果" in html
    assert "<td>38%</td><td>10%</td><td>已改善</td>" in html
