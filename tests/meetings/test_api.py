"""The meetings API: per-persona allow/deny on every endpoint, sign-in with the rotating code,
vote and election results, the compliance report, pinned query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dangqun.accounts.tokens import issue_token
from dangqun.meetings import actions, queries
from dangqun.meetings.choices import AttendanceStatus, BallotMode, VoteKind

from .conftest import hold, make_meeting, mark

pytestmark = pytest.mark.django_db

PERSONAS = [
    None,
    "street_admin",
    "secretary",
    "outsider",
    "member",
    "resident",
    "department_admin",
    "window_staff",
]


@pytest.fixture
def headers(request):
    def make(name):
        if name is None:
            return {}
        raw, _token = issue_token(request.getfixturevalue(name), name="test")
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return make


@pytest.fixture
def world(tree, secretary, roster):
    """A meeting of branch A happening now, with a closed vote and a closed election."""
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    meeting = make_meeting(tree.branch_a, secretary, start)
    mark(meeting, secretary, roster[1:10])  # the member persona has not signed in yet
    vote = actions.do_open_vote(
        meeting, kind=VoteKind.OTHER, subject="计划", mode=BallotMode.HANDS, actor=secretary
    )
    actions.do_close_vote(vote, actor=secretary, in_favour=7, against=1, abstain=1)
    election = actions.do_open_election(
        meeting,
        title="选举委员",
        seats=1,
        mode=BallotMode.PAPER,
        candidate_ids=[roster[1].pk, roster[2].pk],
        actor=secretary,
    )
    actions.do_close_election(election, actor=secretary, votes={c.pk: 4 for c in election.candidates.all()})
    return {"meeting": meeting, "vote": vote, "election": election}


ENDPOINTS = {
    "list": ("get", lambda w: "/api/v1/meetings", [401, 200, 200, 200, 200, 403, 403, 403]),
    "detail": (
        "get",
        lambda w: f"/api/v1/meetings/{w['meeting'].pk}",
        [401, 200, 200, 404, 200, 404, 404, 404],
    ),
    "votes": (
        "get",
        lambda w: f"/api/v1/meetings/{w['meeting'].pk}/votes",
        [401, 200, 200, 404, 200, 404, 404, 404],
    ),
    "vote": ("get", lambda w: f"/api/v1/votes/{w['vote'].pk}", [401, 200, 200, 404, 200, 404, 404, 404]),
    "election": (
        "get",
        lambda w: f"/api/v1/elections/{w['election'].pk}",
        [401, 200, 200, 404, 200, 404, 404, 404],
    ),
    "compliance": ("get", lambda w: "/api/v1/compliance/meetings", [401, 200, 200, 200, 403, 403, 403, 403]),
    # A wrong code: refused (422) to those who see the meeting, 404 to the others.
    "sign_in": (
        "post",
        lambda w: f"/api/v1/meetings/{w['meeting'].pk}/sign-in",
        [401, 422, 422, 404, 422, 404, 404, 404],
    ),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_endpoint_access_per_persona(world, client, headers, persona):
    auth = headers(persona)
    wrong = {}
    for name, (method, path, codes) in ENDPOINTS.items():
        if method == "get":
            response = client.get(path(world), **auth)
        else:
            response = client.post(path(world), {"code": "AAAAAAAA"}, content_type="application/json", **auth)
        expected = codes[PERSONAS.index(persona)]
        if response.status_code != expected:
            wrong[name] = (response.status_code, expected, response.content[:200])
        body = response.json()
        if expected >= 400:
            assert set(body) == {"code", "message", "details"}
    assert wrong == {}


def test_a_member_signs_in_through_the_api_with_the_code_shown_now(world, client, headers, member_record):
    meeting = world["meeting"]
    code = queries.current_code(meeting, timezone.now(), queries.rules_for(meeting.branch)).code
    response = client.post(
        f"/api/v1/meetings/{meeting.pk}/sign-in",
        {"code": code},
        content_type="application/json",
        **headers("member"),
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == AttendanceStatus.PRESENT
    detail = client.get(f"/api/v1/meetings/{meeting.pk}", **headers("member")).json()
    assert detail["my_attendance"] == AttendanceStatus.PRESENT
    assert detail["minutes"] is None  # members do not read the minutes
    assert detail["attendance"] is None


def test_an_old_code_is_refused_by_the_api(world, client, headers, member_record):
    meeting = world["meeting"]
    old = queries.current_code(
        meeting, timezone.now() - timedelta(seconds=90), queries.rules_for(meeting.branch)
    )
    response = client.post(
        f"/api/v1/meetings/{meeting.pk}/sign-in",
        {"code": old.code},
        content_type="application/json",
        **headers("member"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "signin_code"


def test_the_secretary_without_a_member_record_cannot_sign_in(world, client, headers):
    meeting = world["meeting"]
    code = queries.current_code(meeting, timezone.now(), queries.rules_for(meeting.branch)).code
    response = client.post(
        f"/api/v1/meetings/{meeting.pk}/sign-in",
        {"code": code},
        content_type="application/json",
        **headers("secretary"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "signin_not_expected"


def test_vote_and_election_results(world, client, headers):
    vote = client.get(f"/api/v1/votes/{world['vote'].pk}", **headers("member")).json()
    assert (vote["entitled"], vote["present"], vote["in_favour"], vote["adopted"]) == (10, 9, 7, True)
    assert vote["votes_needed"] == 6
    assert "党章" in vote["source"]
    election = client.get(f"/api/v1/elections/{world['election'].pk}", **headers("secretary")).json()
    assert election["valid"] is True
    assert [c["votes"] for c in election["candidates"]] == [4, 4]
    assert election["shortfall"] == 1  # 4 of 9 is not more than half
    assert election["notes"]


def test_the_compliance_report_through_the_api(world, client, headers, tree, secretary, roster):
    hold(world["meeting"], secretary)
    today = timezone.localdate()
    body = client.get(
        "/api/v1/compliance/meetings",
        {"year": today.year, "quarter": (today.month - 1) // 3 + 1},
        **headers("street_admin"),
    ).json()
    assert [b["branch_name"] for b in body["branches"]] == [tree.branch_a.name, tree.branch_b.name]
    items = {i["kind"]: i for i in body["branches"][0]["items"]}
    assert items["branch_assembly"]["state"] == "ok"
    assert items["branch_assembly"]["attendance_rate"] == "100.0%"
    own = client.get("/api/v1/compliance/meetings", {"branch": tree.branch_b.pk}, **headers("secretary"))
    assert own.status_code == 404


def test_the_meeting_list_filters_and_pages(world, client, headers, tree, secretary):
    for i in range(3):
        make_meeting(
            tree.branch_a, secretary, world["meeting"].starts_at - timedelta(days=i + 1), topic=f"会{i}"
        )
    body = client.get("/api/v1/meetings", {"page_size": 2}, **headers("secretary")).json()
    assert body["count"] == 4
    assert len(body["items"]) == 2
    assert body["items"][0]["id"] == world["meeting"].pk
    assert body["items"][0]["expected"] == 12
    assert body["items"][0]["present"] == 9
    other = client.get("/api/v1/meetings", **headers("outsider")).json()
    assert other["count"] == 0


def _count_queries(client, path, auth) -> int:
    client.get(path, **auth)  # warm up: the token's first use is recorded once
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, **auth).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("persona", ["secretary", "member", "street_admin"])
def test_the_list_query_count_does_not_grow_with_the_meetings(
    world, client, headers, tree, secretary, persona
):
    auth = headers(persona)
    before = _count_queries(client, "/api/v1/meetings", auth)
    for i in range(6):
        make_meeting(
            tree.branch_a, secretary, world["meeting"].starts_at - timedelta(days=i + 1), topic=f"会{i}"
        )
    assert _count_queries(client, "/api/v1/meetings", auth) == before
    assert before <= 8


def test_the_compliance_query_count_does_not_grow_with_branches(world, client, headers, tree, root_admin):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    auth = headers("street_admin")
    before = _count_queries(client, "/api/v1/compliance/meetings", auth)
    for i in range(4):
        do_create_organization(
            name=f"新支部{i}", kind=OrgKind.BRANCH, parent=tree.committee, actor=root_admin
        )
    assert _count_queries(client, "/api/v1/compliance/meetings", auth) == before
