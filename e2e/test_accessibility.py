"""Accessibility of the shell and the organization pages, measured in a real browser.

For each page, at 1280 px and 360 px, in normal and in elder mode (onestop.md §9 适老化,
WCAG 2.1 AA): axe-core finds nothing serious or critical; every visible link, button and
field in the header and main is a target of at least 24×24 px (60×60 px in elder mode); elder
mode's text is at least 18 px with line spacing ≥ 1.3 and headings up to 30 px; nothing
scrolls sideways on a 360 px phone; the elder switch is on the page; the browser reports no
error (a blocked inline script or style would show up here: the CSP forbids them). The
screenshots shown by the README are taken on the way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from .conftest import PHONE, screenshot, serious_violations, set_elder_cookie, sign_in

ELDER_MIN_TARGET, NORMAL_MIN_TARGET = 60, 24
ELDER_MIN_FONT, ELDER_MAX_HEADING, MIN_LINE_SPACING = 18, 30, 1.3

# Every visible link, button and form field in header and main narrower or lower than `min`:
# one line each, "selector  W×H  “text”". A checkbox or radio button counts by its label, which
# is its target (clicking the label toggles it).
UNDERSIZED_TARGETS_JS = """
(min) => {
  const selector = (el) => {
    const parts = [];
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      let part = node.tagName.toLowerCase();
      if (node.id) { parts.unshift(part + '#' + node.id); break; }
      const classes = [...node.classList].map((c) => '.' + c).join('');
      part += classes;
      const same = node.parentElement
        ? [...node.parentElement.children].filter((s) => s.tagName === node.tagName) : [];
      if (same.length > 1) part += `:nth-of-type(${same.indexOf(node) + 1})`;
      parts.unshift(part);
      if (node.matches('header, main, nav')) break;
    }
    return parts.join(' > ');
  };
  const controls = document.querySelectorAll(
    'header :is(a[href], button, input, select, textarea, summary),' +
    'main :is(a[href], button, input, select, textarea, summary)');
  const found = [];
  for (const el of controls) {
    if (el.type === 'hidden' || !el.getClientRects().length) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    const target = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label')
      ? el.closest('label') : el;
    const box = target.getBoundingClientRect();
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 20);
      found.push(`${selector(el)}  ${box.width.toFixed(0)}×${box.height.toFixed(0)}  “${text}”`);
    }
  }
  return found;
}
"""

# Elder-mode text: every element that holds visible text directly, in header, main and footer.
ELDER_TEXT_JS = """
([minFont, maxHeading, spacing]) => {
  const found = [];
  const body = getComputedStyle(document.body);
  const lineHeight = (style) => style.lineHeight.endsWith('px')
    ? parseFloat(style.lineHeight) : parseFloat(style.lineHeight) * parseFloat(style.fontSize);
  found.push({body: true, font: parseFloat(body.fontSize), line: lineHeight(body)});
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el) || !el.closest('header, main, footer')) continue;
    seen.add(el);
    if (!el.getClientRects().length || el.closest('.visually-hidden')) continue;
    const style = getComputedStyle(el);
    const font = parseFloat(style.fontSize), line = lineHeight(style);
    const heading = el.closest('h1, h2, h3, h4, h5, h6');
    const problems = [];
    if (font < minFont) problems.push(`font ${font}px < ${minFont}px`);
    if (heading && font > maxHeading) problems.push(`heading ${font}px > ${maxHeading}px`);
    if (line < spacing * font - 0.01) problems.push(`line-height ${line}px < ${spacing}×${font}px`);
    if (problems.length) {
      const name = el.tagName.toLowerCase() + [...el.classList].map((c) => '.' + c).join('');
      found.push(`${name} “${node.textContent.trim().slice(0, 20)}”: ${problems.join(', ')}`);
    }
  }
  return found;
}
"""


@dataclass(frozen=True)
class Screen:
    """A page of the Foundation: how to reach it, and which heading says it has loaded."""

    path: Callable[[Organization], str]
    heading: str
    signed_in: bool


SCREENS = {
    "login": Screen(lambda org: "/accounts/login/", "登录", signed_in=False),
    "home": Screen(lambda org: "/", "欢迎使用党群服务平台", signed_in=False),
    "home-signed-in": Screen(lambda org: "/", "您好，王街道", signed_in=True),
    "org-tree": Screen(lambda org: "/orgs/", "组织树", signed_in=True),
    "org": Screen(lambda org: f"/orgs/{org.pk}/", "幸福里小区党支部", signed_in=True),
}

# (screen, viewport, mode) -> the file name the README and the docs show.
SCREENSHOTS = {
    ("login", "desktop", "normal"): "login-desktop",
    ("login", "phone", "elder"): "login-phone-elder",
    ("home-signed-in", "desktop", "normal"): "home-desktop",
    ("home", "phone", "elder"): "home-phone-elder",
    ("org-tree", "desktop", "normal"): "org-tree-desktop",
    ("org", "desktop", "normal"): "org-desktop",
    ("org", "phone", "elder"): "org-phone-elder",
}


@pytest.fixture
def big_branch(tree, root_admin) -> Organization:
    """A branch over 50 members, so that its page shows setup warnings."""
    return do_create_organization(
        name="幸福里小区党支部",
        kind=OrgKind.BRANCH,
        parent=tree.committee,
        actor=root_admin,
        full_members=54,
    )


def browser_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return errors


@pytest.mark.parametrize("mode", ["normal", "elder"])
@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_the_page_is_accessible(request, live_server, street_admin, big_branch, name, viewport, mode):
    screen = SCREENS[name]
    page: Page = request.getfixturevalue("phone_page" if viewport == "phone" else "page")
    elder = mode == "elder"
    set_elder_cookie(page, live_server.url, on=elder)
    if screen.signed_in:
        sign_in(page, street_admin, live_server.url)
    errors = browser_errors(page)

    page.goto(screen.path(big_branch))
    expect(page.get_by_role("heading", level=1)).to_have_text(screen.heading)
    expect(page.locator("body")).to_have_class("elder" if elder else "")
    switch = page.get_by_role("button", name="关闭长辈模式" if elder else "长辈模式", exact=True)
    expect(switch).to_be_visible()
    if name == "org":
        warnings = page.locator("ul.warnings > li")
        expect(warnings.first).to_be_visible()
        expect(warnings.filter(has_text="该支部有 54 名党员")).to_contain_text("须处理：")
    if name.startswith("home"):
        # The entry cards keep their padding in elder mode too (its inline-link rule once ate it).
        paddings = page.locator(".entries a").evaluate_all(
            "cards => cards.map((a) => parseFloat(getComputedStyle(a).paddingLeft))"
        )
        assert paddings
        assert min(paddings) >= 16, paddings

    assert serious_violations(page) == []

    minimum = ELDER_MIN_TARGET if elder else NORMAL_MIN_TARGET
    assert page.evaluate(UNDERSIZED_TARGETS_JS, minimum) == [], f"targets under {minimum}×{minimum} px"

    if elder:
        body, *text_problems = page.evaluate(
            ELDER_TEXT_JS, [ELDER_MIN_FONT, ELDER_MAX_HEADING, MIN_LINE_SPACING]
        )
        assert body["font"] >= ELDER_MIN_FONT, body
        assert body["line"] >= MIN_LINE_SPACING * body["font"], body
        assert text_problems == []

    if viewport == "phone":
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"scrolls sideways: {width} px wide at {PHONE['width']} px"

    assert errors == []
    if shot := SCREENSHOTS.get((name, viewport, mode)):
        screenshot(page, shot)


@pytest.mark.parametrize("mode", ["normal", "elder"])
@pytest.mark.parametrize("name", ["home", "org"])
def test_the_first_tab_reaches_the_skip_link_which_moves_focus_to_main(
    page: Page, live_server, street_admin, big_branch, name, mode
):
    screen = SCREENS[name]
    set_elder_cookie(page, live_server.url, on=mode == "elder")
    if screen.signed_in:
        sign_in(page, street_admin, live_server.url)
    page.goto(screen.path(big_branch))
    expect(page.get_by_role("heading", level=1)).to_have_text(screen.heading)

    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("跳到主要内容")
    expect(skip).to_be_in_viewport()  # shown when focused, not left off-screen

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.locator("main#main")).to_be_focused()
    # The next Tab continues inside main, not back at the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
