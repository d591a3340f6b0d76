"""The work calendar: real 2025/2026 schedules, imports, overrides, the cache, CLI and admin."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dangqun.core import workcalendar
from dangqun.core.calendar_actions import (
    do_delete_calendar_day,
    do_import_calendar_year,
    do_save_calendar_day,
    read_schedule_file,
)
from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent, CalendarDay, CalendarYear, RuleValue
from dangqun.core.workcalendar import add_working_days, is_workday, known_years, working_days_between

EXAMPLE_2027 = Path(workcalendar.__file__).parent / "calendar_data" / "example-2027.json"
D = date.fromisoformat


@pytest.fixture(autouse=True)
def fresh_calendar(db):
    # The calendar is cached per process; a rolled-back test must not leak into the next one.
    workcalendar.reset()
    yield
    workcalendar.reset()


def import_example(actor) -> None:
    schedule = json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))
    do_import_calendar_year(schedule["year"], schedule["days"], schedule["source"], actor=actor)


# --- the real 2025 and 2026 schedules ----------------------------------------------------------

# The State Council notices for 2025 and 2026 (部分节假日安排), as chinesecalendar 1.11.0 has them.
OFFICIAL_2026 = {
    "2026-01-01": False,  # 元旦 1月1日—3日
    "2026-01-03": False,
    "2026-01-04": True,  # 元旦调休 (Sunday): in the notice and in the library, not in the brief
    "2026-02-14": True,  # 春节调休 (Saturday)
    "2026-02-15": False,  # 春节 2月15日—23日
    "2026-02-23": False,
    "2026-02-24": True,
    "2026-02-28": True,  # 春节调休 (Saturday)
    "2026-05-01": False,  # 劳动节 5月1日—5日
    "2026-05-05": False,
    "2026-05-09": True,  # 劳动节调休 (Saturday)
    "2026-09-20": True,  # 国庆节调休 (Sunday)
    "2026-10-01": False,  # 国庆节 10月1日—7日
    "2026-10-07": False,
    "2026-10-08": True,
    "2026-10-10": True,  # 国庆节调休 (Saturday)
    "2026-10-11": False,  # an ordinary Sunday
}
OFFICIAL_2025 = {
    "2025-01-26": True,  # 春节调休 (Sunday)
    "2025-01-28": False,  # 春节 1月28日—2月4日
    "2025-02-04": False,
    "2025-02-08": True,  # 春节调休 (Saturday)
    "2025-04-27": True,  # 劳动节调休 (Sunday)
    "2025-05-05": False,
    "2025-09-28": True,  # 国庆节调休 (Sunday)
    "2025-10-08": False,  # 国庆节、中秋节 10月1日—8日
    "2025-10-11": True,  # 国庆节调休 (Saturday)
}


@pytest.mark.parametrize(("day", "expected"), sorted({**OFFICIAL_2025, **OFFICIAL_2026}.items()))
def test_it_follows_the_official_2025_and_2026_schedules(day, expected):
    assert is_workday(D(day)) is expected
    assert chinese_calendar.is_workday(D(day)) is expected  # the library agrees with the notices


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        ("2026-09-30", 1, "2026-10-08"),  # over 国庆 (Oct 1–7)
        ("2026-09-30", 5, "2026-10-13"),  # Oct 8, 9, 10 (Saturday 调休), 12, 13
        ("2026-09-18", 5, "2026-09-24"),  # from a Friday: Sunday Sep 20 is a make-up workday
        ("2026-02-13", 1, "2026-02-14"),  # from a Friday: Saturday Feb 14 is a make-up workday
        ("2026-02-13", 3, "2026-02-25"),  # Feb 14, then 春节 until Feb 23, then Feb 24, 25
        ("2026-04-30", 1, "2026-05-06"),  # over 劳动节
        ("2026-04-30", 5, "2026-05-11"),  # May 6, 7, 8, 9 (Saturday 调休), 11
        ("2026-10-01", 1, "2026-10-08"),  # from a holiday
        ("2026-10-03", 3, "2026-10-10"),  # from a holiday, onto a Saturday make-up day
        ("2025-12-31", 1, "2026-01-04"),  # across the year: Sunday Jan 4 is a make-up workday
        ("2025-09-30", 1, "2025-10-09"),  # 2025 国庆+中秋 (Oct 1–8)
        ("2025-01-24", 1, "2025-01-26"),  # 2025 春节调休 Sunday
        ("2026-10-09", 0, "2026-10-09"),  # n = 0 is the start itself
        ("2026-10-04", 0, "2026-10-04"),  # ... even on a holiday
    ],
)
def test_it_adds_working_days_across_real_holidays(start, n, due):
    assert add_working_days(D(start), n) == D(due)


def test_a_friday_plus_one_is_the_next_monday_in_an_ordinary_week():
    assert add_working_days(D("2026-11-20"), 1) == D("2026-11-23")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2026-10-01", "2026-10-31", 18),
        ("2026-02-01", "2026-02-28", 16),
        ("2026-10-01", "2026-10-07", 0),
        ("2026-09-20", "2026-09-20", 1),  # both ends included: one make-up Sunday
        ("2026-10-08", "2026-10-08", 1),
        ("2026-05-01", "2026-05-10", 4),
        ("2025-10-01", "2025-10-31", 18),
        ("2025-01-01", "2025-12-31", 248),
        ("2026-01-01", "2026-12-31", 248),
        ("2004-01-01", "2026-12-31", 5744),
    ],
)
def test_it_counts_working_days_with_both_ends_included(a, b, expected):
    assert working_days_between(D(a), D(b)) == expected


def test_it_refuses_a_reversed_range():
    with pytest.raises(RuleViolation) as err:
        working_days_between(D("2026-10-02"), D("2026-10-01"))
    assert err.value.code == "calendar_range_reversed"


def test_it_refuses_negative_and_huge_numbers_of_days():
    with pytest.raises(RuleViolation) as err:
        add_working_days(D("2026-01-05"), -1)
    assert err.value.code == "calendar_negative_days"
    with pytest.raises(RuleViolation) as err:
        add_working_days(D("2026-01-05"), 3651)
    assert err.value.code == "calendar_too_many_days"
    assert err.value.details["max"] == 3650
    assert add_working_days(D("2004-01-01"), 3650).year == 2018  # the cap itself is allowed


def test_the_cap_is_a_versioned_rule_value():
    RuleValue.objects.create(
        key="calendar.max_working_days",
        version="2026.9",
        effective_from=D("2026-06-01"),
        value=100,
        source="测试",
    )
    assert add_working_days(D("2026-05-29"), 120) > D("2026-05-29")  # the old cap, 3650
    with pytest.raises(RuleViolation) as err:
        add_working_days(D("2026-06-01"), 101)
    assert err.value.details["max"] == 100


@pytest.mark.parametrize("day", ["2027-01-04", "2003-12-31"])
def test_a_date_in_an_unknown_year_is_an_error_not_a_guess(day):
    with pytest.raises(RuleViolation) as err:
        is_workday(D(day))
    assert err.value.code == "calendar_unknown_year"
    assert f"{D(day).year} 年" in err.value.message
    assert err.value.details["known_years"] == [[2004, 2026]]


def test_a_deadline_running_into_an_unknown_year_names_that_year():
    with pytest.raises(RuleViolation) as err:
        add_working_days(D("2026-12-30"), 5)
    assert err.value.code == "calendar_unknown_year"
    assert "尚未导入 2027 年的节假日安排" in err.value.message
    with pytest.raises(RuleViolation) as err:
        working_days_between(D("2026-12-01"), D("2027-01-05"))
    assert err.value.details["year"] == 2027


# --- importing a year --------------------------------------------------------------------------


def test_2027_is_answered_once_its_schedule_is_imported(street_admin):
    assert 2027 not in known_years()
    import_example(street_admin)
    assert known_years()[-1] == 2027
    assert add_working_days(D("2026-12-30"), 5) == D("2027-01-07")  # Jan 1–3 off in the example
    assert is_workday(D("2027-02-20")) is True  # a Saturday make-up day of the example
    assert is_workday(D("2027-02-08")) is False  # a Monday in the example's 春节
    assert is_workday(D("2027-03-06")) is False  # an ordinary Saturday: weekend rule
    assert is_workday(D("2027-03-08")) is True
    with pytest.raises(RuleViolation) as err:
        is_workday(D("2028-01-03"))
    assert err.value.details["year"] == 2028


def test_an_import_is_recorded_audited_and_idempotent(street_admin):
    import_example(street_admin)
    import_example(street_admin)
    assert CalendarYear.objects.get(year=2027).source.startswith("示例（非官方）")
    assert CalendarDay.objects.filter(day__year=2027).count() == 34
    events = AuditEvent.objects.filter(action="calendar.import")
    assert events.count() == 2
    assert events.last().payload["replaced"] == 34
    assert events.last().actor == street_admin


def test_a_reimport_replaces_the_year_entries(street_admin):
    import_example(street_admin)
    do_import_calendar_year(
        2027, [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}], "更正后的通知", actor=street_admin
    )
    assert list(CalendarDay.objects.filter(day__year=2027).values_list("day", flat=True)) == [D("2027-01-01")]
    assert is_workday(D("2027-02-08")) is True  # no longer a holiday


def test_an_import_validates_every_entry_and_changes_nothing_on_error(street_admin):
    entries = [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-30", "kind": "holiday", "name": "不存在的日期"},
        {"date": "2028-01-01", "kind": "holiday", "name": "下一年"},
        {"date": "2027-01-01", "kind": "holiday", "name": "重复"},
        {"date": "2027-05-01", "kind": "vacation", "name": "错误类型"},
    ]
    with pytest.raises(RuleViolation) as err:
        do_import_calendar_year(2027, entries, "通知", actor=street_admin)
    codes = [v.code for v in err.value.violations]
    assert codes == [
        "invalid_date",
        "calendar_date_outside_year",
        "calendar_duplicate_date",
        "calendar_bad_kind",
    ]
    assert "第 2 条" in err.value.violations[0].message
    assert not CalendarDay.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not AuditEvent.objects.filter(action="calendar.import").exists()


@pytest.mark.parametrize(
    ("year", "entries", "source", "code"),
    [
        (27, [{"date": "2027-01-01", "kind": "holiday"}], "通知", "calendar_bad_year"),
        (2027, [{"date": "2027-01-01", "kind": "holiday"}], "  ", "calendar_source_missing"),
        (2027, [], "通知", "calendar_empty_schedule"),
        (2027, [{"date": "2027-01-01", "kind": "holiday", "name": "长" * 61}], "通知", "calendar_bad_name"),
    ],
)
def test_an_import_refuses_an_incomplete_schedule(street_admin, year, entries, source, code):
    with pytest.raises(RuleViolation) as err:
        do_import_calendar_year(year, entries, source, actor=street_admin)
    assert err.value.code == code


@pytest.mark.parametrize("persona", ["secretary", "member", "resident", "department_admin", "window_staff"])
def test_only_calendar_administrators_may_import(request, persona):
    with pytest.raises(RuleViolation) as err:
        import_example(request.getfixturevalue(persona))
    assert err.value.code == "forbidden"


# --- single-day overrides ----------------------------------------------------------------------


def test_an_administrator_override_of_one_day_changes_the_answer(street_admin):
    assert add_working_days(D("2026-10-08"), 1) == D("2026-10-09")
    entry = do_save_calendar_day(
        CalendarDay(day=D("2026-10-09"), is_workday=False, name="台风停工"), actor=street_admin
    )
    assert add_working_days(D("2026-10-08"), 1) == D("2026-10-10")
    assert working_days_between(D("2026-10-01"), D("2026-10-31")) == 17
    assert workcalendar.day_info(D("2026-10-09")).overridden
    assert AuditEvent.objects.filter(action="calendar.day.save", object_id=str(entry.pk)).exists()
    do_delete_calendar_day(entry, actor=street_admin)
    assert add_working_days(D("2026-10-08"), 1) == D("2026-10-09")


def test_an_override_can_make_a_weekend_a_workday(street_admin):
    do_save_calendar_day(CalendarDay(day=D("2026-11-21"), is_workday=True, name="补班"), actor=street_admin)
    assert add_working_days(D("2026-11-20"), 1) == D("2026-11-21")


def test_a_single_override_does_not_make_an_unknown_year_known(street_admin):
    do_save_calendar_day(CalendarDay(day=D("2027-01-01"), is_workday=False, name="元旦"), actor=street_admin)
    with pytest.raises(RuleViolation) as err:
        is_workday(D("2027-01-04"))
    assert err.value.code == "calendar_unknown_year"


def test_a_resident_may_not_set_a_day(resident):
    with pytest.raises(RuleViolation) as err:
        do_save_calendar_day(CalendarDay(day=D("2026-10-09"), is_workday=False), actor=resident)
    assert err.value.code == "forbidden"


# --- the per-process cache ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_change_from_another_process_is_seen_after_the_version_bump(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(workcalendar.time, "monotonic", clock)
    assert is_workday(D("2026-11-23")) is True  # cached now
    # Another process writes (no signal reaches this one) and bumps the shared version on commit.
    CalendarDay.objects.bulk_create([CalendarDay(day=D("2026-11-23"), is_workday=False, name="停工")])
    assert is_workday(D("2026-11-23")) is True  # still the cached answer
    from django.core.cache import cache

    cache.set(workcalendar.VERSION_CACHE_KEY, "another-process")
    assert is_workday(D("2026-11-23")) is True  # the version is checked at most every CHECK_SECONDS
    clock.now += workcalendar.CHECK_SECONDS
    assert is_workday(D("2026-11-23")) is False


def test_without_a_shared_cache_a_change_is_seen_within_the_reload_interval(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(workcalendar.time, "monotonic", clock)
    assert is_workday(D("2026-11-23")) is True
    CalendarDay.objects.filter(day=D("2026-11-23")).delete()  # nothing there: keeps the snapshot
    workcalendar.reset()
    assert is_workday(D("2026-11-23")) is True
    CalendarDay.objects.bulk_create([CalendarDay(day=D("2026-11-23"), is_workday=False, name="停工")])
    clock.now += workcalendar.RELOAD_SECONDS - 0.5
    assert is_workday(D("2026-11-23")) is True
    clock.now += 1
    assert is_workday(D("2026-11-23")) is False


def test_a_rolled_back_import_is_never_answered(street_admin):
    seen_inside = []

    def import_then_fail() -> None:
        with transaction.atomic():
            import_example(street_admin)
            seen_inside.append(is_workday(D("2027-02-20")))  # the writing transaction sees it
            raise RuntimeError

    with pytest.raises(RuntimeError):
        import_then_fail()
    assert seen_inside == [True]
    with pytest.raises(RuleViolation) as err:
        is_workday(D("2027-02-20"))
    assert err.value.code == "calendar_unknown_year"


def test_a_writing_transaction_caches_its_own_view_until_the_next_write(
    street_admin, django_assert_num_queries
):
    import_example(street_admin)
    assert is_workday(D("2027-02-08")) is False
    with django_assert_num_queries(0):
        assert add_working_days(D("2027-02-04"), 1) == D("2027-02-15")  # after the example 春节
        assert is_workday(D("2027-02-09")) is False
    do_save_calendar_day(CalendarDay(day=D("2027-03-01"), is_workday=False, name="停工"), actor=street_admin)
    assert is_workday(D("2027-03-01")) is False


def test_answers_do_not_query_the_database_once_cached(django_assert_num_queries):
    add_working_days(D("2026-09-30"), 20)
    with django_assert_num_queries(0):
        for i in range(50):
            add_working_days(D("2026-01-05") + timedelta(days=i), 20)
            working_days_between(D("2025-01-01"), D("2026-06-30"))


# --- properties ---------------------------------------------------------------------------------

known_dates = st.dates(min_value=D("2004-01-01"), max_value=D("2026-12-31"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=known_dates, n=st.integers(min_value=1, max_value=400))
def test_counting_back_gives_the_number_added(start, n):
    try:
        due = add_working_days(start, n)
    except RuleViolation as exc:
        assume(exc.code != "calendar_unknown_year")
        raise
    assert is_workday(due)
    assert working_days_between(start + timedelta(days=1), due) == n
    if due - start > timedelta(days=1):
        assert working_days_between(start + timedelta(days=1), due - timedelta(days=1)) == n - 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=known_dates, n=st.integers(min_value=0, max_value=30))
def test_it_agrees_with_chinesecalendar_day_by_day(start, n):
    assume(start <= D("2026-11-01"))
    expected, left = start, n
    while left:
        expected += timedelta(days=1)
        left -= chinese_calendar.is_workday(expected)
    assert add_working_days(start, n) == expected


# --- the command --------------------------------------------------------------------------------


def test_the_command_imports_the_example_and_warns_that_it_is_not_official(capsys):
    call_command("calendar", "import", str(EXAMPLE_2027))
    out, err = capsys.readouterr()
    assert "已导入 2027 年：放假 29 天，调休上班 5 天" in out
    assert "示例文件" in err
    assert AuditEvent.objects.get(action="calendar.import").actor_label == "cli"
    assert add_working_days(D("2026-12-30"), 5) == D("2027-01-07")


def test_the_command_imports_a_csv_with_a_source(tmp_path, capsys):
    path = tmp_path / "2027.csv"
    path.write_text(
        "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-20,workday,春节调休\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match="来源"):
        call_command("calendar", "import", str(path))
    call_command("calendar", "import", str(path), "--source", "国务院办公厅通知")
    assert "放假 1 天，调休上班 1 天" in capsys.readouterr().out
    assert CalendarYear.objects.get(year=2027).source == "国务院办公厅通知"


def test_the_command_lists_every_problem_of_a_bad_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"year": 2027, "source": "通知", "days": [{"date": "2027-13-01", "kind": "holiday"}, {}]}),
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as err:
        call_command("calendar", "import", str(path))
    assert "第 1 条" in str(err.value)
    assert "第 2 条" in str(err.value)
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(CommandError, match="不是有效的 JSON"):
        call_command("calendar", "import", str(tmp_path / "broken.json"))


def test_the_command_imports_as_a_named_user_with_their_permission(street_admin, resident):
    with pytest.raises(CommandError, match="没有权限"):
        call_command("calendar", "import", str(EXAMPLE_2027), "--user", resident.username)
    call_command("calendar", "import", str(EXAMPLE_2027), "--user", street_admin.username)
    assert AuditEvent.objects.get(action="calendar.import").actor == street_admin


def test_the_command_shows_a_month(capsys):
    call_command("calendar", "show", "2026-10")
    out = capsys.readouterr().out
    assert "2026 年 10 月" in out
    assert "  1*   2*   3*   4*" in out
    assert " 10+" in out
    assert "2026-10-10 星期六 上班 国庆节调休" in out
    assert "本月工作日 18 天" in out


def test_the_command_refuses_an_unknown_month(capsys):
    with pytest.raises(CommandError, match="尚未导入 2027 年"):
        call_command("calendar", "show", "2027-01")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("calendar", "show", "2026-13")


def test_the_example_file_says_it_is_not_official():
    schedule = read_schedule_file(EXAMPLE_2027)
    assert schedule.example is True
    assert "非官方" in schedule.source


# --- the admin ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def static_root(settings):
    # WhiteNoise warns (an error here) when STATIC_ROOT is missing; the test data dir has none.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def test_the_admin_sets_a_day_and_audits_it(client, root_admin):
    client.force_login(root_admin)
    response = client.post(
        "/admin/core/calendarday/add/", {"day": "2026-10-09", "name": "台风停工"}, follow=False
    )
    assert response.status_code == 302
    assert add_working_days(D("2026-10-08"), 1) == D("2026-10-10")
    assert AuditEvent.objects.filter(action="calendar.day.save", actor=root_admin).exists()


def test_the_admin_audits_a_rule_value_change(client, root_admin):
    client.force_login(root_admin)
    response = client.post(
        "/admin/core/rulevalue/add/",
        {
            "key": "calendar.max_working_days",
            "version": "2027.1",
            "effective_from": "2027-01-01",
            "value": "1000",
            "source": "街道规定",
            "clause": "",
            "description": "",
            "organization": "",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="rule.add")
    assert event.payload["value"] == 1000
    assert event.payload["key"] == "calendar.max_working_days"


def test_the_admin_refuses_a_rule_value_of_another_type(client, root_admin):
    client.force_login(root_admin)
    response = client.post(
        "/admin/core/rulevalue/add/",
        {
            "key": "calendar.max_working_days",
            "version": "2027.1",
            "effective_from": "2027-01-01",
            "value": '"1000"',
            "source": "街道规定",
        },
    )
    assert response.status_code == 200
    assert "值类型" in response.content.decode()
    assert not AuditEvent.objects.filter(action="rule.add").exists()


@pytest.mark.parametrize("model", ["calendarday", "calendaryear", "rulevalue", "auditevent", "notification"])
def test_the_admin_lists_render(client, root_admin, street_admin, model):
    import_example(street_admin)
    client.force_login(root_admin)
    assert client.get(f"/admin/core/{model}/").status_code == 200


@pytest.mark.parametrize("model", ["auditevent", "notification"])
def test_audit_events_and_notifications_are_read_only_in_the_admin(client, root_admin, street_admin, model):
    import_example(street_admin)
    client.force_login(root_admin)
    assert client.get(f"/admin/core/{model}/add/").status_code == 403
    if model == "auditevent":
        event = AuditEvent.objects.first()
        page = client.get(f"/admin/core/auditevent/{event.pk}/change/")
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_calendar_years_are_added_by_import_only(client, root_admin):
    client.force_login(root_admin)
    assert client.get("/admin/core/calendaryear/add/").status_code == 403


def test_the_admin_finds_days_by_name_and_filters_by_kind(client, root_admin, street_admin):
    import_example(street_admin)
    client.force_login(root_admin)
    page = client.get("/admin/core/calendarday/", {"q": "调休", "kind": "workday"}).content.decode()
    assert "2027-02-20" in page or "2027年2月20日" in page
    assert "元旦" not in page


def test_the_demo_loads_the_example_of_next_year_once_and_only_where_one_exists(db):
    from dangqun.core.calendar_actions import import_example_year

    assert import_example_year(2031, actor="dangqun seed") is None  # no example: nothing invented
    result = import_example_year(2027, actor="dangqun seed")
    assert result is not None
    assert result.calendar_year.year == 2027
    assert "示例" in CalendarYear.objects.get(year=2027).source  # never passed off as official
    assert import_example_year(2027, actor="dangqun seed") is None  # known now: left alone
    assert add_working_days(D("2026-12-30"), 5) == D("2027-01-07")


@pytest.mark.parametrize(("today", "loaded"), [(date(2026, 12, 5), True), (date(2026, 9, 30), False)])
def test_the_demo_seed_loads_next_years_example_from_october(db, monkeypatch, today, loaded):
    from io import StringIO

    from dangqun.core.management.commands import seed

    monkeypatch.setattr(seed.timezone, "localdate", lambda *_args: today)
    out = StringIO()
    call_command("seed", "--no-progress", "--scale", "5", stdout=out)
    assert (2027 in known_years()) is loaded
    assert ("示例节假日安排" in out.getvalue()) is loaded
