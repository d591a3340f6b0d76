"""Member pages: per-persona allow/deny, the roster (masked IDs, pinyin search, filters, pinned
query counts), the member page and timeline, recording a step, registering, due this month."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dangqun.core import workcalendar
from dangqun.core.models import AuditEvent
from dangqun.core.validators import id_check_char
from dangqun.members import rules as R
from dangqun.members.actions import do_enroll_member, do_record_step, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.models import DevelopmentStep, PartyMember, StepEvidence
from dangqun.members.queries import due_items

pytestmark = pytest.mark.django_db

PERSONAS = ["street_admin", "secretary", "outsider", "member", "resident", "department_admin", "window_staff"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def id_for(n: int, born: date | None = None) -> str:
    """A valid GB 11643 number, unique per n (region 320102: apart from conftest's 110105)."""
    born = born or date(1960, 1, 1) + timedelta(days=n // 900)
    first17 = f"320102{born:%Y%m%d}{n % 900 + 100:03d}"
    return first17 + id_check_char(first17)


def ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


@pytest.fixture
def as_user(client, request):
    def login(name: str | None):
        if name:
            client.force_login(request.getfixturevalue(name))
        return client

    return login


@pytest.fixture
def people(tree, root_admin, secretary, member):
    """Branch A: the member persona's own record, 张三 and 单雄信 (applicants, talk overdue),
    three full members; branch B: 王乙."""
    own = do_enroll_member(
        branch=tree.branch_a,
        name="张党员",
        id_number=id_for(1, date(1980, 2, 2)),
        status=Status.FULL,
        admitted_on=date(2015, 7, 1),
        actor=root_admin,
        user=member,
        group=tree.group_a,
        post="组织委员",
    )
    zhang = do_register_applicant(
        branch=tree.branch_a,
        name="张三",
        id_number=id_for(2, date(1995, 3, 3)),
        applied_on=ago(45),
        actor=secretary,
        phone="13912345678",
    )
    shan = do_register_applicant(
        branch=tree.branch_a,
        name="单雄信",
        id_number=id_for(3, date(1996, 4, 4)),
        applied_on=ago(5),
        actor=secretary,
    )
    full = [
        do_enroll_member(
            branch=tree.branch_a,
            name=name,
            id_number=id_for(10 + i, date(1970 + i, 5, 5)),
            status=Status.FULL,
            admitted_on=date(2015, 9, 1),
            actor=root_admin,
        )
        for i, name in enumerate(["刘正式", "陈正式", "黄正式"])
    ]
    other = do_enroll_member(
        branch=tree.branch_b,
        name="王乙",
        id_number=id_for(20, date(1975, 6, 6)),
        status=Status.FULL,
        admitted_on=date(2015, 9, 1),
        actor=root_admin,
    )
    return {"own": own, "zhang": zhang, "shan": shan, "full": full, "other": other}


# --- allow / deny per persona ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 200),
        ("member", 302),  # to their own record
        ("resident", 403),
        ("department_admin", 403),
        ("window_staff", 403),
    ],
)
def test_index_access(people, as_user, persona, status):
    response = as_user(persona).get(reverse("members:index"))
    assert response.status_code == status
    if persona == "member":
        assert response["Location"] == reverse("members:detail", args=[people["own"].pk])
    if persona is None:
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_index_lists_only_the_branches_in_scope(tree, people, client, secretary, street_admin):
    client.force_login(secretary)
    html = client.get(reverse("members:index")).content.decode()
    assert tree.branch_a.name in html
    assert tree.branch_b.name not in html
    client.force_login(street_admin)
    html = client.get(reverse("members:index")).content.decode()
    assert tree.branch_a.name in html
    assert tree.branch_b.name in html
    assert reverse("members:due", args=[tree.committee.pk]) in html


ROSTER_ACCESS = [
    (None, 302),
    ("street_admin", 200),
    ("secretary", 200),
    ("outsider", 404),
    ("member", 404),
    ("resident", 404),
    ("department_admin", 404),
    ("window_staff", 404),
]


@pytest.mark.parametrize(("persona", "status"), ROSTER_ACCESS)
def test_roster_access(tree, people, as_user, persona, status):
    assert as_user(persona).get(reverse("members:branch", args=[tree.branch_a.pk])).status_code == status


