"""Bugs the browser flow (e2e/test_members_flow.py) found in the step form, pinned here.

1. After a step recorded through htmx, the page must really load again: htmx follows
   HX-Redirect by setting location.href, and an address that differs from the page's only by
   its #fragment merely scrolls (the old form stayed, the new step and the message never showed).
2. A contact person or introducer who is not (any longer) a full member is refused with the
   rule and its source, not with Django's generic "not one of the available choices".
"""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from dangqun.members.actions import do_enroll_member, do_register_applicant
from dangqun.members.choices import Status
from dangqun.members.models import DevelopmentStep, PartyMember

from .conftest import PIPELINE, advance, make_id

pytestmark = pytest.mark.django_db


def post_step(client, member: PartyMember, step: int, data: dict, **headers):
    on, _evidence = PIPELINE[step]
    return client.post(
        reverse("members:record_step", args=[member.pk]),
        {"step": step, "done_on": on.isoformat(), **data},
        **headers,
    )


def test_a_step_recorded_through_htmx_reloads_the_page_at_an_address_without_a_fragment(
    client, secretary, applicant
):
    client.force_login(secretary)
    response = post_step(client, applicant, 2, {}, HTTP_HX_REQUEST="true")
    detail = reverse("members:detail", args=[applicant.pk])
    assert response.status_code == 200
    assert response["HX-Redirect"] == detail
    assert DevelopmentStep.objects.filter(member=applicant, step=2).exists()
    # Without JavaScript the browser follows a real redirect: the timeline anchor stays.
    response = post_step(client, applicant, 3, {})
    assert response.status_code == 302
    assert response["Location"] == detail + "#timeline"


@pytest.fixture
def at_introducers(applicant, secretary, full_members) -> PartyMember:
    advance(applicant, 8, secretary, full_members)
    applicant.refresh_from_db()
    return applicant


def test_the_form_offers_only_the_branchs_full_members(client, secretary, at_introducers, full_members):
    other = do_register_applicant(
        branch=at_introducers.branch,
        name="吴申请",
        id_number=make_id(date(1997, 1, 1)),
        applied_on=date(2024, 1, 5),
        actor=secretary,
    )
    client.force_login(secretary)
    html = client.get(reverse("members:detail", args=[at_introducers.pk]), {"step": 9}).content.decode()
    assert "入党介绍人（2 名正式党员）" in html
    for person in full_members:
        assert f'value="{person.pk}"' in html
    assert other.name not in html


def test_an_introducer_who_is_not_a_full_member_is_refused_with_the_rule(
    client, secretary, at_introducers, full_members
):
    other = do_register_applicant(
        branch=at_introducers.branch,
        name="吴申请",
        id_number=make_id(date(1997, 1, 1)),
        applied_on=date(2024, 1, 5),
        actor=secretary,
    )
    client.force_login(secretary)
    response = post_step(
        client, at_introducers, 9, {"introducer_ids": [full_members[0].pk, other.pk]}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "入党介绍人须为正式党员，吴申请 当前为“入党申请人”。依据：中国共产党章程 第五条" in html
    assert "不在可用的选项中" not in html
    assert not at_introducers.introducer_links.exists()
    assert not DevelopmentStep.objects.filter(member=at_introducers, step=9).exists()


def test_a_probationary_contact_person_is_refused_with_the_rule(
    client, secretary, root_admin, applicant, full_members
):
    """The same for step 5: a probationary member cannot be a 培养联系人 (party.md §1 rule 4)."""
    advance(applicant, 4, secretary, full_members)
    probationary = do_enroll_member(
        branch=applicant.branch,
        name="郑预备",
        id_number=make_id(date(1990, 1, 1)),
        status=Status.PROBATIONARY,
        admitted_on=date(2024, 1, 10),
        actor=root_admin,
    )
    client.force_login(secretary)
    html = post_step(client, applicant, 5, {"contact_person_ids": [probationary.pk]}).content.decode()
    assert "培养联系人须为正式党员，郑预备 当前为“预备党员”。" in html
    assert "依据：发展党员工作细则（2014，2026年修订） 第十一条" in html
    assert not applicant.contact_links.exists()


@pytest.mark.parametrize("raw", ["999999", str(2**63), "abc"])
def test_an_unknown_or_malformed_person_id_is_refused_beside_the_field(
    client, secretary, at_introducers, full_members, raw
):
    client.force_login(secretary)
    response = post_step(client, at_introducers, 9, {"introducer_ids": [full_members[0].pk, raw]})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_introducer_ids_error"' in html
    if raw == "999999":
        assert "找不到编号为 999999 的党员，或您无权查看。" in html
    assert not DevelopmentStep.objects.filter(member=at_introducers, step=9).exists()


def test_a_lawful_choice_of_introducers_is_recorded(client, secretary, at_introducers, full_members):
    client.force_login(secretary)
    ids = [full_members[1].pk, full_members[2].pk]
    response = post_step(client, at_introducers, 9, {"introducer_ids": ids})
    assert response.status_code == 302
    assert sorted(at_introducers.introducer_links.values_list("person_id", flat=True)) == sorted(ids)
