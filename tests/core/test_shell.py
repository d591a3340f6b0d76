"""The accessible shell: layout, elder mode, language, navigation by role, CSP, notifications."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from dangqun.core.middleware import ELDER_COOKIE
from dangqun.core.models import Notification
from dangqun.core.notifications import notify

CSS = Path(settings.BASE_DIR) / "static" / "dangqun" / "css" / "dangqun.css"


@pytest.fixture(autouse=True, scope="session")
def _static_root_exists():
    # WhiteNoise warns (an error under filterwarnings=error) when STATIC_ROOT is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


class Page(HTMLParser):
    """Collects what the accessibility checks need from a rendered page."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_scripts = 0
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def page(client, url="/") -> Page:
    response = client.get(url)
    assert response.status_code == 200
    return Page(response.content.decode())


# --- layout ---------------------------------------------------------------------------------------


def test_the_layout_has_landmarks_skip_link_viewport_and_chinese_by_default(client, db):
    p = page(client)
    (html,) = p.find("html")
    assert html["lang"] == "zh-Hans"
    assert p.find("meta", name="viewport")
    assert p.find("a", href="#main", **{"class": "skip-link"})
    assert p.find("main", id="main")
    for landmark in ("header", "nav", "footer"):
        assert p.find(landmark), landmark
    assert "党群服务平台" in client.get("/").content.decode()


def test_pages_have_no_inline_script_style_or_handler(client, tree, street_admin):
    client.force_login(street_admin)
    for url in (
        "/",
        "/notifications/",
        reverse("orgs:tree"),
        reverse("orgs:detail", args=[tree.branch_a.pk]),
    ):
        p = page(client, url)
        assert p.inline_scripts == 0, url
        assert not p.find("style"), url
        for _tag, attrs in p.tags:
            assert "style" not in attrs, url
            assert not [a for a in attrs if a.startswith("on")], url
        scripts = [a["src"] for a in p.find("script")]
        assert scripts == ["/static/django_htmx/htmx-2.min.js"], url
        assert [a["href"] for a in p.find("link", rel="stylesheet")] == ["/static/dangqun/css/dangqun.css"]