@pytest.mark.parametrize(("persona", "status"), ROSTER_ACCESS)
def test_roster_export_access(tree, people, as_user, persona, status):
    assert (
        as_user(persona).get(reverse("members:branch_export", args=[tree.branch_a.pk])).status_code == status
    )


@pytest.mark.parametrize(("persona", "status"), ROSTER_ACCESS)
def test_due_page_access(tree, people, as_user, persona, status):
    assert as_user(persona).get(reverse("members:due", args=[tree.branch_a.pk])).status_code == status


def test_the_secretary_of_b_sees_b_not_a(tree, people, client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("members:branch", args=[tree.branch_b.pk])).status_code == 200
    assert client.get(reverse("members:branch", args=[tree.branch_a.pk])).status_code == 404
    assert client.get(reverse("members:detail", args=[people["zhang"].pk])).status_code == 404


def test_a_roster_is_only_for_a_branch_and_unknown_ids_are_404(tree, people, client, street_admin):
    client.force_login(street_admin)
    for pk in (tree.committee.pk, tree.group_a.pk, tree.department.pk, 999999, 2**63):
        assert client.get(f"/members/branch/{pk}/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 404),
        ("member", 404),  # someone else's record
        ("resident", 404),
        ("department_admin", 404),
        ("window_staff", 404),
    ],
)
def test_member_page_access(people, as_user, persona, status):
    assert as_user(persona).get(reverse("members:detail", args=[people["zhang"].pk])).status_code == status


def test_a_member_sees_their_own_record_read_only(people, client, member):
    client.force_login(member)
    response = client.get(reverse("members:detail", args=[people["own"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "张党员" in html
    assert 'id="record-step"' not in html
    assert client.get(reverse("members:mine")).status_code == 302
    # Recording a step on their own record is refused.
    post = client.post(
        reverse("members:record_step", args=[people["own"].pk]), {"step": 25, "done_on": "2020-01-01"}
    )
    assert post.status_code == 403


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 200),
        ("secretary", 200),
        ("outsider", 200),
        ("member", 403),
        ("resident", 403),
        ("department_admin", 403),
        ("window_staff", 403),
    ],
)
def test_register_and_import_pages_access(people, as_user, persona, status):
    client = as_user(persona)
    assert client.get(reverse("members:register")).status_code == status
    assert client.get(reverse("members:import")).status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("street_admin", 302), ("secretary", 302), ("outsider", 404), ("member", 404), ("resident", 404)],
)
def test_record_step_access(people, as_user, persona, status):
    response = as_user(persona).post(
        reverse("members:record_step", args=[people["zhang"].pk]), {"step": 2, "done_on": ago(1).isoformat()}
    )
    assert response.status_code == status


# --- the roster --------------------------------------------------------------------------------


def roster(client, branch, **params):
    return client.get(reverse("members:branch", args=[branch.pk]), params)


def names_in(response) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/members/\d+/">([^<]+)</a>', response.content.decode())


def test_the_roster_masks_id_numbers_and_shows_key_facts(tree, people, client, secretary):
    client.force_login(secretary)
    html = roster(client, tree.branch_a).content.decode()
    own = people["own"]
    assert own.id_number not in html
    assert own.id_number_masked in html
    assert people["zhang"].phone not in html
    assert "组织委员" in html  # post
    assert "第一党小组" in html  # group
    standing = own.party_standing_years(timezone.localdate())
    assert f"{standing} 年" in html  # 党龄
    assert "转正 2016-07-01" in html  # key dates
    assert "王乙" not in html  # branch B


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("张三", ["张三"]),
        ("zhangsan", ["张三"]),
        ("zhang san", ["张三"]),
        ("ZS", ["张三"]),
        ("zs", ["张三"]),
        ("zhang", ["张党员", "张三"]),
        ("shanxiongxin", ["单雄信"]),  # the surname reading, not only pypinyin's default "dan"
        ("sxx", ["单雄信"]),
        ("lzs", ["刘正式"]),
        ("nobody", []),
    ],
)
def test_the_roster_finds_by_name_pinyin_and_initials(tree, people, client, secretary, q, expected):
    client.force_login(secretary)
    assert sorted(names_in(roster(client, tree.branch_a, q=q))) == sorted(expected)


def test_a_whole_id_number_finds_its_person(tree, people, client, secretary):
    client.force_login(secretary)
    assert names_in(roster(client, tree.branch_a, q=people["zhang"].id_number)) == ["张三"]


