"""Member development in the browser: from application to full member (party.md §1).

Acceptance: a branch secretary takes a person from application to full member in the browser,
and every rule of party.md §1 stops a wrong date or a wrong order with a message naming the
rule. The secretary signs in with the second factor, registers the applicant on the
registration page and records the 25 steps one by one on the member page's step form, with
back-dated dates (applied in December 2023) that keep every rule. On the way, wrong inputs are
tried and refused beside the form with the rule's text and its source, and nothing is saved:
an applicant under 18, 发展对象 less than a year after 积极分子, a step out of order, an introducer
who is not a full member, a 支部大会 vote without the majority, the full-membership discussion
before the year of probation. A talk more than a month after the application is not refused
(party.md §1 rule 2: "overdue is flagged"): it is saved with a warning naming the rule.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from dangqun.core.validators import id_check_char
from dangqun.members.actions import do_enroll_member, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.models import DevelopmentStep, PartyMember, StepEvidence

from .conftest import enrol_totp, next_code, screenshot, serious_violations, submit_login

DEV_RULES = "发展党员工作细则（2014，2026年修订）"
CONSTITUTION = "中国共产党章程"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def id_number(born: date, seq: int) -> str:
    """A valid GB 11643 number (region 330106: apart from the unit tests' numbers)."""
    first17 = f"330106{born:%Y%m%d}{seq:03d}"
    return first17 + id_check_char(first17)


@pytest.fixture
def evidence_pdf(tmp_path, settings) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "谈话记录.pdf"
    path.write_bytes(PDF)
    return path


@pytest.fixture
def branch_people(tree, root_admin) -> dict[str, PartyMember]:
    """Branch A's full members: the contact person and introducers to choose from."""
    people = {
        name: do_enroll_member(
            branch=tree.branch_a,
            name=name,
            id_number=id_number(date(1970 + i, 3, 1), 101 + 2 * i),
            status=Status.FULL,
            admitted_on=date(2015, 7, 1),
            actor=root_admin,
        )
        for i, name in enumerate(["刘正式", "陈正式", "黄正式"])
    }
    return people


def log_in(page: Page, user) -> None:
    """The secretary signs in through the pages: password, then the authenticator's code."""
    enrol_totp(user)
    submit_login(page, user.username)
    expect(page).to_have_url(re.compile(r"/accounts/login/2fa/$"))
    page.locator("input[name=code]").fill(next_code(user))
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("您好"))


# ---------------------------------------------------------------------------------------------
# The step form


def step_form(page: Page):
    return page.locator("#record-step")


def choose_step(page: Page, step: int) -> None:
    """Pick the step in the form's chooser (htmx swaps the form in place) and wait for it."""
    title = page.locator("#record-step-title")
    expect(title).to_be_visible()
    if not re.match(rf"^登记第{step}步“", title.inner_text()):
        page.locator("#choose-step").select_option(str(step))
    expect(title).to_have_text(re.compile(rf"^登记第{step}步“"))


def fill_step(
    page: Page,
    step: int,
    on: str,
    *,
    responsible: str = "",
    fields: dict[str, str] | None = None,
    selects: dict[str, str] | None = None,
    people: list[str] = (),
    files: list[Path] = (),
) -> None:
    choose_step(page, step)
    form = step_form(page).locator("form[method=post]")
    form.get_by_label("完成日期").fill(on)
    if responsible:
        form.get_by_label("负责人").fill(responsible)
    for label, value in (fields or {}).items():
        form.get_by_label(label, exact=True).fill(value)
    for label, value in (selects or {}).items():
        form.get_by_label(label, exact=True).select_option(label=value)
    for name in people:
        form.get_by_label(name, exact=True).check()
    if files:
        form.locator("input[name=files]").set_input_files([str(f) for f in files])


def submit_step(page: Page) -> None:
    step_form(page).locator("form[method=post] button[type=submit]").click()