@pytest.mark.parametrize("url", ["/", "/notifications/", "/orgs/", "/accounts/login/"])
def test_the_csp_header_never_allows_inline_code(client, street_admin, url):
    client.force_login(street_admin)
    csp = client.get(url)["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client, db):
    p = page(client)
    (config,) = p.find("meta", name="htmx-config")
    assert '"includeIndicatorStyles": false' in config["content"]
    assert '"allowEval": false' in config["content"]


def test_the_assets_are_served_by_the_app(client, db):
    for url in ("/static/dangqun/css/dangqun.css", "/static/django_htmx/htmx-2.min.js"):
        response = client.get(url)
        assert response.status_code == 200
        # Reading to the end closes the file handle (else ResourceWarning, an error here).
        assert b"".join(response.streaming_content)


# --- elder mode -----------------------------------------------------------------------------------


def test_elder_switch_sets_the_cookie_and_the_profile_and_the_next_page_is_elder(client, member):
    client.force_login(member)
    assert 'class="elder"' not in client.get("/").content.decode()
    response = client.post(reverse("elder_mode"), {"elder": "1", "next": "/notifications/"})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    cookie = response.cookies[ELDER_COOKIE]
    assert cookie.value == "1"
    assert int(cookie["max-age"]) == 365 * 24 * 3600
    assert cookie["samesite"] == "Lax"
    member.refresh_from_db()
    assert member.elder_mode is True
    html = client.get("/notifications/").content.decode()
    assert '<body class="elder">' in html
    assert "关闭长辈模式" in html

    client.post(reverse("elder_mode"), {"elder": "0", "next": "/"})
    member.refresh_from_db()
    assert member.elder_mode is False
    assert '<body class="">' in client.get("/").content.decode()


def test_the_profile_preference_applies_on_a_new_device(client, member):
    member.elder_mode = True
    member.save(update_fields=["elder_mode"])
    client.force_login(member)
    assert '<body class="elder">' in client.get("/").content.decode()


def test_an_anonymous_visitor_can_switch_elder_mode(client, db):
    response = client.post(
        reverse("elder_mode"), {"elder": "1"}, HTTP_REFERER="http://testserver/accounts/login/"
    )
    assert response["Location"] == "http://testserver/accounts/login/"
    assert '<body class="elder">' in client.get("/").content.decode()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_elder_switch_never_redirects_off_site(client, db, target):
    response = client.post(reverse("elder_mode"), {"elder": "1", "next": target})
    assert response["Location"] == "/"


def test_elder_switch_needs_post_and_csrf(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.get(reverse("elder_mode")).status_code == 405
    assert strict.post(reverse("elder_mode"), {"elder": "1"}).status_code == 403


def test_the_switches_are_plain_forms_on_every_page(client, tree, secretary):
    client.force_login(secretary)
    for url in ("/", reverse("orgs:detail", args=[tree.branch_a.pk])):
        p = page(client, url)
        assert p.find("form", method="post", action="/elder-mode/"), url
        assert p.find("form", method="post", action="/i18n/setlang/"), url
        assert p.find("button", name="language", value="en")
        assert p.find("input", type="hidden", name="csrfmiddlewaretoken")


def test_elder_css_meets_the_size_rules():
    css = CSS.read_text()
    elder = "\n".join(
        line for line in css.splitlines() if line.startswith("body.elder") or "min-height: 60px" in line
    )
    assert "body.elder { font-size: 20px; line-height: 1.6; }" in elder
    assert "body.elder h1 { font-size: 30px; }" in elder
    assert re.search(r"body\.elder a, body\.elder button", css)
    assert "min-height: 60px; min-width: 60px;" in css
    # No heading in elder mode above 30px.
    assert all(int(px) <= 30 for px in re.findall(r"body\.elder h\d \{ font-size: (\d+)px", css))


# --- contrast: the palette in the stylesheet, checked numerically -----------------------------------


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# Every text/background pair the stylesheet uses (docs/accessibility.md lists the ratios).
TEXT_PAIRS = [
    ("ink", "paper"),
    ("ink", "canvas"),
    ("muted", "paper"),
    ("muted", "canvas"),
    ("link", "paper"),
    ("link", "canvas"),
    ("on-dark", "red"),
    ("red", "paper"),
    ("on-dark", "header"),
    ("focus-ink", "focus"),
    ("warn-ink", "warn-bg"),
    ("ok-ink", "ok-bg"),
    ("error", "paper"),
    ("error", "canvas"),
]


def test_every_text_colour_pair_has_at_least_4_5_to_1():
    palette = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", CSS.read_text()))
    for fg, bg in TEXT_PAIRS:
        assert contrast(palette[fg], palette[bg]) >= 4.5, (
            fg,
            bg,
            round(contrast(palette[fg], palette[bg]), 2),
        )
    # Borders and the focus ring against what they sit on: at least 3:1 (WCAG 1.4.11).
    assert contrast(palette["muted"], palette["paper"]) >= 3
    assert contrast(palette["focus-ink"], palette["paper"]) >= 3
    assert contrast(palette["focus"], palette["header"]) >= 3


# --- language -------------------------------------------------------------------------------------


def test_the_language_switch_renders_english(client, member):
    client.force_login(member)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en"' in html
    assert "Party and Community Service Platform" in html
    assert "Elder mode" in html
    assert "长辈模式" not in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert '<html lang="zh-Hans"' in client.get("/").content.decode()


def test_a_saved_interface_language_applies_without_the_cookie(client, member):
    member.language = "en"
    member.save(update_fields=["language"])
    client.force_login(member)
    assert '<html lang="en"' in client.get("/").content.decode()


# --- navigation by role ---------------------------------------------------------------------------


def nav_labels(client) -> list[str]:
    html = client.get("/").content.decode()
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    return re.findall(r"<a href=\"[^\"]*\"[^>]*>([^<]+)", nav)


def test_anonymous_navigation_offers_login(client, db):
    assert nav_labels(client) == ["登录"]


def test_street_admin_navigation(client, street_admin):
    client.force_login(street_admin)
    assert nav_labels(client)[:5] == ["组织", "规则", "日历", "审计", "后台"]


def test_secretary_navigation_leads_to_their_branch(client, tree, secretary):
    client.force_login(secretary)
    assert nav_labels(client)[0] == "我的支部"
    assert f'href="/orgs/{tree.branch_a.pk}/"' in client.get("/").content.decode()


def test_member_and_resident_navigation(client, member, resident):
    client.force_login(member)
    assert nav_labels(client)[0] == "我的"
    client.force_login(resident)
    assert nav_labels(client)[0] == "办事"


def test_the_current_section_is_marked(client, tree, street_admin):
    client.force_login(street_admin)
    html = client.get(reverse("orgs:detail", args=[tree.branch_a.pk])).content.decode()
    assert '<a href="/orgs/" aria-current="true">' in html


# --- home and notifications -----------------------------------------------------------------------


def test_home_welcomes_anonymous_visitors(client, db):
    html = client.get("/").content.decode()
    assert "欢迎使用党群服务平台" in html
    for pillar in ("教育", "管理", "服务"):
        assert f"<strong>{pillar}</strong>" in html
    assert 'href="/accounts/login/"' in html


def test_home_shows_entry_points_and_unread_count(client, street_admin):
    notify([street_admin], "k1", "第一条")
    notify([street_admin], "k2", "第二条")
    client.force_login(street_admin)
    html = client.get("/").content.decode()
    assert "您有 2 条未读通知" in html
    assert "组织树、换届提醒与设置提示" in html


def test_notifications_need_login(client, db):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_notifications_list_only_ones_own_and_mark_as_read(client, member, resident):
    notify([member], "mine", "给党员的通知", url="/")
    notify([resident], "theirs", "给居民的通知")
    client.force_login(member)
    html = client.get("/notifications/").content.decode()
    assert "给党员的通知" in html
    assert "给居民的通知" not in html
    assert "未读" in html
    own = Notification.objects.get(recipient=member)
    response = client.post(reverse("notification_read", args=[own.pk]), {"next": "/notifications/"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.read_at is not None
    other = Notification.objects.get(recipient=resident)
    assert client.post(reverse("notification_read", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.read_at is None


def test_mark_as_read_with_htmx_swaps_the_item_and_the_count(client, member):
    notify([member], "a", "通知甲")
    notify([member], "b", "通知乙")
    note = Notification.objects.get(key="a")
    client.force_login(member)
    response = client.post(reverse("notification_read", args=[note.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert f'id="note-{note.pk}"' in html
    assert "已读" in html
    assert 'id="unread-count" class="badge" hx-swap-oob="true"' in html
    assert "1 条未读" in html


def test_mark_all_as_read(client, member):
    notify([member], "a", "通知甲")
    notify([member], "b", "通知乙")
    client.force_login(member)
    client.post(reverse("notifications_read_all"))
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()


def test_staff_and_secretaries_reach_their_work_from_the_navigation(client, window_staff, secretary):
    client.force_login(window_staff)
    assert "办件" in nav_labels(client)
    assert "党员" not in nav_labels(client)
    client.force_login(secretary)
    assert {"党员", "会议"} <= set(nav_labels(client))
    assert "办件" not in nav_labels(client)