def test_the_roster_filters_by_status_group_and_stage(tree, people, client, secretary):
    client.force_login(secretary)
    assert sorted(names_in(roster(client, tree.branch_a, status="applicant"))) == ["单雄信", "张三"]
    assert names_in(roster(client, tree.branch_a, group=tree.group_a.pk)) == ["张党员"]
    assert sorted(names_in(roster(client, tree.branch_a, stage=1))) == ["单雄信", "张三"]
    assert names_in(roster(client, tree.branch_a, stage=5)) == []
    # A bad filter value is ignored rather than failing the page.
    assert roster(client, tree.branch_a, status="pilot", stage="x").status_code == 200


def test_the_roster_is_in_pinyin_order_and_paginated(tree, root_admin, client, secretary):
    for i in range(55):
        do_enroll_member(
            branch=tree.branch_a,
            name=f"测试{i:02d}",
            id_number=id_for(100 + i),
            status=Status.FULL,
            admitted_on=date(2015, 7, 1),
            actor=root_admin,
        )
    client.force_login(secretary)
    first = roster(client, tree.branch_a)
    assert len(names_in(first)) == 50
    assert "第 1 页，共 2 页" in first.content.decode()
    second = roster(client, tree.branch_a, q="ce", page=2)
    assert len(names_in(second)) == 5
    assert "q=ce&amp;page=1" in second.content.decode()  # pagination keeps the search


