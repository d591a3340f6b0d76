"""The rating loop through the pages and the API, and messages from receipt to the caller's rating."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.urls import reverse

from dangqun.accounts.tokens import issue_token
from dangqun.core.workcalendar import add_working_days
from dangqun.feedback import message_actions
from dangqun.feedback.choices import FixState, MessageState
from dangqun.feedback.models import Fix, Message, Rating

from .conftest import ENDED


def test_rating_page_shows_who_is_rated_and_preselects_nothing(client, recent_case, applicant, window_staff):
    case = recent_case
    client.force_login(applicant)
    page = client.get(reverse("feedback:rate", args=[case.pk])).content.decode()
    assert case.department.name in page
    assert window_staff.full_name in page
    assert "checked" not in page  # never a pre-filled score
    response = client.post(reverse("feedback:rate", args=[case.pk]), {"comment": "还行"})
    assert response.status_code == 422
    assert "请选择" in response.content.decode()
    assert not Rating.objects.exists()


def test_the_whole_loop_through_the_pages(client, recent_case, applicant, department_admin):
    case = recent_case
    client.force_login(applicant)
    response = client.post(
        reverse("feedback:rate", args=[case.pk]),
        {"level": "2", "reasons": ["slow"], "comment": "跑了两次", "aspect_efficiency": "2"},
    )
    rating = Rating.objects.get()
    assert response.url == reverse("feedback:rating", args=[rating.pk])
    assert rating.aspects == {"efficiency": 2}
    fix = rating.fix
    client.force_login(department_admin)
    assert f"/feedback/fixes/{fix.pk}/" in client.get(reverse("feedback:index")).content.decode()
    url = reverse("feedback:fix", args=[fix.pk])
    client.post(url, {"step": "callback", "callback-note": "已电话回访", "callback-verified": "1"})
    client.post(url, {"step": "fix", "fix-note": "窗口增加引导员"})
    bad = client.post(url, {"step": "reply", "reply-reply": ""})
    assert bad.status_code == 422
    client.post(url, {"step": "reply", "reply-reply": "已整改，欢迎再来"})
    fix.refresh_from_db()
    assert fix.state == FixState.REPLIED
    client.force_login(applicant)
    page = client.get(reverse("feedback:rating", args=[rating.pk])).content.decode()
    assert "已整改，欢迎再来" in page
    client.post(reverse("feedback:rating", args=[rating.pk]), {"solved": "1"})
    fix.refresh_from_db()
    assert fix.state == FixState.CLOSED


def test_another_resident_cannot_see_the_rating_or_the_fix(client, recent_case, applicant, other_resident):
    case = recent_case
    client.force_login(applicant)
    client.post(reverse("feedback:rate", args=[case.pk]), {"level": "1", "reasons": ["result"]})
    rating = Rating.objects.get()
    client.force_login(other_resident)
    assert client.get(reverse("feedback:rate", args=[case.pk])).status_code == 404
    assert client.get(reverse("feedback:rating", args=[rating.pk])).status_code == 404
    assert client.get(reverse("feedback:fix", args=[rating.fix.pk])).status_code == 404


def test_a_visit_is_rated_from_its_qr_code_without_login(client, tree, simple_item, window_staff):
    from dangqun.feedback.actions import do_record_visit

    visit = do_record_visit(window=tree.window, unit=tree.department, item=simple_item, actor=window_staff)
    client.force_login(window_staff)
    receipt = client.get(reverse("feedback:receipt", args=[visit.pk])).content.decode()
    assert "<svg" in receipt
    assert visit.token in receipt
    client.logout()
    url = reverse("feedback:rate_visit", args=[visit.token])
    assert "吴窗口" in client.get(url).content.decode()
    client.post(url, {"level": "5", "aspect_attitude": "5"})
    assert Rating.objects.get().aspects == {"attitude": 5}
    assert "已经评价过" in client.get(url).content.decode()
    assert client.get(reverse("feedback:rate_visit", args=["nope"])).status_code == 404


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user, name='t')[0]}"}


def test_the_api_rates_and_works_the_fix(client, recent_case, applicant, department_admin, supervisor):
    case = recent_case

    def post(url, body, user):
        return client.post(url, json.dumps(body), content_type="application/json", **bearer(user))

    r = post("/api/v1/feedback/ratings", {"application": case.pk, "level": 7}, applicant)
    assert r.status_code == 422
    assert r.json()["code"] == "rating_level"
    r = post("/api/v1/feedback/ratings", {"application": case.pk, "level": 2, "reasons": ["slow"]}, applicant)
    assert r.status_code == 201
    body = r.json()
    assert body["fix"]["due"] == add_working_days(case.completed_on, 15).isoformat()
    fix_id = body["fix"]["id"]
    assert (
        post(f"/api/v1/feedback/fixes/{fix_id}", {"step": "callback", "note": "x"}, applicant).status_code
        == 404
    )
    r = post(
        f"/api/v1/feedback/fixes/{fix_id}",
        {"step": "callback", "note": "回访", "verified": False},
        department_admin,
    )
    assert r.json()["state"] == "called_back"
    r = post(f"/api/v1/feedback/ratings/{body['id']}/appeal", {"reason": "与办件无关"}, department_admin)
    assert r.status_code == 201
    r = post(
        f"/api/v1/feedback/appeals/{r.json()['id']}/decision", {"upheld": True, "note": "属实"}, supervisor
    )
    assert r.json()["state"] == "upheld"
    r = client.get(f"/api/v1/feedback/ratings/{body['id']}", **bearer(applicant))
    assert r.json()["counted"] is False
    assert r.json()["fix"]["state"] == "voided"


def test_a_message_is_classified_dispatched_and_closed(
    dispatch_table, resident, department_admin, street_admin
):
    message = message_actions.do_leave_message(
        kind="complaint",
        title="小区门口路灯不亮",
        body="和平社区3号楼门口的路灯坏了一个月",
        location="和平社区3号楼",
        idempotency_key="k1",
        actor=resident,
    )
    assert (message.state, message.category, message.unit) == (
        MessageState.DISPATCHED,
        "市政设施",
        dispatch_table.department,
    )
    assert abs((message.due_at - message.created_at) - timedelta(days=7)) < timedelta(seconds=5)
    again = message_actions.do_leave_message(
        kind="complaint",
        title="小区门口路灯不亮",
        body="和平社区3号楼门口的路灯坏了一个月",
        idempotency_key="k1",
        actor=resident,
    )
    assert again.pk == message.pk
    assert Message.objects.count() == 1
    message_actions.do_accept_message(message, actor=department_admin)
    message_actions.do_reply_message(message, reply="已维修", actor=department_admin)
    message = message_actions.do_callback_message(message, note="居民确认已亮", actor=street_admin)
    assert message.state == MessageState.CLOSED
    assert message.on_time is True
    message_actions.do_rate_message(message, level=5, actor=resident)
    assert [e.action for e in message.events.all()] == [
        "receive",
        "dispatch",
        "accept",
        "reply",
        "callback",
        "rate",
    ]


def test_disputed_dispatch_goes_back_and_is_re_dispatched(
    dispatch_table, resident, department_admin, street_admin
):
    message = message_actions.do_leave_message(
        kind="help", title="井盖松动有危险", body="和平路口井盖松动，晚上有人差点摔倒", actor=resident
    )
    message_actions.do_dispute_message(message, reason="井盖属于自来水公司", actor=department_admin)
    message.refresh_from_db()
    assert message.state == MessageState.DISPUTED
    import pytest

    from dangqun.core.errors import RuleViolation

    with pytest.raises(RuleViolation):
        message_actions.do_dispatch_message(
            message, unit=dispatch_table.department, urgency="emergency", category="市政", actor=street_admin
        )
    message = message_actions.do_dispatch_message(
        message, unit=dispatch_table.community, urgency="emergency", category="市政设施", actor=street_admin
    )
    assert message.state == MessageState.DISPATCHED
    assert (message.due_at - timezone_now()).total_seconds() <= 2 * 3600


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_enterprise_complaints_need_a_valid_credit_code(dispatch_table, resident):
    import pytest

    from dangqun.core.errors import RuleViolation

    with pytest.raises(RuleViolation) as err:
        message_actions.do_leave_message(
            kind="unpaid",
            title="工程款拖欠两年",
            body="某单位拖欠我公司工程款80万元至今未付",
            credit_code="11330106MB0000001X",
            enterprise_name="某建筑公司",
            actor=resident,
        )
    assert "credit_code" in {v.field for v in err.value.violations}
    message = message_actions.do_leave_message(
        kind="unpaid",
        title="工程款拖欠两年",
        body="某单位拖欠我公司工程款80万元至今未付",
        credit_code="11330106MB0000001G",
        enterprise_name="某建筑公司",
        actor=resident,
    )
    assert message.category == "拖欠企业账款"


def test_a_bad_attachment_leaves_nothing_behind(client, dispatch_table, resident):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(resident)
    response = client.post(
        reverse("feedback:messages"),
        {
            "kind": "suggest",
            "title": "建议增设长椅",
            "body": "社区广场老人多，建议增设几张长椅",
            "files": [SimpleUploadedFile("a.pdf", b"not a pdf at all")],
        },
    )
    assert response.status_code == 422
    assert "只接受" in response.content.decode()
    assert not Message.objects.exists()


def test_duplicates_are_suggested_and_merged(dispatch_table, resident, other_resident, street_admin):
    a = message_actions.do_leave_message(
        kind="complaint", title="和平路路灯不亮", body="和平路路灯不亮好几天了晚上很黑", actor=resident
    )
    b = message_actions.do_leave_message(
        kind="complaint", title="和平路路灯坏了", body="和平路路灯不亮晚上很黑很危险", actor=other_resident
    )
    assert a in [m for m, _score in message_actions.duplicate_candidates(b)]
    b = message_actions.do_merge_message(b, into=a, actor=street_admin)
    assert (b.state, b.duplicate_of) == (MessageState.MERGED, a)


def test_fix_rows_are_never_deleted(case, applicant):
    from dangqun.feedback import actions

    actions.do_rate_case(case, level=1, reasons=["slow"], actor=applicant, on=ENDED)
    assert Fix.objects.count() == 1
    assert date(2026, 11, 23) == Fix.objects.get().due


def test_query_counts_are_pinned(
    client, recent_case, applicant, department_admin, django_assert_max_num_queries
):
    from dangqun.feedback import actions

    fix = actions.do_rate_case(recent_case, level=1, reasons=["slow"], actor=applicant).fix
    client.force_login(department_admin)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("feedback:index")).status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(reverse("feedback:fix", args=[fix.pk])).status_code == 200
    client.force_login(applicant)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("feedback:rating", args=[fix.rating_id])).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(f"/api/v1/feedback/ratings/{fix.rating_id}").status_code == 200


def test_staff_enter_a_hotline_rating_against_the_case_number(
    client, recent_case, department_admin, applicant
):
    client.force_login(department_admin)
    url = reverse("feedback:hotline")
    unknown = client.post(url, {"number": "NOPE", "level": "4"})
    assert unknown.status_code == 422
    assert "没有这个办件编号" in unknown.content.decode()
    client.post(
        url, {"number": recent_case.number, "level": "2", "reasons": ["slow"], "comment": "来电反映等太久"}
    )
    rating = Rating.objects.get()
    assert (rating.channel, rating.rater, rating.entered_by) == ("hotline", applicant, department_admin)
    assert rating.fix.unit == recent_case.department
