"""The English catalog is complete, compiled, and the pages it covers render in English."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings

from dangqun.core.validators import id_check_char
from dangqun.members.actions import do_enroll_member
from dangqun.members.choices import Status

LC_MESSAGES = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
# The project catalog, and one per app that keeps its strings beside its code (learning, feedback…).
CATALOGS = sorted(Path(settings.BASE_DIR).glob("**/locale/en/LC_MESSAGES/django.po"))
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as dicts: flags, msgctxt, msgid, msgid_plural, msgstr / msgstr[n]."""
    entries, entry, key = [], None, None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


ENTRIES = parse_po(PO)


def label(entry: dict) -> str:
    return f"{entry.get('msgctxt', '')}|{entry['msgid']}"


def test_the_catalog_parses_and_covers_the_apps():
    assert len(ENTRIES) > 1500
    ids = {e["msgid"] for e in ENTRIES}
    # one string from each app written after the first refresh
    assert {"电子证照核验", "三会一课落实情况", "办事指南", "组织关系转接"} <= ids


def catalog_id(path: Path) -> str:
    return str(path.relative_to(settings.BASE_DIR).parts[0])


each_catalog = pytest.mark.parametrize("po", CATALOGS, ids=catalog_id)


def test_every_app_catalog_is_found():
    assert PO in CATALOGS
    assert {"learning", "feedback", "insights"} <= {catalog_id(p) for p in CATALOGS}


@each_catalog
def test_every_english_entry_is_translated_and_none_is_fuzzy(po):
    entries = parse_po(po)
    untranslated = [
        label(e)
        for e in entries
        if e["msgid"] and any(v == "" for k, v in e.items() if k.startswith("msgstr"))
    ]
    fuzzy = [label(e) for e in entries if "fuzzy" in e["flags"]]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy


@each_catalog
def test_translations_keep_the_placeholders(po):
    """Same named placeholders, {fields}, %% and HTML tags as the source (formats like %(m)02d may differ)."""
    token = re.compile(r"%\((\w+)\)|(%%)|(\{\w*\})|(</?[a-z][^>]*>)")

    def tokens(text: str) -> list[str]:
        return sorted("".join(groups) for groups in token.findall(text))

    wrong = []
    for e in parse_po(po):
        if not e["msgid"]:
            continue
        sources = [tokens(e["msgid"]), tokens(e.get("msgid_plural", e["msgid"]))]
        for k, v in e.items():
            # A plural's singular may say "one" instead of using the count's placeholder.
            if k.startswith("msgstr") and tokens(v) not in sources:
                wrong.append((label(e), v))
    assert not wrong, wrong


@each_catalog
def test_the_compiled_catalog_matches_the_po_file(po):
    """The committed .mo holds exactly what the .po says: compilemessages was run after the last edit."""
    with po.with_suffix(".mo").open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    stale = []
    for e in parse_po(po):
        if not e["msgid"]:
            continue
        key = f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"]
        if "msgid_plural" in e:
            for k, v in e.items():
                if k.startswith("msgstr[") and catalog.get((key, int(k[7:-1]))) != v:
                    stale.append(label(e))
        elif catalog.get(key) != e["msgstr"]:
            stale.append(label(e))
    assert not stale, f"run `dangqun compilemessages`: {stale[:10]}"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="gettext tools are not installed")
@each_catalog
def test_msgfmt_check_is_clean(tmp_path, po):
    result = subprocess.run(  # noqa: S603 (a fixed command on our own file)
        [shutil.which("msgfmt"), "--check", "-o", str(tmp_path / "django.mo"), str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr


# --- pages in English -----------------------------------------------------------------------------


def headings(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", title).split()), " ".join(re.sub(r"<[^>]+>", " ", h1).split())


@pytest.fixture(autouse=True, scope="module")
def _static_root_exists():
    # WhiteNoise warns (an error under filterwarnings=error) when STATIC_ROOT is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize(
    ("persona", "url", "heading"),
    [
        (None, "/services/", "Services"),
        (None, "/services/track/", "Track a case"),
        (None, "/certs/verify/", "E-certificate verification"),
        ("resident", "/services/", "Services"),
        ("window_staff", "/services/queue/", "Case queue"),
        ("street_admin", "/members/", "Member roster"),
        ("secretary", "/meetings/", "Organizational life"),
    ],
)
def test_pages_render_in_english(request, client, db, persona, url, heading):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    title, h1 = headings(html)
    assert h1 == heading
    assert title == f"{heading} · Party and Community Service Platform"
    assert not CJK.search(h1), h1
    assert not CJK.search(title), title


def test_a_member_page_has_english_labels_around_the_chinese_data(client, tree, secretary, root_admin):
    """The name stays as entered; the status, the section headings and the step names are English."""
    member = do_enroll_member(
        branch=tree.branch_a,
        name="刘正式",
        id_number="11010519700301" + "101" + id_check_char("11010519700301101"),
        status=Status.FULL,
        admitted_on=date(2015, 7, 1),
        actor=root_admin,
    )
    client.force_login(secretary)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.get(f"/members/{member.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    _title, h1 = headings(html)
    assert h1 == "刘正式 Full member"
    h2s = [
        " ".join(re.sub(r"<[^>]+>", " ", h).split()) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)
    ]
    assert "Basic information" in h2s
    assert not [h for h in h2s if CJK.search(h)], h2s
