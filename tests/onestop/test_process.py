"""The review phase as a BPMN process run by SpiffWorkflow (onestop/process.py)."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.core.errors import PermissionDenied, RuleViolation
from dangqun.onestop import actions
from dangqun.onestop import process as P
from dangqun.onestop.choices import Outcome, State, TaskState
from dangqun.onestop.models import default_process

from .conftest import save_item

D = date(2026, 9, 28)

STAGES = {
    "stages": [
        {"name": "联合审核", "tasks": [{"key": "a", "name": "民政审核"}, {"key": "b", "name": "残联核实"}]},
        {
            "name": "领导审批",
            "when": 'amount > 3000 or kind == "企业"',
            "tasks": [{"key": "lead", "name": "领导"}],
        },
        {"name": "批准", "tasks": [{"key": "ok", "name": "批准"}]},
    ]
}

# A process drawn in a modeller: 初审, then either 复审 (large amounts) or straight to 批准.
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d1" targetNamespace="x">
  <bpmn:process id="subsidy" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:userTask id="first" name="初审"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="gate"/>
    <bpmn:exclusiveGateway id="gate" default="f4"/>
    <bpmn:sequenceFlow id="f3" sourceRef="gate" targetRef="second">
      <bpmn:conditionExpression>amount &gt;= 10000</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gate" targetRef="approve"/>
    <bpmn:userTask id="second" name="复审"/>
    <bpmn:sequenceFlow id="f5" sourceRef="second" targetRef="approve"/>
    <bpmn:userTask id="approve" name="批准"/>
    <bpmn:sequenceFlow id="f6" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def keys(tasks) -> list[str]:
    return sorted(t.key for t in tasks)


def test_the_default_process_is_audit_then_approve():
    flow = default_process()
    assert keys(P.ready_tasks(flow, {}, [])) == ["audit"]
    assert keys(P.ready_tasks(flow, {}, ["s0_audit"])) == ["approve"]
    assert P.ready_tasks(flow, {}, ["s0_audit", "s1_approve"]) == []  # ended


@pytest.mark.parametrize(
    ("form", "after_joint"),
    [
        ({"amount": "3000"}, ["ok"]),  # the boundary: not more than 3000
        ({"amount": "3000.01"}, ["lead"]),
        ({"amount": "10", "kind": "企业"}, ["lead"]),
        ({}, ["ok"]),  # an absent value is None: the condition is false, not an error
    ],
)
def test_parallel_tasks_join_and_a_condition_decides_a_stage(form, after_joint):
    assert keys(P.ready_tasks(STAGES, form, [])) == ["a", "b"]
    assert keys(P.ready_tasks(STAGES, form, ["s0_b"])) == ["a"]  # the join waits for both
    assert keys(P.ready_tasks(STAGES, form, ["s0_b", "s0_a"])) == after_joint


def test_a_task_out_of_turn_is_refused():
    with pytest.raises(P.ProcessError):
        P.ready_tasks(STAGES, {}, ["s2_ok"])


def test_a_modelled_bpmn_document_runs_with_its_own_task_ids():
    flow = {"bpmn": BPMN}
    assert keys(P.ready_tasks(flow, {"amount": "500"}, [])) == ["first"]
    assert keys(P.ready_tasks(flow, {"amount": "500"}, ["first"])) == ["approve"]
    assert keys(P.ready_tasks(flow, {"amount": "10000"}, ["first"])) == ["second"]
    assert P.ready_tasks(flow, {"amount": "10000"}, ["first", "second", "approve"]) == []


@pytest.mark.parametrize(
    ("flow", "says"),
    [
        (
            {
                "bpmn": BPMN.replace(
                    '<bpmn:userTask id="second" name="复审"/>', '<bpmn:scriptTask id="second"/>'
                )
            },
            "scriptTask",
        ),
        ({"bpmn": BPMN.replace("amount &gt;= 10000", "__import__('os').system('id')")}, "条件"),
        ({"bpmn": BPMN.replace("amount &gt;= 10000", "amount.__class__")}, "条件"),
        ({"bpmn": "<bpmn:definitions"}, "无法解析"),
        ({"bpmn": BPMN, "orgs": {"first": "民政"}}, "组织编号"),
        ({"stages": [{"name": "x", "when": "open('/etc/passwd')", "tasks": [{"key": "k"}]}]}, "第 1 个环节"),
    ],
)
def test_a_process_that_could_run_code_or_does_not_parse_is_refused(flow, says):
    found = actions.check_process(flow)
    assert found, flow
    assert says in found[0].message


def test_applications_are_reviewed_through_the_engine(
    tree, street_admin, applicant, window_staff, department_admin
):
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    from .conftest import make_user

    other = do_create_organization(
        name="残疾人联合会", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=street_admin
    )
    other_admin = make_user("cl_admin2", "department_admin", other)
    item = save_item(
        tree,
        street_admin,
        code="200010003001",
        name="困难残疾人生活补贴",
        process={"bpmn": BPMN, "orgs": {"second": other.pk}},
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )

    def submit(amount: str):
        app = actions.do_start_application(item, actor=applicant, on=D)
        actions.do_save_draft(app, {"applicant_name": "陈居民", "amount": amount}, actor=applicant)
        actions.do_use_shared_material(app, item.materials.get(), actor=applicant, consent=True)
        app = actions.do_submit_application(app, actor=applicant, on=D).application
        actions.do_accept(app, actor=window_staff, on=D)
        return app

    small, large = submit("800"), submit("20000")
    # The item's process changes after acceptance: accepted cases keep the one they were accepted under.
    actions.do_save_item(item, actor=street_admin, process=default_process())
    for app, route in ((small, ["初审", "批准"]), (large, ["初审", "复审", "批准"])):
        done = []
        while (task := app.tasks.filter(state=TaskState.PENDING).first()) is not None:
            actor = other_admin if task.key == "second" else department_admin
            if task.key == "second":
                assert task.org_id == other.pk
                with pytest.raises(PermissionDenied):
                    actions.do_review_task(task, passed=True, opinion="", actor=department_admin)
            actions.do_review_task(task, passed=True, opinion="", actor=actor)
            done.append(task.name)
        assert done == route
        actions.do_decide(app, Outcome.APPROVED, actor=department_admin, on=D)
        app.refresh_from_db()
        assert app.state == State.DECIDED
    fresh = submit("20000")
    assert [t.key for t in fresh.tasks.all()] == ["audit"]  # a new case follows the new process


def test_a_process_that_breaks_mid_review_stops_with_a_clear_error(
    tree, street_admin, applicant, window_staff, department_admin
):
    item = save_item(
        tree,
        street_admin,
        code="200010003002",
        name="测试事项",
        materials=[{"name": "居民身份证", "shared": "id_card"}],
    )
    app = actions.do_start_application(item, actor=applicant, on=D)
    actions.do_use_shared_material(app, item.materials.get(), actor=applicant, consent=True)
    app = actions.do_submit_application(app, actor=applicant, on=D).application
    actions.do_accept(app, actor=window_staff, on=D)
    app.refresh_from_db()
    app.review_process = {"bpmn": BPMN}  # e.g. restored from an older backup: "audit" is not in it
    app.save(update_fields=["review_process"])
    task = app.tasks.get()
    with pytest.raises(RuleViolation) as err:
        actions.do_review_task(task, passed=True, opinion="", actor=department_admin)
    assert err.value.code == "process_error"
    task.refresh_from_db()
    assert task.state == TaskState.PENDING  # nothing half-done