def record(page: Page, step: int, on: str, **kwargs) -> None:
    """Record one step lawfully: the page confirms it and the timeline shows it done."""
    fill_step(page, step, on, **kwargs)
    submit_step(page)
    expect(page.get_by_role("status")).to_contain_text(f"的第{step}步“")
    expect(timeline_step(page, step)).to_contain_text(done_on(on))


def refused(page: Page, member: PartyMember, step: int, *messages: str) -> None:
    """The form is shown again with the rule's message(s), and the step was not saved."""
    alert = step_form(page).get_by_role("alert")
    expect(alert).to_contain_text("请修改以下标出的内容后再提交。")
    for text in messages:
        expect(step_form(page)).to_contain_text(text)
    expect(timeline_step(page, step)).not_to_contain_text("已完成")
    assert not DevelopmentStep.objects.filter(member=member, step=step).exists()


def timeline_step(page: Page, step: int):
    return page.locator("#timeline li.step").filter(has_text=f"第{step}步 ")


def done_on(on: str) -> re.Pattern:
    return re.compile(rf"已完成\s*（{on}）")


def status_heading(page: Page):
    return page.get_by_role("heading", level=1).locator(".kind")


# ---------------------------------------------------------------------------------------------
# The whole development


def test_a_secretary_takes_an_applicant_to_full_member_and_every_rule_stops_a_wrong_input(
    page: Page, tree, secretary, branch_people, evidence_pdf
):
    assert list(branch_people) == ["刘正式", "陈正式", "黄正式"]
    applicant = do_register_applicant(
        branch=tree.branch_a,
        name="王申请",
        id_number=id_number(date(1996, 8, 8), 301),
        applied_on=date(2024, 2, 1),
        actor=secretary,
    )
    log_in(page, secretary)

    # The roster of the branch, and from there the registration page.
    page.goto(f"/members/branch/{tree.branch_a.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(tree.branch_a.name)
    expect(page.get_by_role("link", name="刘正式")).to_be_visible()
    assert serious_violations(page) == []
    screenshot(page, "members-roster")
    page.get_by_role("link", name="登记入党申请人").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登记入党申请人")

    # Rule 1: at least 18 on the day of the application (born 2006-01-20: 18 on 2024-01-20).
    form = page.locator("main form[method=post]")
    form.get_by_label("姓名").fill("孙小年")
    form.get_by_label("身份证号").fill(id_number(date(2006, 1, 20), 401))
    form.get_by_label("递交入党申请书日期").fill("2023-12-11")
    form.get_by_role("button", name="登记").click()
    expect(page.get_by_role("alert")).to_contain_text("请修改以下标出的内容后再提交。")
    expect(form).to_contain_text(
        "递交入党申请书时须年满 18 周岁：出生日期 2006-01-20，最早可于 2024-01-20 递交。"
        f"依据：{CONSTITUTION} 第一条"
    )
    assert not PartyMember.objects.filter(name="孙小年").exists()

    # The applicant, registered as on 2023-12-11.
    form.get_by_label("姓名").fill("赵发展")
    form.get_by_label("身份证号").fill(id_number(date(1995, 6, 15), 403))
    form.get_by_label("手机号").fill("13912345670")
    form.get_by_label("接收人").fill("李书记")
    expect(form.get_by_label("党支部")).to_have_value(str(tree.branch_a.pk))
    form.get_by_role("button", name="登记").click()
    expect(page.get_by_role("status")).to_contain_text("已登记入党申请人赵发展。")
    member = PartyMember.objects.get(name="赵发展")
    expect(page).to_have_url(re.compile(rf"/members/{member.pk}/$"))
    expect(status_heading(page)).to_have_text("入党申请人")
    expect(timeline_step(page, 1)).to_contain_text(done_on("2023-12-11"))
    assert serious_violations(page) == []

    # Stage 1–2: talk, activist, filing, contact person, education.
    record(page, 2, "2023-12-20", responsible="李书记", files=[evidence_pdf])
    record(page, 3, "2024-01-15", responsible="支委会")
    expect(status_heading(page)).to_have_text("入党积极分子")
    record(page, 4, "2024-01-22")
    record(page, 5, "2024-01-25", people=["刘正式"])
    record(page, 6, "2024-07-15", responsible="刘正式")

    # Rule 6: 发展对象 no earlier than a year after becoming 积极分子.
    fill_step(page, 7, "2024-12-20")
    submit_step(page)
    refused(
        page,
        member,
        7,
        f"确定发展对象须在列为入党积极分子满 1 年后（最早 2025-01-15）。依据：{DEV_RULES} 第十三条",
    )
    screenshot(page, "members-rule-error")
    expect(status_heading(page)).to_have_text("入党积极分子")
    record(page, 7, "2025-01-20", responsible="支委会")
    expect(status_heading(page)).to_have_text("发展对象")

    # A step out of order: 支委会审查 (12) before filing, introducers, review and training.
    fill_step(page, 12, "2025-01-21")
    submit_step(page)
    refused(
        page,
        member,
        12,
        f"须先完成第8步“报上级党委备案”，才能办理第12步“支部委员会审查”。依据：{DEV_RULES} 第二章至第六章",
        "须先完成第9步“确定入党介绍人”",
        "须先完成第10步“进行政治审查”",
        "须先完成第11步“开展集中培训”",
    )
    record(page, 8, "2025-01-22")

    # Rule 7: two full members as introducers. The form offers only the branch's full members;
    # a form left open while the list changed (here: a check box now naming an applicant) is
    # refused with the rule, not with a generic "invalid choice".
    fill_step(page, 9, "2025-01-24", people=["陈正式"])
    step_form(page).get_by_label("黄正式", exact=True).evaluate(
        "(box, pk) => { box.value = String(pk); box.checked = true; }", applicant.pk
    )
    submit_step(page)
    refused(
        page,
        member,
        9,
        f"入党介绍人须为正式党员，王申请 当前为“入党申请人”。依据：{CONSTITUTION} 第五条",
    )
    record(page, 9, "2025-01-24", people=["陈正式", "黄正式"])
    expect(page.locator(".facts")).to_contain_text("陈正式、黄正式")

    record(page, 10, "2025-02-10", selects={"审查结论": "合格"}, files=[evidence_pdf])
    record(page, 11, "2025-02-17", fields={"集中培训天数": "3"})
    record(page, 12, "2025-02-24", responsible="支委会")
    screenshot(page, "members-timeline")
    record(
        page,
        13,
        "2025-03-06",
        selects={"审查结论": "合格"},
        fields={"公示开始日期": "2025-02-25", "公示结束日期": "2025-03-04"},
    )
    record(page, 14, "2025-03-10")

    # Rule 12: the 支部大会 adopts with more than half of the entitled full members in favour.
    vote = {"有表决权的正式党员人数": "12", "实到会有表决权的正式党员人数": "10", "到会赞成人数": "6"}
    fill_step(page, 15, "2025-03-20", fields=vote)
    submit_step(page)
    refused(
        page,
        member,
        15,
        "赞成 6 票（含书面意见 0 票），未超过应到会有表决权正式党员 12 人的半数（至少 7 票），未通过。"
        f"依据：{CONSTITUTION} 第五条",
    )
    expect(status_heading(page)).to_have_text("发展对象")
    record(page, 15, "2025-03-20", fields={**vote, "到会赞成人数": "9"}, files=[evidence_pdf])
    record(page, 16, "2025-04-01", responsible="街道党工委组织委员")
    record(page, 17, "2025-04-20", fields={"审批的上级党委": "幸福街道党工委"})
    expect(status_heading(page)).to_have_text("预备党员")
    expect(page.locator(".facts")).to_contain_text("2026-03-20")  # 预备期满: a year after step 15
    record(page, 18, "2025-04-25")
    record(page, 19, "2025-04-26")
    record(page, 20, "2025-05-06")
    record(page, 21, "2026-03-01")
    record(page, 22, "2026-03-05")

    # Rule 14: probation is a year from the 支部大会; the full-membership discussion comes after.
    full_vote = {"有表决权的正式党员人数": "13", "实到会有表决权的正式党员人数": "11", "到会赞成人数": "11"}
    fill_step(page, 23, "2026-03-10", fields=full_vote)
    submit_step(page)
    refused(
        page,
        member,
        23,
        "预备期自支部大会通过之日（2025-03-20）起计算，至 2026-03-20 期满；讨论转正最早于 2026-03-20 进行。"
        f"依据：{CONSTITUTION} 第七条",
    )
    expect(status_heading(page)).to_have_text("预备党员")
    record(page, 23, "2026-03-25", fields=full_vote)
    record(page, 24, "2026-04-10", fields={"审批的上级党委": "幸福街道党工委"})
    expect(status_heading(page)).to_have_text("正式党员")
    record(page, 25, "2026-04-20")

    # Done: full member from the end of probation; every step on the timeline, nothing left.
    expect(status_heading(page)).to_have_text("正式党员")
    facts = page.locator(".facts")
    for text in ("2023-12-11", "2024-01-15", "2025-01-20", "2025-03-20", "2026-03-20", "陈正式、黄正式"):
        expect(facts).to_contain_text(text)
    for n in range(1, 6):
        expect(page.locator(f"#stage-{n}")).to_contain_text(re.compile(r"已完成 (\d+)/\1"))
    expect(page.locator("#timeline li.step-done")).to_have_count(25)
    expect(page.locator("#record-step")).to_have_count(0)
    expect(page.get_by_text("没有可登记的步骤。")).to_be_visible()
    expect(page.get_by_role("link", name="谈话记录.pdf")).to_have_count(3)
    assert serious_violations(page) == []
    screenshot(page, "members-full")

    member.refresh_from_db()
    assert member.status == Status.FULL
    assert (member.applied_on, member.activist_on, member.candidate_on) == (
        date(2023, 12, 11),
        date(2024, 1, 15),
        date(2025, 1, 20),
    )
    assert (member.admitted_on, member.full_on) == (date(2025, 3, 20), date(2026, 3, 20))
    assert sorted(member.steps.values_list("step", flat=True)) == list(range(1, 26))
    assert StepEvidence.objects.filter(step__member=member).count() == 3
    assert not member.steps.exclude(flags=[]).exists()

    # The roster now lists the new full member.
    page.get_by_role("navigation", name="所在位置").get_by_role("link", name=tree.branch_a.name).click()
    row = page.locator("tr").filter(has=page.get_by_role("link", name="赵发展"))
    expect(row).to_contain_text("正式党员")
    expect(row).to_contain_text("转正 2026-03-20")


def test_a_talk_later_than_a_month_is_saved_with_a_warning_naming_the_rule(page: Page, tree, secretary):
    """party.md §1 rule 2: the talk is due within a month of the application; overdue is flagged."""
    member = do_register_applicant(
        branch=tree.branch_a,
        name="钱迟谈",
        id_number=id_number(date(1990, 2, 2), 501),
        applied_on=date(2024, 3, 1),
        actor=secretary,
    )
    log_in(page, secretary)
    page.goto(f"/members/{member.pk}/")
    expect(timeline_step(page, 2)).to_contain_text(re.compile(r"已逾期\s*（应于 2024-04-01 前完成）"))

    record(page, 2, "2024-04-15", responsible="李书记")
    expect(page.locator("#history-title + ul")).to_contain_text(
        "收到入党申请书（2024-03-01）后应在 1 个月内派人谈话（最迟 2024-04-01），本次谈话已逾期。"
        f"依据：{DEV_RULES} 第七条"
    )
    step = DevelopmentStep.objects.get(member=member, step=2)
    assert [f["code"] for f in step.flags] == ["talk_overdue"]
