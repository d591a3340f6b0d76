"""The whole path: a resident applies through the pages, the window accepts, a one-time notice,
the resident corrects, the department reviews and approves, the result is delivered."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent, Notification
from dangqun.core.workcalendar import add_working_days
from dangqun.onestop import actions
from dangqun.onestop.choices import Outcome, State, StopReason, TaskState
from dangqun.onestop.models import Application, ClockStop, Event

from .conftest import JPEG, pdf_bytes, save_item

D = date(2026, 9, 28)  # a Monday; the National Day week follows


def upload(client, app, material, data, name="a.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("onestop:material", args=[app.pk, material.pk]),
        {"op": "upload", "file": SimpleUploadedFile(name, data)},
    )


def materials_by_name(item):
    return {m.name: m for m in item.materials.all()}


def test_a_resident_applies_through_the_pages(client, applicant, item, calendar_2027):
    client.force_login(applicant)
    guide = client.get(reverse("onestop:guide", args=[item.code]))
    assert guide.status_code == 200
    assert "在线申请" in guide.content.decode()
    response = client.post(reverse("onestop:apply", args=[item.code]))
    app = Application.objects.get(applicant=applicant)
    assert response.url == reverse("onestop:application", args=[app.pk])
    assert app.form_data["id_number"] == applicant.id_number  # pre-filled from the profile

    page = client.get(response.url).content.decode()
    assert 'hx-post="{}"'.format(reverse("onestop:save", args=[app.pk])) in page
    # htmx autosave answers a status line; the plain button redirects back.
    saved = client.post(
        reverse("onestop:save", args=[app.pk]),
        {"f-applicant_name": "陈居民", "f-amount": "12"},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200
    assert "已自动保存" in saved.content.decode()
    app.refresh_from_db()
    assert app.form_data["amount"] == "12"

    m = materials_by_name(item)
    assert (
        client.post(
            reverse("onestop:material", args=[app.pk, m["居民身份证"].pk]), {"op": "shared", "consent": "1"}
        ).status_code
        == 302
    )
    assert upload(client, app, m["近期免冠照片"], JPEG, "photo.jpg").status_code == 302
    assert upload(client, app, m["申请书"], pdf_bytes(2)).status_code == 302

    # 收入证明 may be missing (容缺) only with the signed undertaking
    refused = client.post(reverse("onestop:submit", args=[app.pk]), {"token": app.token})
    assert refused.status_code == 422
    assert "补齐承诺" in refused.content.decode()
    done = client.post(
        reverse("onestop:submit", args=[app.pk]),
        {"token": app.token, "undertaking_signed": "1", "undertaking": "本人承诺补齐"},
        follow=True,
    )
    app.refresh_from_db()
    assert app.state == State.SUBMITTED
    text = done.content.decode()
    assert app.number in text
    assert app.check_code in text
    assert app.number.startswith(item.implementation_code + app.received_on.strftime("%Y%m%d"))
    assert re.fullmatch(r"\d{4}", app.number[-4:])
    assert app.promised_due == add_working_days(app.received_on, 10)
    # a second click on the same form changes nothing
    again = client.post(reverse("onestop:submit", args=[app.pk]), {"token": app.token}, follow=True)
    assert "未重复提交" in again.content.decode()
    assert Application.objects.filter(applicant=applicant).count() == 1


def submitted(app_item, applicant, on=D, **kw):
    app = actions.do_start_application(app_item, actor=applicant, on=on)
    m = materials_by_name(app_item)
    actions.do_use_shared_material(app, m["居民身份证"], actor=applicant, consent=True)
    actions.do_upload_material(app, m["近期免冠照片"], data=JPEG, filename="p.jpg", actor=applicant)
    actions.do_upload_material(app, m["申请书"], data=pdf_bytes(1), filename="a.pdf", actor=applicant)
    if kw.get("income", True):
        actions.do_upload_material(app, m["收入证明"], data=pdf_bytes(1), filename="i.pdf", actor=applicant)
    return actions.do_submit_application(
        app, actor=applicant, on=on, undertaking=kw.get("undertaking", "")
    ).application


def test_the_lifecycle_with_a_notice_a_correction_and_an_approval(
    client, applicant, item, window_staff, department_admin, django_capture_on_commit_callbacks
):
    app = submitted(item, applicant)
    assert app.promised_due == date(2026, 10, 16)
    m = materials_by_name(item)
    # The window finds the photo unusable within 5 working days: one notice, the clock stops.
    notice_day = date(2026, 10, 9)  # 4th working day after receipt
    with pytest.raises(RuleViolation) as err:
        actions.do_issue_notice(app, [], actor=window_staff, on=notice_day)
    assert err.value.code == "notice_empty"
    notice = actions.do_issue_notice(
        app,
        [{"material_id": m["近期免冠照片"].pk, "problem": "背景不是白色"}],
        actor=window_staff,
        on=notice_day,
    )
    app.refresh_from_db()
    assert (app.state, app.stopped_since, notice.late) == (State.CORRECTING, notice_day, False)
    with pytest.raises(RuleViolation) as err:
        actions.do_issue_notice(app, [{"material_id": m["申请书"].pk, "problem": "再补"}], actor=window_staff)
    assert err.value.code == "notice_state"

    # The resident cannot "correct" without replacing the noticed material, then does.
    with pytest.raises(RuleViolation) as err:
        actions.do_correct(app, actor=applicant, on=date(2026, 10, 14))
    assert err.value.code == "correction_incomplete"
    with pytest.raises(RuleViolation):  # materials not on the notice stay locked
        actions.do_upload_material(app, m["申请书"], data=pdf_bytes(1), filename="b.pdf", actor=applicant)
    actions.do_upload_material(app, m["近期免冠照片"], data=JPEG, filename="new.jpg", actor=applicant)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_correct(app, actor=applicant, on=date(2026, 10, 14))
    app.refresh_from_db()
    # stopped 10-10 (Sat, make-up workday), 10-12, 10-13, 10-14 → 4 working days not counted
    assert (app.state, app.stopped_days) == (State.SUBMITTED, 4)
    assert app.promised_due == add_working_days(D, 14) == date(2026, 10, 22)
    assert ClockStop.objects.get(application=app).working_days == 4

    # The window accepts; the window cannot review or decide: only the department does.
    actions.do_accept(app, actor=window_staff, on=date(2026, 10, 15))
    app.refresh_from_db()
    assert app.state == State.ACCEPTED
    tasks = list(app.tasks.order_by("stage"))
    assert [t.name for t in tasks] == ["审核"]
    with pytest.raises(PermissionDenied):
        actions.do_review_task(tasks[0], passed=True, opinion="", actor=window_staff)
    with pytest.raises(PermissionDenied):
        actions.do_decide(app, Outcome.APPROVED, actor=window_staff)
    with pytest.raises(RuleViolation) as err:
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    assert err.value.code == "review_pending"
    actions.do_review_task(tasks[0], passed=True, opinion="材料齐全", actor=department_admin)
    approve = app.tasks.get(state=TaskState.PENDING)
    assert approve.name == "批准"
    actions.do_review_task(approve, passed=True, opinion="同意", actor=department_admin)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin, on=date(2026, 10, 20))
    app.refresh_from_db()
    assert app.delivery_due == add_working_days(date(2026, 10, 20), 10)
    actions.do_deliver(app, actor=window_staff, on=date(2026, 10, 21))
    app.refresh_from_db()
    assert app.state == State.COMPLETED

    steps = list(Event.objects.filter(application=app).values_list("action", "from_state", "to_state"))
    assert [s[0] for s in steps] == [
        "create",
        "submit",
        "notice",
        "correct",
        "accept",
        "review",
        "review",
        "decide",
        "deliver",
    ]
    assert steps[2][1:] == (State.SUBMITTED, State.CORRECTING)
    audited = set(AuditEvent.objects.filter(object_id=str(app.pk)).values_list("action", flat=True))
    assert {
        "onestop.application.submit",
        "onestop.application.notice",
        "onestop.application.decide",
    } <= audited
    # announced to the applicant in-app and by e-mail, once per event
    keys = set(Notification.objects.filter(recipient=applicant).values_list("key", flat=True))
    assert len(keys) == 2
    assert len(mail.outbox) == 2
    assert "准予" in mail.outbox[-1].body


def test_a_late_notice_counts_the_application_as_accepted_from_receipt(applicant, item, window_staff):
    app = submitted(item, applicant)
    late = add_working_days(D, 6)
    notice = actions.do_issue_notice(
        app, [{"material_id": None, "problem": "表单中的金额与证明不一致"}], actor=window_staff, on=late
    )
    app.refresh_from_db()
    assert notice.late
    assert app.deemed_accepted
    assert app.accepted_on == D
    assert app.stopped_since is None  # the office's delay does not stop the clock
    assert app.promised_due == date(2026, 10, 16)
    actions.do_save_draft(app, {"amount": "15"}, actor=applicant)
    actions.do_correct(app, actor=applicant, on=late)
    app.refresh_from_db()
    assert app.state == State.REVIEWING  # already (deemed) accepted: straight back to review


def test_a_notice_must_list_every_missing_material(applicant, item, window_staff):
    app = submitted(item, applicant, income=False, undertaking="承诺补齐")
    m = materials_by_name(item)
    with pytest.raises(RuleViolation):
        actions.do_issue_notice(
            app, [{"material_id": m["申请书"].pk, "problem": "未签字"}], actor=window_staff
        )
    # 收入证明 is 容缺: accepting with an undertaking needs a deadline within the promise
    with pytest.raises(RuleViolation) as err:
        actions.do_accept(app, actor=window_staff, deficiency_due=date(2026, 10, 19), on=D)
    assert err.value.code == "deficiency_due_too_late"
    actions.do_accept(app, actor=window_staff, deficiency_due=date(2026, 10, 16), on=D)
    app.refresh_from_db()
    assert app.deficiency_due == date(2026, 10, 16)
    actions.do_upload_material(app, m["收入证明"], data=pdf_bytes(1), filename="i.pdf", actor=applicant)
    app.refresh_from_db()
    assert app.deficiency_due is None


def test_clock_stops_and_extensions_move_the_deadline_and_are_shown(
    applicant, item, window_staff, department_admin, client
):
    app = submitted(item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    with pytest.raises(PermissionDenied):
        actions.do_stop_clock(app, StopReason.EXPERT, actor=window_staff, on=date(2026, 10, 8))
    actions.do_stop_clock(
        app, StopReason.EXPERT, actor=department_admin, note="专家论证", on=date(2026, 10, 8)
    )
    with pytest.raises(RuleViolation):
        actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="x")
    actions.do_resume_clock(app, actor=department_admin, on=date(2026, 10, 13))
    app.refresh_from_db()
    # after the stop day up to the resume day: 10-9, 10-10 (make-up Saturday), 10-12, 10-13
    assert app.stopped_days == 4
    with pytest.raises(RuleViolation) as err:
        actions.do_extend(app, 11, "需要补充鉴定", actor=department_admin)
    assert err.value.code == "extension_too_long"
    actions.do_extend(app, 10, "需要补充鉴定", actor=department_admin, on=date(2026, 10, 13))
    app.refresh_from_db()
    assert app.decision_due == add_working_days(D, 20 + app.stopped_days + 10)
    client.force_login(department_admin)
    page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
    assert "专家评审" in page
    assert "需要补充鉴定" in page


def test_a_denial_needs_reasons_and_a_refusal_too(applicant, item, window_staff, department_admin):
    app = submitted(item, applicant)
    with pytest.raises(RuleViolation):
        actions.do_refuse(app, actor=window_staff, reasons=" ")
    actions.do_accept(app, actor=window_staff, on=D)
    with pytest.raises(RuleViolation):
        actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="")
    actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="不符合参保条件", on=D)
    app.refresh_from_db()
    assert (app.state, app.outcome) == (State.DECIDED, Outcome.DENIED)


def test_parallel_department_reviews_and_conditional_stages(
    tree, street_admin, applicant, window_staff, department_admin
):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    from .conftest import make_user

    other = do_create_organization(
        name="残疾人联合会", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=street_admin
    )
    other_admin = make_user("cl_admin", "department_admin", other)
    process = {
        "stages": [
            {
                "name": "联合审核",
                "tasks": [
                    {"key": "a", "name": "民政审核", "org": "department"},
                    {"key": "b", "name": "残联核实", "org": other.pk},
                ],
            },
            {
                "name": "领导审批",
                "when": "amount > 3000",
                "tasks": [{"key": "lead", "name": "领导审批", "org": "department"}],
            },
            {"name": "批准", "tasks": [{"key": "ok", "name": "批准", "org": "department"}]},
        ]
    }
    joint = save_item(
        tree,
        street_admin,
        code="200010003000",
        name="两项补贴",
        process=process,
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    app = actions.do_start_application(joint, actor=applicant, on=D)
    actions.do_save_draft(app, {"applicant_name": "陈居民", "amount": "500"}, actor=applicant)
    actions.do_use_shared_material(app, joint.materials.get(), actor=applicant, consent=True)
    app = actions.do_submit_application(app, actor=applicant, on=D).application
    actions.do_accept(app, actor=window_staff, on=D)
    a, b = app.tasks.order_by("key")
    with pytest.raises(PermissionDenied):
        actions.do_review_task(b, passed=True, opinion="", actor=department_admin)
    actions.do_review_task(a, passed=True, opinion="", actor=department_admin)
    assert not app.tasks.filter(stage__gt=0).exists()  # waits for the parallel task
    actions.do_review_task(b, passed=True, opinion="", actor=other_admin)
    # amount 500: the leader's stage does not apply
    assert list(app.tasks.filter(state=TaskState.PENDING).values_list("name", flat=True)) == ["批准"]


def test_a_failed_review_allows_only_a_denial(applicant, item, window_staff, department_admin):
    app = submitted(item, applicant)
    actions.do_accept(app, actor=window_staff, on=D)
    task = app.tasks.get()
    with pytest.raises(RuleViolation):
        actions.do_review_task(task, passed=False, opinion="", actor=department_admin)
    actions.do_review_task(task, passed=False, opinion="材料与事实不符", actor=department_admin)
    with pytest.raises(RuleViolation):
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin)
    actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="材料与事实不符")


def test_the_api_flow_with_staff_actions(
    client, applicant, simple_item, window_staff, department_admin, calendar_2027
):
    client.force_login(applicant)
    url = f"/api/v1/services/{simple_item.code}/applications"
    r = client.post(
        url,
        {"form": {"applicant_name": "陈居民"}, "consent": True},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"]
    assert body["check_code"]
    assert body["promised_due"]
    app_id = body["id"]
    client.force_login(window_staff)
    act = f"/api/v1/applications/{app_id}/actions"
    assert (
        client.post(act, {"action": "accept"}, content_type="application/json").json()["state"] == "accepted"
    )
    assert (
        client.post(
            act, {"action": "decide", "outcome": "approved"}, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(department_admin)
    task = Application.objects.get(pk=app_id).tasks.get()
    r = client.post(
        act, {"action": "review", "task_id": task.pk, "passed": True}, content_type="application/json"
    )
    assert r.status_code == 200
    task = Application.objects.get(pk=app_id).tasks.get(state=TaskState.PENDING)
    client.post(
        act, {"action": "review", "task_id": task.pk, "passed": True}, content_type="application/json"
    )
    r = client.post(act, {"action": "decide", "outcome": "approved"}, content_type="application/json")
    assert r.json()["state"] == "decided"
    r = client.post(act, {"action": "deliver"}, content_type="application/json")
    assert r.json()["state"] == "completed"
    assert r.json()["check_code"] is None  # staff do not get the applicant's check code


def test_uploaded_files_are_stored_under_media(applicant, item):
    app = actions.do_start_application(item, actor=applicant)
    m = materials_by_name(item)
    row = actions.do_upload_material(app, m["申请书"], data=pdf_bytes(1), filename="a.pdf", actor=applicant)
    assert (Path(settings.MEDIA_ROOT) / row.file.name).read_bytes()[:5] == b"%PDF-"
