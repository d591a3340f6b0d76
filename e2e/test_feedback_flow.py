"""好差评 in the browser, the whole loop: a resident rates a finished case 2 stars on a phone in
elder mode; the handling unit calls back, records the fix within its deadline and replies; the
resident confirms it is solved. Screenshots: docs/screenshots/feedback-*.png; axe checks the
rating page in elder mode."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from tests.feedback.conftest import recent_case  # noqa: F401 — a case ended on the last working day
from tests.onestop.conftest import applicant, calendar_2027, simple_item  # noqa: F401

from dangqun.feedback.choices import FixState
from dangqun.feedback.models import Fix, Rating

from .conftest import screenshot, serious_violations, set_elder_cookie, sign_in


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_bad_rating_is_called_back_fixed_replied_and_confirmed(
    phone_page: Page,
    page: Page,
    live_server,
    recent_case,  # noqa: F811 — the fixture imported above
    applicant,  # noqa: F811
    department_admin,
    street_admin,
):
    # The resident, on a phone in elder mode, rates the finished case 2 stars.
    set_elder_cookie(phone_page, live_server.url, on=True)
    sign_in(phone_page, applicant, live_server.url)
    phone_page.goto(f"/services/applications/{recent_case.pk}/")
    phone_page.get_by_role("link", name="评价本次服务").click()
    expect(phone_page.get_by_role("heading", level=1)).to_have_text("服务评价")
    expect(phone_page.locator("main")).to_contain_text(recent_case.department.name)
    assert phone_page.locator("input[name=level]:checked").count() == 0  # nothing pre-selected
    assert serious_violations(phone_page) == []
    screenshot(phone_page, "feedback-rate-phone-elder")
    # A resident taps the big label "2★ 不满意" (not "非常不满意").
    overall = phone_page.get_by_role("group", name="总体评价")
    overall.locator("label.star").filter(has_text="不满意").filter(has_not_text="非常").click()
    assert phone_page.locator("input[name=level][value='2']").is_checked()
    phone_page.get_by_label("多次跑、重复提交材料").check()
    phone_page.get_by_label("意见和建议").fill("材料清单没写清楚，跑了两趟")
    phone_page.get_by_role("button", name="提交评价").click()
    expect(phone_page.locator("main")).to_contain_text("整改进度")
    rating = Rating.objects.get()
    assert rating.level == 2
    fix = Fix.objects.get(rating=rating)

    # The handling unit calls back, fixes and replies.
    sign_in(page, department_admin, live_server.url)
    page.goto("/feedback/")
    page.get_by_role("link", name=f"不满意 #{fix.pk}").click()
    page.get_by_label("回访情况").fill("已电话回访申请人，情况属实")
    page.get_by_label("情况属实", exact=True).check()
    page.get_by_role("button", name="保存回访记录").click()
    page.get_by_label("整改措施").fill("办事指南增加材料示例，窗口增加一次性告知单")
    page.get_by_role("button", name="保存整改措施").click()
    page.get_by_label("答复内容").fill("您反映的问题已整改：指南已补充材料示例。感谢您的监督！")
    page.get_by_role("button", name="发送答复").click()
    expect(page.locator("main")).to_contain_text("已答复")
    screenshot(page, "feedback-fix")
    fix.refresh_from_db()
    assert fix.state == FixState.REPLIED
    assert fix.on_time is True

    # The resident reads the reply and confirms it is solved.
    phone_page.reload()
    expect(phone_page.locator("main")).to_contain_text("指南已补充材料示例")
    phone_page.get_by_label("已解决", exact=True).check()
    phone_page.get_by_role("button", name="提交确认").click()
    expect(phone_page.locator("main")).to_contain_text("您已确认解决")
    fix.refresh_from_db()
    assert (fix.state, fix.solved) == (FixState.CLOSED, True)

    # The street's dashboard and the public monthly summary show it (aggregates refreshed on commit).
    sign_in(page, street_admin, live_server.url)
    page.goto("/insights/")
    main = page.locator("main")
    expect(main).to_contain_text(recent_case.department.name)
    expect(main).to_contain_text("多次跑、重复提交材料")  # the bad-review reason
    screenshot(page, "feedback-dashboard")
    # The published summary defaults to the last complete month; this month's is one click away.
    page.goto(f"/insights/public/{rating.rated_on:%Y-%m}/")
    row = page.locator("main table tr", has_text=recent_case.department.name).first
    expect(row).to_be_visible()
    expect(row).to_contain_text("1")
