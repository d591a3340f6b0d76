"""Catalog search: Chinese words, full pinyin, initials, typos, filters, misses, freshness."""

from __future__ import annotations

import pytest

from dangqun.onestop import search
from dangqun.onestop.actions import do_save_item
from dangqun.onestop.choices import ItemStatus, LifeEvent
from dangqun.onestop.models import SearchMiss

from .conftest import save_item


@pytest.fixture
def catalog(tree, street_admin):
    items = {
        "card": save_item(
            tree,
            street_admin,
            code="200010001000",
            name="社会保障卡申领",
            keywords="社保卡 社保",
            life_events=[LifeEvent.NEWBORN],
        ),
        "pension": save_item(
            tree, street_admin, code="200010002000", name="城乡居民基本养老保险参保登记", keywords="社保 养老"
        ),
        "fund": save_item(
            tree,
            street_admin,
            code="200010003000",
            name="住房公积金提取（租赁住房）",
            keywords="公积金 租房",
            life_events=[LifeEvent.HOUSING],
            channels=["web"],
        ),
        "birth": save_item(
            tree,
            street_admin,
            code="070010004000",
            name="出生登记",
            keywords="新生儿 上户口",
            life_events=[LifeEvent.NEWBORN],
        ),
    }
    search.reset()
    return items


def names(q, **kw):
    hits, _count = search.current_index().search(q, **kw)
    return [h.name for h in hits]


@pytest.mark.parametrize("q", ["社保", "shebao", "sb", "SB", "ｓｈｅｂａｏ"])
def test_social_security_is_found_by_words_pinyin_and_initials(catalog, q):
    found = names(q)
    assert found[0] == "社会保障卡申领"
    assert "城乡居民基本养老保险参保登记" in found
    assert "出生登记" not in found


@pytest.mark.parametrize("q", ["shebso", "sheboa", "gongjijn", "yanglaobaoxain"])
def test_one_wrong_or_swapped_pinyin_letter_still_finds_the_item(catalog, q):
    assert names(q)


def test_prefixes_and_whole_name_initials_work(catalog):
    assert names("gongji")[0] == "住房公积金提取（租赁住房）"
    assert names("shbzk") == ["社会保障卡申领"]


def test_an_abbreviation_that_is_not_a_word_matches_by_characters(catalog):
    assert "住房公积金提取（租赁住房）" in names("租住")


def test_filters_by_department_life_event_and_channel(catalog, tree):
    assert names("社保", life_event=LifeEvent.NEWBORN) == ["社会保障卡申领"]
    assert names("登记", life_event=LifeEvent.NEWBORN) == ["出生登记"]
    assert names("公积金", channel="window") == []
    assert names("公积金", channel="web") == ["住房公积金提取（租赁住房）"]
    assert names("社保", department=tree.department.pk)
    assert names("社保", department=tree.department.pk + 999) == []


def test_the_index_follows_changes_and_drops_cancelled_items(catalog, street_admin):
    assert names("社保卡") == ["社会保障卡申领"]
    do_save_item(catalog["card"], actor=street_admin, name="社会保障卡补换", status=ItemStatus.CANCELLED)
    assert names("社保卡") == []
    do_save_item(catalog["card"], actor=street_admin, status=ItemStatus.ACTIVE)
    assert names("补换") == ["社会保障卡补换"]


def test_the_public_api_ranks_and_records_searches_without_result(client, catalog):
    r = client.get("/api/v1/services", {"q": "shebao"})
    assert r.status_code == 200
    body = r.json()
    assert body["items"][0]["code"] == "200010001000"
    assert body["items"][0]["name"] == "社会保障卡申领"
    assert body["items"][0]["score"] >= body["items"][-1]["score"]
    assert {"department", "score", "url"} <= set(body["items"][0])
    assert client.get("/api/v1/services", {"q": "火星移民"}).json()["count"] == 0
    client.get("/api/v1/services", {"q": "火星移民"})
    miss = SearchMiss.objects.get()
    assert (miss.query, miss.count) == ("火星移民", 2)


def test_browsing_without_words_lists_the_catalog_by_code(client, catalog):
    body = client.get("/api/v1/services", {"life_event": "newborn"}).json()
    assert [i["code"] for i in body["items"]] == ["070010004000", "200010001000"]


def test_the_catalog_page_searches_without_javascript(client, catalog):
    page = client.get("/services/", {"q": "sb"})
    assert page.status_code == 200
    assert "社会保障卡申领" in page.content.decode()
    empty = client.get("/services/", {"q": "zzzzzz"}).content.decode()
    assert "没有找到相关事项" in empty
