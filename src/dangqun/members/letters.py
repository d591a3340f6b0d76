"""The introduction letter (党员组织关系介绍信): its issuing committee, its number and its PDF.

The PDF follows certs/pdf.py: one A4 page rendered by WeasyPrint with the Noto CJK fonts, a QR
code (segno PNG data URI) and a fetcher that may read nothing but data: URIs, so no text typed
into a letter can make it read a file or call a server. The page is rendered from the letter's
stored data each time: printed again, it is the same letter.
"""

from __future__ import annotations

from datetime import date

import weasyprint
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse

from dangqun.certs import conf
from dangqun.certs.pdf import _fetcher, qr_data_uri
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from .choices import Status
from .transfers import IntroductionLetter, LetterCounter

# Who signs a letter: the basic-level committee above the branch, or failing that its general
# branch; a branch with neither (a branch directly under the street) signs its own letters.
ISSUER_KINDS = (OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH)


def issuing_committee(branch: Organization) -> Organization:
    """The nearest 基层党委 above the branch, else the nearest 党总支, else the branch (one query)."""
    ancestors = {
        o.pk: o for o in Organization.objects.filter(pk__in=branch.ancestor_ids()[:-1], kind__in=ISSUER_KINDS)
    }
    nearest_first = list(reversed(branch.ancestor_ids()[:-1]))
    for kind in ISSUER_KINDS:
        for pk in nearest_first:
            org = ancestors.get(pk)
            if org is not None and org.kind == kind:
                return org
    return branch


def letter_number(committee: Organization, year: int, seq: int) -> str:
    """ "2025-000012-0007": year, the committee (its code when it has one), the year's sequence."""
    code = (committee.code or "").strip() or f"{committee.pk:06d}"
    return f"{year}-{code}-{seq:04d}"


def _bump(committee: Organization, year: int) -> int:
    """Increment the counter row if it exists (the UPDATE locks it until commit); rows changed."""
    return LetterCounter.objects.filter(committee=committee, year=year).update(last=F("last") + 1)


def allocate_number(committee: Organization, year: int) -> int:
    """The next sequence number of `committee` in `year`. Call inside the issuing transaction.

    The UPDATE … SET last = last + 1 locks the committee's counter row until the transaction
    ends, so two letters issued at once get two numbers and a letter that is rolled back gives
    its number back. The first letter of a year creates the row; two creating it at once meet
    the unique constraint and the loser increments the winner's row.
    """
    for _attempt in range(2):
        if _bump(committee, year):
            return LetterCounter.objects.filter(committee=committee, year=year).values_list(
                "last", flat=True
            )[0]
        try:
            with transaction.atomic():
                LetterCounter.objects.create(committee=committee, year=year, last=1)
            return 1
        except IntegrityError:  # created a moment ago by another letter: increment that row
            continue
    raise RuntimeError("letter counter could not be allocated")  # pragma: no cover


STATUS_WORDS = {Status.FULL: "正式党员", Status.PROBATIONARY: "预备党员"}


def _cn_date(d: date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def _cn_month(d: date | None) -> str:
    return f"{d.year}年{d.month}月" if d else "（无交纳记录）"


def letter_url(letter: IntroductionLetter) -> str:
    return conf.site_url() + reverse("members:letter", args=[letter.pk])


def render_letter_pdf(letter: IntroductionLetter, id_number: str) -> bytes:
    """The letter and its receipt slip (回执) on one A4 page; the QR code carries the number and
    the letter's address on the platform."""
    url = letter_url(letter)
    html = render_to_string(
        "members/transfers/letter_pdf.html",
        {
            "l": letter,
            "id_number": id_number,
            "status_word": STATUS_WORDS.get(letter.member_status, letter.member_status),
            "probationary": letter.member_status == Status.PROBATIONARY,
            "issued_on": _cn_date(letter.issued_on),
            "valid_until": _cn_date(letter.valid_until),
            "valid_days": (letter.valid_until - letter.issued_on).days + 1,
            "probation_ends_on": _cn_date(letter.probation_ends_on),
            "dues_paid_through": _cn_month(letter.dues_paid_through),
            "qr": qr_data_uri(f"{letter.number} {url}"),
            "url": url,
        },
    )
    css = weasyprint.CSS(string=render_to_string("members/transfers/letter_pdf.css"), url_fetcher=_fetcher())
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_fetcher())
    return document.write_pdf(stylesheets=[css], pdf_identifier=letter.number.encode())
