"""The learning pages: the member's page (reasons, hours bar, required first), finishing an item,
the secretary's branch page, the editor's library and sources, scoped (403 / 404)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from dangqun.learning import actions
from dangqun.learning.choices import Channel, ProductKind
from dangqun.learning.models import Delivery, Source, StudyRecord

pytestmark = pytest.mark.django_db


def test_member_page_shows_reasons_and_hours(client, library, cadre, django_assert_max_num_queries):
    client.force_login(cadre)
    client.get("/learning/")  # profile and index built
    with django_assert_max_num_queries(22):
        response = client.get("/learning/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "因为你是村干部" in html
    assert re.search(r'<progress id="hours-bar" class="hours" max="32"', html)


def test_finishing_through_the_page(client, library, cadre):
    item = library["宅基地管理与乡村规划"]
    client.force_login(cadre)
    page = client.get(f"/learning/items/{item.pk}/")
    key = re.search(r'name="key" value="([0-9a-f]+)"', page.content.decode()).group(1)
    StudyRecord.objects.filter(user=cadre, item=item).update(opened_at=timezone.now() - timedelta(minutes=20))
    response = client.post(f"/learning/items/{item.pk}/finish/", {"key": key}, follow=True)
    assert "已完成《宅基地管理与乡村规划》" in response.content.decode()
    rec = StudyRecord.objects.get(user=cadre, item=item)
    assert rec.finished_at is not None
    assert 20 * 60 <= rec.credited_seconds <= 20 * 60 + 40
    # the same form posted again (a double click) adds nothing
    client.post(f"/learning/items/{item.pk}/finish/", {"key": key})
    assert StudyRecord.objects.get(pk=rec.pk).seconds_spent == rec.seconds_spent


def test_hiding_a_topic_from_the_page(client, library, cadre):
    client.force_login(cadre)
    response = client.post("/learning/topics/", {"topic": "rural", "hidden": "1"}, follow=True)
    assert "不再推荐“乡村振兴”主题" in response.content.decode()
    assert "乡村振兴战略与村级集体经济发展" not in response.content.decode()


def test_secretary_assigns_and_sees_aggregates(client, library, secretary, cadre, tree):
    client.force_login(secretary)
    item = library["中国共产党章程导读"]
    due = timezone.localdate() + timedelta(days=20)
    response = client.post(
        f"/learning/branch/?org={tree.branch_a.pk}",
        {"organization": tree.branch_a.pk, "item": item.pk, "due_on": due.isoformat(), "audience": "all"},
        follow=True,
    )
    html = response.content.decode()
    assert "已指定必学内容" in html
    assert "中国共产党章程导读" in html
    assert "刘村干" not in html  # aggregates only
    past = client.post(
        f"/learning/branch/?org={tree.branch_a.pk}",
        {"organization": tree.branch_a.pk, "item": item.pk, "due_on": "2020-01-01", "audience": "all"},
    )
    assert "完成期限不能早于今天" in past.content.decode()


def test_who_may_open_which_page(client, library, resident, member, outsider, street_admin, tree):
    client.force_login(resident)
    assert client.get("/learning/").status_code == 403
    client.force_login(member)
    assert client.get("/learning/library/").status_code == 403
    assert client.get("/learning/branch/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/learning/branch/?org={tree.branch_a.pk}").status_code == 404
    src = actions.do_create_source(organization=tree.street, title="动态", body="正文", actor=street_admin)
    assert client.get(f"/learning/sources/{src.pk}/").status_code == 404


def test_editor_adds_a_course_in_the_library(client, street_admin, tree):
    client.force_login(street_admin)
    response = client.post(
        "/learning/library/",
        {
            "organization": tree.street.pk,
            "kind": "course",
            "title": "基层治理十讲",
            "topic": "governance",
            "level": "basic",
            "minutes": 20,
            "status": "published",
            "lessons": "第一讲 网格化 | 30\n第二讲 议事协商 | 40 | https://example.org/2",
        },
        follow=True,
    )
    assert "已添加《基层治理十讲》" in response.content.decode()
    bad = client.post(
        "/learning/library/",
        {
            "organization": tree.street.pk,
            "kind": "quiz",
            "title": "测验",
            "topic": "law",
            "level": "basic",
            "minutes": 5,
            "status": "published",
            "questions": "题目 | 甲；乙 | 5",
        },
    )
    assert "第 1 题的正确选项不在选项之中" in bad.content.decode()


def test_editor_makes_products_and_pushes_from_the_pages(
    client, street_admin, tree, cadre, django_capture_on_commit_callbacks
):
    client.force_login(street_admin)
    response = client.post(
        "/learning/sources/",
        {"organization": tree.street.pk, "title": "主题党日", "body": "党员学习党章。"},
        follow=True,
    )
    source = Source.objects.get(title="主题党日")
    for p in source.products.filter(kind__in=[ProductKind.WEB, ProductKind.CARD, ProductKind.SMS]):
        client.post(f"/learning/products/{p.pk}/", {"action": "approve"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/learning/sources/{source.pk}/",
            {
                "form": "push",
                "org1": tree.branch_a.pk,
                "org2": tree.street.pk,
                "posts2": ["village_cadre"],
                "channels": [Channel.IN_APP, Channel.RSS],
            },
            follow=True,
        )
    assert "推送已提交" in response.content.decode()
    html = client.get(f"/learning/sources/{source.pk}/").content.decode()
    assert Delivery.objects.filter(channel=Channel.IN_APP, recipient=cadre, status="sent").exists()
    assert re.search(r'data-channel="in_app"><th scope="row">[^<]+</th><td class="num sent">1</td>', html)


def test_editor_withdraws_an_item_and_it_leaves_the_recommendations(
    client, library, street_admin, cadre, root_admin
):
    from django.test import Client

    item = library["乡村振兴战略与村级集体经济发展"]
    withdraw = {"form": "status", "item": item.pk, "status": "withdrawn"}
    # a national item: a street administrator sees it in the library, only a superuser changes it
    client.force_login(street_admin)
    assert client.post("/learning/library/", withdraw).status_code == 403
    client.force_login(root_admin)
    client.post("/learning/library/", withdraw)
    item.refresh_from_db()
    assert item.status == "withdrawn"
    other = Client()
    other.force_login(cadre)
    assert "乡村振兴战略与村级集体经济发展" not in other.get("/learning/").content.decode()
    assert other.get(f"/learning/items/{item.pk}/").status_code == 404
