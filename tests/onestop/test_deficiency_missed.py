"""容缺受理 (onestop.md §2): the deadline for the minor materials runs from the day of acceptance to the
promised date; the acceptance states what happens if it is missed; once it has passed with the
materials still missing the application is flagged once, the applicant is told, and staff decide
(the decision form offers the stated outcome) — nothing is decided automatically."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dangqun.core.errors import RuleViolation
from dangqun.core.models import Notification
from dangqun.core.rulesets import ruleset_for
from dangqun.onestop import actions, rules, tasks
from dangqun.onestop.choices import Outcome, State
from dangqun.onestop.models import Application

from .conftest import JPEG, pdf_bytes

D = date(2026, 9, 28)  # a Monday: received; the National Day week follows
ACCEPTED_ON = date(2026, 9, 30)  # two working days later
PROMISED = date(2026, 10, 16)  # a Friday: 10 working days after D
DEFAULT_TEXT = "逾期未补齐容缺材料的，作出不予许可决定。"


def materials(item):
    return {m.name: m for m in item.materials.all()}


def submitted_without_income(item, applicant, on=D):
    """Everything but the 容缺 material (收入证明), with the signed undertaking."""
    app = actions.do_start_application(item, actor=applicant, on=on)
    m = materials(item)
    actions.do_use_shared_material(app, m["居民身份证"], actor=applicant, consent=True)
    actions.do_upload_material(app, m["近期免冠照片"], data=JPEG, filename="p.jpg", actor=applicant)
    actions.do_upload_material(app, m["申请书"], data=pdf_bytes(1), filename="a.pdf", actor=applicant)
    return actions.do_submit_application(app, actor=applicant, on=on, undertaking="承诺补齐").application


def accepted(item, applicant, window_staff, *, due=PROMISED, **kw) -> Application:
    app = submitted_without_income(item, applicant)
    return actions.do_accept(app, actor=window_staff, deficiency_due=due, on=ACCEPTED_ON, **kw)


def missed_events(app):
    return app.events.filter(action="deficiency_missed")


# --------------------------------------------------------------------------- the deadline


def test_the_deadline_is_counted_from_the_day_of_acceptance_not_of_receipt():
    assert rules.check_deficiency_due(ACCEPTED_ON, ACCEPTED_ON, PROMISED) is None
    past = rules.check_deficiency_due(ACCEPTED_ON - timedelta(days=1), ACCEPTED_ON, PROMISED)
    assert past.code == "deficiency_due_past"
    assert "2026-09-30" in str(past.message)


def test_a_deadline_on_the_acceptance_day_is_allowed(applicant, item, window_staff):
    app = accepted(item, applicant, window_staff, due=ACCEPTED_ON)
    assert app.state == State.ACCEPTED
    assert app.deficiency_due == ACCEPTED_ON


def test_a_deadline_the_day_before_acceptance_is_refused_though_after_receipt(applicant, item, window_staff):
    app = submitted_without_income(item, applicant)
    with pytest.raises(RuleViolation) as err:
        actions.do_accept(app, actor=window_staff, deficiency_due=date(2026, 9, 29), on=ACCEPTED_ON)
    assert err.value.code == "deficiency_due_past"
    assert err.value.violations[0].field == "deficiency_due"
    app.refresh_from_db()
    assert app.state == State.SUBMITTED
    # the cap stays at the promised date
    with pytest.raises(RuleViolation) as err:
        actions.do_accept(
            app, actor=window_staff, deficiency_due=PROMISED + timedelta(days=1), on=ACCEPTED_ON
        )
    assert err.value.code == "deficiency_due_too_late"


# --------------------------------------------------------------------------- the stated outcome


def test_the_acceptance_records_the_consequence_from_the_rule_set(applicant, item, window_staff):
    stated = rules.deficiency_missed_outcome(ruleset_for(None, ACCEPTED_ON, prefix="onestop."))
    assert stated == rules.DeficiencyOutcome(Outcome.DENIED, DEFAULT_TEXT)
    app = accepted(item, applicant, window_staff)
    assert (app.deficiency_outcome, app.deficiency_consequence) == (Outcome.DENIED, DEFAULT_TEXT)
    event = app.events.get(action="accept")
    assert event.data["consequence"] == DEFAULT_TEXT
    assert event.data["deficient"] == ["收入证明"]
    _title, body = tasks.message_for(app, event)
    assert "2026-10-16" in body
    assert "收入证明" in body
    assert DEFAULT_TEXT in body


def test_staff_may_state_the_consequence_in_their_own_words(applicant, item, window_staff):
    app = accepted(item, applicant, window_staff, deficiency_consequence="  逾期未补齐的，本申请不予许可。 ")
    assert app.deficiency_consequence == "逾期未补齐的，本申请不予许可。"
    assert app.deficiency_outcome == Outcome.DENIED


def test_an_acceptance_with_every_material_states_no_consequence(applicant, item, window_staff):
    app = actions.do_start_application(item, actor=applicant, on=D)
    m = materials(item)
    actions.do_use_shared_material(app, m["居民身份证"], actor=applicant, consent=True)
    for name, data in (("近期免冠照片", JPEG), ("申请书", pdf_bytes(1)), ("收入证明", pdf_bytes(1))):
        actions.do_upload_material(app, m[name], data=data, filename="f", actor=applicant)
    app = actions.do_submit_application(app, actor=applicant, on=D).application
    app = actions.do_accept(app, actor=window_staff, deficiency_consequence="不应记录", on=ACCEPTED_ON)
    assert (app.deficiency_due, app.deficiency_outcome, app.deficiency_consequence) == (None, "", "")


# --------------------------------------------------------------------------- the job


def test_the_job_flags_the_day_after_the_deadline_not_on_it(
    applicant, item, window_staff, django_capture_on_commit_callbacks
):
    app = accepted(item, applicant, window_staff)  # due Friday 2026-10-16
    assert actions.flag_missed_deficiencies(today=PROMISED) == 0
    assert not missed_events(app).exists()
    # the next calendar day is a Saturday: the deadline is a date, passed is passed
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.flag_missed_deficiencies(today=date(2026, 10, 17)) == 1
    app.refresh_from_db()
    assert app.deficiency_missed_on == date(2026, 10, 17)
    assert app.deficiency_overdue
    event = missed_events(app).get()
    assert event.note == DEFAULT_TEXT
    assert event.data["missing"] == ["收入证明"]
    assert event.public
    # the applicant is told once, after commit
    note = Notification.objects.get(recipient=applicant, key=f"onestop:{app.pk}:{event.pk}")
    assert DEFAULT_TEXT in note.body
    assert "收入证明" in note.body
    event.refresh_from_db()
    assert not event.pending_announce
    # nothing is decided by the platform
    assert app.state == State.ACCEPTED
    assert app.outcome == ""
    assert app.deficiency_due == PROMISED


def test_the_job_records_one_event_even_when_run_twice(
    applicant, item, window_staff, django_capture_on_commit_callbacks
):
    app = accepted(item, applicant, window_staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.flag_missed_deficiencies(today=date(2026, 10, 19)) == 1
        assert actions.flag_missed_deficiencies(today=date(2026, 10, 19)) == 0
        assert actions.flag_missed_deficiencies(today=date(2026, 10, 20)) == 0
    assert missed_events(app).count() == 1
    told = Notification.objects.filter(recipient=applicant, body__contains=DEFAULT_TEXT)
    assert [n.key for n in told if "补齐期限" in n.body] == [
        f"onestop:{app.pk}:{missed_events(app).get().pk}"
    ]
    app.refresh_from_db()
    assert app.deficiency_missed_on == date(2026, 10, 19)  # the first run's day


def test_the_job_does_not_flag_when_the_materials_were_supplied(applicant, item, window_staff):
    app = accepted(item, applicant, window_staff)
    actions.do_upload_material(
        app, materials(item)["收入证明"], data=pdf_bytes(1), filename="i.pdf", actor=applicant
    )
    assert actions.flag_missed_deficiencies(today=date(2026, 10, 19)) == 0
    app.refresh_from_db()
    assert app.deficiency_missed_on is None
    assert not app.deficiency_overdue
    assert not missed_events(app).exists()


def test_the_job_leaves_decided_applications_alone(applicant, item, window_staff, department_admin):
    app = accepted(item, applicant, window_staff)
    actions.do_decide(app, Outcome.DENIED, actor=department_admin, reasons="不符合条件", on=PROMISED)
    assert actions.flag_missed_deficiencies(today=date(2026, 10, 19)) == 0


def test_the_hourly_job_runs_the_same_scan(applicant, item, window_staff):
    app = accepted(item, applicant, window_staff)
    assert timezone.localdate() > PROMISED  # the suite runs after the example deadline
    assert tasks.flag_missed_deficiencies.call_local() == 1
    assert tasks.flag_missed_deficiencies.call_local() == 0
    assert missed_events(app).count() == 1


# --------------------------------------------------------------------------- staff decide


def test_a_missed_deadline_blocks_approval_and_the_form_offers_the_stated_refusal(
    client, applicant, item, window_staff, department_admin
):
    app = accepted(item, applicant, window_staff)
    actions.flag_missed_deficiencies(today=date(2026, 10, 19))
    while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
        actions.do_review_task(task, passed=True, opinion="同意", actor=department_admin)
    with pytest.raises(RuleViolation) as err:
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin, on=date(2026, 10, 19))
    assert "deficiency_pending" in {v.code for v in err.value.violations}

    client.force_login(department_admin)
    page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
    assert "容缺逾期" in page
    assert 'value="denied" id="outcome-denied" checked' in page
    assert 'value="approved" id="outcome-approved" checked' not in page
    assert f'id="id_decide_reasons" rows="3">{DEFAULT_TEXT}</textarea>' in page

    actions.do_decide(
        app, Outcome.DENIED, actor=department_admin, reasons=DEFAULT_TEXT, on=date(2026, 10, 19)
    )
    app.refresh_from_db()
    assert (app.state, app.outcome, app.reasons) == (State.DECIDED, Outcome.DENIED, DEFAULT_TEXT)
    assert not app.deficiency_overdue  # decided: no longer waiting in the queue as 容缺逾期


def test_the_acceptance_form_prefills_the_consequence(client, applicant, item, window_staff):
    app = submitted_without_income(item, applicant)
    client.force_login(window_staff)
    page = client.get(reverse("onestop:application", args=[app.pk])).content.decode()
    field = 'name="deficiency_consequence" id="id_deficiency_consequence" rows="2" maxlength="500">'
    assert f"{field}{DEFAULT_TEXT}</textarea>" in page


# --------------------------------------------------------------------------- queue, API, tracking


def test_the_queue_shows_the_flag_and_filters_by_it(client, applicant, item, window_staff):
    flagged = accepted(item, applicant, window_staff)
    other = accepted(item, applicant, window_staff)
    actions.do_upload_material(
        other, materials(item)["收入证明"], data=pdf_bytes(1), filename="i.pdf", actor=applicant
    )
    actions.flag_missed_deficiencies(today=date(2026, 10, 19))
    client.force_login(window_staff)
    page = client.get(reverse("onestop:queue")).content.decode()
    assert page.count('<span class="flag deficiency">容缺逾期</span>') == 1
    assert '<option value="deficiency_missed">容缺逾期</option>' in page
    only = client.get(reverse("onestop:queue"), {"due": "deficiency_missed"}).content.decode()
    assert flagged.number in only
    assert other.number not in only

    rows = {r["number"]: r for r in client.get("/api/v1/queue").json()["items"]}
    assert rows[flagged.number]["deficiency_missed"] is True
    assert rows[other.number]["deficiency_missed"] is False
    api_only = client.get("/api/v1/queue", {"due": "deficiency_missed"}).json()["items"]
    assert [r["number"] for r in api_only] == [flagged.number]


def test_the_api_exposes_the_deadline_the_consequence_and_the_flag(client, applicant, item, window_staff):
    app = accepted(item, applicant, window_staff)
    client.force_login(applicant)
    body = client.get(f"/api/v1/applications/{app.pk}").json()
    assert body["deficiency_due"] == "2026-10-16"
    assert body["deficiency_consequence"] == DEFAULT_TEXT
    assert body["deficiency_missed"] is False
    actions.flag_missed_deficiencies(today=date(2026, 10, 19))
    assert client.get(f"/api/v1/applications/{app.pk}").json()["deficiency_missed"] is True


def test_staff_accept_through_the_api_with_their_own_words(
    client, applicant, item, window_staff, calendar_2027
):
    today = timezone.localdate()
    app = submitted_without_income(item, applicant, on=today)
    client.force_login(window_staff)
    url = f"/api/v1/applications/{app.pk}/actions"
    past = client.post(
        url,
        {"action": "accept", "deficiency_due": (today - timedelta(days=1)).isoformat()},
        content_type="application/json",
    )
    assert past.status_code == 422
    assert past.json()["code"] == "deficiency_due_past"
    done = client.post(
        url,
        {
            "action": "accept",
            "deficiency_due": today.isoformat(),
            "deficiency_consequence": "逾期不补，不予许可。",
        },
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["deficiency_consequence"] == "逾期不补，不予许可。"


def test_the_tracking_page_shows_the_consequence_and_the_missed_deadline(
    client, applicant, item, window_staff
):
    app = accepted(item, applicant, window_staff)
    params = {"number": app.number, "code": app.check_code}
    page = client.get(reverse("onestop:track"), params).content.decode()
    assert "容缺材料补齐期限" in page
    assert "2026-10-16" in page
    assert DEFAULT_TEXT in page
    assert "已逾期，材料仍未补齐" not in page
    actions.flag_missed_deficiencies(today=date(2026, 10, 19))
    page = client.get(reverse("onestop:track"), params).content.decode()
    assert "已逾期，材料仍未补齐" in page
    public = client.get(f"/api/v1/track/{app.number}", {"code": app.check_code}).json()
    assert public["deficiency_consequence"] == DEFAULT_TEXT
    assert public["deficiency_missed"] is True
