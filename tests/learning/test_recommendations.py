"""Recommendations: required first by due date, reasons in words that differ by post, finishing
changes the list, hidden topics, the stored batch and its live fallback, pinned query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.learning import actions, recommend
from dangqun.learning.choices import Audience, Topic
from dangqun.learning.models import StoredRecommendations

from .conftest import finish

pytestmark = pytest.mark.django_db


def auth(user):
    raw, _ = issue_token(user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def get_recs(client, user, limit=10):
    response = client.get(f"/api/v1/learning/recommendations?limit={limit}", **auth(user))
    assert response.status_code == 200, response.content
    return response.json()


def test_reasons_differ_by_post(client, library, cadre, teacher):
    c = get_recs(client, cadre)["items"]
    t = get_recs(client, teacher)["items"]
    assert c[0]["reason"] == "因为你是村干部"
    assert t[0]["reason"] == "因为你是教师"
    assert c[0]["topic"] in (Topic.RURAL, Topic.GOVERNANCE)
    assert t[0]["topic"] == Topic.EDUCATION
    assert [i["id"] for i in c[:3]] != [i["id"] for i in t[:3]]


def test_no_topic_takes_more_than_three_of_ten(client, library, cadre):
    items = get_recs(client, cadre)["items"]
    assert len(items) == 10
    counts = {}
    for i in items:
        counts[i["topic"]] = counts.get(i["topic"], 0) + 1
    assert max(counts.values()) <= 3


def test_required_items_come_first_by_due_date(client, library, cadre, secretary, tree):
    today = timezone.localdate()
    later = actions.do_assign_item(
        organization=tree.branch_a,
        item=library["廉洁自律准则学习"],
        due_on=today + timedelta(days=40),
        actor=secretary,
    )
    sooner = actions.do_assign_item(
        organization=tree.branch_a,
        item=library["党史上的重要会议"],
        due_on=today + timedelta(days=10),
        actor=secretary,
    )
    items = get_recs(client, cadre)["items"]
    assert [i["id"] for i in items[:2]] == [sooner.item_id, later.item_id]
    assert items[0]["required"]
    assert items[0]["reason"].endswith(f"要求 {sooner.due_on.month}月{sooner.due_on.day}日前完成")
    assert not items[2]["required"]
    # finished required items leave the list
    finish(cadre, library["党史上的重要会议"], "k-required-1")
    items = get_recs(client, cadre)["items"]
    assert items[0]["id"] == later.item_id
    assert sooner.item_id not in [i["id"] for i in items]


def test_cadre_only_requirement_binds_only_cadres(client, library, secretary, member, tree):
    today = timezone.localdate()
    actions.do_assign_item(
        organization=tree.branch_a,
        item=library["廉洁自律准则学习"],
        due_on=today + timedelta(days=5),
        audience=Audience.CADRES,
        actor=secretary,
    )
    assert get_recs(client, secretary)["items"][0]["required"]
    assert not get_recs(client, member)["items"][0]["required"]


def test_finishing_an_item_changes_the_list_and_names_it(client, library, cadre):
    before = get_recs(client, cadre)["items"]
    first = before[0]
    from dangqun.learning.models import ContentItem

    finish(cadre, ContentItem.objects.get(pk=first["id"]), "k-finish-0001")
    after = get_recs(client, cadre)["items"]
    assert first["id"] not in [i["id"] for i in after]
    assert [i["id"] for i in after] != [i["id"] for i in before]
    # an item outside the post: what resembles it is recommended "because you studied it"
    health = library["医德医风与患者服务"]
    finish(cadre, health, "k-finish-0002")
    related = [
        i for i in get_recs(client, cadre)["items"] if i["reason"] == f"与你学过的《{health.title}》相关"
    ]
    assert [i["title"] for i in related] == ["公共卫生应急与防疫"]


def test_no_false_reasons_for_unrelated_items(client, library, cadre):
    items = get_recs(client, cadre)["items"]
    for i in items:
        if i["topic"] not in ("rural", "governance"):
            assert i["reason"] != "因为你是村干部", i


def test_a_hidden_topic_is_not_recommended(client, library, cadre):
    actions.do_set_topic_hidden(cadre, Topic.RURAL, True, actor=cadre)
    items = get_recs(client, cadre)["items"]
    assert Topic.RURAL not in {i["topic"] for i in items}
    actions.do_set_topic_hidden(cadre, Topic.RURAL, False, actor=cadre)
    assert Topic.RURAL in {i["topic"] for i in get_recs(client, cadre)["items"]}


def test_the_stored_batch_is_read_until_the_learner_changes(client, library, cadre, teacher):
    report = recommend.run_batch()
    assert report["learners"] == 2
    assert StoredRecommendations.objects.count() == 2
    data = get_recs(client, cadre)
    assert data["source"] == "stored"
    assert data["items"][0]["reason"] == "因为你是村干部"
    topics = [i["topic"] for i in data["items"]]
    assert len(topics) == 10
    assert max(topics.count(t) for t in topics) <= 3
    actions.do_set_topic_hidden(cadre, Topic.EDUCATION, True, actor=cadre)
    assert get_recs(client, cadre)["source"] == "live"
    # running the batch again replaces the rows, adds none
    recommend.run_batch()
    assert StoredRecommendations.objects.count() == 2
    assert get_recs(client, cadre)["source"] == "stored"


def test_co_study_neighbours_give_their_reason(client, library, tree):
    from dangqun.learning.choices import Post

    from .conftest import learner

    a, b = library["医德医风与患者服务"], library["中国共产党章程导读"]
    for n in range(3):
        user = learner(f"peer{n}", tree.branch_b, Post.OTHER)[0]
        finish(user, a, f"peer-a-{n:04d}")
        finish(user, b, f"peer-b-{n:04d}")
    me = learner("me_cs", tree.branch_b, Post.OTHER)[0]
    finish(me, a, "me-a-00001")
    recommend.run_batch()
    actions.do_set_topic_hidden(me, Topic.HEALTH, True, actor=me)  # force the live path
    items = get_recs(client, me)["items"]
    top = next(i for i in items if i["id"] == b.pk)
    assert top["reason"] == f"学过《{a.title}》的党员也学了它"
    assert items[0]["id"] == b.pk


def test_query_count_is_pinned(client, library, cadre, secretary, tree, django_assert_max_num_queries):
    actions.do_assign_item(
        organization=tree.branch_a,
        item=library["廉洁自律准则学习"],
        due_on=timezone.localdate() + timedelta(days=3),
        actor=secretary,
    )
    finish(cadre, library["宅基地管理与乡村规划"], "k-pinned-01")
    headers = auth(cadre)
    client.get("/api/v1/learning/recommendations", **headers)  # builds the index
    with django_assert_max_num_queries(14):
        assert client.get("/api/v1/learning/recommendations", **headers).status_code == 200
    recommend.run_batch()
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/learning/recommendations", **headers).json()["source"] == "stored"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 401),
        ("resident", 403),
        ("window_staff", 403),
        ("department_admin", 403),
        ("member", 200),
        ("secretary", 200),
    ],
)
def test_who_gets_recommendations(client, library, request, persona, status):
    headers = auth(request.getfixturevalue(persona)) if persona else {}
    assert client.get("/api/v1/learning/recommendations", **headers).status_code == status


def test_limit_is_validated(client, library, member):
    response = client.get("/api/v1/learning/recommendations?limit=0", **auth(member))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
