"""Meeting pages: per-persona allow/deny on every page, the QR sign-in flow, forms without JS."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dangqun.meetings import actions, queries, views
from dangqun.meetings.choices import AttendanceStatus, BallotMode, Choice, MeetingKind, VillageBody, VoteKind
from dangqun.meetings.models import Attendance, Ballot, Meeting

from .conftest import make_meeting, mark

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
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def as_user(client, request):
    def login(name):
        if name:
            client.force_login(request.getfixturevalue(name))
        return client

    return login


@pytest.fixture
def world(tree, secretary, street_admin, roster, at):
    """Branch A: an assembly with a vote and an election, a committee meeting without the member,
    an attachment, a 四议两公开 matter with its public resolution, an appraisal."""
    meeting = make_meeting(tree.branch_a, secretary, at)
    mark(meeting, secretary, roster[:10])
    vote = actions.do_open_vote(
        meeting, kind=VoteKind.OTHER, subject="计划", mode=BallotMode.HANDS, actor=secretary
    )
    election = actions.do_open_election(
        meeting,
        title="选举",
        seats=1,
        mode=BallotMode.PAPER,
        candidate_ids=[roster[1].pk, roster[2].pk],
        actor=secretary,
    )
    committee = make_meeting(
        tree.branch_a, secretary, at, kind=MeetingKind.COMMITTEE, attendee_ids=[roster[1].pk, roster[2].pk]
    )
    attachment = actions.do_attach_file(meeting, SimpleUploadedFile("记录.pdf", PDF), actor=secretary)
    decision = actions.do_start_decision(branch=tree.branch_a, title="修路", actor=secretary)
    for n, on, data in [
        (1, date(2026, 3, 1), {"proposal": "修村道"}),
        (2, date(2026, 3, 2), {"opinion": "同意"}),
        (
            3,
            date(2026, 3, 6),
            {"plan_sent_on": date(2026, 3, 3), "entitled": 10, "present": 9, "in_favour": 8},
        ),
        (
            4,
            date(2026, 3, 7),
            {"body": VillageBody.REPRESENTATIVES, "total": 30, "present": 25, "in_favour": 20},
        ),
        (5, date(2026, 3, 8), {"resolution": "同意修建村道。", "place": "村务公开栏"}),
    ]:
        actions.do_record_decision_step(decision, n, held_on=on, data=data, actor=secretary)
    appraisal = actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    return {
        "meeting": meeting,
        "vote": vote,
        "election": election,
        "committee": committee,
        "attachment": attachment,
        "decision": decision,
        "appraisal": appraisal,
    }


def url(name, world, *args):
    keys = {
        "detail": "meeting",
        "edit": "meeting",
        "attendance": "meeting",
        "qr": "meeting",
        "qr_code": "meeting",
        "sign_in": "meeting",
        "vote_create": "meeting",
        "election_create": "meeting",
        "vote": "vote",
        "election": "election",
        "decision": "decision",
        "appraisal": "appraisal",
    }
    if name in keys:
        return reverse(f"meetings:{name}", args=[world[keys[name]].pk, *args])
    return reverse(f"meetings:{name}", args=list(args))


# Expected GET status per persona (None = anonymous): pages that list or report.
GET_PAGES = {
    "list": [302, 200, 200, 200, 200, 403, 403, 403],
    "create": [302, 403, 200, 200, 403, 403, 403, 403],
    "detail": [302, 200, 200, 404, 200, 404, 404, 404],
    "edit": [302, 403, 200, 404, 403, 404, 404, 404],
    "attendance": [302, 403, 200, 404, 403, 404, 404, 404],
    "qr": [302, 403, 200, 404, 403, 404, 404, 404],
    "qr_code": [302, 403, 200, 404, 403, 404, 404, 404],
    "sign_in": [302, 200, 200, 404, 200, 404, 404, 404],
    "vote_create": [302, 403, 200, 404, 403, 404, 404, 404],
    "election_create": [302, 403, 200, 404, 403, 404, 404, 404],
    "vote": [302, 200, 200, 404, 200, 404, 404, 404],
    "election": [302, 200, 200, 404, 200, 404, 404, 404],
    "compliance": [302, 200, 200, 200, 403, 403, 403, 403],
    "decisions": [302, 200, 200, 200, 403, 403, 403, 403],
    "decision_create": [302, 403, 200, 403, 403, 403, 403, 403],
    "decision": [302, 200, 200, 404, 404, 404, 404, 404],
    "appraisals": [302, 200, 200, 200, 403, 403, 403, 403],
    "appraisal_create": [302, 403, 200, 200, 403, 403, 403, 403],
    "appraisal": [302, 200, 200, 404, 404, 404, 404, 404],
    "probations": [302, 200, 200, 200, 403, 403, 403, 403],
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_page_access_per_persona(world, as_user, persona):
    """Every page, for one persona: the expected status (one world per persona keeps it fast)."""
    client = as_user(persona)
    column = PERSONAS.index(persona)
    wrong = {}
    for page, codes in GET_PAGES.items():
        response = client.get(url(page, world))
        if response.status_code != codes[column]:
            wrong[page] = (response.status_code, codes[column])
        elif codes[column] == 302:
            assert response["Location"].startswith(reverse("accounts:login"))
    assert wrong == {}


@pytest.mark.parametrize(
    ("persona", "status"),
    [(None, 302), ("street_admin", 200), ("secretary", 200), ("outsider", 404), ("member", 404)],
)
def test_the_printable_notice_per_persona(world, as_user, persona, status):
    response = as_user(persona).get(
        reverse("meetings:decision_notice", args=[world["decision"].pk, "resolution"])
    )
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "决议公告" in html
        assert "同意修建村道。" in html


def test_the_result_notice_is_not_there_before_its_step(world, as_user):
    response = as_user("secretary").get(
        reverse("meetings:decision_notice", args=[world["decision"].pk, "result"])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("persona", "status"),
    [("street_admin", 200), ("secretary", 200), ("outsider", 404), ("member", 404), ("resident", 404)],
)
def test_attachment_download_per_persona(world, as_user, persona, status):
    response = as_user(persona).get(
        reverse("meetings:attachment", args=[world["meeting"].pk, world["attachment"].pk])
    )
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/pdf"
        assert "attachment" in response["Content-Disposition"]
        assert b"".join(response.streaming_content) == PDF


POSTS = ["close", "cancel", "attach"]


@pytest.mark.parametrize("action", POSTS)
@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("member", 403), ("street_admin", 403)])
def test_changes_are_refused_to_others(world, as_user, action, persona, status):
    response = as_user(persona).post(
        reverse(f"meetings:{action}", args=[world["meeting"].pk]), {"reason": "x"}
    )
    assert response.status_code == status
    assert Meeting.objects.get(pk=world["meeting"].pk).status == "planned"


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("member", 403)])
def test_closing_polls_is_refused_to_others(world, as_user, persona, status):
    client = as_user(persona)
    assert client.post(reverse("meetings:vote_close", args=[world["vote"].pk]), {}).status_code == status
    assert (
        client.post(reverse("meetings:election_close", args=[world["election"].pk]), {}).status_code == status
    )


def test_a_member_does_not_see_a_committee_meeting_they_are_not_part_of(world, as_user, roster, voter_user):
    client = as_user("member")
    assert client.get(reverse("meetings:detail", args=[world["committee"].pk])).status_code == 404
    client.force_login(voter_user(roster[1]))
    assert client.get(reverse("meetings:detail", args=[world["committee"].pk])).status_code == 200


def test_the_list_shows_the_scope_only(world, as_user, tree, outsider, at):
    make_meeting(tree.branch_b, outsider, at, topic="第二支部的会")
    html = as_user("secretary").get(reverse("meetings:list")).content.decode()
    assert world["meeting"].topic in html
    assert "第二支部的会" not in html
    member_html = as_user("member").get(reverse("meetings:list")).content.decode()
    assert world["meeting"].topic in member_html


def test_a_member_sees_no_minutes_nor_the_attendance_list(world, as_user):
    actions.do_update_meeting(world["meeting"], actor=world["meeting"].created_by, minutes="机密的讨论细节")
    html = as_user("member").get(url("detail", world)).content.decode()
    assert "机密的讨论细节" not in html
    assert "出席名单" not in html
    assert "我的出席情况" in html
    staff_html = as_user("street_admin").get(url("detail", world)).content.decode()
    assert "机密的讨论细节" in staff_html


# --- creating and recording through the pages (no JavaScript) ------------------------------------


def test_the_secretary_creates_a_meeting_with_the_form(tree, secretary, roster, client):
    client.force_login(secretary)
    response = client.post(
        reverse("meetings:create"),
        {
            "organization": tree.branch_a.pk,
            "kind": MeetingKind.LECTURE,
            "topic": "专题党课",
            "place": "会议室",
            "starts_at": "2026-03-12T09:30",
            "lecturer": "李书记",
        },
    )
    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:detail", args=[meeting.pk])
    assert meeting.attendance.count() == 12


def test_form_errors_are_shown_beside_the_field(tree, secretary, roster, client):
    client.force_login(secretary)
    response = client.post(
        reverse("meetings:create"),
        {
            "organization": tree.branch_a.pk,
            "kind": MeetingKind.TALK,
            "topic": "谈话",
            "starts_at": "2026-03-12T09:30",
        },
    )
    assert response.status_code == 200
    assert "支委会和谈心谈话须选择参加的人员" in response.content.decode()
    assert not Meeting.objects.exists()


def test_attendance_and_closing_through_the_pages(world, secretary, roster, client, monkeypatch):
    client.force_login(secretary)
    meeting = world["meeting"]
    actions.do_close_vote(world["vote"], actor=secretary, in_favour=8, against=1, abstain=1)
    client.post(
        reverse("meetings:election_close", args=[world["election"].pk]),
        {f"votes_{c.pk}": 7 for c in world["election"].candidates.all()},
    )
    data = {}
    for a in meeting.attendance.all():
        data[f"status_{a.member_id}"] = a.status if a.status == "present" else AttendanceStatus.LEAVE
        data[f"reason_{a.member_id}"] = ""
    response = client.post(reverse("meetings:attendance", args=[meeting.pk]), data)
    assert response.status_code == 200  # leave without a reason: shown beside the field
    assert "缺席或请假须写明原因" in response.content.decode()
    for key in list(data):
        if key.startswith("reason_"):
            data[key] = "病假"
    assert client.post(reverse("meetings:attendance", args=[meeting.pk]), data).status_code == 302
    edit = {
        "topic": meeting.topic,
        "place": meeting.place,
        "starts_at": "2026-03-10T14:00",
        "minutes": "记录",
    }
    client.post(reverse("meetings:edit", args=[meeting.pk]), edit)
    monkeypatch.setattr(views, "now", lambda: meeting.starts_at + timedelta(hours=3))
    response = client.post(reverse("meetings:close", args=[meeting.pk]), follow=True)
    meeting.refresh_from_db()
    assert meeting.status == "held", response.content.decode()[:2000]


def test_an_online_vote_through_the_pages(world, tree, secretary, roster, member, client):
    client.force_login(secretary)
    meeting = make_meeting(tree.branch_a, secretary, world["meeting"].starts_at, topic="第二次大会")
    mark(meeting, secretary, roster[:10])
    response = client.post(
        reverse("meetings:vote_create", args=[meeting.pk]),
        {
            "kind": VoteKind.OTHER,
            "subject": "在线表决",
            "mode": BallotMode.ONLINE,
            "written_for": 0,
            "written_against": 0,
            "written_abstain": 0,
        },
    )
    vote = meeting.votes.get()
    assert response["Location"] == reverse("meetings:vote", args=[vote.pk])
    client.force_login(member)
    page = client.get(reverse("meetings:vote", args=[vote.pk])).content.decode()
    assert 'name="choice"' in page
    client.post(reverse("meetings:vote_cast", args=[vote.pk]), {"choice": Choice.FOR})
    page = client.get(reverse("meetings:vote", args=[vote.pk])).content.decode()
    assert "您已投票" in page
    assert 'name="choice"' not in page
    assert Ballot.objects.filter(vote=vote, choice=Choice.FOR).count() == 1


def test_a_grades_form_and_the_cap_message(world, secretary, roster, client):
    client.force_login(secretary)
    appraisal = world["appraisal"]
    data = {f"grade_{p.pk}": "excellent" for p in roster[:10]}
    response = client.post(reverse("meetings:appraisal", args=[appraisal.pk]), data)
    assert response.status_code == 200
    assert "超过了上限" in response.content.decode()


def test_the_decision_page_guides_to_the_next_step(world, secretary, client):
    client.force_login(secretary)
    html = client.get(url("decision", world)).content.decode()
    assert "登记：实施结果公开" in html
    assert "打印决议公告" in html


def test_the_compliance_page_shows_states_not_rankings(world, as_user):
    html = (
        as_user("street_admin")
        .get(reverse("meetings:compliance"), {"year": 2026, "quarter": 1})
        .content.decode()
    )
    assert "和平社区第一党支部" in html
    assert "和平社区第二党支部" in html
    assert "未落实" in html
    assert "排名" not in html.replace("不对党员个人排名", "")


# --- QR sign-in -------------------------------------------------------------------------------------


def test_the_qr_page_shows_an_inline_svg_that_rotates(world, secretary, client, monkeypatch):
    meeting = world["meeting"]
    client.force_login(secretary)
    monkeypatch.setattr(views, "now", lambda: meeting.starts_at)
    page = client.get(reverse("meetings:qr", args=[meeting.pk])).content.decode()
    assert 'hx-get="' + reverse("meetings:qr_code", args=[meeting.pk]) in page
    assert 'hx-trigger="every 10s"' in page
    assert '<noscript><meta http-equiv="refresh"' in page
    first = client.get(reverse("meetings:qr_code", args=[meeting.pk]), HTTP_HX_REQUEST="true")
    body = first.content.decode()
    assert "<svg" in body
    assert "style=" not in body  # the CSP forbids inline styles
    assert first["Cache-Control"] == "no-store"
    rules = queries.rules_for(meeting.branch)
    code = queries.current_code(meeting, meeting.starts_at, rules).code
    assert code in body
    monkeypatch.setattr(views, "now", lambda: meeting.starts_at + timedelta(seconds=30))
    later = client.get(reverse("meetings:qr_code", args=[meeting.pk])).content.decode()
    assert code not in later


def test_the_qr_is_not_shown_outside_the_window(world, secretary, client, monkeypatch):
    meeting = world["meeting"]
    client.force_login(secretary)
    monkeypatch.setattr(views, "now", lambda: meeting.starts_at - timedelta(hours=2))
    body = client.get(reverse("meetings:qr_code", args=[meeting.pk])).content.decode()
    assert "<svg" not in body
    assert "签到未开放" in body


def _fresh_code(meeting, at):
    return queries.current_code(meeting, at, queries.rules_for(meeting.branch)).code


def test_scan_then_log_in_then_confirm(world, member, member_record, client, monkeypatch):
    """A member not yet logged in scans, logs in (taking a minute), confirms: signed in."""
    meeting = world["meeting"]
    Attendance.objects.filter(meeting=meeting, member=member_record).update(status=AttendanceStatus.EXPECTED)
    t0 = meeting.starts_at
    code = _fresh_code(meeting, t0)
    monkeypatch.setattr(views, "now", lambda: t0)
    sign_in = reverse("meetings:sign_in", args=[meeting.pk])
    response = client.get(sign_in, {"code": code})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    client.force_login(member)
    monkeypatch.setattr(views, "now", lambda: t0 + timedelta(seconds=100))  # the code has rotated twice
    page = client.get(sign_in).content.decode()
    assert "已读取会场二维码" in page
    response = client.post(sign_in, {"code": code})
    assert response.status_code == 302
    row = Attendance.objects.get(meeting=meeting, member=member_record)
    assert (row.status, row.method) == (AttendanceStatus.PRESENT, "qr")


def test_a_forwarded_old_link_is_no_proof(world, member, member_record, client, monkeypatch):
    meeting = world["meeting"]
    Attendance.objects.filter(meeting=meeting, member=member_record).update(status=AttendanceStatus.EXPECTED)
    t0 = meeting.starts_at
    code = _fresh_code(meeting, t0)
    client.force_login(member)
    monkeypatch.setattr(views, "now", lambda: t0 + timedelta(seconds=90))
    sign_in = reverse("meetings:sign_in", args=[meeting.pk])
    response = client.get(sign_in, {"code": code}, follow=True)
    assert "签到码不正确或已过期" in response.content.decode()
    response = client.post(sign_in, {"code": code})
    assert response.status_code == 200
    assert "签到码不正确或已过期" in response.content.decode()
    assert Attendance.objects.get(meeting=meeting, member=member_record).status == AttendanceStatus.EXPECTED


def test_a_scan_is_not_confirmed_after_five_minutes(world, member, member_record, client, monkeypatch):
    meeting = world["meeting"]
    Attendance.objects.filter(meeting=meeting, member=member_record).update(status=AttendanceStatus.EXPECTED)
    t0 = meeting.starts_at
    code = _fresh_code(meeting, t0)
    monkeypatch.setattr(views, "now", lambda: t0)
    sign_in = reverse("meetings:sign_in", args=[meeting.pk])
    client.get(sign_in, {"code": code})
    client.force_login(member)
    monkeypatch.setattr(views, "now", lambda: t0 + timedelta(seconds=301))
    response = client.post(sign_in, {"code": code})
    assert "重新扫描" in response.content.decode()
    assert Attendance.objects.get(meeting=meeting, member=member_record).status == AttendanceStatus.EXPECTED


def test_typing_the_code_works_without_a_scan(world, member, member_record, client, monkeypatch):
    meeting = world["meeting"]
    Attendance.objects.filter(meeting=meeting, member=member_record).update(status=AttendanceStatus.EXPECTED)
    t0 = meeting.starts_at + timedelta(minutes=5)
    monkeypatch.setattr(views, "now", lambda: t0)
    client.force_login(member)
    sign_in = reverse("meetings:sign_in", args=[meeting.pk])
    assert 'name="code"' in client.get(sign_in).content.decode()
    response = client.post(sign_in, {"code": _fresh_code(meeting, t0).lower()})
    assert response.status_code == 302
    assert Attendance.objects.get(meeting=meeting, member=member_record).status == AttendanceStatus.PRESENT


def test_an_anonymous_scan_reveals_nothing(client, world):
    for pk in (world["meeting"].pk, 999999, 2**70):
        response = client.get(f"/meetings/{pk}/sign-in/", {"code": "AAAAAAAA"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
