"""Actions: the lifecycle through FSM transitions, counters, audit, all-or-nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from dangqun.core import workcalendar
from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.core.models import AuditEvent
from dangqun.members import rules as R
from dangqun.members.actions import (
    do_enroll_member,
    do_extend_probation,
    do_record_dues_payment,
    do_record_step,
    do_register_applicant,
    do_set_dues_rate,
)
from dangqun.members.choices import Status
from dangqun.members.models import ContactPerson, DevelopmentStep, DuesPayment, Introducer, PartyMember
from dangqun.orgs.models import Organization

from .conftest import PIPELINE, advance, enroll_full_members, make_id, national, state

pytestmark = pytest.mark.django_db


def counters(org: Organization) -> tuple[int, int]:
    org.refresh_from_db()
    return org.full_members, org.probationary_members


def snapshot(member: PartyMember) -> tuple:
    member.refresh_from_db()
    return (
        member.status,
        DevelopmentStep.objects.filter(member=member).count(),
        AuditEvent.objects.count(),
        counters(member.branch),
    )


# --- registering ------------------------------------------------------------------------------


def test_an_applicant_is_registered_with_step_one_and_an_encrypted_id(tree, secretary):
    id_number = make_id(date(1998, 5, 20))
    before = AuditEvent.objects.count()
    m = do_register_applicant(
        branch=tree.branch_a,
        name="周申请",
        id_number=id_number,
        applied_on=date(2023, 1, 10),
        actor=secretary,
    )
    assert m.status == Status.APPLICANT
    assert m.birth_date == date(1998, 5, 20)
    assert m.gender == "M"
    assert list(m.steps.values_list("step", "done_on")) == [(1, date(2023, 1, 10))]
    assert AuditEvent.objects.count() == before + 1
    with connection.cursor() as cur:
        cur.execute("SELECT id_number FROM members_partymember WHERE id = %s", [m.pk])
        stored = cur.fetchone()[0]
    assert id_number not in stored
    assert stored.startswith("v1:")
    assert m.id_number_masked == id_number[:3] + "*" * 11 + id_number[-4:]


def test_registration_reports_every_problem_at_once_and_saves_nothing(tree, secretary):
    before = (PartyMember.objects.count(), AuditEvent.objects.count())
    with pytest.raises(RuleViolation) as err:
        do_register_applicant(
            branch=tree.branch_a,
            name="  ",
            id_number=make_id(date(2010, 1, 1)),
            applied_on=date(2025, 1, 1),
            phone="12345",
            actor=secretary,
        )
    found = [v.code for v in err.value.violations]
    assert found == ["name_required", "phone_format", "age"]
    assert (PartyMember.objects.count(), AuditEvent.objects.count()) == before


def test_the_same_id_number_is_registered_once(tree, secretary, applicant):
    with pytest.raises(RuleViolation) as err:
        do_register_applicant(
            branch=tree.branch_a,
            name="另一人",
            id_number=applicant.id_number,
            applied_on=date(2024, 1, 1),
            actor=secretary,
        )
    assert err.value.code == "duplicate_member"


def test_a_secretary_registers_only_in_their_own_branch(tree, outsider, resident):
    for actor in (outsider, resident):
        with pytest.raises(PermissionDenied):
            do_register_applicant(
                branch=tree.branch_a,
                name="周申请",
                id_number=make_id(date(1998, 5, 20)),
                applied_on=date(2023, 1, 10),
                actor=actor,
            )


def test_members_belong_to_a_branch_and_its_own_group(tree, street_admin):
    with pytest.raises(RuleViolation) as err:
        do_register_applicant(
            branch=tree.committee,
            name="周申请",
            id_number=make_id(date(1998, 5, 20)),
            applied_on=date(2023, 1, 10),
            actor=street_admin,
            group=tree.group_a,
        )
    assert [v.code for v in err.value.violations] == ["not_a_branch", "group_outside_branch"]


# --- the development pipeline ----------------------------------------------------------------


def test_the_whole_development_moves_the_status_and_the_branch_counters(
    tree, secretary, applicant, full_members
):
    full0, prob0 = counters(tree.branch_a)
    advance(applicant, 2, secretary, full_members)
    assert applicant.talked_on == date(2023, 1, 20)
    assert applicant.status == Status.APPLICANT
    advance(applicant, 3, secretary, full_members, start=3)
    assert applicant.status == Status.ACTIVIST
    assert applicant.activist_on == date(2023, 3, 1)
    advance(applicant, 7, secretary, full_members, start=4)
    assert applicant.status == Status.CANDIDATE
    assert applicant.candidate_on == date(2024, 3, 1)
    assert list(ContactPerson.objects.filter(member=applicant).values_list("person", flat=True)) == [
        full_members[0].pk
    ]
    advance(applicant, 16, secretary, full_members, start=8)
    assert sorted(Introducer.objects.filter(member=applicant).values_list("person", flat=True)) == sorted(
        [full_members[1].pk, full_members[2].pk]
    )
    assert applicant.status == Status.CANDIDATE
    assert counters(tree.branch_a) == (full0, prob0)
    advance(applicant, 17, secretary, full_members, start=17)
    # Probationary from the 支部大会 date (step 15), not from the approval; one year of probation.
    assert applicant.status == Status.PROBATIONARY
    assert (applicant.admitted_on, applicant.probation_ends_on) == (date(2024, 5, 10), date(2025, 5, 10))
    assert counters(tree.branch_a) == (full0, prob0 + 1)
    advance(applicant, 25, secretary, full_members, start=18)
    assert applicant.status == Status.FULL
    assert applicant.full_on == date(2025, 5, 10)  # the end of probation, not the approval date
    assert counters(tree.branch_a) == (full0 + 1, prob0)
    assert applicant.party_standing_years(date(2026, 5, 9)) == 0
    assert applicant.party_standing_years(date(2026, 5, 10)) == 1


def test_a_refused_step_leaves_nothing_behind(tree, secretary, applicant, full_members):
    advance(applicant, 16, secretary, full_members)
    before = snapshot(applicant)
    with pytest.raises(RuleViolation) as err:
        do_record_step(applicant, 17, date(2024, 11, 11), actor=secretary)  # 6 months after 2024-05-10
    assert err.value.code == "approval_too_late"
    assert snapshot(applicant) == before
    assert snapshot(applicant)[0] == Status.CANDIDATE


def test_a_step_reports_every_violation_at_once(tree, secretary, root_admin, applicant, full_members):
    advance(applicant, 3, secretary, full_members)
    outsider_member = do_enroll_member(
        branch=tree.branch_b,
        name="外支部党员",
        id_number=make_id(date(1980, 1, 1)),
        status=Status.FULL,
        admitted_on=date(2010, 1, 1),
        full_on=date(2011, 1, 1),
        actor=root_admin,
    )
    with pytest.raises(RuleViolation) as err:
        do_record_step(
            applicant,
            5,
            date(2023, 2, 1),
            actor=secretary,
            contact_person_ids=[applicant.pk, outsider_member.pk, full_members[0].pk],
            passed=True,
        )
    found = [v.code for v in err.value.violations]
    assert found == [
        "step_field",  # `passed` is not part of step 5
        "person_not_found",  # a member of branch B is out of the secretary's sight
        "step_date_order",  # before step 3 (2023-03-01)
        "contact_persons_self",  # the applicant named as their own contact person
    ]
    assert err.value.as_dict()["details"]["violations"][2]["message"].startswith("第5步")


def test_a_step_is_recorded_once(tree, secretary, applicant, full_members):
    advance(applicant, 2, secretary, full_members)
    with pytest.raises(RuleViolation) as err:
        do_record_step(applicant, 2, date(2023, 1, 21), actor=secretary)
    assert "step_done" in [v.code for v in err.value.violations]


def test_dates_outside_the_past_are_refused_before_any_rule(tree, secretary, applicant):
    for on in (date(9999, 12, 31), date(1, 1, 1)):
        with pytest.raises(RuleViolation) as err:
            do_record_step(applicant, 2, on, actor=secretary)
        assert err.value.code == "date_out_of_range"


def test_publicity_counts_working_days_of_the_official_calendar(tree):
    """2025 National Day: 1–8 October off, Saturday 11 October a make-up workday."""
    st = state(Status.CANDIDATE, steps={n: date(2025, 9, 29) for n in range(1, 13)})
    rules = national(date(2025, 10, 20))

    def pre_review(end):
        return R.check_step(
            st,
            13,
            date(2025, 10, 20),
            rules,
            evidence={"passed": True, "publicity_start": date(2025, 9, 30), "publicity_end": end},
            working_days=workcalendar.working_days_between,
        )

    assert [v.code for v in pre_review(date(2025, 10, 11))] == ["publicity_short"]  # 9/30, 10/9, 10/10, 10/11
    assert pre_review(date(2025, 10, 13)) == []


# --- evidence files -------------------------------------------------------------------------


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_evidence_is_a_pdf_or_image_whose_content_matches_its_name(
    tree, secretary, applicant, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(RuleViolation) as err:
        do_record_step(
            applicant,
            2,
            date(2023, 1, 20),
            actor=secretary,
            files=[SimpleUploadedFile("谈话记录.pdf", PNG), SimpleUploadedFile("a.exe", b"MZ\x90\x00")],
        )
    assert [v.code for v in err.value.violations] == ["evidence_type", "evidence_type"]
    settings.MEMBERS_EVIDENCE_MAX_BYTES = 16
    with pytest.raises(RuleViolation) as err:
        do_record_step(
            applicant, 2, date(2023, 1, 20), actor=secretary, files=[SimpleUploadedFile("a.pdf", PDF)]
        )
    assert err.value.code == "evidence_too_large"
    del settings.MEMBERS_EVIDENCE_MAX_BYTES
    record = do_record_step(
        applicant, 2, date(2023, 1, 20), actor=secretary, files=[SimpleUploadedFile("谈话记录.pdf", PDF)]
    )
    [doc] = record.evidence.all()
    assert (doc.content_type, doc.size, doc.original_name) == ("application/pdf", len(PDF), "谈话记录.pdf")


# --- probation extension ---------------------------------------------------------------------


def test_probation_is_extended_once_and_the_full_date_moves_with_it(tree, secretary, applicant, full_members):
    advance(applicant, 22, secretary, full_members)
    ext = do_extend_probation(
        applicant,
        months=6,
        meeting_on=date(2025, 5, 12),
        approved_on=date(2025, 6, 1),
        approved_by="幸福街道党工委",
        reason="考察期间表现需进一步观察",
        actor=secretary,
    )
    applicant.refresh_from_db()
    assert (ext.previous_end, ext.new_end, applicant.probation_ends_on) == (
        date(2025, 5, 10),
        date(2025, 11, 10),
        date(2025, 11, 10),
    )
    with pytest.raises(RuleViolation) as err:
        do_extend_probation(
            applicant,
            months=6,
            meeting_on=date(2025, 6, 2),
            approved_on=date(2025, 6, 3),
            approved_by="幸福街道党工委",
            reason="再次延长",
            actor=secretary,
        )
    assert err.value.code == "extension_once"
    vote = {"entitled": 13, "present": 11, "in_favour": 11}
    with pytest.raises(RuleViolation) as err:
        do_record_step(applicant, 23, date(2025, 11, 9), actor=secretary, **vote)
    assert err.value.code == "probation_not_ended"
    do_record_step(applicant, 23, date(2025, 11, 10), actor=secretary, **vote)
    do_record_step(applicant, 24, date(2025, 12, 1), actor=secretary)
    applicant.refresh_from_db()
    assert applicant.status == Status.FULL
    assert applicant.full_on == date(2025, 11, 10)


# --- dues ------------------------------------------------------------------------------------


@pytest.fixture
def paying(full_members, secretary) -> PartyMember:
    m = full_members[0]
    do_set_dues_rate(m, 2025, category="employed", income="4500", actor=secretary)
    return m


def test_the_dues_rate_is_fixed_once_for_the_year(paying, secretary, applicant):
    [rate] = paying.dues_rates.all()
    assert (rate.base, rate.rate, rate.monthly_amount) == (
        Decimal("4500.00"),
        Decimal("0.0100"),
        Decimal("45.00"),
    )
    with pytest.raises(RuleViolation) as err:
        do_set_dues_rate(paying, 2025, category="employed", income="9000", actor=secretary)
    assert err.value.code == "dues_rate_fixed"
    with pytest.raises(RuleViolation) as err:
        do_set_dues_rate(applicant, 2025, category="hardship", amount="0", actor=secretary)
    assert [v.code for v in err.value.violations] == ["dues_not_member", "hardship_not_approved"]


def test_a_payment_is_recorded_once_per_idempotency_key(paying, secretary):
    before = AuditEvent.objects.count()
    args = {"period_start": date(2025, 3, 1), "paid_on": date(2025, 3, 5), "idempotency_key": "pay-1"}
    first = do_record_dues_payment(paying, actor=secretary, **args)
    again = do_record_dues_payment(paying, actor=secretary, **args)
    assert first.pk == again.pk
    assert first.amount == Decimal("45.00")
    assert DuesPayment.objects.filter(member=paying).count() == 1
    assert AuditEvent.objects.count() == before + 1
    with pytest.raises(RuleViolation) as err:
        do_record_dues_payment(paying, actor=secretary, **{**args, "period_start": date(2025, 4, 1)})
    assert err.value.code == "idempotency_conflict"
    with pytest.raises(RuleViolation) as err:
        do_record_dues_payment(paying, actor=secretary, **{**args, "idempotency_key": "pay-2"})
    assert err.value.code == "payment_duplicate_months"


def test_quarterly_payment_needs_the_approval_on_the_years_rate(full_members, secretary):
    m = full_members[1]
    do_set_dues_rate(
        m,
        2025,
        category="retired",
        income="6000",
        actor=secretary,
        quarterly_approved_on=date(2025, 1, 5),
        quarterly_approved_by="和平社区第一党支部",
    )
    p = do_record_dues_payment(
        m,
        period_start=date(2025, 4, 1),
        months=3,
        method="quarterly",
        paid_on=date(2025, 4, 2),
        idempotency_key="q2",
        actor=secretary,
    )
    assert p.amount == Decimal("180.00")
    assert p.period_end == date(2025, 6, 1)
    other = full_members[2]
    do_set_dues_rate(other, 2025, category="retired", income="6000", actor=secretary)
    with pytest.raises(RuleViolation) as err:
        do_record_dues_payment(
            other,
            period_start=date(2025, 4, 1),
            months=3,
            method="quarterly",
            paid_on=date(2025, 4, 2),
            idempotency_key="q2-other",
            actor=secretary,
        )
    assert err.value.code == "quarterly_not_approved"


def test_a_large_payment_is_flagged(paying, secretary):
    p = do_record_dues_payment(
        paying,
        period_start=date(2025, 3, 1),
        paid_on=date(2025, 3, 5),
        amount="1000.00",
        idempotency_key="big",
        actor=secretary,
    )
    assert p.large_payment
    assert p.amount_due == Decimal("45.00")


def test_the_outsider_cannot_record_dues_for_branch_a(paying, outsider):
    with pytest.raises(PermissionDenied):
        do_record_dues_payment(
            paying,
            period_start=date(2025, 3, 1),
            paid_on=date(2025, 3, 5),
            idempotency_key="x",
            actor=outsider,
        )


def test_pipeline_dates_are_lawful():
    # The fixture pipeline itself obeys the rules it is used to test (step 7 a year after 3).
    assert PIPELINE[7][0] >= R.add_years(PIPELINE[3][0], 1)


def test_a_meeting_with_more_entitled_voters_than_the_roster_is_flagged_not_refused(
    tree, secretary, applicant, full_members
):
    advance(applicant, 14, secretary, full_members)
    tree.branch_a.refresh_from_db()
    full = tree.branch_a.full_members  # the branch's counter (12 declared + 3 enrolled here)
    record = do_record_step(
        applicant,
        15,
        PIPELINE[15][0],
        actor=secretary,
        entitled=full + 9,
        present=full + 9,
        in_favour=full + 9,
    )
    assert [f["code"] for f in record.flags] == ["entitled_above_roster"]
    assert f"（{full} 名）" in record.flags[0]["message"]


def test_a_meeting_within_the_roster_carries_no_flag(tree, secretary, applicant, full_members):
    advance(applicant, 14, secretary, full_members)
    tree.branch_a.refresh_from_db()
    full = tree.branch_a.full_members  # the branch's counter (12 declared + 3 enrolled here)
    record = do_record_step(
        applicant, 15, PIPELINE[15][0], actor=secretary, entitled=full, present=full, in_favour=full
    )
    assert record.flags == []


# --- step 17/24: who may approve (party.md §1 rule 13) ------------------------------------------


def test_a_community_committee_under_the_street_committee_cannot_approve(tree, root_admin):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    community_committee = do_create_organization(
        name="和平社区党委", kind=OrgKind.PARTY_COMMITTEE, parent=tree.committee, actor=root_admin
    )
    branch = do_create_organization(
        name="和平社区第三党支部", kind=OrgKind.BRANCH, parent=community_committee, actor=root_admin
    )
    people = enroll_full_members(branch, root_admin)
    person = do_register_applicant(
        branch=branch,
        name="吴申请",
        id_number=make_id(date(1996, 8, 1)),
        applied_on=date(2023, 1, 10),
        actor=root_admin,
    )
    advance(person, 16, root_admin, people)
    on = PIPELINE[17][0]
    for evidence, code in [
        ({"approved_by": "和平社区党委"}, "approver_subordinate_committee"),
        ({"approving_org_id": community_committee.pk}, "approver_subordinate_committee"),
        ({"approving_org_id": tree.branch_b.pk}, "approver_not_higher_committee"),
        ({"approving_org_id": 987654321}, "approver_unknown"),
    ]:
        with pytest.raises(RuleViolation) as err:
            do_record_step(person, 17, on, actor=root_admin, **evidence)
        assert err.value.code == code
        if code != "approver_unknown":
            assert "发展党员工作细则" in err.value.message
        assert tree.branch_b.name not in err.value.message  # a body elsewhere is not named back
    person.refresh_from_db()
    assert person.status == Status.CANDIDATE
    record = do_record_step(person, 17, on, actor=root_admin, approving_org_id=tree.committee.pk)
    assert record.data["approved_by"] == "幸福街道党工委"
    assert "approving_org_id" not in record.data
    person.refresh_from_db()
    assert person.status == Status.PROBATIONARY
