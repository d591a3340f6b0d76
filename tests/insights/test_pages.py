"""Dashboards, Excel downloads, the public summary and the API: scope, content, query counts."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.cache import cache
from openpyxl import load_workbook

from dangqun.accounts.tokens import issue_token
from dangqun.feedback.models import Fix
from dangqun.insights import stats

from .conftest import at, make_app, make_fix, notice, rate

NOV = date(2026, 11, 1)


@pytest.fixture
def data(tree, item, other_item, applicant, window_staff, django_capture_on_commit_callbacks):
    """November 2026: cases and ratings in two departments."""
    day = date(2026, 11, 10)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(6):
            app = make_app(item, applicant, received=day, accepted=day, completed=date(2026, 11, 13))
            rate(
                item.department,
                5 if n else 1,
                day,
                app=app,
                reasons=["guide"] if n == 0 else [],
                elderly=n < 2,
            )
        for _n in range(3):
            app = make_app(other_item, applicant, received=day, channel="window")
            notice(app, day, ["场所平面图"], window_staff)
            make_fix(rate(other_item.department, 2, day, app=app, reasons=["slow"]), due=date(2026, 11, 20))
    Fix.objects.update(created_at=at(day))  # opened on the day of the rating
    stats.rebuild()
    return {"day": day}


def page(client, user, url):
    client.force_login(user)
    return client.get(url)


def test_the_street_admin_sees_the_whole_street(client, tree, street_admin, item, other_item, data):
    r = page(client, street_admin, f"/insights/org/{tree.street.pk}/?month=2026-11")
    assert r.status_code == 200
    html = r.content.decode()
    assert item.name in html
    assert other_item.name in html
    assert "data-chart=" in html
    assert "<caption>" in html
    assert "场所平面图" in html  # the most frequent material on one-time notices
    # Every section with a chart has its data right under it, as a table and as Excel.
    assert html.count('class="stats"') == html.count("<caption>") >= 12
    assert html.count("/export/") >= 12


def test_a_department_admin_sees_only_their_subtree(
    client, tree, department_admin, item, other_item, other_department, data
):
    r = page(client, department_admin, f"/insights/org/{tree.department.pk}/?month=2026-11")
    assert r.status_code == 200
    html = r.content.decode()
    assert item.name in html
    assert other_item.name not in html
    assert page(client, department_admin, f"/insights/org/{other_department.pk}/").status_code == 404
    assert page(client, department_admin, f"/insights/org/{tree.street.pk}/").status_code == 404
    assert (
        page(client, department_admin, f"/insights/org/{tree.street.pk}/export/items.xlsx").status_code == 404
    )
    # The index opens their own department.
    r = page(client, department_admin, "/insights/")
    assert r.status_code == 302
    assert r["Location"] == f"/insights/org/{tree.department.pk}/"


def test_people_without_dashboard_rights_are_kept_out(client, tree, secretary, window_staff, resident, data):
    r = client.get(f"/insights/org/{tree.street.pk}/")
    assert r.status_code == 302
    assert "/accounts/login" in r["Location"]
    for user in (secretary, resident, window_staff):
        assert page(client, user, f"/insights/org/{tree.street.pk}/").status_code == 404
    # Window staff follow the nav to the published summary instead.
    r = page(client, window_staff, "/insights/")
    assert r.status_code == 302
    assert r["Location"] == "/insights/public/"


def test_the_excel_export_holds_the_rows_of_the_table(client, tree, street_admin, item, other_item, data):
    r = page(client, street_admin, f"/insights/org/{tree.street.pk}/export/notices.xlsx?month=2026-11")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2] == ("事项", "收件", "一次性告知", "占收件比例", "最常告知的材料", "该材料次数")
    assert rows[3] == (other_item.name, 3, 3, 1, "场所平面图", 3)
    assert len(rows) == 4
    r = page(client, street_admin, f"/insights/org/{tree.street.pk}/export/sat_unit.xlsx?month=2026-11")
    body = {
        row[0]: row
        for row in list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))[3:]
    }
    assert body[item.department.name][1:] == (6, 4.33, round(5 / 6, 4), 1)
    assert body[other_item.department.name][1:] == (3, 2.0, 0.0, 3)
    whole = page(client, street_admin, f"/insights/org/{tree.street.pk}/export/all.xlsx?month=2026-11")
    assert len(load_workbook(io.BytesIO(whole.content)).sheetnames) == 12
    assert page(client, street_admin, f"/insights/org/{tree.street.pk}/export/nope.xlsx").status_code == 404


def test_an_invalid_month_is_explained_and_the_current_month_shown(client, tree, street_admin, data):
    r = page(client, street_admin, f"/insights/org/{tree.street.pk}/?month=2026-13")
    assert r.status_code == 200
    assert "月份格式应为 YYYY-MM" in r.content.decode()
    r = page(client, street_admin, f"/insights/org/{tree.street.pk}/?month=2099-01")
    assert "月份须在" in r.content.decode()


def test_the_public_summary_needs_no_login_and_shows_each_department(client, tree, item, other_item, data):
    r = client.get("/insights/public/2026-11/")
    assert r.status_code == 200
    html = r.content.decode()
    assert item.department.name in html
    assert other_item.department.name in html
    assert "83.3%" in html  # 5 of 6 satisfied in the first department
    xlsx = client.get("/insights/public/2026-11.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert (other_item.department.name, 3, 2.0, 0.0, 3, 0.0, 0.0) in rows
    assert client.get("/insights/public/2026-13/").status_code == 404
    r = client.get("/insights/public/?month=2026-10")
    assert r.status_code == 302
    assert r["Location"] == "/insights/public/2026-10/"


def test_dashboard_pages_use_a_bounded_number_of_queries(
    client, tree, street_admin, department_admin, data, django_assert_max_num_queries
):
    client.force_login(street_admin)
    with django_assert_max_num_queries(32):
        assert client.get(f"/insights/org/{tree.street.pk}/?month=2026-11").status_code == 200
    client.force_login(department_admin)
    with django_assert_max_num_queries(32):
        assert client.get(f"/insights/org/{tree.department.pk}/?month=2026-11").status_code == 200
    client.logout()
    with django_assert_max_num_queries(4):
        assert client.get("/insights/public/2026-11/").status_code == 200


def bearer(user) -> dict[str, str]:
    token, _ = issue_token(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_summary_api_is_scoped_and_validates_the_month(
    client, tree, street_admin, department_admin, other_department, resident, item, data
):
    r = client.get("/api/v1/insights/summary", {"month": "2026-11"}, **bearer(department_admin))
    assert r.status_code == 200
    body = r.json()
    assert body["org_id"] == tree.department.pk
    items = next(s for s in body["sections"] if s["key"] == "items")
    assert [row[0] for row in items["rows"]] == [item.name]
    r = client.get(
        "/api/v1/insights/summary",
        {"month": "2026-11", "org": other_department.pk},
        **bearer(department_admin),
    )
    assert r.status_code == 404
    r = client.get("/api/v1/insights/summary", {"month": "11/2026"}, **bearer(street_admin))
    assert r.status_code == 422
    assert r.json()["code"] == "month_format"
    assert "YYYY-MM" in r.json()["message"]
    r = client.get("/api/v1/insights/summary", {"month": "1999-12"}, **bearer(street_admin))
    assert r.status_code == 422
    assert r.json()["code"] == "month_range"
    assert client.get("/api/v1/insights/summary").status_code == 401
    assert client.get("/api/v1/insights/summary", **bearer(resident)).status_code == 404


def test_the_summary_is_shared_per_scope_for_a_short_while(
    client, tree, street_admin, department_admin, item, data, django_assert_max_num_queries
):
    street = client.get("/api/v1/insights/summary", {"month": "2026-11"}, **bearer(street_admin)).json()
    dept_auth = bearer(department_admin)
    dept = client.get("/api/v1/insights/summary", {"month": "2026-11"}, **dept_auth).json()
    assert (street["org_id"], dept["org_id"]) == (tree.street.pk, tree.department.pk)
    assert dept["sections"] != street["sections"] or dept["computed_at"] != street["computed_at"]
    with django_assert_max_num_queries(4):  # token, grants, organization: no statistics read
        again = client.get("/api/v1/insights/summary", {"month": "2026-11"}, **dept_auth).json()
    assert again == dept
    october = client.get("/api/v1/insights/summary", {"month": "2026-10"}, **dept_auth).json()
    assert october["month"] != dept["month"]
    cache.clear()  # the 30 s are over
    assert (
        client.get("/api/v1/insights/summary", {"month": "2026-11"}, **dept_auth).json()["computed_at"]
        > dept["computed_at"]
    )


def test_the_public_api_answers_anyone(client, item, other_item, data):
    r = client.get("/api/v1/insights/public/2026-11")
    assert r.status_code == 200
    rows = {row["department"]: row for row in r.json()["departments"]}
    assert rows[other_item.department.name]["bad"] == 3
    assert rows[other_item.department.name]["fixes"] == 3
    assert rows[item.department.name]["satisfied_rate"] == round(5 / 6, 4)
    assert client.get("/api/v1/insights/public/2026-1x").status_code == 422


def test_the_pages_follow_the_interface_language(client, settings, tree, street_admin, data):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/insights/public/2026-11/").content.decode()
    assert "Ratings per department" in html
    assert "Satisfaction rate (basically satisfied or better)" in html
    client.force_login(street_admin)
    html = client.get(f"/insights/org/{tree.street.pk}/?month=2026-11").content.decode()
    assert "Items with the most one-time notices" in html
    assert "Download Excel: Satisfaction per unit" in html
