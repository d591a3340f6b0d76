"""个人信息保护法 第十四条、第十五条: the consent register. 免提交 (using data the platform already
holds instead of an upload) needs the applicant's explicit consent, recorded once per application
and data in the same transaction and audited; the person lists and withdraws consents (page and
API, own only); after a withdrawal, further use needs a new consent, and decided cases stay."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dangqun.accounts import consents, privacy
from dangqun.accounts.models import Consent
from dangqun.core.errors import RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.onestop import actions
from dangqun.onestop.choices import State
from dangqun.onestop.models import Application, ApplicationMaterial
from tests.feedback.conftest import ENDED, case  # noqa: F401 — a decided case
from tests.onestop.conftest import *  # noqa: F403 — items, applicant, calendar

PURPOSE = "办理《社会保障卡申领》：使用平台已有的居民身份证信息代替上传"


@pytest.fixture
def draft(simple_item, applicant, calendar_2027):
    return actions.do_start_application(simple_item, actor=applicant)


def use_shared(app, *, consent=True, actor=None):
    material = app.item.materials.get()
    return actions.do_use_shared_material(app, material, actor=actor or app.applicant, consent=consent)


def withdraw_url(consent):
    return reverse("accounts:consent_withdraw", args=[consent.pk])


# --- consent is explicit, recorded with the use, once ----------------------------------------------


def test_shared_data_without_consent_is_refused_and_nothing_is_recorded(draft):
    with pytest.raises(RuleViolation) as err:
        use_shared(draft, consent=False)
    assert err.value.code == "consent_required"
    assert "请勾选" in err.value.message
    assert "居民身份证信息" in err.value.message
    assert not ApplicationMaterial.objects.filter(application=draft).exists()
    assert not Consent.objects.exists()


def test_consent_is_recorded_with_purpose_recipient_basis_and_audited(draft, applicant, tree):
    row = use_shared(draft)
    assert row.from_shared
    consent = Consent.objects.get()
    assert consent.person == applicant
    assert consent.purpose == PURPOSE
    assert (consent.data, consent.data_name) == ("id_card", "居民身份证信息")
    assert (consent.recipient, consent.recipient_name) == (tree.department, "社会保障科")
    assert "个人信息保护法 第十三条第一款第一项、第十四条" in consent.legal_basis
    assert (consent.source_type, consent.source_id) == ("onestop.application", draft.pk)
    assert consent.withdrawn_at is None
    assert consent.state == "active"
    granted = AuditEvent.objects.get(action="accounts.consent.grant")
    assert (granted.object_type, granted.object_id) == ("accounts.consent", str(consent.pk))
    used = AuditEvent.objects.get(action="onestop.material.shared")
    assert used.payload["consent"] == consent.pk


def test_the_consent_is_written_in_the_same_transaction_as_the_use(draft, monkeypatch):
    def failing_audit(actor, action, *args, **kwargs):
        if action == "onestop.material.shared":
            raise RuntimeError("boom")
        return real_audit(actor, action, *args, **kwargs)

    real_audit = actions.audit
    monkeypatch.setattr(actions, "audit", failing_audit)
    with pytest.raises(RuntimeError):
        use_shared(draft)
    assert not Consent.objects.exists()  # rolled back with the shared material
    assert not ApplicationMaterial.objects.filter(application=draft).exists()


def test_using_the_shared_data_twice_records_one_consent(draft, simple_item, applicant):
    use_shared(draft)
    use_shared(draft)
    material = simple_item.materials.get()
    actions.do_remove_material(draft, material, actor=applicant)
    use_shared(draft)
    assert Consent.objects.count() == 1
    assert AuditEvent.objects.filter(action="accounts.consent.grant").count() == 1
    submitted = actions.do_submit_application(draft, actor=applicant).application
    assert Consent.objects.get().reference == submitted.number  # named once it has a number


# --- withdrawal ---------------------------------------------------------------------------------------


def test_a_withdrawn_consent_stops_further_use_until_consent_is_given_again(draft, applicant, simple_item):
    use_shared(draft)
    first = Consent.objects.get()
    consents.do_withdraw_consent(first, actor=applicant)
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert first.state == "withdrawn"
    assert AuditEvent.objects.filter(action="accounts.consent.withdraw", object_id=str(first.pk)).exists()
    # The draft still holds the shared material, but it may not be used without consent.
    with pytest.raises(RuleViolation) as err:
        actions.do_submit_application(draft, actor=applicant)
    assert err.value.code == "consent_missing"
    assert err.value.violations[0].field == f"material-{simple_item.materials.get().pk}"
    draft.refresh_from_db()
    assert draft.state == State.DRAFT
    # Consenting again makes a new record; the withdrawn one stays as it was.
    use_shared(draft)
    assert Consent.objects.filter(withdrawn_at__isnull=True).exclude(pk=first.pk).count() == 1
    assert actions.do_submit_application(draft, actor=applicant).application.state == State.SUBMITTED


def test_a_new_application_needs_a_new_consent(draft, applicant, simple_item):
    use_shared(draft)
    consents.do_withdraw_consent(Consent.objects.get(), actor=applicant)
    again = actions.do_start_application(simple_item, actor=applicant)
    with pytest.raises(RuleViolation) as err:
        use_shared(again, consent=False)
    assert err.value.code == "consent_required"
    use_shared(again)
    fresh = Consent.objects.get(withdrawn_at__isnull=True)
    assert fresh.source_id == again.pk


def test_withdrawing_does_not_undo_a_decided_case(case, applicant):  # noqa: F811
    consent = Consent.objects.get(person=applicant)
    assert consent.reference == case.number
    consents.do_withdraw_consent(consent, actor=applicant)
    consents.do_withdraw_consent(consent, actor=applicant)  # again: nothing changes
    assert AuditEvent.objects.filter(action="accounts.consent.withdraw").count() == 1
    kept = Application.objects.get(pk=case.pk)
    assert (kept.state, kept.outcome) == (case.state, case.outcome)
    assert ApplicationMaterial.objects.get(application=case).from_shared


# --- pages -----------------------------------------------------------------------------------------


def test_the_application_page_asks_for_consent_in_a_plain_sentence(client, draft, applicant):
    client.force_login(applicant)
    material = draft.item.materials.get()
    page = client.get(reverse("onestop:application", args=[draft.pk])).content.decode()
    assert (
        "我同意本次办理使用平台已有的居民身份证信息代替上传，用途：办理《社会保障卡申领》，提供给社会保障科。"
    ) in page
    url = reverse("onestop:material", args=[draft.pk, material.pk])
    refused = client.post(url, {"op": "shared"})
    assert refused.status_code == 422
    assert "须经您同意" in refused.content.decode()
    assert not Consent.objects.exists()
    assert client.post(url, {"op": "shared", "consent": "1"}).status_code == 302
    assert Consent.objects.filter(person=applicant, source_id=draft.pk).count() == 1
    # Withdrawn: the page says so and offers the consent again.
    consents.do_withdraw_consent(Consent.objects.get(), actor=applicant)
    page = client.get(reverse("onestop:application", args=[draft.pk])).content.decode()
    assert "您已撤回（或尚未给出）使用这项数据的同意" in page
    assert f'id="consent-{material.pk}"' in page


def test_the_privacy_page_lists_consents_and_withdraws_one(client, draft, applicant, other_resident):
    use_shared(draft)
    consent = Consent.objects.get()
    client.force_login(applicant)
    page = client.get(reverse("accounts:my_data")).content.decode()
    for text in (
        PURPOSE,
        "社会保障科",
        "居民身份证信息",
        "个人信息保护法 第十三条",
        "有效",
        withdraw_url(consent),
    ):
        assert text in page, text
    assert client.get(withdraw_url(consent)).status_code == 405  # a POST, with the CSRF token
    client.force_login(other_resident)
    assert client.post(withdraw_url(consent)).status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    client.force_login(applicant)
    done = client.post(withdraw_url(consent), follow=True)
    assert done.status_code == 200
    text = done.content.decode()
    assert "已撤回同意" in text
    assert "已撤回" in text
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert AuditEvent.objects.filter(action="accounts.consent.withdraw", actor=applicant).exists()


def test_the_withdraw_form_needs_the_csrf_token(draft, applicant):
    from django.test import Client

    use_shared(draft)
    consent = Consent.objects.get()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(applicant)
    assert strict.post(withdraw_url(consent)).status_code == 403
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


# --- API -------------------------------------------------------------------------------------------


def test_the_one_call_api_refuses_shared_data_without_consent(client, applicant, simple_item, calendar_2027):
    client.force_login(applicant)
    url = f"/api/v1/services/{simple_item.code}/applications"
    body = {"form": {"applicant_name": "陈居民"}}
    refused = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert refused.status_code == 422
    assert refused.json()["code"] == "consent_required"
    assert "consent" in refused.json()["message"]
    assert not Application.objects.exists()
    assert not Consent.objects.exists()
    body["consent"] = True
    made = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-2")
    assert made.status_code == 201
    again = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c-2")
    assert again.json()["replayed"] is True
    consent = Consent.objects.get()  # one, the replay made none
    assert consent.reference == made.json()["number"]
    assert consent.source_id == made.json()["id"]


def test_the_api_lists_and_withdraws_only_ones_own_consents(
    client, draft, applicant, other_resident, django_assert_max_num_queries
):
    use_shared(draft)
    consent = Consent.objects.get()
    client.force_login(other_resident)
    assert client.get("/api/v1/me/consents").json() == {"count": 0, "items": []}
    assert client.post(f"/api/v1/me/consents/{consent.pk}/withdraw").status_code == 404
    assert client.post("/api/v1/me/consents/999999/withdraw").status_code == 404
    client.force_login(applicant)
    with django_assert_max_num_queries(3):  # session, user, consents
        listed = client.get("/api/v1/me/consents").json()
    assert listed["count"] == 1
    item = listed["items"][0]
    assert (item["id"], item["purpose"], item["recipient"], item["state"]) == (
        consent.pk,
        PURPOSE,
        "社会保障科",
        "active",
    )
    assert item["data"] == "id_card"
    assert item["legal_basis"].startswith("个人信息保护法")
    done = client.post(f"/api/v1/me/consents/{consent.pk}/withdraw")
    assert done.status_code == 200
    assert done.json()["state"] == "withdrawn"
    assert done.json()["withdrawn_at"]
    assert client.post(f"/api/v1/me/consents/{consent.pk}/withdraw").status_code == 200  # idempotent
    assert AuditEvent.objects.filter(action="accounts.consent.withdraw").count() == 1


# --- personal information rights --------------------------------------------------------------------


def test_consents_are_in_the_data_copy_and_kept_withdrawn_on_erasure(client, draft, applicant, street_admin):
    use_shared(draft)
    client.force_login(applicant)
    data = json.loads(client.get("/accounts/my-data/download/").content)
    assert data["records"]["accounts.consent.person"][0]["purpose"] == PURPOSE
    req = privacy.do_request_deletion(applicant, actor=applicant)
    req = privacy.do_erase(req, actor=street_admin)
    kept = Consent.objects.get()
    assert kept.withdrawn_at is not None  # processing stops
    assert "个人信息保护法 第十四条" in req.retained["accounts.consent.person"]["basis"]
