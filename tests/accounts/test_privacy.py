"""个人信息保护法: a copy of one's own data, and deletion that keeps what the law requires."""

from __future__ import annotations

import json

import pytest

from dangqun.accounts import privacy
from dangqun.accounts.models import DeletionRequest, User
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent, Notification
from dangqun.core.notifications import notify
from dangqun.feedback import actions as feedback
from dangqun.onestop.models import Application
from tests.feedback.conftest import ENDED, case  # noqa: F401
from tests.onestop.conftest import *  # noqa: F403


def test_a_person_downloads_their_data_without_secrets(client, case, applicant):  # noqa: F811
    feedback.do_rate_case(case, level=5, actor=applicant, on=ENDED)
    notify([applicant], "k", "通知")
    client.force_login(applicant)
    response = client.get("/accounts/my-data/download/")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["profile"]["id_number"] == applicant.id_number  # their own, in clear
    assert "onestop.application.applicant" in data["records"]
    assert "feedback.rating.rater" in data["records"]
    assert "core.notification.recipient" in data["records"]
    text = response.content.decode()
    assert applicant.password not in text
    assert "totp_secret" not in text
    assert "id_number_index" not in text
    assert AuditEvent.objects.filter(action="accounts.data.export").exists()


def test_the_api_gives_the_same_copy(client, applicant):
    client.force_login(applicant)
    body = client.get("/api/v1/me/data").json()
    assert body["profile"]["username"] == applicant.username


def test_deletion_keeps_what_the_law_requires_minimised_and_marked(
    case,  # noqa: F811 — the fixture imported above
    applicant,
    street_admin,
    other_resident,
):
    rating = feedback.do_rate_case(case, level=5, actor=applicant, on=ENDED)
    notify([applicant], "k", "通知")
    Application.objects.filter(pk=case.pk).update(form_data={**case.form_data, "phone": "13800138000"})
    with pytest.raises(PermissionDenied):
        privacy.do_request_deletion(applicant, actor=other_resident)
    req = privacy.do_request_deletion(applicant, reason="不再使用", actor=applicant)
    with pytest.raises(RuleViolation):
        privacy.do_request_deletion(applicant, actor=applicant)  # one pending request
    with pytest.raises(PermissionDenied):
        privacy.do_erase(req, actor=other_resident)
    req = privacy.do_erase(req, actor=street_admin)
    user = User.objects.get(pk=applicant.pk)
    assert (user.is_active, user.id_number, user.phone, user.email) == (False, "", "", "")
    assert user.username == f"erased-{user.pk}"
    assert not user.has_usable_password()
    assert not user.grants.exists()
    assert not Notification.objects.filter(recipient=user).exists()
    kept = Application.objects.get(pk=case.pk)
    assert "phone" not in kept.form_data  # minimised
    assert "onestop.application.applicant" in req.retained  # marked, with its legal basis
    assert "行政许可法" in req.retained["onestop.application.applicant"]["basis"]
    rating.refresh_from_db()
    assert rating.rater is None  # the rating stays in the statistics, without the person
    assert req.state == DeletionRequest.State.DONE
    with pytest.raises(RuleViolation):
        privacy.do_erase(req, actor=street_admin)
