"""延长预备期 (party.md §1 rule 14) through the API and the page: once, by 6–12 months, decided by
a 支部大会 and approved above; the end of probation moves by the months, every broken rule comes
back at once, and only staff whose subtree holds the member may record it."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from dangqun.core.models import AuditEvent
from dangqun.members.choices import Status
from dangqun.members.models import ProbationExtension

from .conftest import advance

pytestmark = pytest.mark.django_db


@pytest.fixture
def probationary(tree, secretary, applicant, full_members):
    """Admitted by the 支部大会 of 2024-05-10 (probation ends 2025-05-10), step 22 done."""
    advance(applicant, 22, secretary, full_members)
    return applicant


def payload(**kw):
    return {
        "months": 6,
        "meeting_on": "2025-05-12",
        "approved_on": "2025-06-01",
        "approved_by": "幸福街道党工委",
        "reason": "考察期间表现需进一步观察",
        **kw,
    }


def url(member) -> str:
    return f"/api/v1/members/{member.pk}/probation/extend"


def post(client, member, headers, **kw):
    return client.post(url(member), payload(**kw), content_type="application/json", headers=headers)


def violations(response) -> set[str]:
    """Every broken rule of a 422: one is the body itself, several are in details.violations."""
    body = response.json()
    return {body["code"], *(v["code"] for v in body["details"].get("violations", []))}


# --- the API -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("months", "new_end"), [(6, "2025-11-10"), (12, "2026-05-10")])
def test_an_extension_of_6_or_12_months_moves_the_end_of_probation(
    client, token_for, secretary, probationary, months, new_end
):
    response = post(client, probationary, token_for(secretary), months=months)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["months"], body["previous_end"], body["probation_ends_on"]) == (
        months,
        "2025-05-10",
        new_end,
    )
    assert (body["member_status"], body["approved_by"]) == ("probationary", "幸福街道党工委")
    probationary.refresh_from_db()
    assert probationary.probation_ends_on == date.fromisoformat(new_end)
    assert probationary.status == Status.PROBATIONARY


@pytest.mark.parametrize("months", [5, 13])
def test_an_extension_of_5_or_13_months_is_refused(client, token_for, secretary, probationary, months):
    response = post(client, probationary, token_for(secretary), months=months)
    assert response.status_code == 422
    assert violations(response) == {"extension_months"}
    assert f"本次为 {months} 个月" in response.json()["message"]
    probationary.refresh_from_db()
    assert probationary.probation_ends_on == date(2025, 5, 10)
    assert not ProbationExtension.objects.exists()


def test_a_second_extension_is_refused(client, token_for, secretary, probationary):
    assert post(client, probationary, token_for(secretary)).status_code == 201
    again = post(
        client, probationary, token_for(secretary), meeting_on="2025-11-12", approved_on="2025-12-01"
    )
    assert again.status_code == 422
    assert violations(again) == {"extension_once"}
    probationary.refresh_from_db()
    assert probationary.probation_ends_on == date(2025, 11, 10)
    assert ProbationExtension.objects.count() == 1


def test_an_approval_before_the_meeting_is_refused_with_every_other_broken_rule(
    client, token_for, secretary, probationary
):
    response = post(
        client, probationary, token_for(secretary), approved_on="2025-05-11", months=13, reason=" "
    )
    assert response.status_code == 422
    assert violations(response) == {"extension_approval_date", "extension_months", "reason_required"}
    assert not ProbationExtension.objects.exists()


def test_only_a_probationary_member_can_be_extended(client, token_for, secretary, full_members):
    response = post(
        client, full_members[0], token_for(secretary), meeting_on="2020-01-06", approved_on="2020-02-01"
    )
    assert response.status_code == 422
    assert "extension_status" in violations(response)


def test_another_branchs_secretary_gets_404(client, token_for, outsider, probationary):
    response = post(client, probationary, token_for(outsider))
    assert response.status_code == 404
    assert not ProbationExtension.objects.exists()


def test_the_member_themself_cannot_extend_their_probation(client, token_for, member, probationary):
    probationary.user = member
    probationary.save(update_fields=["user"])
    # Like the cancellation: the API's member scope is the branch staff's, the member's own
    # record is not in it (404, as for anyone else outside the scope).
    assert post(client, probationary, token_for(member)).status_code == 404
    assert not ProbationExtension.objects.exists()


def test_the_extension_is_audited(client, token_for, secretary, probationary):
    assert post(client, probationary, token_for(secretary), months=12).status_code == 201
    event = AuditEvent.objects.filter(action="member.extend_probation").get()
    assert event.object_id == str(probationary.pk)
    assert event.actor == secretary


# --- the page ----------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def form_data(**kw):
    return {k: str(v) for k, v in payload(**kw).items()}


def test_the_member_page_offers_it_for_a_probationary_member_only(
    client, secretary, probationary, full_members
):
    client.force_login(secretary)
    page_url = reverse("members:probation_extend", args=[probationary.pk])
    assert page_url in client.get(reverse("members:detail", args=[probationary.pk])).content.decode()
    full = client.get(reverse("members:detail", args=[full_members[0].pk])).content.decode()
    assert reverse("members:probation_extend", args=[full_members[0].pk]) not in full


def test_the_page_renders_and_posts_with_the_csrf_token(secretary, probationary):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(secretary)
    page_url = reverse("members:probation_extend", args=[probationary.pk])
    page = strict.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "延长预备期" in html
    assert "2025-05-10" in html  # the current end of probation
    assert "6 至 12 个月" in html  # the range, from the rule set
    assert strict.post(page_url, form_data()).status_code == 403  # no token, nothing recorded
    assert not ProbationExtension.objects.exists()
    response = strict.post(page_url, {**form_data(), "csrfmiddlewaretoken": csrf_token(html)})
    assert response.status_code == 302
    assert response["Location"] == reverse("members:detail", args=[probationary.pk])
    probationary.refresh_from_db()
    assert probationary.probation_ends_on == date(2025, 11, 10)
    detail = strict.get(response["Location"]).content.decode()
    assert "延长 6 个月，由 2025-05-10 延至 2025-11-10" in detail
    assert page_url not in detail  # extended once: no second extension offered
    assert AuditEvent.objects.filter(action="member.extend_probation").count() == 1


def test_the_page_shows_a_broken_rule_beside_the_field(client, secretary, probationary):
    client.force_login(secretary)
    page_url = reverse("members:probation_extend", args=[probationary.pk])
    response = client.post(page_url, form_data(months=5, approved_on="2025-05-01"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "延长预备期应为 6 至 12 个月，本次为 5 个月" in html
    assert "上级党委批准日期不能早于支部大会日期" in html
    probationary.refresh_from_db()
    assert probationary.probation_ends_on == date(2025, 5, 10)


def test_the_page_is_refused_to_the_member_and_hidden_from_another_branch(
    client, member, outsider, probationary
):
    probationary.user = member
    probationary.save(update_fields=["user"])
    page_url = reverse("members:probation_extend", args=[probationary.pk])
    client.force_login(member)
    assert client.get(page_url).status_code == 403
    client.force_login(outsider)
    assert client.get(page_url).status_code == 404
    assert client.post(page_url, form_data()).status_code == 404
    assert not ProbationExtension.objects.exists()
