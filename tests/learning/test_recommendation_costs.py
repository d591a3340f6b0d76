"""What a learner's list costs: the year's hours come from the records the list reads anyway, the
cards read no more columns than they show (no query per card), and the answer is unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dangqun.learning import actions, queries, recommend
from dangqun.learning.models import StudyRecord

from .conftest import finish
from .test_recommendations import auth

pytestmark = pytest.mark.django_db


def assign(library, tree, secretary, title: str, days: int = 3):
    return actions.do_assign_item(
        organization=tree.branch_a,
        item=library[title],
        due_on=timezone.localdate() + timedelta(days=days),
        actor=secretary,
    )


def test_the_hours_from_the_records_match_the_aggregate(library, cadre):
    finish(cadre, library["宅基地管理与乡村规划"], "k-hours-01", seconds=3600)
    finish(cadre, library["廉洁自律准则学习"], "k-hours-02", seconds=1800)
    actions.do_open_item(library["中国共产党章程导读"], actor=cadre)  # opened, not finished: no year
    year = timezone.localdate().year
    # A record of last year counts in last year only.
    StudyRecord.objects.filter(user=cadre, item=library["廉洁自律准则学习"]).update(year=year - 1)
    data = recommend.recommendations(cadre, 10)
    assert data["year"] == year
    prof = data["profile"]
    for y in (year, year - 1):
        rows = list(
            StudyRecord.objects.filter(user=cadre).values_list(
                "item_id", "finished_at", "year", "credited_seconds"
            )
        )
        assert queries.my_progress(cadre, y, prof, queries.year_totals(rows, y)) == queries.my_progress(
            cadre, y, prof
        )
    assert queries.my_progress(cadre, year, prof, data["year_totals"]) == queries.my_progress(
        cadre, year, prof
    )
    assert data["year_totals"][1] == 1


def test_the_api_shows_hours_just_studied(client, library, cadre):
    headers = auth(cadre)
    before = client.get("/api/v1/learning/recommendations", **headers).json()["progress"]
    finish(cadre, library["宅基地管理与乡村规划"], "k-fresh-01", seconds=3600)
    after = client.get("/api/v1/learning/recommendations", **headers).json()["progress"]
    assert after["finished"] == before["finished"] + 1
    assert after["hours"] > before["hours"]
    assert after == queries.my_progress(cadre, timezone.localdate().year)


def test_required_and_ranked_cards_show_their_fields(client, library, cadre, secretary, tree):
    req = assign(library, tree, secretary, "廉洁自律准则学习")
    body = client.get("/api/v1/learning/recommendations", **auth(cadre)).json()
    first = body["items"][0]
    assert first["id"] == req.item_id
    assert first["required"] is True
    assert first["title"] == "廉洁自律准则学习"
    assert first["minutes"] == library["廉洁自律准则学习"].minutes
    assert first["kind"] == library["廉洁自律准则学习"].kind
    assert first["reason"].endswith(f"要求 {req.due_on.month}月{req.due_on.day}日前完成")
    for card in body["items"][1:]:
        item = next(i for i in library.values() if i.pk == card["id"])
        assert (card["title"], card["kind"], card["topic"], card["minutes"]) == (
            item.title,
            item.kind,
            item.topic,
            item.minutes,
        )


def test_the_list_costs_pinned_queries(client, library, cadre, secretary, tree, django_assert_num_queries):
    """Token, grants, profile, records, requirements, the stored list, (neighbours,) cards: 8 live,
    7 stored. The year's hours need no query of their own (was 9 and 8; the older pins: at most
    14 and 12)."""
    assign(library, tree, secretary, "廉洁自律准则学习")
    assign(library, tree, secretary, "中国共产党章程导读", days=10)
    finish(cadre, library["宅基地管理与乡村规划"], "k-pinned-02")
    headers = auth(cadre)
    client.get("/api/v1/learning/recommendations", **headers)  # builds the index
    with django_assert_num_queries(8):
        assert client.get("/api/v1/learning/recommendations", **headers).json()["source"] == "live"
    recommend.run_batch()
    client.get("/api/v1/learning/recommendations", **headers)  # the batch dropped the index: rebuilt
    with django_assert_num_queries(7):
        assert client.get("/api/v1/learning/recommendations", **headers).json()["source"] == "stored"


def test_the_member_page_costs_no_query_per_card(
    client, library, cadre, secretary, tree, django_assert_num_queries
):
    assign(library, tree, secretary, "廉洁自律准则学习")
    client.force_login(cadre)
    client.get("/learning/")
    with django_assert_num_queries(11):
        response = client.get("/learning/")
    assert response.status_code == 200
    assert "廉洁自律准则学习" in response.content.decode()