def test_htmx_gets_only_the_results(tree, people, client, secretary):
    client.force_login(secretary)
    response = client.get(
        reverse("members:branch", args=[tree.branch_a.pk]),
        {"q": "zs"},
        headers={"HX-Request": "true", "HX-Target": "roster-results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="roster-results"')
    assert "<html" not in html
    assert names_in(response) == ["张三"]


def test_roster_query_count_does_not_grow_with_the_branch(
    tree, people, root_admin, client, secretary, django_assert_num_queries
):
    client.force_login(secretary)
    url = reverse("members:branch", args=[tree.branch_a.pk])
    # session, user, grants, branch, groups, count, page of members, nav roles, unread count
    with django_assert_num_queries(9):
        client.get(url)
    for i in range(30):
        do_enroll_member(
            branch=tree.branch_a,
            name=f"新党员{i}",
            id_number=id_for(300 + i),
            status=Status.FULL,
            admitted_on=date(2015, 7, 1),
            actor=root_admin,
            group=tree.group_a,
        )
    with django_assert_num_queries(9):
        response = client.get(url, {"q": "xdy"})
    assert len(names_in(response)) == 30


def test_index_query_count_is_pinned(tree, people, client, street_admin, django_assert_num_queries):
    client.force_login(street_admin)
    # session, user, grants, party units, count, page of branches, nav roles, unread count
    with django_assert_num_queries(8):
        client.get(reverse("members:index"))


# --- the member page and the timeline ----------------------------------------------------------


def test_the_timeline_shows_every_step_in_words(people, client, secretary):
    client.force_login(secretary)
    html = client.get(reverse("members:detail", args=[people["zhang"].pk])).content.decode()
    for n, spec in R.STEPS.items():
        assert f"第{n}步 {spec.name}" in html
    for stage in R.STAGES.values():
        assert str(stage) in html
    # Step 1 done with its date; step 2 (talk) overdue with its limit; step 3 waits for step 2.
    assert re.search(
        r"第1步 递交入党申请书</strong>：\s*<span class=\"state\">已完成</span>\s*（" + str(ago(45)), html
    )
    due = R.add_months(ago(45), 1)
    assert re.search(r"第2步 党组织派人谈话</strong>：\s*<span class=\"state\">已逾期</span>", html)
    assert f"应于 {due.isoformat()} 前完成" in html
    assert re.search(
        r"第3步 推荐和确定入党积极分子</strong>：\s*<span class=\"state\">待前序步骤</span>", html
    )
    # The ID number is masked on the page too.
    assert people["zhang"].id_number not in html
    assert people["zhang"].id_number_masked in html
    # The step form offers the overdue talk first.
    assert 'name="step" value="2"' in html


def test_member_page_query_count_is_pinned(people, client, secretary, django_assert_num_queries):
    client.force_login(secretary)
    workcalendar.rule_values()  # rule values come from the per-process snapshot: load it first
    # session, user, grants, member, steps (+recorded_by), evidence, extensions, contacts,
    # introducers, full members for the form? (not for step 2), nav roles, unread count
    with django_assert_num_queries(11):
        client.get(reverse("members:detail", args=[people["zhang"].pk]))


def test_recording_a_step_through_the_page(people, client, secretary, outsider):
    client.force_login(secretary)
    zhang = people["zhang"]
    response = client.post(
        reverse("members:record_step", args=[zhang.pk]),
        {
            "step": 2,
            "done_on": ago(2).isoformat(),
            "responsible": "李书记",
            "notes": "谈话记录见附件",
            "files": [SimpleUploadedFile("谈话记录.png", PNG, content_type="image/png")],
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#timeline")
    record = DevelopmentStep.objects.get(member=zhang, step=2)
    assert record.responsible == "李书记"
    assert record.flags
    assert record.flags[0]["code"] == "talk_overdue"
    evidence = StepEvidence.objects.get(step=record)
    assert evidence.content_type == "image/png"
    zhang.refresh_from_db()
    assert zhang.talked_on == ago(2)
    # The evidence is downloadable through the scoped view only.
    url = reverse("members:evidence", args=[zhang.pk, evidence.pk])
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert "attachment" in download["Content-Disposition"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_every_broken_rule_is_shown_beside_the_form_and_nothing_is_saved(people, client, secretary):
    client.force_login(secretary)
    zhang = people["zhang"]
    before = (DevelopmentStep.objects.count(), StepEvidence.objects.count(), AuditEvent.objects.count())
    # Step 7 now: the talk and the activist steps are missing, and the evidence is a fake PDF.
    response = client.post(
        reverse("members:record_step", args=[zhang.pk]),
        {
            "step": 7,
            "done_on": ago(1).isoformat(),
            "files": [SimpleUploadedFile("申请书.pdf", b"not really a pdf", content_type="application/pdf")],
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "请修改以下标出的内容后再提交" in html
    assert "第7步“确定发展对象”须在身份为“入党积极分子”时办理" in html
    assert "须先完成第4步“报上级党委备案”" in html
    assert "须先完成第6步“培养教育考察”" in html
    assert "证明材料只能是 PDF、PNG 或 JPG 文件" in html
    assert "依据：" in html  # each rule names its source
    assert (
        DevelopmentStep.objects.count(),
        StepEvidence.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_a_form_error_keeps_the_input_and_htmx_gets_the_form_alone(people, client, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("members:record_step", args=[people["zhang"].pk]),
        {"step": 2, "done_on": "2023-02-30", "responsible": "李书记"},
        headers={"HX-Request": "true", "HX-Target": "record-step"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="record-step"')
    assert "错误：" in html
    assert 'value="李书记"' in html


def test_a_step_with_people_offers_the_branchs_full_members(people, client, secretary):
    client.force_login(secretary)
    zhang = people["zhang"]
    do_record_step(zhang, 2, ago(40), actor=secretary)
    do_record_step(zhang, 3, ago(30), actor=secretary)
    do_record_step(zhang, 4, ago(29), actor=secretary)
    html = client.get(reverse("members:detail", args=[zhang.pk]), {"step": 5}).content.decode()
    assert "培养联系人" in html
    for person in people["full"]:
        assert person.name in html
    liu = people["full"][0]
    response = client.post(
        reverse("members:record_step", args=[zhang.pk]),
        {"step": 5, "done_on": ago(20).isoformat(), "contact_person_ids": [liu.pk]},
    )
    assert response.status_code == 302
    assert list(zhang.contact_links.values_list("person_id", flat=True)) == [liu.pk]
    html = client.get(reverse("members:detail", args=[zhang.pk])).content.decode()
    assert "培养联系人" in html
    assert liu.name in html


# --- registering an applicant ------------------------------------------------------------------


def test_registering_an_applicant(tree, people, client, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("members:register"),
        {
            "branch": tree.branch_a.pk,
            "name": "赵申请",
            "id_number": id_for(40, date(1999, 9, 9)),
            "phone": "13800138001",
            "applied_on": ago(3).isoformat(),
        },
    )
    created = PartyMember.objects.get(name="赵申请")
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[created.pk])
    assert created.status == Status.APPLICANT
    assert created.name_pinyin.startswith("zhaoshenqing")


def test_registration_errors_are_shown_beside_their_fields(tree, people, client, secretary):
    client.force_login(secretary)
    bad_checksum = id_for(41)[:-1] + ("0" if id_for(41)[-1] != "0" else "1")
    html = client.post(
        reverse("members:register"),
        {"branch": tree.branch_b.pk, "name": "", "id_number": bad_checksum, "applied_on": "2024-13-01"},
    ).content.decode()
    assert 'id="id_id_number_error"' in html
    assert "身份证号校验位不正确" in html
    assert 'id="id_name_error"' in html
    assert 'id="id_applied_on_error"' in html
    assert 'id="id_branch_error"' in html  # branch B is not offered to the secretary of A
    assert not PartyMember.objects.filter(name="").exists()


def test_an_applicant_under_18_is_refused_with_the_source(tree, people, client, secretary):
    client.force_login(secretary)
    young = id_for(42, timezone.localdate() - timedelta(days=365 * 17))
    html = client.post(
        reverse("members:register"),
        {"branch": tree.branch_a.pk, "name": "钱少年", "id_number": young, "applied_on": ago(1).isoformat()},
    ).content.decode()
    assert 'id="id_applied_on_error"' in html
    assert "年满 18 周岁" in html
    assert "依据：" in html
    assert not PartyMember.objects.filter(name="钱少年").exists()


# --- due this month ----------------------------------------------------------------------------


def test_due_this_month_for_a_branch_and_for_the_committee(tree, people, client, street_admin, root_admin):
    today = timezone.localdate()
    # An activist whose 6-month review falls this month; a probationary member whose probation ended.
    activist = do_register_applicant(
        branch=tree.branch_a,
        name="孙积极",
        id_number=id_for(50, date(1990, 1, 1)),
        applied_on=date(2020, 1, 2),
        actor=root_admin,
    )
    review_from = R.add_months(today, -6)
    do_record_step(activist, 2, R.add_months(review_from, -1), actor=root_admin)
    do_record_step(activist, 3, review_from, actor=root_admin)
    do_enroll_member(
        branch=tree.branch_b,
        name="周预备",
        id_number=id_for(51, date(1991, 1, 1)),
        status=Status.PROBATIONARY,
        admitted_on=R.add_months(today, -13),
        actor=root_admin,
    )
    client.force_login(street_admin)
    html = client.get(reverse("members:due", args=[tree.branch_a.pk])).content.decode()
    assert "张三" in html
    assert "已逾期" in html
    assert "孙积极" in html
    assert "本月考察" in html
    # 单雄信 applied 5 days ago: the talk is due a month after, this month or the next.
    shan_due = R.add_months(people["shan"].applied_on, 1)
    due_now = (shan_due.year, shan_due.month) == (today.year, today.month)
    assert ("单雄信" in html) == due_now
    assert "周预备" not in html  # branch B
    committee = client.get(reverse("members:due", args=[tree.committee.pk])).content.decode()
    assert "周预备" in committee
    assert "预备期满，讨论转正" in committee
    assert tree.branch_b.name in committee
    items = due_items(tree.committee, today, today)
    assert {i.member_name for i in items} == {"张三", "孙积极", "周预备"} | ({"单雄信"} if due_now else set())
    # The month of 单雄信's talk lists it.
    later = client.get(reverse("members:due", args=[tree.branch_a.pk]), {"month": shan_due.strftime("%Y-%m")})
    assert "单雄信" in later.content.decode()


def test_due_page_query_count_is_pinned(tree, people, client, street_admin, django_assert_num_queries):
    client.force_login(street_admin)
    workcalendar.rule_values()  # rule values come from the per-process snapshot: load it first
    # session, user, grants, org, 2 selections (members, recorded meetings), nav roles, unread count
    with django_assert_num_queries(8):
        client.get(reverse("members:due", args=[tree.committee.pk]))


def test_due_items_follow_the_timeline(people, secretary):
    """The due list and a member's timeline agree on the talk's limit."""
    today = timezone.localdate()
    zhang = people["zhang"]
    item = next(i for i in due_items(None, today, today) if i.member_id == zhang.pk)
    from dangqun.core.rulesets import ruleset_for
    from dangqun.members.queries import member_state

    entry = R.timeline(member_state(zhang), today, ruleset_for(zhang.branch, today, prefix="party.dev."))[1]
    assert (entry.state, entry.due_on) == ("overdue", item.due_on)
    assert item.overdue
