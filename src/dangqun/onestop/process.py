"""The review phase of an application as a BPMN process run by SpiffWorkflow.

An item's `process` is either the simple form departments edit — stages in order, each with
parallel tasks and an optional `when` condition — which is compiled here to BPMN (a stage with a
condition sits behind an exclusive gateway, parallel tasks between parallel gateways), or a BPMN
document of its own under "bpmn" (from a modeller) whose user tasks are the review tasks.

Conditions are evaluated by expr.py (a restricted language, never `eval`) and script tasks are
refused, so an item's process cannot run code. The workflow is not stored: it is rebuilt from the
item's process and replayed with the tasks already passed (ReviewTask rows are the truth), which
keeps one source of state and makes every step deterministic.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import expr

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
PROCESS_ID = "review"
# Elements that would run code or wait on the outside world: not allowed in an item's process.
FORBIDDEN = ("scriptTask", "serviceTask", "callActivity", "businessRuleTask", "sendTask", "receiveTask")


class ProcessError(ValueError):
    """The process cannot be compiled or run; the message is for the administrator."""


@dataclass(frozen=True)
class TaskSpec:
    """One review task the engine has made ready: its BPMN id, name and handling organization."""

    bpmn_id: str
    key: str
    name: str
    stage: int
    org: Any  # "department" or an organization id


class SafeScriptEngine(PythonScriptEngine):
    """Gateway conditions through expr.evaluate on the form's values; no script ever runs."""

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return expr.evaluate(expression, task.data)
        except expr.ExpressionError as exc:
            raise ProcessError(str(exc)) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        raise ProcessError("审查流程不能包含脚本。")


def task_id(stage: int, key: str) -> str:
    return f"s{stage}_{key}"


def _el(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{BPMN_NS}}}{tag}", attrs)


def compile_stages(stages: list[dict]) -> str:
    """The stages form as a BPMN document (one process, id "review")."""
    root = ET.Element(f"{{{BPMN_NS}}}definitions", {"id": "dangqun_review", "targetNamespace": "dangqun"})
    proc = _el(root, "process", id=PROCESS_ID, isExecutable="true")
    _el(proc, "startEvent", id="start")
    flows = iter(range(1, 10_000))

    def flow(src: str, dst: str, condition: str = "") -> str:
        fid = f"f{next(flows)}"
        f = _el(proc, "sequenceFlow", id=fid, sourceRef=src, targetRef=dst)
        if condition:
            _el(f, "conditionExpression").text = condition
        return fid

    last = "start"
    for i, stage in enumerate(stages):
        tasks = stage["tasks"]
        when = (stage.get("when") or "").strip()
        if when:
            gate, merge = _el(proc, "exclusiveGateway", id=f"when{i}"), f"merge{i}"
            flow(last, gate.get("id"), "")
            last = gate.get("id")
        if len(tasks) > 1:
            split, join = f"split{i}", f"join{i}"
            _el(proc, "parallelGateway", id=split)
            _el(proc, "parallelGateway", id=join)
            body_in, body_out = split, join
        for t in tasks:
            _el(proc, "userTask", id=task_id(i, t["key"]), name=t.get("name") or t["key"])
        if len(tasks) == 1:
            body_in = body_out = task_id(i, tasks[0]["key"])
        else:
            for t in tasks:
                flow(split, task_id(i, t["key"]))
                flow(task_id(i, t["key"]), join)
        if when:
            _el(proc, "exclusiveGateway", id=merge)
            flow(last, body_in, when)
            gate.set("default", flow(last, merge))
            flow(body_out, merge)
            last = merge
        else:
            flow(last, body_in)
            last = body_out
    _el(proc, "endEvent", id="end")
    flow(last, "end")
    return ET.tostring(root, encoding="unicode")


def _check_document(xml: str) -> None:
    try:
        doc = ET.fromstring(xml)  # noqa: S314 (administrator input, parsed without entities by expat)
    except ET.ParseError as exc:
        raise ProcessError(f"BPMN 文档无法解析：{exc}") from exc
    for tag in FORBIDDEN:
        if doc.find(f".//{{{BPMN_NS}}}{tag}") is not None:
            raise ProcessError(f"审查流程不能包含 {tag}（只允许人工审查任务、网关和事件）。")
    for cond in doc.iter(f"{{{BPMN_NS}}}conditionExpression"):
        try:
            expr.parse((cond.text or "").strip())
        except expr.ExpressionError as exc:
            raise ProcessError(f"条件“{cond.text}”：{exc}") from exc
    if not list(doc.iter(f"{{{BPMN_NS}}}userTask")):
        raise ProcessError("审查流程须至少有一个人工审查任务（userTask）。")


@functools.lru_cache(maxsize=256)
def _spec(xml: str) -> Any:
    _check_document(xml)
    parser = BpmnParser()
    try:
        parser.add_bpmn_str(xml.encode())
        ids = parser.get_process_ids()
        return parser.get_spec(PROCESS_ID if PROCESS_ID in ids else ids[0])
    except (ValidationException, SpiffWorkflowException, IndexError, ValueError) as exc:
        raise ProcessError(f"BPMN 流程无效：{exc}") from exc


def document(process: Mapping[str, Any]) -> str:
    return process["bpmn"] if process.get("bpmn") else compile_stages(process.get("stages") or [])


def _task_specs(process: Mapping[str, Any]) -> dict[str, TaskSpec]:
    if process.get("bpmn"):
        orgs = process.get("orgs") or {}
        doc = ET.fromstring(process["bpmn"])  # noqa: S314
        return {
            t.get("id"): TaskSpec(
                t.get("id"), t.get("id"), t.get("name") or t.get("id"), 0, orgs.get(t.get("id"), "department")
            )
            for t in doc.iter(f"{{{BPMN_NS}}}userTask")
        }
    return {
        task_id(i, t["key"]): TaskSpec(
            task_id(i, t["key"]), t["key"], t.get("name") or t["key"], i, t.get("org", "department")
        )
        for i, stage in enumerate(process.get("stages") or [])
        for t in stage["tasks"]
    }


def validate(process: Mapping[str, Any]) -> None:
    """Raise ProcessError unless the process compiles and parses (conditions included)."""
    _spec(document(process))


def ready_tasks(process: Mapping[str, Any], form: Mapping[str, Any], passed: Iterable[str]) -> list[TaskSpec]:
    """The review tasks ready after the tasks `passed` (BPMN ids, in the order they were passed).
    An empty list means the process has ended."""
    specs = _task_specs(process)
    workflow = BpmnWorkflow(_spec(document(process)), script_engine=SafeScriptEngine())
    for t in workflow.get_tasks(state=TaskState.READY):
        t.data.update(form)
    try:
        workflow.do_engine_steps()
        for done in passed:
            task = next(
                (
                    t
                    for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                    if t.task_spec.name == done
                ),
                None,
            )
            if task is None:
                raise ProcessError(f"任务 {done} 不在流程的当前环节。")
            task.run()
            workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        raise ProcessError(str(exc)) from exc
    if workflow.is_completed():
        return []
    return [specs[t.task_spec.name] for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def bpmn_id(process: Mapping[str, Any], stage: int, key: str) -> str:
    """The BPMN id of a stored review task (ReviewTask.stage, .key)."""
    return key if process.get("bpmn") else task_id(stage, key)
