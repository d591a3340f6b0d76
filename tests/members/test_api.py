"""The members API: the public dues quote, and per-persona allow/deny on every endpoint."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dangqun.members.actions import do_enroll_member
from dangqun.members.choices import Status

from .conftest import advance, make_id

pytestmark = pytest.mark.django_db

QUOTE = "/api/v1/dues/quote"


# --- the public quote ------------------------------------------------------------------------


def test_anyone_may_ask_for_a_dues_quote(client):
    response = client.get(QUOTE, {"category": "employed", "monthly_income": "4500"})
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("category", "base", "rate", "monthly_dues")} == {
        "category": "employed",
        "base": "4500.00",
        "rate": "0.01",
        "monthly_dues": "45.00",
    }
    assert body["fixed"] is False
    assert "党费" in body["source"]


@pytest.mark.parametrize(
    ("category", "income", "rate", "dues"),
    [
        ("employed", "3000.00", "0.005", "15.00"),
        ("employed", "3000.01", "0.01", "30.00"),
        ("employed", "5000.00", "0.01", "50.00"),
        ("employed", "10000.00", "0.015", "150.00"),
        ("employed", "10000.01", "0.02", "200.00"),
        ("retired", "5000", "0.005", "25.00"),
        ("retired", "5000.01", "0.01", "50.00"),
        ("student", "0", "0", "0.20"),
        ("low_income", "123", "0", "0.20"),
    ],
)
def test_the_quote_follows_the_brackets_on_their_boundaries(client, category, income, rate, dues):
    body = client.get(QUOTE, {"category": category, "monthly_income": income}).json()
    assert (body["rate"], body["monthly_dues"]) == (rate, dues)


def test_a_farmer_quote_gives_the_range(client):
    body = client.get(QUOTE, {"category": "farmer", "monthly_income": "0"}).json()
    assert (body["monthly_dues"], body["max_monthly_dues"], body["fixed"]) == ("0.20", "1.00", True)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"category": "pilot", "monthly_income": "4500"}, "dues_category"),
        ({"category": "hardship", "monthly_income": "4500"}, "dues_category"),
        ({"category": "employed", "monthly_income": "-1"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "abc"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "45.001"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "NaN"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "Infinity"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "1e9"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": "99999999999999999999"}, "invalid_amount"),
        ({"category": "employed", "monthly_income": ""}, "invalid_amount"),
        ({"category": "student", "monthly_income": "-5"}, "invalid_amount"),
        ({"category": "employed"}, "invalid_input"),
        ({"monthly_income": "4500"}, "invalid_input"),
    ],
)
def test_a_bad_quote_request_gets_a_chinese_422(client, params, code):
    response = client.get(QUOTE, params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "details"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(category=st.sampled_from(["employed", "retired", "farmer", "x"]), income=st.text(max_size=30))
def test_any_quote_input_gets_an_answer_or_a_chinese_422(client, category, income):
    response = client.get(QUOTE, {"category": category, "monthly_income": income})
    assert response.status_code in (200, 422)
    body = response.json()
    if response.status_code == 422:
        assert set(body) == {"code", "message", "details"}
    else:
        assert Decimal(body["monthly_dues"]) >= 0


def test_the_quote_declares_only_200_and_422_and_documents_its_inputs(client):
    spec = client.get("/api/v1/openapi.json").json()
    operation = spec["paths"][QUOTE]["get"]
    assert set(operation["responses"]) == {"200", "422"}
    params = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert params["category"]["enum"] == [
        "employed",
        "retired",
        "farmer",
        "student",
        "unemployed",
        "low_income",
    ]
    assert "pattern" in params["monthly_income"]
    assert "security" not in operation or operation["security"] == [{}] or operation["security"] == []


# --- personas on the member endpoints --------------------------------------------------------


@pytest.fixture
def members_ab(tree, root_admin, secretary, full_members):
    """Branch A: three full members (fixture) and an applicant; branch B: one full member."""
    b_member = do_enroll_member(
        branch=tree.branch_b,
        name="赵乙",
        id_number=make_id(date(1985, 2, 2)),
        status=Status.FULL,
        admitted_on=date(2016, 1, 1),
        actor=root_admin,
    )
    return full_members, b_member


def get(client, url, headers=None, **params):
    return client.get(url, params, headers=headers or {})


PERSONAS_LIST = [
    ("secretary", 200),
    ("outsider", 200),
    ("street_admin", 200),
    ("member", 403),
    ("resident", 403),
]


@pytest.mark.parametrize(("persona", "status"), PERSONAS_LIST)
def test_the_roster_is_scoped_to_the_callers_branches(
    request, client, token_for, members_ab, persona, status
):
    a_members, b_member = members_ab
    response = get(client, "/api/v1/members", token_for(request.getfixturevalue(persona)))
    assert response.status_code == status
    if status != 200:
        assert response.json()["code"] == "forbidden"
        return
    names = {m["name"] for m in response.json()["items"]}
    expected = {
        "secretary": {m.name for m in a_members},
        "outsider": {b_member.name},
        "street_admin": {m.name for m in a_members} | {b_member.name},
    }[persona]
    assert names == expected


def test_anonymous_callers_get_401_everywhere_but_the_quote(client, members_ab):
    a_id = members_ab[0][0].pk
    for url in ("/api/v1/members", f"/api/v1/members/{a_id}", f"/api/v1/members/{a_id}/timeline"):
        assert client.get(url).status_code == 401
    response = client.post(f"/api/v1/members/{a_id}/steps", {"step": 2}, content_type="application/json")
    assert response.status_code == 401


def test_the_roster_filters_and_pages(client, token_for, secretary, members_ab, applicant):
    headers = token_for(secretary)
    body = get(client, "/api/v1/members", headers, status="applicant").json()
    assert [m["name"] for m in body["items"]] == [applicant.name]
    page = get(client, "/api/v1/members", headers, page_size=2, page=2).json()
    assert (page["count"], page["page"], len(page["items"])) == (4, 2, 2)
    assert get(client, "/api/v1/members", headers, status="nobody").status_code == 422


def test_the_roster_costs_the_same_queries_for_three_or_thirty_members(
    client, token_for, secretary, root_admin, tree
):
    headers = token_for(secretary)

    def enroll(n):
        for i in range(n):
            do_enroll_member(
                branch=tree.branch_a,
                name=f"党员{i:02d}",
                id_number=make_id(date(1980, 1, 1 + i % 28)),
                status=Status.FULL,
                admitted_on=date(2016, 1, 1),
                actor=root_admin,
                group=tree.group_a,
            )

    enroll(3)
    get(client, "/api/v1/members", headers)  # warm the token's last_used write
    with CaptureQueriesContext(connection) as few:
        assert get(client, "/api/v1/members", headers, page_size=100).status_code == 200
    enroll(27)
    with CaptureQueriesContext(connection) as many:
        body = get(client, "/api/v1/members", headers, page_size=100).json()
    assert body["count"] == 30
    assert len(few) == len(many) == 4  # token, grants, page, count


@pytest.mark.parametrize(
    ("persona", "status"),
    [("secretary", 200), ("street_admin", 200), ("outsider", 404), ("member", 404), ("resident", 404)],
)
def test_a_member_is_seen_only_within_scope_with_the_id_masked(
    request, client, token_for, members_ab, persona, status
):
    m = members_ab[0][0]
    headers = token_for(request.getfixturevalue(persona))
    response = get(client, f"/api/v1/members/{m.pk}", headers)
    assert response.status_code == status
    timeline = get(client, f"/api/v1/members/{m.pk}/timeline", headers)
    assert timeline.status_code == status
    if status == 200:
        body = response.json()
        assert body["id_number_masked"] == m.id_number[:3] + "*" * 11 + m.id_number[-4:]
        assert m.id_number not in response.content.decode()
        assert body["status"] == "full"
        assert body["party_standing_years"] >= 10
    else:
        assert response.json()["code"] == "not_found"


def test_unknown_and_absurd_ids_are_not_found_or_refused(client, token_for, street_admin):
    headers = token_for(street_admin)
    assert get(client, "/api/v1/members/987654", headers).status_code == 404
    assert get(client, f"/api/v1/members/{2**70}", headers).status_code == 422


def test_the_timeline_shows_what_is_done_and_what_is_due(
    client, token_for, secretary, applicant, full_members
):
    advance(applicant, 3, secretary, full_members)
    body = get(client, f"/api/v1/members/{applicant.pk}/timeline", token_for(secretary)).json()
    states = {e["step"]: e["state"] for e in body["entries"]}
    assert body["status"] == "activist"
    assert [states[n] for n in (1, 2, 3, 4, 5, 6, 7)] == [
        "done",
        "done",
        "done",
        "due",
        "due",
        "pending",
        "pending",
    ]
    first = body["entries"][0]
    assert (first["name"], first["stage_name"], first["done_on"]) == (
        "递交入党申请书",
        "申请入党",
        "2023-01-10",
    )


# --- recording a step over the API -----------------------------------------------------------


def post_step(client, member, headers, **data):
    return client.post(
        f"/api/v1/members/{member.pk}/steps", data, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [("secretary", 201), ("street_admin", 201), ("outsider", 404), ("member", 404), ("resident", 404)],
)
def test_only_the_branch_records_a_step(request, client, token_for, applicant, persona, status):
    response = post_step(
        client,
        applicant,
        token_for(request.getfixturevalue(persona)),
        step=2,
        done_on="2023-01-20",
        responsible="李书记",
    )
    assert response.status_code == status
    if status == 201:
        body = response.json()
        assert (body["step"], body["name"], body["member_status"], body["flags"]) == (
            2,
            "党组织派人谈话",
            "applicant",
            [],
        )


def test_a_late_talk_is_recorded_with_its_flag(client, token_for, secretary, applicant):
    response = post_step(client, applicant, token_for(secretary), step=2, done_on="2023-02-11")
    assert response.status_code == 201
    [flag] = response.json()["flags"]
    assert flag["code"] == "talk_overdue"
    assert "依据：发展党员工作细则" in flag["message"]


def test_a_refused_step_answers_422_with_every_violation(
    client, token_for, secretary, applicant, full_members
):
    advance(applicant, 6, secretary, full_members)
    response = post_step(
        client, applicant, token_for(secretary), step=7, done_on="2024-02-29", training_days=3
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "step_field"
    assert [v["code"] for v in body["details"]["violations"]] == ["step_field", "activist_period"]
    activist = body["details"]["violations"][1]
    assert activist["message"] == (
        "确定发展对象须在列为入党积极分子满 1 年后（最早 2024-03-01）。"
        "依据：发展党员工作细则（2014，2026年修订） 第十三条"
    )
    applicant.refresh_from_db()
    assert applicant.status == Status.ACTIVIST


def test_nonsense_step_input_is_a_422(client, token_for, secretary, applicant):
    headers = token_for(secretary)
    assert post_step(client, applicant, headers, step=26, done_on="2023-01-20").status_code == 422
    assert (
        post_step(client, applicant, headers, step=2, done_on="9999-12-31").json()["code"]
        == "date_out_of_range"
    )
    assert (
        post_step(client, applicant, headers, step=2, done_on="2023-01-20", notes="a\x00b").status_code == 422
    )
