"""The calendar API: public deadline arithmetic and the administrators' endpoints, per persona."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dangqun.core import workcalendar
from dangqun.core.calendar_actions import do_import_calendar_year
from dangqun.core.models import AuditEvent, CalendarDay

EXAMPLE_2027 = Path(workcalendar.__file__).parent / "calendar_data" / "example-2027.json"
DEADLINE = "/api/v1/calendar/deadline"
BETWEEN = "/api/v1/calendar/working-days"
DAYS = "/api/v1/calendar/days"
IMPORT = "/api/v1/calendar/import"


@pytest.fixture(autouse=True)
def fresh_calendar(db, settings):
    workcalendar.reset()
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns without it
    yield
    workcalendar.reset()


def example() -> dict:
    return json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))


def error_of(response, status: int = 422) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    return body


# --- public: deadline ---------------------------------------------------------------------------


def test_anyone_gets_a_deadline_over_national_day(client):
    response = client.get(DEADLINE, {"start": "2026-09-30", "working_days": 5})
    assert response.status_code == 200
    assert response.json() == {"start": "2026-09-30", "working_days": 5, "due": "2026-10-13"}


def test_a_deadline_of_zero_days_is_the_start(client):
    assert client.get(DEADLINE, {"start": "2026-10-03", "working_days": 0}).json()["due"] == "2026-10-03"


def test_a_logged_in_resident_gets_the_same_answer(client, resident):
    client.force_login(resident)
    assert client.get(DEADLINE, {"start": "2026-02-13", "working_days": 3}).json()["due"] == "2026-02-25"


@pytest.mark.parametrize(
    "bad", ["2026-02-30", "abc", "20261001", "2026-W40-1", "2026-9-30", "", "2026-09-30T00:00"]
)
def test_a_bad_start_date_says_how_to_write_it(client, bad):
    body = error_of(client.get(DEADLINE, {"start": bad, "working_days": 5}))
    assert body["code"] == "invalid_date"
    assert "日期格式应为 YYYY-MM-DD，且须是真实存在的日期" in body["message"]
    assert body["details"]["field"] == "start"


def test_a_negative_number_of_days_is_refused(client):
    body = error_of(client.get(DEADLINE, {"start": "2026-09-30", "working_days": -1}))
    assert body["code"] == "calendar_negative_days"
    assert "不能为负数" in body["message"]


@pytest.mark.parametrize("n", [3651, 10**30])
def test_a_huge_number_of_days_is_refused(client, n):
    body = error_of(client.get(DEADLINE, {"start": "2026-09-30", "working_days": n}))
    assert body["code"] == "calendar_too_many_days"
    assert body["details"]["max"] == 3650


@pytest.mark.parametrize(
    "query", [{"start": "2026-09-30", "working_days": "five"}, {"start": "2026-09-30"}, {}]
)
def test_a_missing_or_non_numeric_parameter_is_named(client, query):
    body = error_of(client.get(DEADLINE, query))
    assert body["code"] == "invalid_input"
    assert "请检查" in body["message"]


def test_2027_is_refused_until_imported_then_answered(client, street_admin):
    body = error_of(client.get(DEADLINE, {"start": "2026-12-30", "working_days": 5}))
    assert body["code"] == "calendar_unknown_year"
    assert "2027 年" in body["message"]
    assert body["details"]["year"] == 2027
    schedule = example()
    do_import_calendar_year(schedule["year"], schedule["days"], schedule["source"], actor=street_admin)
    response = client.get(DEADLINE, {"start": "2026-12-30", "working_days": 5})
    assert response.json()["due"] == "2027-01-07"


def test_a_start_before_2004_is_refused(client):
    body = error_of(client.get(DEADLINE, {"start": "2003-12-31", "working_days": 1}))
    assert body["code"] == "calendar_unknown_year"
    assert "2003 年" in body["message"]


# --- public: working days between -------------------------------------------------------------


def test_anyone_counts_working_days_with_both_ends_included(client):
    response = client.get(BETWEEN, {"from": "2026-10-01", "to": "2026-10-31"})
    assert response.status_code == 200
    assert response.json() == {"from": "2026-10-01", "to": "2026-10-31", "working_days": 18}
    assert client.get(BETWEEN, {"from": "2026-09-20", "to": "2026-09-20"}).json()["working_days"] == 1


@pytest.mark.parametrize(
    ("field", "query"),
    [("from", {"from": "2026-13-01", "to": "2026-10-31"}), ("to", {"from": "2026-10-01", "to": "x"})],
)
def test_a_bad_date_in_a_range_names_the_field(client, field, query):
    body = error_of(client.get(BETWEEN, query))
    assert body["code"] == "invalid_date"
    assert body["details"]["field"] == field


def test_a_reversed_range_is_refused(client):
    body = error_of(client.get(BETWEEN, {"from": "2026-10-31", "to": "2026-10-01"}))
    assert body["code"] == "calendar_range_reversed"


def test_a_range_into_an_unknown_year_is_refused(client):
    body = error_of(client.get(BETWEEN, {"from": "2026-12-01", "to": "2027-01-31"}))
    assert body["code"] == "calendar_unknown_year"


def test_a_range_without_from_is_refused(client):
    body = error_of(client.get(BETWEEN, {"to": "2026-10-31"}))
    assert body["code"] == "invalid_input"
    assert "from" in body["message"]


def test_the_openapi_document_declares_the_error_shape(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path in (DEADLINE, BETWEEN):
        responses = spec["paths"][path]["get"]["responses"]
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
        assert "security" not in spec["paths"][path]["get"]
    params = [p["name"] for p in spec["paths"][BETWEEN]["get"]["parameters"]]
    assert params == ["from", "to"]
    assert "from" in spec["components"]["schemas"]["WorkingDaysOut"]["properties"]


# --- administrators: list a year's entries ----------------------------------------------------


def test_listing_needs_a_login(client):
    assert error_of(client.get(DAYS, {"year": 2026}), 401)["code"] == "unauthenticated"


@pytest.mark.parametrize("persona", ["street_admin", "secretary", "member", "resident", "window_staff"])
def test_any_signed_in_user_may_list_a_year(
    client, request, street_admin, persona, django_assert_num_queries
):
    schedule = example()
    do_import_calendar_year(schedule["year"], schedule["days"], schedule["source"], actor=street_admin)
    client.force_login(request.getfixturevalue(persona))
    # session + user, then the year and its days: a fixed count, whatever the number of days
    with django_assert_num_queries(4):
        response = client.get(DAYS, {"year": 2027})
    assert response.status_code == 200
    body = response.json()
    assert body["known"] is True
    assert body["source"] == schedule["source"]
    assert len(body["days"]) == 34
    assert body["days"][0] == {"date": "2027-01-01", "kind": "holiday", "name": "元旦"}
    assert {"date": "2027-02-20", "kind": "workday", "name": "春节调休"} in body["days"]


def test_a_year_without_entries_says_whether_it_is_known(client, resident):
    client.force_login(resident)
    assert client.get(DAYS, {"year": 2026}).json() == {
        "year": 2026,
        "known": True,
        "source": None,
        "imported_at": None,
        "days": [],
    }
    assert client.get(DAYS, {"year": 2028}).json()["known"] is False


@pytest.mark.parametrize("year", ["abc", "27", "100000"])
def test_listing_refuses_a_bad_year(client, resident, year):
    client.force_login(resident)
    assert error_of(client.get(DAYS, {"year": year}))["code"] == "invalid_input"


# --- administrators: import -------------------------------------------------------------------


def post_import(client, body: dict):
    return client.post(IMPORT, json.dumps(body), content_type="application/json")


def test_importing_needs_a_login(client):
    assert error_of(post_import(client, example()), 401)["code"] == "unauthenticated"
    assert not CalendarDay.objects.exists()


@pytest.mark.parametrize(
    "persona", ["secretary", "outsider", "member", "resident", "department_admin", "window_staff"]
)
def test_only_calendar_administrators_may_import(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert error_of(post_import(client, example()), 403)["code"] == "forbidden"
    assert not CalendarDay.objects.exists()


@pytest.mark.parametrize("persona", ["street_admin", "root_admin"])
def test_an_administrator_imports_a_year_idempotently(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = post_import(client, example())
    assert response.status_code == 200
    assert response.json() == {
        "year": 2027,
        "source": example()["source"],
        "holidays": 29,
        "workdays": 5,
        "replaced": 0,
    }
    assert post_import(client, example()).json()["replaced"] == 34
    assert CalendarDay.objects.filter(day__year=2027).count() == 34
    assert AuditEvent.objects.filter(action="calendar.import", actor=user).count() == 2
    assert client.get(DEADLINE, {"start": "2026-12-30", "working_days": 5}).json()["due"] == "2027-01-07"


def test_an_import_with_errors_lists_them_all_and_changes_nothing(client, street_admin):
    client.force_login(street_admin)
    body = example()
    body["days"] += [
        {"date": "2027-02-29", "kind": "holiday", "name": "不存在"},
        {"date": "2027-01-01", "kind": "holiday", "name": "重复"},
        {"date": "2026-12-31", "kind": "holiday", "name": "上一年"},
        {"date": "2027-12-31", "kind": "rest", "name": "类型错误"},
    ]
    error = error_of(post_import(client, body))
    codes = [v["code"] for v in error["details"]["violations"]]
    assert codes == [
        "invalid_date",
        "calendar_duplicate_date",
        "calendar_date_outside_year",
        "calendar_bad_kind",
    ]
    assert error["details"]["violations"][0]["field"] == "days.34.date"
    assert not CalendarDay.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"year": 2027, "source": "通知"},
        {"year": "二〇二七", "source": "通知", "days": []},
        {"year": 2027, "source": "通知", "days": [{"kind": "holiday"}]},
    ],
)
def test_a_malformed_import_body_is_refused(client, street_admin, body):
    client.force_login(street_admin)
    assert error_of(post_import(client, body))["code"] == "invalid_input"


def test_an_import_body_that_is_not_json_is_refused(client, street_admin):
    client.force_login(street_admin)
    response = client.post(IMPORT, "{", content_type="application/json")
    assert error_of(response)["code"] == "invalid_body"
    assert not CalendarDay.objects.exists()
