"""Learning in the browser: personalised recommendations and one source pushed to many channels.

Acceptance (issue 6): a member signs in and sees recommendations with reasons that differ by post
(a 村干部 of branch A, a teacher of branch B on a 360-px phone); the branch's required item comes
first; finishing an item changes the list (it leaves, and a reason names it). An editor (the street
administrator, with the second factor) turns one source into three approved products (web article,
phone card, short message), pushes them to branch A and to every 村干部 of the street over in-app,
e-mail and RSS; each channel shows its deliveries; running the push again sends nothing new.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from tests.learning.conftest import build_library, learner

from dangqun.core.models import Notification
from dangqun.learning import actions, recommend
from dangqun.learning.models import Delivery, Push

from .conftest import enrol_totp, next_code, screenshot, serious_violations, submit_login


@pytest.fixture
def library(root_admin):
    return build_library(root_admin)


@pytest.fixture
def cadre(tree):
    return learner("cadre_a", tree.branch_a, "village_cadre", full_name="刘村干")[0]


@pytest.fixture
def teacher(tree):
    return learner("teacher_b", tree.branch_b, "teacher", full_name="孙老师")[0]


@pytest.fixture(autouse=True)
def _fresh_index(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    recommend.reset()
    yield
    recommend.reset()


def member_login(page: Page, username: str) -> None:
    submit_login(page, username)
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")


def staff_login(page: Page, user) -> None:
    enrol_totp(user)
    submit_login(page, user.username)
    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/$"))
    page.locator("input[name=code]").fill(next_code(user))
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("您好")


def reasons(page: Page) -> list[str]:
    return page.locator("[data-testid=recommendations] .reason").all_inner_texts()


def test_members_get_reasons_by_post_and_finishing_changes_the_list(
    page,
    phone_page,
    library,
    cadre,
    teacher,
    secretary,
    tree,
):
    required = actions.do_assign_item(
        organization=tree.branch_a,
        item=library["中国共产党章程导读"],
        due_on=timezone.localdate() + timedelta(days=20),
        actor=secretary,
    )
    member_login(page, cadre.username)
    page.goto("/learning/")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的学习")
    cards = page.locator("[data-testid=recommendations] > li")
    expect(cards.first).to_contain_text("必学")
    expect(cards.first).to_contain_text("中国共产党章程导读")
    first_reasons = reasons(page)
    assert first_reasons[0].endswith(f"{required.due_on.month}月{required.due_on.day}日前完成")
    assert "因为你是村干部" in first_reasons
    expect(page.locator("progress#hours-bar")).to_have_attribute("max", "32")
    assert serious_violations(page) == []
    screenshot(page, "learning-member-cadre")

    # the teacher of branch B, on a phone: other items, other reasons, no requirement of branch A
    member_login(phone_page, teacher.username)
    phone_page.goto("/learning/")
    teacher_reasons = reasons(phone_page)
    assert "因为你是教师" in teacher_reasons
    assert "因为你是村干部" not in teacher_reasons
    expect(phone_page.locator("[data-testid=recommendations] > li").first).not_to_contain_text("必学")
    screenshot(phone_page, "learning-member-teacher-phone")

    # the 村干部 finishes the first recommended item that is not required
    second = cards.nth(1)
    title = second.locator("h3").inner_text()
    before = page.locator("[data-testid=recommendations] h3").all_inner_texts()
    second.locator("h3 a").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.get_by_role("button", name="完成学习").click()
    expect(page.locator(".messages")).to_contain_text(f"已完成《{title}》")
    after = page.locator("[data-testid=recommendations] h3").all_inner_texts()
    assert title not in after
    assert after != before
    assert after[0] == "中国共产党章程导读"  # required still first
    screenshot(page, "learning-member-after-finishing")


def test_an_editor_pushes_one_source_over_many_channels_once(
    page,
    street_admin,
    tree,
    cadre,
    teacher,
    member,
):
    b_cadre = learner("b_cadre", tree.branch_b, "village_cadre", email="bc@example.org")[0]
    staff_login(page, street_admin)
    page.goto("/learning/sources/")
    page.get_by_label("标题").fill("和平社区第一党支部开展主题党日活动")
    page.get_by_label("素材正文").fill(
        "12月5日，第一党支部组织党员重温入党誓词，集中学习党章，并开展志愿服务。"
    )
    page.get_by_role("button", name="保存素材").click()
    expect(page.locator(".messages")).to_contain_text("已为每个渠道生成草稿")
    for kind in ("web", "card", "sms"):
        section = page.locator(f"section.product[data-kind={kind}]")
        if kind == "card":
            section.locator("textarea").fill("第一党支部主题党日：重温入党誓词，学习党章，开展志愿服务。")
            section.get_by_role("button", name="保存修改").click()
            expect(page.locator(".messages")).to_contain_text("已保存，待审核")
            section = page.locator(f"section.product[data-kind={kind}]")
        section.get_by_role("button", name="审核通过").click()
        expect(page.locator(f"section.product[data-kind={kind}] .badge")).to_have_text("已审核")
    expect(page.locator("section.product[data-kind=bulletin] .badge")).to_have_text("待审核")

    page.locator("select[name=org1]").select_option(str(tree.branch_a.pk))
    page.locator("select[name=org2]").select_option(str(tree.street.pk))
    page.locator("input[name=posts2][value=village_cadre]").check()
    for channel in ("in_app", "email", "rss"):
        page.locator(f"input[name=channels][value={channel}]").check()
    page.locator("section[aria-labelledby=push-h] button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("推送已提交")

    push = Push.objects.get()
    recipients = set(
        Delivery.objects.filter(push=push, channel="in_app").values_list("recipient_id", flat=True)
    )
    assert {cadre.pk, member.pk, b_cadre.pk} <= recipients
    assert teacher.pk not in recipients
    page.reload()
    card = page.locator(f"[data-testid=push-{push.pk}]")
    in_app = card.locator("tr[data-channel=in_app] td.sent")
    expect(in_app).to_have_text(str(len(recipients)))
    expect(card.locator("tr[data-channel=rss] td.sent")).to_have_text("1")
    emailed = Delivery.objects.filter(push=push, channel="email", status="sent").count()
    expect(card.locator("tr[data-channel=email] td.sent")).to_have_text(str(emailed))
    assert emailed >= 1
    screenshot(page, "learning-editor-push")

    notifications = Notification.objects.count()
    card.get_by_role("button", name="重新执行推送").click()
    expect(page.locator(".messages")).to_contain_text("新增 0 条投递")
    expect(page.locator(f"[data-testid=push-{push.pk}] tr[data-channel=in_app] td.sent")).to_have_text(
        str(len(recipients))
    )
    assert Notification.objects.count() == notifications
    screenshot(page, "learning-editor-repush")

    # the 村干部 of branch B sees the card in their notifications and opens the article
    page.context.clear_cookies()
    member_login(page, b_cadre.username)
    page.goto(f"/learning/articles/{push.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("和平社区第一党支部开展主题党日活动")
