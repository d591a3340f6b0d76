"""The guide page (办事指南) shares its rendered facts and materials through the cache: every change
shows at once, per language, and nothing of a visitor (CSRF token, apply button) is shared."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from dangqun.onestop import search
from dangqun.onestop.actions import do_save_item
from dangqun.onestop.choices import ItemStatus
from dangqun.onestop.models import Material
from dangqun.orgs.actions import do_update_organization

from .conftest import materials_spec


def guide(client, item, **headers) -> str:
    response = client.get(reverse("onestop:guide", args=[item.code]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def cached_facts(item, language="zh-hans") -> str | None:
    hit = cache.get(f"{search.FRAGMENT_PREFIX}guide:{item.code}:{language}")
    return hit[1] if hit else None


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_an_edited_item_shows_its_new_content_at_once(client, item, street_admin):
    before = guide(client, item)
    assert "居民身份证" in before
    assert "新的受理条件" not in before
    do_save_item(
        item,
        actor=street_admin,
        conditions="新的受理条件：年满十六周岁",
        address="幸福路 1 号",
        materials=[*materials_spec(), {"name": "户口簿", "required": False}],
    )
    after = guide(client, item)
    assert "新的受理条件：年满十六周岁" in after
    assert "幸福路 1 号" in after
    assert "户口簿" in after
    assert f"<dd>{item.version}</dd>" in after


def test_a_material_changed_outside_the_actions_shows_after_commit(
    client, item, django_capture_on_commit_callbacks
):
    """The admin saves a material alone (the item's version stays): the catalog version moves."""
    guide(client, item)
    material = Material.objects.get(item=item, name="申请书")
    with django_capture_on_commit_callbacks(execute=True):
        material.name = "书面申请书"
        material.save()
    page = guide(client, item)
    assert "书面申请书" in page


def test_a_renamed_department_shows_its_new_name(client, item, tree, root_admin):
    guide(client, item)
    do_update_organization(tree.department, actor=root_admin, name="幸福街道社会保障事务所")
    page = guide(client, item)
    assert page.count("幸福街道社会保障事务所") >= 2  # the head and the facts


def test_a_suspended_item_shows_the_warning_and_no_apply_button(client, item, applicant, street_admin):
    client.force_login(applicant)
    assert "在线申请" in guide(client, item)
    do_save_item(item, actor=street_admin, status=ItemStatus.SUSPENDED)
    page = guide(client, item)
    assert "该事项暂停办理" in page
    assert 'action="{}"'.format(reverse("onestop:apply", args=[item.code])) not in page


def test_each_language_has_its_own_text(client, item):
    chinese = guide(client, item)
    english = guide(client, item, HTTP_ACCEPT_LANGUAGE="en")
    assert "申请材料清单" in chinese
    assert "申请材料清单" not in english
    assert cached_facts(item, "en") is not None
    assert cached_facts(item, "en") != cached_facts(item)
    assert "申请材料清单" in guide(client, item)


def test_nothing_of_a_visitor_is_shared(client, item, applicant):
    anonymous = guide(client, item)
    assert "登录后在线申请" in anonymous
    facts = cached_facts(item)
    assert facts is not None
    assert "居民身份证" in facts
    assert "csrf" not in facts
    assert "登录" not in facts
    client.force_login(applicant)
    signed_in = guide(client, item)
    assert 'action="{}"'.format(reverse("onestop:apply", args=[item.code])) in signed_in
    assert "登录后在线申请" not in signed_in
    client.logout()
    assert "登录后在线申请" in guide(client, item)


def test_a_cached_guide_costs_one_query(client, item, django_assert_num_queries):
    first = guide(client, item)
    with django_assert_num_queries(1):  # the item's head; no materials, no department
        again = guide(client, item)
    assert without_csrf(again) == without_csrf(first)


def test_the_page_renders_when_the_cache_is_down(client, item, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "set", down)
    page = guide(client, item)
    assert "居民身份证" in page


@pytest.mark.parametrize("code", ["000000000000", "20001000100X"])
def test_an_unknown_item_is_404(client, db, code):
    assert client.get(reverse("onestop:guide", args=[code])).status_code == 404
