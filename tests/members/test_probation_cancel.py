"""取消预备党员资格 (party.md §1 rule 14): a 支部大会 decision with higher approval, the reason
recorded; afterwards the person is no longer a probationary member and no reminder follows."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.members import rules as R
from dangqun.members.actions import do_cancel_probation
from dangqun.members.choices import Status
from dangqun.members.models import ProbationCancellation
from dangqun.members.queries import due_items

from .conftest import advance, national, state

pytestmark = pytest.mark.django_db


@pytest.fixture
def probationary(tree, secretary, applicant, full_members):
    """Admitted by the 支部大会 of 2024-05-10 (probation ended 2025-05-10), step 22 done."""
    advance(applicant, 22, secretary, full_members)
    return applicant


def cancel(member, actor, **kw):
    args = {
        "meeting_on": date(2025, 5, 12),
        "approved_on": date(2025, 6, 1),
        "approved_by": "幸福街道党工委",
        "reason": "预备期内不履行党员义务，不具备党员条件",
    }
    return do_cancel_probation(member, actor=actor, **{**args, **kw})


def codes(exc: RuleViolation) -> set[str]:
    return {v.code for v in exc.violations}


# --- the rule, pure ----------------------------------------------------------------------------


def test_the_rule_allows_the_approval_on_the_day_of_the_meeting():
    st = state(Status.PROBATIONARY, admitted_on=date(2024, 5, 10), imported_through=18)
    on = date(2025, 5, 12)
    found = R.check_cancellation(st, meeting_on=on, approved_on=on, rules=national(on), today=on)
    assert found == []


def test_the_rule_reports_every_broken_date_at_once():
    st = state(Status.PROBATIONARY, admitted_on=date(2024, 5, 10), imported_through=18)
    found = R.check_cancellation(
        st,
        meeting_on=date(2024, 5, 9),
        approved_on=date(2024, 5, 8),
        rules=national(date(2024, 5, 9)),
        today=date(2025, 1, 1),
    )
    assert {v.code for v in found} == {"cancel_meeting_date", "cancel_approval_date"}
    assert all("中国共产党章程 第七条" in v.message for v in found)


# --- the action ---------------------------------------------------------------------------------


def test_cancelling_ends_probation_and_the_counter_and_is_audited(tree, secretary, probationary):
    tree.branch_a.refresh_from_db()
    before = tree.branch_a.probationary_members
    record = cancel(probationary, secretary)
    probationary.refresh_from_db()
    assert probationary.status == Status.DISQUALIFIED
    assert probationary.ended_on == date(2025, 6, 1)  # effective from the higher approval
    assert (record.meeting_on, record.approved_by, record.probation_ends_on) == (
        date(2025, 5, 12),
        "幸福街道党工委",
        date(2025, 5, 10),
    )
    assert record.reason == "预备期内不履行党员义务，不具备党员条件"
    tree.branch_a.refresh_from_db()
    assert tree.branch_a.probationary_members == before - 1
    event = AuditEvent.objects.filter(action="member.cancel_probation").get()
    assert event.object_id == str(probationary.pk)


def test_the_probation_end_reminder_stops_after_cancelling(tree, secretary, probationary):
    today = date(2025, 6, 15)
    before = due_items(tree.branch_a, today, today)
    assert [(i.kind, i.member_id) for i in before if i.member_id == probationary.pk] == [
        ("probation_end", probationary.pk)
    ]
    cancel(probationary, secretary)
    assert [i for i in due_items(tree.branch_a, today, today) if i.member_id == probationary.pk] == []


def test_only_a_probationary_member_can_lose_the_qualification(tree, secretary, full_members):
    with pytest.raises(RuleViolation) as err:
        cancel(full_members[0], secretary, meeting_on=date(2020, 1, 1), approved_on=date(2020, 2, 1))
    assert codes(err.value) == {"cancel_status"}


def test_it_refuses_an_approval_before_the_meeting_and_a_missing_reason_together(secretary, probationary):
    with pytest.raises(RuleViolation) as err:
        cancel(probationary, secretary, approved_on=date(2025, 5, 11), reason="  ", approved_by="")
    assert codes(err.value) == {"cancel_approval_date", "reason_required", "approver_required"}
    probationary.refresh_from_db()
    assert probationary.status == Status.PROBATIONARY
    assert not ProbationCancellation.objects.exists()


def test_a_second_cancellation_is_refused(secretary, probationary):
    cancel(probationary, secretary)
    with pytest.raises(RuleViolation) as err:
        cancel(probationary, secretary)
    assert codes(err.value) == {"cancel_status"}


def test_an_outsider_cannot_cancel(outsider, probationary):
    with pytest.raises(PermissionDenied):
        cancel(probationary, outsider)
    probationary.refresh_from_db()
    assert probationary.status == Status.PROBATIONARY


# --- the API and the page -----------------------------------------------------------------------


def payload(**kw):
    return {
        "meeting_on": "2025-05-12",
        "approved_on": "2025-06-01",
        "approved_by": "幸福街道党工委",
        "reason": "不具备党员条件",
        **kw,
    }


def test_the_api_records_it_for_the_branch_secretary(client, token_for, secretary, probationary):
    url = f"/api/v1/members/{probationary.pk}/probation/cancel"
    response = client.post(url, payload(), content_type="application/json", headers=token_for(secretary))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["member_status"], body["approved_on"], body["probation_ends_on"]) == (
        "disqualified",
        "2025-06-01",
        "2025-05-10",
    )


def test_the_api_answers_422_with_every_broken_rule(client, token_for, secretary, probationary):
    url = f"/api/v1/members/{probationary.pk}/probation/cancel"
    response = client.post(
        url, payload(approved_on="2025-05-01", reason=" "), content_type="application/json",
        headers=token_for(secretary),
    )  # fmt: skip
    assert response.status_code == 422
    found = {v["code"] for v in response.json()["details"]["violations"]}
    assert found == {"cancel_approval_date", "reason_required"}


def test_the_api_hides_the_member_from_another_branch(client, token_for, outsider, probationary):
    url = f"/api/v1/members/{probationary.pk}/probation/cancel"
    response = client.post(url, payload(), content_type="application/json", headers=token_for(outsider))
    assert response.status_code == 404


def test_the_page_records_it_and_the_member_page_shows_it(client, secretary, probationary):
    client.force_login(secretary)
    detail = client.get(reverse("members:detail", args=[probationary.pk]))
    assert reverse("members:probation_cancel", args=[probationary.pk]) in detail.content.decode()
    url = reverse("members:probation_cancel", args=[probationary.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, payload())
    assert response.status_code == 302
    page = client.get(reverse("members:detail", args=[probationary.pk])).content.decode()
    assert "取消预备党员资格" in page
    assert "不具备党员条件" in page
    assert url not in page  # no second cancellation offered


def test_the_page_shows_a_broken_rule_beside_the_field(client, secretary, probationary):
    client.force_login(secretary)
    url = reverse("members:probation_cancel", args=[probationary.pk])
    response = client.post(url, payload(approved_on="2025-05-01"))
    assert response.status_code == 200
    assert "上级党委批准日期不能早于支部大会日期" in response.content.decode()
    probationary.refresh_from_db()
    assert probationary.status == Status.PROBATIONARY


def test_the_member_themself_cannot_open_the_form(client, member, secretary, probationary):
    probationary.user = member
    probationary.save(update_fields=["user"])
    client.force_login(member)
    response = client.get(reverse("members:probation_cancel", args=[probationary.pk]))
    assert response.status_code == 403
