"""Dues in the browser and the API: the monthly ledger, the arrears report with the 疑似自行脱党
flag (never a status change), rates and payments on their boundaries, idempotent payments, and
per-persona allow/deny on every page and endpoint."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dangqun.core.models import AuditEvent
from dangqun.core.validators import id_check_char
from dangqun.members.actions import do_enroll_member, do_record_dues_payment, do_set_dues_rate
from dangqun.members.choices import Status
from dangqun.members.models import DuesPayment, DuesRate, PartyMember

pytestmark = pytest.mark.django_db

_ids = itertools.count()


def new_id() -> str:
    """A valid GB 11643 number, fresh each call (region 350102: apart from the other suites)."""
    n = next(_ids)
    born = date(1962, 1, 1) + timedelta(days=n // 800)
    first17 = f"350102{born:%Y%m%d}{n % 800 + 100:03d}"
    return first17 + id_check_char(first17)


def enroll(branch, name, actor, **kw) -> PartyMember:
    return do_enroll_member(
        branch=branch,
        name=name,
        id_number=new_id(),
        status=kw.pop("status", Status.FULL),
        admitted_on=kw.pop("admitted_on", date(2015, 7, 1)),
        actor=actor,
        **kw,
    )


def pay(member, start: date, months: int, paid_on: date, key: str, actor) -> DuesPayment:
    return do_record_dues_payment(
        member, period_start=start, months=months, paid_on=paid_on, idempotency_key=key, actor=actor
    )


@pytest.fixture
def book(tree, root_admin, secretary, member):
    """Branch A: 王按时 (paid through June 2026), 赵欠交 (nothing paid in 2026), the member
    persona's own record (林本人); branch B: 钱乙. Everyone's rate is 45.00 a month (4500 × 1%)."""
    paid = enroll(tree.branch_a, "王按时", root_admin)
    lapsed = enroll(tree.branch_a, "赵欠交", root_admin)
    own = enroll(tree.branch_a, "林本人", root_admin, user=member)
    other = enroll(tree.branch_b, "钱乙", root_admin)
    for m in (paid, lapsed, own, other):
        for year in (2025, 2026, 2027):
            do_set_dues_rate(m, year, category="employed", income="4500", actor=root_admin)
    pay(paid, date(2025, 7, 1), 6, date(2025, 7, 5), "paid-25", secretary)
    pay(paid, date(2026, 1, 1), 6, date(2026, 1, 5), "paid-26", secretary)
    pay(lapsed, date(2025, 7, 1), 6, date(2025, 7, 5), "lapsed-25", secretary)
    return {"paid": paid, "lapsed": lapsed, "own": own, "other": other}


def codes(response) -> set[str]:
    body = response.json()
    return {body["code"], *(v["code"] for v in body["details"].get("violations", []))}


# --- the ledger and the arrears report ------------------------------------------------------------


def test_the_ledger_api_gives_money_as_strings_and_flags_the_lapse(tree, book, client, token_for, secretary):
    response = client.get(
        "/api/v1/dues/ledger", {"branch": tree.branch_a.pk, "month": "2026-06"}, headers=token_for(secretary)
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["month"], body["lapse_months"], body["branch_name"]) == ("2026-06", 6, tree.branch_a.name)
    rows = {r["name"]: r for r in body["rows"]}
    assert rows["王按时"] == {
        "member_id": book["paid"].pk,
        "name": "王按时",
        "status": "full",
        "due": "45.00",
        "paid": True,
        "arrears_months": 0,
        "arrears_amount": "0.00",
        "suspected_lapse": False,
    }
    assert (rows["赵欠交"]["arrears_months"], rows["赵欠交"]["arrears_amount"]) == (6, "270.00")
    assert rows["赵欠交"]["suspected_lapse"] is True
    totals = body["totals"]
    assert (totals["members"], totals["due"], totals["paid"], totals["outstanding"]) == (
        3,
        "135.00",
        "45.00",
        "90.00",
    )
    assert totals["suspected_lapses"] == 2  # 赵欠交 and 林本人, who has never paid
    assert "钱乙" not in rows  # another branch
    # A flag for the branch, never a status change.
    book["lapsed"].refresh_from_db()
    assert book["lapsed"].status == Status.FULL


def test_the_arrears_report_lists_only_those_owing_the_flagged_first(
    tree, book, client, token_for, secretary
):
    body = client.get(
        "/api/v1/dues/arrears", {"branch": tree.branch_a.pk, "month": "2026-06"}, headers=token_for(secretary)
    ).json()
    assert [r["name"] for r in body["rows"]] == ["林本人", "赵欠交"]
    assert body["rows"][0]["arrears_months"] == 12


def test_the_ledger_page_shows_the_flag_and_explains_it(tree, book, client, secretary):
    client.force_login(secretary)
    html = client.get(
        reverse("members:dues_ledger", args=[tree.branch_a.pk]), {"month": "2026-06"}
    ).content.decode()
    assert "2026年6月" in html
    assert "疑似自行脱党" in html
    assert "由支部大会决定" in html
    assert "135.00" in html
    html = client.get(
        reverse("members:dues_arrears", args=[tree.branch_a.pk]), {"month": "2026-06"}
    ).content.decode()
    assert "赵欠交" in html
    assert "王按时" not in html


def test_the_ledger_pins_its_query_count(tree, book, client, token_for, secretary, root_admin):
    url, params, headers = (
        "/api/v1/dues/ledger",
        {"branch": tree.branch_a.pk, "month": "2026-06"},
        token_for(secretary),
    )
    page = reverse("members:dues_ledger", args=[tree.branch_a.pk])
    client.force_login(secretary)
    client.get(url, params, headers=headers)
    with CaptureQueriesContext(connection) as api_before:
        client.get(url, params, headers=headers)
    with CaptureQueriesContext(connection) as page_before:
        client.get(page, {"month": "2026-06"})
    for i in range(5):
        m = enroll(tree.branch_a, f"新党员{i}", root_admin)
        do_set_dues_rate(m, 2026, category="retired", income="6000", actor=root_admin)
    with CaptureQueriesContext(connection) as api_after:
        assert len(client.get(url, params, headers=headers).json()["rows"]) == 8
    with CaptureQueriesContext(connection) as page_after:
        client.get(page, {"month": "2026-06"})
    assert len(api_after) == len(api_before)
    assert len(page_after) == len(page_before)


# --- payments on their boundaries (API) --------------------------------------------------------


def post_payment(client, headers, key, **body):
    return client.post(
        "/api/v1/dues/payments",
        body,
        content_type="application/json",
        headers={**headers, "Idempotency-Key": key},
    )


@pytest.mark.parametrize(
    ("start", "months", "code"),
    [
        ("2026-01", 1, None),  # six months back: allowed
        ("2025-12", 1, "payment_too_far_back"),  # seven: refused
        ("2026-07", 7, None),  # this month and six ahead: allowed
        ("2026-07", 8, "payment_too_far_ahead"),  # seven ahead: refused
    ],
)
def test_back_and_pre_payment_at_most_six_months(
    tree, book, client, token_for, secretary, start, months, code
):
    member = book["own"]
    response = post_payment(
        client,
        token_for(secretary),
        f"k-{start}-{months}",
        member_id=member.pk,
        period_start=start,
        months=months,
        paid_on="2026-07-05",
    )
    if code is None:
        assert response.status_code == 201, response.json()
        assert response.json()["amount"] == f"{45 * months:.2f}"
    else:
        assert response.status_code == 422
        assert code in codes(response)
        assert not DuesPayment.objects.filter(member=member).exists()


@pytest.mark.parametrize(("amount", "large"), [("999.99", False), ("1000.00", True), ("1000", True)])
def test_a_payment_of_1000_yuan_or_more_is_flagged(tree, book, client, token_for, secretary, amount, large):
    response = post_payment(
        client,
        token_for(secretary),
        f"big-{amount}",
        member_id=book["own"].pk,
        period_start="2026-07",
        paid_on="2026-07-05",
        amount=amount,
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["amount_due"], body["large_payment"]) == (
        f"{float(amount):.2f}",
        "45.00",
        large,
    )


def test_quarterly_payment_needs_approval_and_nothing_is_half_saved(tree, book, client, token_for, secretary):
    headers = token_for(secretary)  # issuing the token is audited too
    events = AuditEvent.objects.count()
    response = post_payment(
        client,
        headers,
        "q-1",
        member_id=book["own"].pk,
        period_start="2025-12",
        months=4,
        method="quarterly",
        paid_on="2026-07-05",
    )
    assert response.status_code == 422
    assert {"quarterly_not_approved", "quarterly_months", "payment_too_far_back"} <= codes(response)
    assert not DuesPayment.objects.filter(member=book["own"]).exists()
    assert AuditEvent.objects.count() == events


def test_payments_are_idempotent_by_key(tree, book, client, token_for, secretary):
    headers = token_for(secretary)
    body = {"member_id": book["own"].pk, "period_start": "2026-07", "paid_on": "2026-07-05"}
    first = post_payment(client, headers, "same-key", **body)
    again = post_payment(client, headers, "same-key", **body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["replayed"], again.json()["replayed"]) == (False, True)
    assert DuesPayment.objects.filter(member=book["own"]).count() == 1
    conflict = post_payment(client, headers, "same-key", **{**body, "period_start": "2026-08"})
    assert conflict.status_code == 422
    assert conflict.json()["code"] == "idempotency_conflict"
    missing = client.post("/api/v1/dues/payments", body, content_type="application/json", headers=headers)
    assert missing.status_code == 422
    assert DuesPayment.objects.filter(member=book["own"]).count() == 1


def test_a_rate_is_set_once_a_year_and_hardship_needs_an_approval(
    tree, book, client, token_for, secretary, root_admin
):
    headers = token_for(secretary)
    newcomer = enroll(tree.branch_a, "新来的", root_admin)
    url = "/api/v1/dues/rates"
    refused = client.post(
        url,
        {"member_id": newcomer.pk, "year": 2026, "category": "hardship", "amount": "0"},
        content_type="application/json",
        headers=headers,
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "hardship_not_approved")
    assert not DuesRate.objects.filter(member=newcomer).exists()
    ok = client.post(
        url,
        {"member_id": newcomer.pk, "year": 2026, "category": "employed", "income": "5000.00"},
        content_type="application/json",
        headers=headers,
    )
    assert ok.status_code == 201
    assert {k: ok.json()[k] for k in ("base", "rate", "monthly_amount")} == {
        "base": "5000.00",
        "rate": "0.01",
        "monthly_amount": "50.00",
    }
    again = client.post(
        url,
        {"member_id": newcomer.pk, "year": 2026, "category": "employed", "income": "9000"},
        content_type="application/json",
        headers=headers,
    )
    assert (again.status_code, again.json()["code"]) == (422, "dues_rate_fixed")
    exempt = client.post(
        url,
        {
            "member_id": newcomer.pk,
            "year": 2027,
            "category": "hardship",
            "amount": "0",
            "hardship_approved_on": "2026-11-01",
            "hardship_approved_by": "幸福街道党工委",
        },
        content_type="application/json",
        headers=headers,
    )
    assert exempt.status_code == 201
    assert (exempt.json()["monthly_amount"], exempt.json()["hardship_approved_by"]) == (
        "0.00",
        "幸福街道党工委",
    )


# --- pages: a member's dues, setting the rate, recording a payment -------------------------------


def test_a_payment_recorded_twice_from_the_same_form_is_recorded_once(tree, book, client, secretary):
    client.force_login(secretary)
    page = client.get(reverse("members:dues_member", args=[book["own"].pk])).content.decode()
    assert 'name="idempotency_key"' in page
    data = {
        "period_start": "2026-07",
        "months": "1",
        "method": "monthly",
        "amount": "",
        "paid_on": "2026-07-05",
        "note": "",
        "idempotency_key": "web-form-1",
    }
    url = reverse("members:dues_payment", args=[book["own"].pk])
    first = client.post(url, data)
    second = client.post(url, data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert DuesPayment.objects.filter(member=book["own"]).count() == 1
    html = client.get(reverse("members:dues_member", args=[book["own"].pk])).content.decode()
    assert "2026-07" in html


def test_a_refused_payment_shows_the_rule_beside_the_field(tree, book, client, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("members:dues_payment", args=[book["own"].pk]),
        {
            "period_start": "2025-12",
            "months": "1",
            "method": "monthly",
            "paid_on": "2026-07-05",
            "idempotency_key": "k",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "补交党费一般不超过 6 个月" in html
    assert not DuesPayment.objects.filter(member=book["own"]).exists()


def test_a_large_payment_is_announced_on_the_page(tree, book, client, secretary):
    client.force_login(secretary)
    response = client.post(
        reverse("members:dues_payment", args=[book["own"].pk]),
        {
            "period_start": "2026-07",
            "months": "1",
            "method": "monthly",
            "amount": "1000.00",
            "paid_on": "2026-07-05",
            "idempotency_key": "big",
        },
        follow=True,
    )
    assert "全额上缴中央" in response.content.decode()
    assert DuesPayment.objects.get(member=book["own"]).large_payment


def test_the_rate_form_refuses_hardship_without_approval_and_saves_nothing(
    tree, book, client, secretary, root_admin
):
    newcomer = enroll(tree.branch_a, "困难党员", root_admin)
    client.force_login(secretary)
    events = AuditEvent.objects.count()
    response = client.post(
        reverse("members:dues_rate", args=[newcomer.pk]),
        {"rate-year": "2026", "rate-category": "hardship", "rate-amount": "0"},
    )
    assert response.status_code == 200
    assert "减免党费须经党组织批准" in response.content.decode()
    assert not DuesRate.objects.filter(member=newcomer).exists()
    assert AuditEvent.objects.count() == events
    response = client.post(
        reverse("members:dues_rate", args=[newcomer.pk]),
        {"rate-year": "2026", "rate-category": "retired", "rate-income": "5000"},
    )
    assert response.status_code == 302
    assert DuesRate.objects.get(member=newcomer, year=2026).monthly_amount == 25


def test_a_member_sees_their_own_dues_read_only(tree, book, client, member):
    client.force_login(member)
    response = client.get(reverse("members:dues_member", args=[book["own"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "林本人" in html
    assert "idempotency_key" not in html
    assert client.post(reverse("members:dues_payment", args=[book["own"].pk]), {}).status_code == 403
    assert client.post(reverse("members:dues_rate", args=[book["own"].pk]), {}).status_code == 403


# --- allow / deny per persona ---------------------------------------------------------------------

READ = [
    (None, 302),
    ("street_admin", 200),
    ("secretary", 200),
    ("outsider", 404),
    ("member", 404),
    ("resident", 404),
]


@pytest.mark.parametrize("page", ["members:dues_ledger", "members:dues_arrears", "members:dues_member"])
@pytest.mark.parametrize(("persona", "status"), READ)
def test_dues_pages_per_persona(tree, book, client, request, page, persona, status):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    arg = book["lapsed"].pk if page == "members:dues_member" else tree.branch_a.pk
    response = client.get(reverse(page, args=[arg]))
    assert response.status_code == status
    if persona is None:
        assert response["Location"].startswith(reverse("accounts:login"))


PAGE_POSTS = {
    "members:dues_rate": {"rate-year": "2028", "rate-category": "student"},
    "members:dues_payment": {
        "period_start": "2026-07",
        "months": "1",
        "method": "monthly",
        "paid_on": "2026-07-05",
        "idempotency_key": "persona",
    },
}


@pytest.mark.parametrize("page", list(PAGE_POSTS))
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 302),
        ("street_admin", 302),
        ("secretary", 302),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
    ],
)
def test_dues_forms_per_persona(tree, book, client, request, page, persona, status):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    target = book["lapsed"]
    response = client.post(reverse(page, args=[target.pk]), PAGE_POSTS[page])
    assert response.status_code == status
    saved = (
        DuesPayment.objects.filter(idempotency_key="persona").exists()
        or DuesRate.objects.filter(year=2028).exists()
    )
    assert saved == (persona in ("street_admin", "secretary"))
    if status == 302 and persona:
        assert response["Location"] == reverse("members:dues_member", args=[target.pk])


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/dues/ledger"),
        ("get", "/api/v1/dues/arrears"),
        ("post", "/api/v1/dues/payments"),
        ("post", "/api/v1/dues/rates"),
    ],
)
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        (None, 401),
        ("street_admin", "ok"),
        ("secretary", "ok"),
        ("outsider", 404),
        ("member", 404),
        ("resident", 404),
    ],
)
def test_dues_api_per_persona(tree, book, client, request, token_for, method, url, persona, status):
    headers = token_for(request.getfixturevalue(persona)) if persona else {}
    if method == "get":
        response = client.get(url, {"branch": tree.branch_a.pk, "month": "2026-06"}, headers=headers)
    elif url.endswith("payments"):
        response = post_payment(
            client,
            headers,
            "api-persona",
            member_id=book["lapsed"].pk,
            period_start="2026-07",
            paid_on="2026-07-05",
        )
    else:
        response = client.post(
            url,
            {"member_id": book["lapsed"].pk, "year": 2028, "category": "student"},
            content_type="application/json",
            headers=headers,
        )
    if status == "ok":
        assert response.status_code == (200 if method == "get" else 201), response.json()
    else:
        assert response.status_code == status
        assert set(response.json()) == {"code", "message", "details"}


def test_the_dues_endpoints_are_documented_with_their_errors(client):
    spec = client.get("/api/v1/openapi.json").json()
    for path, method in (("/api/v1/dues/ledger", "get"), ("/api/v1/dues/payments", "post")):
        assert {"401", "403", "404", "422"} <= set(spec["paths"][path][method]["responses"])
    params = {p["name"] for p in spec["paths"]["/api/v1/dues/payments"]["post"]["parameters"]}
    assert "Idempotency-Key" in params
