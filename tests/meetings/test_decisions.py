"""四议两公开 in order with its thresholds; the annual appraisal with its cap; the compliance report."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.meetings import actions, queries
from dangqun.meetings.choices import (
    ComplianceState,
    DecisionStatus,
    DecisionStep,
    Grade,
    MeetingKind,
    PollStatus,
    VillageBody,
)
from dangqun.meetings.models import AppraisalEntry, DecisionRecord
from dangqun.orgs.actions import do_update_organization

from .conftest import hold, make_meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def decision(tree, secretary):
    return actions.do_start_decision(
        branch=tree.branch_a, title="村集体土地流转", summary="", actor=secretary
    )


def step(decision, actor, n, on, **data):
    return actions.do_record_decision_step(decision, n, held_on=on, data=data, actor=actor)


def run_to(decision, actor, last):
    plan = [
        (1, date(2026, 3, 1), {"proposal": "流转方案"}),
        (2, date(2026, 3, 3), {"opinion": "同意提交党员大会"}),
        (
            3,
            date(2026, 3, 8),
            {"plan_sent_on": date(2026, 3, 4), "entitled": 30, "present": 20, "in_favour": 16},
        ),
        (
            4,
            date(2026, 3, 20),
            {
                "body": VillageBody.VILLAGERS,
                "notice_on": date(2026, 3, 10),
                "total": 100,
                "present": 60,
                "in_favour": 40,
            },
        ),
        (5, date(2026, 3, 21), {"resolution": "同意流转。", "place": "村务公开栏"}),
        (6, date(2026, 6, 1), {"result": "已签订合同。", "place": "村务公开栏"}),
    ]
    for n, on, data in plan[:last]:
        step(decision, actor, n, on, **data)


def test_the_six_steps_in_order_complete_the_matter(decision, secretary):
    run_to(decision, secretary, 6)
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.COMPLETED
    assert list(decision.records.values_list("step", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_a_step_cannot_start_before_its_predecessor(decision, secretary):
    with pytest.raises(RuleViolation) as err:
        step(decision, secretary, DecisionStep.MEMBER_REVIEW, date(2026, 3, 8))
    assert err.value.code == "decision_order"
    assert "党组织提议" in err.value.message
    run_to(decision, secretary, 1)
    with pytest.raises(RuleViolation) as err:
        step(decision, secretary, 2, date(2026, 2, 28), opinion="x")
    assert err.value.code == "decision_date_order"
    assert DecisionRecord.objects.count() == 1


def test_the_member_review_checks_notice_and_quorum_and_blocks(decision, secretary):
    run_to(decision, secretary, 2)
    with pytest.raises(RuleViolation) as err:
        step(
            decision,
            secretary,
            3,
            date(2026, 3, 8),
            plan_sent_on=date(2026, 3, 6),
            entitled=30,
            present=19,
            in_favour=16,
        )
    assert {v.code for v in err.value.violations} == {"plan_notice"}  # the quorum is checked next
    with pytest.raises(RuleViolation) as err:
        step(
            decision,
            secretary,
            3,
            date(2026, 3, 8),
            plan_sent_on=date(2026, 3, 5),
            entitled=30,
            present=19,
            in_favour=16,
        )
    assert err.value.code == "review_quorum"
    assert DecisionRecord.objects.filter(step=3).count() == 0


def test_a_matter_not_adopted_by_the_members_stops(decision, secretary):
    run_to(decision, secretary, 2)
    record = step(
        decision,
        secretary,
        3,
        date(2026, 3, 8),
        plan_sent_on=date(2026, 3, 5),
        entitled=30,
        present=20,
        in_favour=15,
    )
    decision.refresh_from_db()
    assert not record.passed
    assert decision.status == DecisionStatus.REJECTED
    with pytest.raises(RuleViolation) as err:
        step(
            decision,
            secretary,
            4,
            date(2026, 3, 20),
            body=VillageBody.REPRESENTATIVES,
            total=30,
            present=20,
            in_favour=15,
        )
    assert err.value.code == "decision_closed"


def test_the_villagers_meeting_needs_ten_days_notice(decision, secretary):
    run_to(decision, secretary, 3)
    with pytest.raises(RuleViolation) as err:
        step(
            decision,
            secretary,
            4,
            date(2026, 3, 20),
            body=VillageBody.VILLAGERS,
            notice_on=date(2026, 3, 11),
            total=100,
            present=60,
            in_favour=40,
        )
    assert err.value.code == "villagers_notice"
    step(
        decision,
        secretary,
        4,
        date(2026, 3, 20),
        body=VillageBody.REPRESENTATIVES,
        total=30,
        present=20,
        in_favour=11,
    )


def test_only_village_branches_and_their_managers(tree, secretary, outsider, decision):
    with pytest.raises(RuleViolation) as err:
        actions.do_start_decision(branch=tree.branch_b, title="x", actor=outsider)
    assert err.value.code == "decision_branch"  # branch B is not a village or community branch
    with pytest.raises(PermissionDenied):
        step(decision, outsider, 1, date(2026, 3, 1), proposal="x")


# --- appraisal ------------------------------------------------------------------------------------


def test_probationary_members_take_part_without_a_grade(tree, secretary, roster):
    appraisal = actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    assert appraisal.entries.count() == 12
    assert appraisal.entries.filter(graded=False).count() == 2
    assert appraisal.excellent_cap == 3  # 10 graded × 1/3, rounded down
    with pytest.raises(RuleViolation) as err:
        actions.do_record_grades(appraisal, {roster[10].pk: Grade.QUALIFIED}, actor=secretary)
    assert err.value.code == "appraisal_probationary"


def test_the_excellent_cap_is_enforced_and_nothing_is_half_saved(tree, secretary, roster):
    appraisal = actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    grades = {p.pk: Grade.QUALIFIED for p in roster[:10]}
    grades.update({p.pk: Grade.EXCELLENT for p in roster[:4]})
    with pytest.raises(RuleViolation) as err:
        actions.do_record_grades(appraisal, grades, actor=secretary)
    assert err.value.code == "appraisal_excellent_cap"
    assert not AppraisalEntry.objects.exclude(grade="").exists()
    grades[roster[3].pk] = Grade.BASIC
    actions.do_record_grades(appraisal, grades, actor=secretary, close=True)
    appraisal.refresh_from_db()
    assert appraisal.status == PollStatus.CLOSED
    assert AppraisalEntry.objects.filter(grade=Grade.EXCELLENT).count() == 3


def test_closing_needs_every_full_member_graded(tree, secretary, roster):
    appraisal = actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    with pytest.raises(RuleViolation) as err:
        actions.do_record_grades(appraisal, {roster[0].pk: Grade.QUALIFIED}, actor=secretary, close=True)
    assert err.value.code == "appraisal_incomplete"
    with pytest.raises(RuleViolation) as err:
        actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    assert err.value.code == "appraisal_exists"


def test_the_cap_is_a_rule_value_overridable_per_organization(tree, secretary, roster, root_admin):
    from dangqun.core.models import RuleValue

    RuleValue.objects.create(
        key="meetings.appraisal.excellent_cap_fraction",
        version="street-2025",
        effective_from=date(2020, 1, 1),
        value=["1", "5"],
        source="街道规定",
        organization=tree.street,
    )
    appraisal = actions.do_open_appraisal(branch=tree.branch_a, year=2025, actor=secretary)
    assert appraisal.excellent_cap == 2
    assert appraisal.source.startswith("街道规定")


# --- compliance -----------------------------------------------------------------------------------


def at_(y, m, d, h=14):
    return timezone.make_aware(datetime(y, m, d, h))


def test_the_compliance_report_counts_held_meetings_and_attendance(tree, secretary, street_admin, roster):
    do_update_organization(tree.branch_a, actor=street_admin, committee_size=5)
    tree.branch_a.refresh_from_db()
    committee = roster[:5]
    for month in (4, 5):
        m = make_meeting(
            tree.branch_a,
            secretary,
            at_(2025, month, 3),
            kind=MeetingKind.COMMITTEE,
            attendee_ids=[p.pk for p in committee],
        )
        hold(m, secretary)
    assembly = make_meeting(tree.branch_a, secretary, at_(2025, 6, 10))
    hold(assembly, secretary, present=roster[:9])  # 9 of 12 present, 3 on leave
    make_meeting(tree.branch_a, secretary, at_(2025, 6, 20), kind=MeetingKind.LECTURE)  # never held
    talk = make_meeting(
        tree.branch_a,
        secretary,
        at_(2025, 2, 1),
        kind=MeetingKind.TALK,
        attendee_ids=[roster[0].pk, roster[1].pk],
    )
    hold(talk, secretary)
    (report,) = queries.compliance_report(secretary, 2025, 2, today=date(2025, 12, 1))
    items = {i.kind: i for i in report.items}
    assert [p.state for p in items[MeetingKind.COMMITTEE].periods] == ["ok", "ok", "missing"]
    assert items[MeetingKind.BRANCH_ASSEMBLY].state == ComplianceState.OK
    assert items[MeetingKind.BRANCH_ASSEMBLY].attendance_rate == "75.0%"
    assert items[MeetingKind.BRANCH_ASSEMBLY].leave == 3
    assert items[MeetingKind.LECTURE].state == ComplianceState.MISSING  # planned is not held
    assert items[MeetingKind.GROUP].state == ComplianceState.MISSING  # group A held nothing
    talk_item = items[MeetingKind.TALK]
    assert (talk_item.periods[0].held, talk_item.periods[0].required) == (2, 12)
    assert talk_item.state == ComplianceState.PENDING  # the year is not over by the end of Q2


def test_the_report_is_scoped_and_never_ranked(tree, secretary, street_admin, outsider, member, roster):
    reports = queries.compliance_report(street_admin, 2025, 2, today=date(2025, 12, 1))
    assert [r.branch for r in reports] == [tree.branch_a, tree.branch_b]  # tree order
    assert [r.branch for r in queries.compliance_report(secretary, 2025, 2)] == [tree.branch_a]
    with pytest.raises(PermissionDenied):
        queries.compliance_report(member, 2025, 2)
    from dangqun.core.errors import NotFound

    with pytest.raises(NotFound):
        queries.compliance_report(outsider, 2025, 2, branch_id=tree.branch_a.pk)


def test_the_report_uses_a_fixed_number_of_queries(
    tree, street_admin, root_admin, roster, django_assert_max_num_queries
):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    for i in range(5):
        do_create_organization(
            name=f"新支部{i}", kind=OrgKind.BRANCH, parent=tree.committee, actor=root_admin
        )
    with django_assert_max_num_queries(12):
        reports = queries.compliance_report(street_admin, 2025, 2, today=date(2025, 12, 1))
    assert len(reports) == 7
