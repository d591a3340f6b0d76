"""Dashboards in the browser: the street administrator's and a department's, each chart drawn by
the locally served ECharts with its table under it; the public monthly summary on a phone in
elder mode. Screenshots: docs/screenshots/insights-street.png, insights-department.png,
insights-public.png; axe checks every page.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from tests.insights.conftest import at, make_app, make_fix, make_message, notice, rate, visit
from tests.onestop.conftest import save_item

from dangqun.feedback.models import Fix, Message
from dangqun.insights import stats
from dangqun.onestop.models import SearchMiss
from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind

from .conftest import screenshot, serious_violations, set_elder_cookie, sign_in

MONTH = "2026-11"


@pytest.fixture
def month_of_data(tree, root_admin, street_admin, resident, window_staff):
    """November 2026 in two departments: cases, notices, ratings of every group, fixes."""
    other = do_create_organization(
        name="市场监管所", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=root_admin
    )
    social = save_item(tree, street_admin)
    food = save_item(
        tree,
        street_admin,
        code="200020001000",
        name="食品经营许可",
        department=other,
        materials=[{"name": "营业执照"}, {"name": "场所平面图"}],
    )
    for month, volume in ((date(2026, 9, 1), 20), (date(2026, 10, 1), 26), (date(2026, 11, 1), 32)):
        for n in range(volume):
            day = month + timedelta(days=n % 25)
            it = social if n % 3 else food
            done = day + timedelta(days=4) if n % 4 else None
            app = make_app(
                it,
                resident,
                received=day,
                accepted=day,
                completed=done,
                promised=day + timedelta(days=6 if n % 5 else 2),
                channel=("web", "window", "mobile")[n % 3],
            )
            if n % 5 == 0:
                notice(app, day, ["场所平面图" if it is food else "申请书"], window_staff)
            if done:
                level = (5, 4, 5, 3, 2, 5, 1)[n % 7]
                r = rate(
                    it.department,
                    level,
                    done,
                    app=app,
                    reasons=["guide", "slow"][: 1 + n % 2] if level <= 2 else [],
                    elderly=n % 4 == 1,
                    enterprise=it is food,
                    rural=n % 6 == 0,
                )
                if level <= 2:
                    make_fix(r, due=done + timedelta(days=21))
            if n % 6 == 0:
                v = visit(tree.window, it.department, window_staff, day, about=it)
                rate(it.department, 3 if n % 12 else 2, day, visit=v, channel="qr", elderly=True)
    for fix in Fix.objects.select_related("rating"):  # opened on the day of the rating
        Fix.objects.filter(pk=fix.pk).update(created_at=at(fix.rating.rated_on))
    for n in range(6):
        message = make_message(
            resident, (tree.department, other)[n % 2], kind=("complaint", "consult")[n % 2]
        )
        Message.objects.filter(pk=message.pk).update(created_at=at(date(2026, 11, 3 + n)))
    SearchMiss.objects.create(query="养犬登记", day=date(2026, 11, 4), count=7)
    SearchMiss.objects.create(query="电动车上牌", day=date(2026, 11, 9), count=3)
    stats.rebuild()
    return {"other": other}


def charts_drawn(page: Page) -> int:
    page.wait_for_function("document.querySelectorAll('[data-chart][data-rendered] canvas').length >= 8")
    return page.locator("[data-chart][data-rendered] canvas").count()


def test_the_street_and_a_department_dashboard_render_with_charts_and_tables(
    page: Page, live_server, tree, street_admin, department_admin, month_of_data
):
    sign_in(page, street_admin, live_server.url)
    page.goto("/insights/")
    page.goto(f"/insights/org/{tree.street.pk}/?month={MONTH}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("幸福街道")
    assert charts_drawn(page) == 11  # every section but the overview has a chart
    # The table view of each chart: captions name the section and the month.
    expect(page.locator("table.stats caption").first).to_contain_text(MONTH)
    expect(page.get_by_role("table", name="一次性告知最多的事项 · 2026-11")).to_contain_text("场所平面图")
    expect(page.get_by_role("table", name="各单位满意度 · 2026-11")).to_contain_text("市场监管所")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel：各单位满意度").click()
    assert download.value.suggested_filename.endswith("-sat_unit.xlsx")
    assert serious_violations(page) == []
    screenshot(page, "insights-street")

    page.context.clear_cookies()
    sign_in(page, department_admin, live_server.url)
    page.goto("/insights/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("社会保障科")
    page.goto(f"/insights/org/{tree.department.pk}/?month={MONTH}")
    assert charts_drawn(page) >= 8
    units = page.get_by_role("table", name="各单位满意度 · 2026-11")
    expect(units).to_contain_text("社会保障科")
    expect(units).not_to_contain_text("市场监管所")
    assert serious_violations(page) == []
    screenshot(page, "insights-department")
    response = page.goto(f"/insights/org/{month_of_data['other'].pk}/")
    assert response.status == 404


def test_the_public_summary_on_a_phone_in_elder_mode(phone_page: Page, live_server, month_of_data):
    set_elder_cookie(phone_page, live_server.url, on=True)
    phone_page.goto(f"/insights/public/{MONTH}/")
    expect(phone_page.get_by_role("heading", level=1)).to_contain_text(MONTH)
    expect(phone_page.locator("body.elder")).to_have_count(1)
    phone_page.wait_for_function(
        "document.querySelectorAll('[data-chart][data-rendered] canvas').length >= 1"
    )
    table = phone_page.get_by_role("table", name=f"各部门好差评情况 · {MONTH}")
    expect(table).to_contain_text("市场监管所")
    expect(table).to_contain_text("社会保障科")
    # Nothing wider than the phone: the table scrolls inside its own box.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    assert serious_violations(phone_page) == []
    screenshot(phone_page, "insights-public")
