"""/api/v1: the public dues quote, the scoped roster, a member, their timeline, recording a step.

Thin endpoints: parse, access_* (404 outside the caller's scope), one action, the response.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Query, Router, Schema, UploadedFile
from ninja.responses import Status as HttpStatus
from pydantic import WithJsonSchema

from dangqun.core.errors import RuleViolation
from dangqun.core.permissions import has_perm
from dangqun.core.rulesets import ruleset_for
from dangqun.core.schemas import ERRORS, ErrorOut

from . import actions, queries
from . import rules as R
from .choices import QUOTE_CATEGORIES, DuesCategory, Status, StepState
from .exporting import XLSX_CONTENT_TYPE, roster_response
from .importing import do_import_members
from .importing import max_bytes as max_import_bytes
from .models import PartyMember
from .schemas import (
    PK,
    CancelProbationIn,
    CancelProbationOut,
    DuesQuoteOut,
    ExtendProbationIn,
    ExtendProbationOut,
    MemberFilters,
    MemberOut,
    MemberPageOut,
    StepIn,
    StepOut,
    TimelineOut,
)

router = Router(tags=["members"])

# The quote's inputs are documented exactly (an enum, a pattern: what parse_amount accepts, up to
# 9,999,999.99 yuan with at most 2 decimals) but checked by the endpoint itself, so that a wrong
# value gets a message that says what is wrong with it rather than a generic one.
INCOME_PATTERN = r"^\+?[0-9]{1,7}(\.[0-9]{1,2})?$"
CategoryParam = Annotated[
    str,
    WithJsonSchema({"type": "string", "enum": list(QUOTE_CATEGORIES), "maxLength": 40}),
    Query(
        description="党费类别：employed 在职 / retired 离退休 / farmer 农民 / student 学生 / "
        "unemployed 下岗失业 / low_income 低保",
        examples=["employed"],
    ),
]
IncomeParam = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": INCOME_PATTERN, "maxLength": 40}),
    Query(
        description="在职为税后月工资，离退休为月养老金（元，最多两位小数）；固定金额的类别填 0",
        examples=["4500"],
    ),
]


@router.get(
    "/dues/quote",
    auth=None,
    response={200: DuesQuoteOut, 422: ErrorOut},
    summary="党费测算（公开）",
)
def dues_quote(request: HttpRequest, category: CategoryParam, monthly_income: IncomeParam):
    """Monthly dues by the national brackets in force today (党费收缴、使用和管理的规定 2008).

    Boundaries are inclusive as written: 3000.00 → 0.5%, 3000.01 → 1%, 5000.00 → 1%.
    """
    if category not in QUOTE_CATEGORIES:
        raise R.category_error(QUOTE_CATEGORIES)
    rules = ruleset_for(None, timezone.localdate(), prefix="party.dues.")
    income = R.parse_amount(monthly_income)  # checked for every category; fixed amounts ignore it
    base, rate, amount = R.monthly_dues(category, income, rules)
    fixed = category not in (DuesCategory.EMPLOYED, DuesCategory.RETIRED)
    key = {
        DuesCategory.EMPLOYED: "party.dues.employed_brackets",
        DuesCategory.RETIRED: "party.dues.retired_brackets",
        DuesCategory.FARMER: "party.dues.farmer_min_yuan",
    }.get(category, "party.dues.minimal_yuan")
    return {
        "category": category,
        "category_label": str(DuesCategory(category).label),
        "base": f"{base:.2f}",
        "rate": R.format_rate(rate),
        "monthly_dues": f"{amount:.2f}",
        "fixed": fixed,
        "max_monthly_dues": (
            f"{Decimal(rules['party.dues.farmer_max_yuan']):.2f}" if category == DuesCategory.FARMER else None
        ),
        "source": rules.source(key),
    }


# ---------------------------------------------------------------------------------------------
# The roster in Excel: import (multipart, with a dry run) and export (members/importing.py,
# members/exporting.py; the pages at /members/import/ use the same functions). Declared before
# /members/{member_id} so that its pattern does not catch "import" and "export" first.
# ---------------------------------------------------------------------------------------------


class ImportRowOut(Schema):
    row: int = Field(..., description="Excel 行号（表头为第 1 行）")
    column: str = Field(..., description="列名")
    message: str = Field(..., description="问题及修改方法")


class ImportReportOut(Schema):
    rows: int = Field(..., description="数据行数（空行不计）")
    valid_rows: int
    error_rows: int
    created: int = Field(..., description="新增（试运行时为将新增）")
    updated: int = Field(..., description="按身份证号匹配到并更新")
    unchanged: int = Field(..., description="按身份证号匹配到、没有变化而跳过")
    committed: bool = Field(..., description="是否已保存")
    valid_only: bool
    errors: list[ImportRowOut] = Field(..., description="逐行错误（最多 1000 条）")
    errors_truncated: bool
    warnings: list[ImportRowOut]


@router.post(
    "/members/import",
    response={200: ImportReportOut, **ERRORS},
    summary="导入党员名册（.xlsx）",
)
def import_members(
    request: HttpRequest,
    file: File[UploadedFile],
    dry_run: Form[bool] = False,
    valid_only: Form[bool] = False,
):
    """Check every row; `dry_run` saves nothing. A file with errors imports nothing (422 with
    details.errors) unless `valid_only`. Re-importing a file updates or skips, never duplicates."""
    if file.size is None or file.size > max_import_bytes():
        raise RuleViolation(
            "import_too_large",
            _("文件不能超过 %(mb)d MB。") % {"mb": max_import_bytes() // (1024 * 1024)},
            field="file",
        )
    report = do_import_members(
        file.read(), actor=request.auth, valid_only=valid_only, dry_run=dry_run, filename=file.name or ""
    )
    return report.as_dict()


class ExportFilters(Schema):
    branch: PK = Field(..., description="党支部编号")
    status: str | None = Field(None, max_length=20, description="身份；空为在册，all 为全部")
    group: PK | None = Field(None, description="党小组编号")
    stage: int | None = Field(None, ge=1, le=5, description="发展阶段 1—5")
    q: str | None = Field(None, max_length=40, description="姓名、全拼或首字母")
    masked: bool = Field(False, description="身份证号、手机号脱敏")


XLSX_RESPONSE = {
    "description": "党员名册 .xlsx（表头为中文，可直接作为导入模板）",
    "content": {XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}


@router.get(
    "/members/export",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: XLSX_RESPONSE}},
    summary="导出党员名册（.xlsx）",
)
def export_members(request: HttpRequest, filters: Query[ExportFilters]):
    """The branch's roster as the filters select it. Full ID numbers need the right to change
    members; every export is audited."""
    branch = queries.access_branch(request.auth, filters.branch)
    status = filters.status or ""
    if status not in ("", "all", *Status.values):
        raise RuleViolation(
            "invalid_status", _("身份应为：%(s)s，或 all。") % {"s": "、".join(Status.values)}
        )
    chosen = {
        "q": filters.q or "",
        "status": status,
        "group_id": filters.group,
        "stage": filters.stage,
    }
    masked = filters.masked or not has_perm(request.auth, "members.change", branch)
    return roster_response(
        queries.branch_roster(branch, **chosen),
        actor=request.auth,
        scope=branch,
        masked=masked,
        filters=chosen,
    )


def _summary(m: PartyMember) -> dict:
    return {
        "id": m.pk,
        "name": m.name,
        "gender": m.gender,
        "status": m.status,
        "status_label": str(Status(m.status).label),
        "branch_id": m.branch_id,
        "branch_name": m.branch.name,
        "group_id": m.group_id,
        "group_name": m.group.name if m.group_id else None,
        "admitted_on": m.admitted_on,
        "full_on": m.full_on,
    }


@router.get("/members", response={200: MemberPageOut, **ERRORS}, summary="党员名册（本人管辖范围）")
def list_members(request: HttpRequest, filters: Query[MemberFilters]):
    """Members of the branches the caller manages, by branch then name; filter by status/branch."""
    qs = queries.roster(request.auth, status=filters.status, branch_id=filters.branch).defer(
        "id_number", "phone"
    )
    start = (filters.page - 1) * filters.page_size
    return {
        "items": [_summary(m) for m in qs[start : start + filters.page_size]],
        "count": qs.count(),
        "page": filters.page,
        "page_size": filters.page_size,
    }


@router.get("/members/{member_id}", response={200: MemberOut, **ERRORS}, summary="党员信息")
def get_member(request: HttpRequest, member_id: Path[PK]):
    m = queries.access_member(request.auth, member_id)
    return {
        **_summary(m),
        "id_number_masked": m.id_number_masked,
        "phone_masked": m.phone_masked,
        "birth_date": m.birth_date,
        "applied_on": m.applied_on,
        "talked_on": m.talked_on,
        "activist_on": m.activist_on,
        "candidate_on": m.candidate_on,
        "probation_ends_on": m.probation_ends_on,
        "party_standing_years": m.party_standing_years(timezone.localdate()),
        "transferred_in": m.transferred_in,
        "post": m.post,
        "occupation": m.occupation,
        "dues_category": m.dues_category,
    }


@router.get("/members/{member_id}/timeline", response={200: TimelineOut, **ERRORS}, summary="发展党员进度")
def member_timeline(request: HttpRequest, member_id: Path[PK]):
    """The 25 steps: done (with the date), due, overdue, waiting (with the earliest date), pending, locked."""
    m = queries.access_member(request.auth, member_id)
    today = timezone.localdate()
    entries = R.timeline(queries.member_state(m), today, ruleset_for(m.branch, today, prefix="party.dev."))
    return {
        "member_id": m.pk,
        "status": m.status,
        "status_label": str(Status(m.status).label),
        "entries": [
            {
                **e.__dict__,
                "stage_name": str(R.STAGES[e.stage]),
                "state_label": str(StepState(e.state).label),
            }
            for e in entries
        ],
    }


@router.post("/members/{member_id}/steps", response={201: StepOut, **ERRORS}, summary="登记发展步骤")
def record_step(request: HttpRequest, member_id: Path[PK], data: StepIn):
    """Record a step. Every broken rule comes back at once in details.violations (422)."""
    m = queries.access_member(request.auth, member_id)
    fields = data.dict(exclude_none=True)
    step, on = fields.pop("step"), fields.pop("done_on")
    responsible, notes = fields.pop("responsible", ""), fields.pop("notes", "")
    record = actions.do_record_step(
        m, step, on, actor=request.auth, responsible=responsible, notes=notes, **fields
    )
    return HttpStatus(
        201,
        {
            "id": record.pk,
            "step": record.step,
            "name": str(R.STEPS[record.step].name),
            "done_on": record.done_on,
            "member_status": record.member.status,
            "member_status_label": str(Status(record.member.status).label),
            "flags": record.flags,
        },
    )


def _probation_decision_out(record: Any, **fields: Any) -> dict[str, Any]:
    """What both probation decisions (cancellation, extension) answer: the record with its
    支部大会 and approval, the member's status after it, and the decision's own `fields`."""
    return {
        "id": record.pk,
        "member_id": record.member_id,
        "meeting_on": record.meeting_on,
        "approved_on": record.approved_on,
        "approved_by": record.approved_by,
        "reason": record.reason,
        **fields,
        "member_status": record.member.status,
        "member_status_label": str(Status(record.member.status).label),
    }


@router.post(
    "/members/{member_id}/probation/cancel",
    response={201: CancelProbationOut, **ERRORS},
    summary="取消预备党员资格",
)
def cancel_probation(request: HttpRequest, member_id: Path[PK], data: CancelProbationIn):
    """A probationary member only; the approval not before the 支部大会; the reason recorded.
    Every broken rule comes back at once in details.violations (422)."""
    m = queries.access_member(request.auth, member_id)
    record = actions.do_cancel_probation(m, **data.dict(), actor=request.auth)
    return HttpStatus(201, _probation_decision_out(record, probation_ends_on=record.probation_ends_on))


@router.post(
    "/members/{member_id}/probation/extend",
    response={201: ExtendProbationOut, **ERRORS},
    summary="延长预备期",
)
def extend_probation(request: HttpRequest, member_id: Path[PK], data: ExtendProbationIn):
    """A probationary member only, once, by 6–12 months (the rule set's values); the 支部大会
    after admission and before the full-membership discussion, the approval not before the
    meeting; the reason recorded. The end of probation, and so the full-membership date, moves
    by the months. Every broken rule comes back at once in details.violations (422)."""
    m = queries.access_member(request.auth, member_id)
    record = actions.do_extend_probation(m, **data.dict(), actor=request.auth)
    return HttpStatus(
        201,
        _probation_decision_out(
            record, months=record.months, previous_end=record.previous_end, probation_ends_on=record.new_end
        ),
    )


# Transfers, letters, flowing members, the dues ledger and payments (members/api_transfers.py).
router.add_router("", "dangqun.members.api_transfers.router")
