"""/api/v1: transfers, introduction letters, flowing members, the dues ledger and payments.

Thin endpoints (DESIGN.md): parse, access_* (404 outside the caller's scope), one action, the
response. Money is a string with two decimals ("45.00"); months are "YYYY-MM".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Query, Router, Schema
from ninja.responses import Status as HttpStatus

from dangqun.core.errors import RuleViolation
from dangqun.core.rulesets import ruleset_for
from dangqun.core.schemas import ERRORS

from . import actions, queries
from . import actions_transfer as AT
from . import queries_transfer as QT
from . import rules as R
from . import rules_transfer as RT
from .choices import DuesCategory, PaymentMethod, Status
from .letters import render_letter_pdf
from .models import DuesPayment, DuesRate
from .schemas import PK, FlagOut, Text
from .transfers import (
    ContactChannel,
    FlowingMember,
    FlowKind,
    IntroductionLetter,
    LetterStatus,
    Transfer,
    TransferStatus,
)

router = Router(tags=["transfers-dues"])

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
AMOUNT_PATTERN = r"^\+?[0-9]{1,7}(\.[0-9]{1,2})?$"
Month = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2025-06"])]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _month_text(d: date | None) -> str | None:
    return None if d is None else f"{d:%Y-%m}"


def _month(text: str, field: str = "month") -> date:
    """The first day of a "YYYY-MM" month; a year outside 1900–2100 is a typing error (422)."""
    year, month = (int(p) for p in text.split("-"))
    if not 1900 <= year <= 2100:
        raise RuleViolation("invalid_month", _("月份应在 1900 年至 2100 年之间。"), field=field)
    return date(year, month, 1)


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# ---------------------------------------------------------------------------------------------
# Transfers inside the platform
# ---------------------------------------------------------------------------------------------


class TransferIn(Schema):
    member_id: PK = Field(..., description="党员编号")
    to_branch_id: PK = Field(..., description="转入党支部编号（平台上的任一党支部）")
    issued_on: date = Field(..., description="转出日期")
    reason: Text = Field("", max_length=200, description="转接原因")


class TransferOut(Schema):
    id: int
    member_id: int
    member_name: str
    member_status: str = Field(..., description="转出时身份")
    from_branch_id: int
    from_branch_name: str
    to_branch_id: int
    to_branch_name: str
    status: str = Field(
        ..., description="pending 待接收 / accepted 已接收 / returned 已退回 / cancelled 已撤回"
    )
    status_label: str
    reason: str
    issued_on: date
    decided_on: date | None
    return_reason: str
    postpone_until: date | None = Field(
        None,
        description="转入的预备党员：转正讨论最迟日期（预备期满后最多 6 个月；转正时间仍为预备期满之日）",
    )
    responsible_branch_id: int = Field(..., description="现在负责该党员的党支部（接收前为转出支部）")


def _transfer(t: Transfer) -> dict:
    return {
        "id": t.pk,
        "member_id": t.member_id,
        "member_name": t.member.name,
        "member_status": t.member_status,
        "from_branch_id": t.from_branch_id,
        "from_branch_name": t.from_branch.name,
        "to_branch_id": t.to_branch_id,
        "to_branch_name": t.to_branch.name,
        "status": t.status,
        "status_label": _label(TransferStatus, t.status),
        "reason": t.reason,
        "issued_on": t.issued_on,
        "decided_on": t.decided_on,
        "return_reason": t.return_reason,
        "postpone_until": t.postpone_until,
        "responsible_branch_id": t.member.branch_id,
    }


def _branch_target(pk: int):
    target = QT.transfer_targets().filter(pk=pk).first()
    if target is None:
        raise RuleViolation("to_branch", _("找不到该党支部。"), field="to_branch_id")
    return target


@router.post("/transfers", response={201: TransferOut, **ERRORS}, summary="转出组织关系（平台内）")
def issue_transfer(request: HttpRequest, data: TransferIn):
    """The out-branch issues; the member stays there (and in its counters) until accepted."""
    member = queries.access_member(request.auth, data.member_id, "members.change")
    transfer = AT.do_issue_transfer(
        member,
        to_branch=_branch_target(data.to_branch_id),
        issued_on=data.issued_on,
        reason=data.reason,
        actor=request.auth,
    )
    return HttpStatus(201, _transfer(QT.access_transfer(request.auth, transfer.pk)))


@router.get("/transfers/{transfer_id}", response={200: TransferOut, **ERRORS}, summary="组织关系转接")
def get_transfer(request: HttpRequest, transfer_id: Path[PK]):
    return _transfer(QT.access_transfer(request.auth, transfer_id))


class DecisionIn(Schema):
    decided_on: date | None = Field(None, description="接收或退回日期（默认今天）")


class ReturnIn(DecisionIn):
    reason: Text = Field(..., min_length=1, max_length=500, description="退回原因")


@router.post(
    "/transfers/{transfer_id}/accept", response={200: TransferOut, **ERRORS}, summary="接收组织关系转入"
)
def accept_transfer(request: HttpRequest, transfer_id: Path[PK], data: DecisionIn):
    """Only the in-branch (members.change over it). Branch and counters move in one transaction."""
    transfer = QT.access_transfer(request.auth, transfer_id)
    AT.do_accept_transfer(transfer, accepted_on=data.decided_on or timezone.localdate(), actor=request.auth)
    return _transfer(QT.access_transfer(request.auth, transfer_id))


@router.post(
    "/transfers/{transfer_id}/return", response={200: TransferOut, **ERRORS}, summary="退回组织关系转接"
)
def return_transfer(request: HttpRequest, transfer_id: Path[PK], data: ReturnIn):
    transfer = QT.access_transfer(request.auth, transfer_id)
    AT.do_return_transfer(
        transfer, reason=data.reason, returned_on=data.decided_on or timezone.localdate(), actor=request.auth
    )
    return _transfer(QT.access_transfer(request.auth, transfer_id))


@router.post(
    "/transfers/{transfer_id}/cancel", response={200: TransferOut, **ERRORS}, summary="撤回组织关系转接"
)
def cancel_transfer(request: HttpRequest, transfer_id: Path[PK]):
    transfer = QT.access_transfer(request.auth, transfer_id)
    AT.do_cancel_transfer(transfer, actor=request.auth)
    return _transfer(QT.access_transfer(request.auth, transfer_id))


# ---------------------------------------------------------------------------------------------
# Introduction letters (介绍信)
# ---------------------------------------------------------------------------------------------


class LetterIn(Schema):
    member_id: PK
    to_organization: Text = Field(..., min_length=1, max_length=120, description="转往组织")
    issued_on: date = Field(..., description="开具日期")
    valid_until: date | None = Field(None, description="有效期至（最长 3 个月，跨省最长 6 个月；默认最长）")
    cross_province: bool = Field(False, description="跨省（区、市）转接")
    reason: Text = Field("", max_length=200)


class LetterOut(Schema):
    id: int
    number: str = Field(..., description="编号（开具党委、年度内唯一）")
    member_id: int
    holder_name: str
    member_status: str
    standing_years: int | None = Field(None, description="党龄（开具时）")
    dues_paid_through: str | None = Field(None, description="党费交至（YYYY-MM）")
    committee_name: str
    from_name: str
    to_organization: str
    cross_province: bool
    issued_on: date
    valid_until: date
    status: str = Field(..., description="issued 待回执 / received 已回执 / cancelled 已作废")
    status_label: str
    expired_without_receipt: bool = Field(..., description="已过有效期、尚无回执（提示支部跟进）")
    received_on: date | None
    receipt_org: str
    pdf_url: str


def _letter(letter: IntroductionLetter) -> dict:
    return {
        "id": letter.pk,
        "number": letter.number,
        "member_id": letter.member_id,
        "holder_name": letter.holder_name,
        "member_status": letter.member_status,
        "standing_years": letter.standing_years,
        "dues_paid_through": _month_text(letter.dues_paid_through),
        "committee_name": letter.committee_name,
        "from_name": letter.from_name,
        "to_organization": letter.to_organization,
        "cross_province": letter.cross_province,
        "issued_on": letter.issued_on,
        "valid_until": letter.valid_until,
        "status": letter.status,
        "status_label": _label(LetterStatus, letter.status),
        "expired_without_receipt": letter.status == LetterStatus.ISSUED
        and letter.valid_until < timezone.localdate(),
        "received_on": letter.received_on,
        "receipt_org": letter.receipt_org,
        "pdf_url": reverse("api:letter_pdf", args=[letter.pk]),
    }


@router.post("/letters", response={201: LetterOut, **ERRORS}, summary="开具介绍信（转往平台外）")
def issue_letter(request: HttpRequest, data: LetterIn):
    """A numbered letter; the member becomes 转出 when the receipt is recorded."""
    member = queries.access_member(request.auth, data.member_id, "members.change")
    letter = AT.do_issue_letter(
        member,
        to_organization=data.to_organization,
        issued_on=data.issued_on,
        valid_until=data.valid_until,
        cross_province=data.cross_province,
        reason=data.reason,
        actor=request.auth,
    )
    return HttpStatus(201, _letter(letter))


@router.get("/letters/{letter_id}", response={200: LetterOut, **ERRORS}, summary="介绍信")
def get_letter(request: HttpRequest, letter_id: Path[PK]):
    return _letter(QT.access_letter(request.auth, letter_id))


PDF_RESPONSE = {
    "description": "介绍信 PDF（含回执联）",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


@router.get(
    "/letters/{letter_id}/pdf",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: PDF_RESPONSE}},
    summary="介绍信 PDF",
    url_name="letter_pdf",
)
def letter_pdf(request: HttpRequest, letter_id: Path[PK]):
    """The printable letter; it shows the full ID number, so only those who may change members."""
    letter = QT.access_letter(request.auth, letter_id, "members.change")
    return _pdf_response(letter)


def _pdf_response(letter: IntroductionLetter) -> HttpResponse:
    response = HttpResponse(
        render_letter_pdf(letter, letter.member.id_number), content_type="application/pdf"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"介绍信-{letter.number}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


class ReceiptIn(Schema):
    received_on: date = Field(..., description="回执日期")
    receipt_org: Text = Field(..., min_length=1, max_length=120, description="回执的党组织")
    note: Text = Field("", max_length=200)


class CancelIn(Schema):
    reason: Text = Field(..., min_length=1, max_length=200, description="作废原因")


@router.post("/letters/{letter_id}/receipt", response={200: LetterOut, **ERRORS}, summary="登记介绍信回执")
def letter_receipt(request: HttpRequest, letter_id: Path[PK], data: ReceiptIn):
    """Closes the loop: the member becomes 转出 and leaves the branch's counters."""
    letter = QT.access_letter(request.auth, letter_id)
    letter = AT.do_record_letter_receipt(
        letter, received_on=data.received_on, receipt_org=data.receipt_org, note=data.note, actor=request.auth
    )
    return _letter(letter)


@router.post("/letters/{letter_id}/cancel", response={200: LetterOut, **ERRORS}, summary="作废介绍信")
def cancel_letter(request: HttpRequest, letter_id: Path[PK], data: CancelIn):
    letter = QT.access_letter(request.auth, letter_id)
    return _letter(AT.do_cancel_letter(letter, reason=data.reason, actor=request.auth))


# ---------------------------------------------------------------------------------------------
# Flowing members (流动党员)
# ---------------------------------------------------------------------------------------------


class FlowingIn(Schema):
    member_id: PK
    kind: FlowKind = Field(
        ..., description="short 外出不满6个月（地点固定）/ unfixed 地点不固定 / abroad 出国（境）"
    )
    place: Text = Field(..., min_length=1, max_length=200, description="外出地点")
    since: date = Field(..., description="外出日期")
    expected_return: date | None = Field(None, description="预计返回日期（地点固定的短期外出必填）")
    contact: Text = Field("", max_length=100, description="联系方式")
    reason: Text = Field("", max_length=200)
    registered_on: date | None = Field(None, description="登记日期（默认今天）")


class ContactIn(Schema):
    contacted_on: date
    channel: ContactChannel
    note: Text = Field("", max_length=500)


class EndFlowingIn(Schema):
    ended_on: date
    note: Text = Field("", max_length=200)


class ContactOut(Schema):
    contacted_on: date
    channel: str
    note: str


class FlowingOut(Schema):
    id: int
    member_id: int
    member_name: str
    kind: str
    kind_label: str
    place: str
    contact_masked: str
    since: date
    expected_return: date | None
    active: bool
    ended_on: date | None
    last_contact_on: date
    next_contact_due_on: date = Field(..., description="应再次联系的日期（6 个月未联系即提醒）")
    contact_overdue: bool
    contacts: list[ContactOut]


def _flowing(reg: FlowingMember) -> dict:
    today = timezone.localdate()
    rules = ruleset_for(reg.member.branch, today, prefix="party.")
    due = RT.contact_due_on(reg.last_contact_on, rules)
    return {
        "id": reg.pk,
        "member_id": reg.member_id,
        "member_name": reg.member.name,
        "kind": reg.kind,
        "kind_label": _label(FlowKind, reg.kind),
        "place": reg.place,
        "contact_masked": reg.contact_masked,
        "since": reg.since,
        "expected_return": reg.expected_return,
        "active": reg.active,
        "ended_on": reg.ended_on,
        "last_contact_on": reg.last_contact_on,
        "next_contact_due_on": due,
        "contact_overdue": reg.active and today >= due,
        "contacts": [
            {"contacted_on": c.contacted_on, "channel": c.channel, "note": c.note} for c in reg.contacts.all()
        ],
    }


@router.post("/flowing", response={201: FlowingOut, **ERRORS}, summary="登记流动党员")
def register_flowing(request: HttpRequest, data: FlowingIn):
    member = queries.access_member(request.auth, data.member_id, "members.change")
    reg = AT.do_register_flowing(
        member,
        kind=data.kind,
        place=data.place,
        since=data.since,
        expected_return=data.expected_return,
        contact=data.contact,
        reason=data.reason,
        registered_on=data.registered_on,
        actor=request.auth,
    )
    return HttpStatus(201, _flowing(QT.access_flowing(request.auth, reg.pk)))


@router.get("/flowing/{flowing_id}", response={200: FlowingOut, **ERRORS}, summary="流动党员登记")
def get_flowing(request: HttpRequest, flowing_id: Path[PK]):
    return _flowing(QT.access_flowing(request.auth, flowing_id))


@router.post("/flowing/{flowing_id}/contacts", response={201: FlowingOut, **ERRORS}, summary="登记联系记录")
def log_contact(request: HttpRequest, flowing_id: Path[PK], data: ContactIn):
    reg = QT.access_flowing(request.auth, flowing_id)
    AT.do_log_flowing_contact(
        reg, contacted_on=data.contacted_on, channel=data.channel, note=data.note, actor=request.auth
    )
    return HttpStatus(201, _flowing(QT.access_flowing(request.auth, flowing_id)))


@router.post("/flowing/{flowing_id}/end", response={200: FlowingOut, **ERRORS}, summary="结束流动党员登记")
def end_flowing(request: HttpRequest, flowing_id: Path[PK], data: EndFlowingIn):
    reg = QT.access_flowing(request.auth, flowing_id)
    AT.do_end_flowing(reg, ended_on=data.ended_on, note=data.note, actor=request.auth)
    return _flowing(QT.access_flowing(request.auth, flowing_id))


# ---------------------------------------------------------------------------------------------
# A member's organizational relationship (the transfer-in postponement included)
# ---------------------------------------------------------------------------------------------


class RelationOut(Schema):
    member_id: int
    status: str
    branch_id: int = Field(..., description="现在负责该党员的党支部")
    branch_name: str
    transferred_in: bool = Field(..., description="转入的预备党员")
    probation_ends_on: date | None = Field(None, description="预备期满（转正时间）")
    full_discussion_latest_on: date | None = Field(
        None, description="转入的预备党员：讨论转正最迟日期（可推迟至预备期满后 6 个月）"
    )
    postpone_source: str
    pending_transfer: TransferOut | None
    open_letter: LetterOut | None
    flowing: FlowingOut | None
    transfers: list[TransferOut]
    graduated_on: date | None = Field(
        None, description="组织关系暂留学校的毕业生党员：毕业日期（仅当本支部即保留关系的学校支部时）"
    )
    graduate_keep_until: date | None = Field(
        None, description="组织关系在学校最迟保留至（毕业后 2 年当日；次日起提示转接）"
    )
    graduate_overdue: bool = Field(
        False, description="毕业已超过保留期限：应及时转接组织关系（提示，不改变身份）"
    )
    graduate_warning: FlagOut | None = Field(None, description="超过保留期限的提示及依据")


@router.get(
    "/members/{member_id}/relation",
    response={200: RelationOut, **ERRORS},
    summary="党员组织关系（转接、流动）",
)
def member_relation(request: HttpRequest, member_id: Path[PK]):
    member = queries.access_member(request.auth, member_id)
    rel = QT.member_relation(member, timezone.localdate())
    open_letter = next((r.letter for r in rel.letters if r.letter.status == LetterStatus.ISSUED), None)
    for t in rel.transfers:
        t.member = member
    return {
        "member_id": member.pk,
        "status": member.status,
        "branch_id": member.branch_id,
        "branch_name": member.branch.name,
        "transferred_in": member.transferred_in,
        "probation_ends_on": member.probation_ends_on if member.status == Status.PROBATIONARY else None,
        "full_discussion_latest_on": rel.postpone_until,
        "postpone_source": rel.postpone_source,
        "pending_transfer": _transfer(rel.pending) if rel.pending else None,
        "open_letter": _letter(open_letter) if open_letter else None,
        "flowing": _flowing(rel.flowing.registration) if rel.flowing else None,
        "transfers": [_transfer(t) for t in rel.transfers],
        "graduated_on": member.graduated_on if rel.graduate else None,
        "graduate_keep_until": rel.graduate.keep_until if rel.graduate else None,
        "graduate_overdue": bool(rel.graduate and rel.graduate.overdue),
        "graduate_warning": rel.graduate_warning.as_dict() if rel.graduate_warning else None,
    }


class GraduationIn(Schema):
    graduated_on: date = Field(..., description="毕业日期")


@router.post(
    "/members/{member_id}/graduation",
    response={200: RelationOut, **ERRORS},
    summary="登记毕业生党员组织关系暂留学校",
)
def record_graduation(request: HttpRequest, member_id: Path[PK], data: GraduationIn):
    """The school's branch keeps the relationship of a graduate: at most
    party.transfer.graduate_keep_years (2) after graduation, the same day two years later
    included (29 February → 28 February); from the next day the relationship carries a warning."""
    member = queries.access_member(request.auth, member_id, "members.change")
    AT.do_record_graduation(member, graduated_on=data.graduated_on, actor=request.auth)
    return member_relation(request, member_id)


# ---------------------------------------------------------------------------------------------
# Dues: the ledger, the arrears report, rates and payments
# ---------------------------------------------------------------------------------------------


class LedgerFilters(Schema):
    branch: PK = Field(..., description="党支部编号")
    month: Month | None = Field(None, description="月份 YYYY-MM（默认本月）")


class LedgerTotalsOut(Schema):
    members: int
    due: str = Field(..., description="本月应交合计（元）")
    paid: str = Field(..., description="本月已交合计（元）")
    outstanding: str = Field(..., description="本月未交（元）")
    unpaid_members: int
    rate_missing: int = Field(..., description="本年度党费标准未核定的人数")
    arrears_amount: str = Field(..., description="近 12 个月欠交合计（元）")
    suspected_lapses: int = Field(..., description="连续 6 个月未交纳（疑似自行脱党）的人数")
    suspected_life_lapses: int = Field(
        ..., description="连续 6 个完整月份未参加组织生活（疑似自行脱党）的人数"
    )


class LedgerRowOut(Schema):
    member_id: int
    name: str
    status: str
    due: str | None = Field(None, description="本月应交（元）；未核定为 null")
    paid: bool
    arrears_months: int = Field(..., description="近 12 个月未交月数（含本月）")
    arrears_amount: str
    suspected_lapse: bool = Field(..., description="疑似自行脱党：仅为提示，由支部大会决定，不改变党员身份")


class LifeLapseOut(Schema):
    member_id: int
    name: str
    status: str
    life_gap_months: int = Field(
        ..., description="近 12 个月内最长连续未参加组织生活的完整月数（本月未结束不计）"
    )


class LedgerOut(Schema):
    branch_id: int
    branch_name: str
    month: str
    lapse_months: int
    totals: LedgerTotalsOut
    rows: list[LedgerRowOut]
    life_lapses: list[LifeLapseOut] = Field(
        ...,
        description="连续 lapse_months 个完整月份没有出席本支部会议的记录，疑似自行脱党"
        "（与欠交党费同一提示、不同原因；仅为提示，由支部大会决定，不改变党员身份）",
    )


def _ledger(request: HttpRequest, filters: LedgerFilters, *, arrears_only: bool) -> dict:
    branch = queries.access_branch(request.auth, filters.branch)
    month = _month(filters.month) if filters.month else R.month_of(timezone.localdate())
    book = QT.branch_ledger(branch, month)
    totals = book.totals
    return {
        "branch_id": branch.pk,
        "branch_name": branch.name,
        "month": f"{month:%Y-%m}",
        "lapse_months": book.lapse_months,
        "totals": {
            "members": totals.members,
            "due": _money(totals.due),
            "paid": _money(totals.paid),
            "outstanding": _money(totals.outstanding),
            "unpaid_members": totals.unpaid_members,
            "rate_missing": totals.rate_missing,
            "arrears_amount": _money(totals.arrears_amount),
            "suspected_lapses": totals.suspected_lapses,
            "suspected_life_lapses": totals.suspected_life_lapses,
        },
        "rows": [
            {
                "member_id": line.row.member_id,
                "name": line.name,
                "status": line.status,
                "due": _money(line.row.due),
                "paid": line.row.paid,
                "arrears_months": line.row.arrears_months,
                "arrears_amount": _money(line.row.arrears_amount),
                "suspected_lapse": line.row.suspected_lapse,
            }
            for line in (book.arrears if arrears_only else book.lines)
        ],
        "life_lapses": [
            {
                "member_id": line.row.member_id,
                "name": line.name,
                "status": line.status,
                "life_gap_months": line.row.life_gap_months,
            }
            for line in book.life_lapses
        ],
    }


@router.get("/dues/ledger", response={200: LedgerOut, **ERRORS}, summary="党费收缴台账（按支部、按月）")
def dues_ledger(request: HttpRequest, filters: Query[LedgerFilters]):
    """Due, paid and arrears of every member of the branch for the month; the 疑似自行脱党 flag
    (party.dues.arrears_flag_months consecutive unpaid months) is for the branch, never a status."""
    return _ledger(request, filters, arrears_only=False)


@router.get("/dues/arrears", response={200: LedgerOut, **ERRORS}, summary="党费欠交情况（按支部）")
def dues_arrears(request: HttpRequest, filters: Query[LedgerFilters]):
    """Only the members with unpaid months, the flagged ones first."""
    return _ledger(request, filters, arrears_only=True)


class PaymentIn(Schema):
    member_id: PK
    period_start: Month = Field(..., description="起始月份 YYYY-MM")
    months: int = Field(1, ge=1, le=13, description="月数：按月 1；补交或预交一般不超过 6 个月")
    method: PaymentMethod = Field(
        PaymentMethod.MONTHLY, description="monthly 按月 / quarterly 按季（须经批准）"
    )
    amount: str | None = Field(
        None, pattern=AMOUNT_PATTERN, max_length=20, description="实交金额（元）；默认为应交金额"
    )
    paid_on: date = Field(..., description="交纳日期")
    note: Text = Field("", max_length=200)


class PaymentOut(Schema):
    id: int
    member_id: int
    period_start: str
    period_end: str
    months: int
    method: str
    amount: str
    amount_due: str
    paid_on: date
    large_payment: bool = Field(..., description="一次交纳 1000 元以上：全额上缴中央")
    replayed: bool = Field(..., description="同一幂等键的重复请求：返回已登记的交纳，不重复登记")


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=80,
        description="幂等键：同一笔交纳重试时使用同一个键，只登记一次",
    ),
]


@router.post("/dues/payments", response={201: PaymentOut, **ERRORS}, summary="登记党费交纳（幂等）")
def record_payment(request: HttpRequest, data: PaymentIn, idempotency_key: IdempotencyKey):
    """Monthly, or quarterly with approval; back- or pre-payment at most 6 months; every broken
    rule at once (422). A retry with the same Idempotency-Key answers with the payment already
    recorded; the same key with different content is a 422."""
    member = queries.access_member(request.auth, data.member_id, "members.change")
    replayed = DuesPayment.objects.filter(idempotency_key=idempotency_key.strip()).exists()
    payment = actions.do_record_dues_payment(
        member,
        period_start=_month(data.period_start, "period_start"),
        months=data.months,
        method=data.method,
        amount=data.amount,
        paid_on=data.paid_on,
        note=data.note,
        idempotency_key=idempotency_key,
        actor=request.auth,
    )
    return HttpStatus(
        201,
        {
            "id": payment.pk,
            "member_id": payment.member_id,
            "period_start": _month_text(payment.period_start),
            "period_end": _month_text(payment.period_end),
            "months": payment.months,
            "method": payment.method,
            "amount": _money(payment.amount),
            "amount_due": _money(payment.amount_due),
            "paid_on": payment.paid_on,
            "large_payment": payment.large_payment,
            "replayed": replayed,
        },
    )


class RateIn(Schema):
    member_id: PK
    year: int = Field(..., ge=2000, le=2100)
    category: DuesCategory
    income: str | None = Field(
        None, pattern=AMOUNT_PATTERN, max_length=20, description="在职税后月工资 / 离退休月养老金"
    )
    amount: str | None = Field(
        None, pattern=AMOUNT_PATTERN, max_length=20, description="农民党员金额 / 批准减免的金额"
    )
    hardship_approved_on: date | None = None
    hardship_approved_by: Text = Field("", max_length=120)
    quarterly_approved_on: date | None = None
    quarterly_approved_by: Text = Field("", max_length=120)


class RateOut(Schema):
    id: int
    member_id: int
    year: int
    category: str
    base: str
    rate: str
    monthly_amount: str
    quarterly_approved: bool
    hardship_approved_by: str


@router.post("/dues/rates", response={201: RateOut, **ERRORS}, summary="核定全年党费标准")
def set_rate(request: HttpRequest, data: RateIn):
    """From the category and income by the national brackets; fixed for the whole year."""
    member = queries.access_member(request.auth, data.member_id, "members.change")
    rate: DuesRate = actions.do_set_dues_rate(
        member,
        data.year,
        category=data.category,
        income=data.income,
        amount=data.amount,
        hardship_approved_on=data.hardship_approved_on,
        hardship_approved_by=data.hardship_approved_by,
        quarterly_approved_on=data.quarterly_approved_on,
        quarterly_approved_by=data.quarterly_approved_by,
        actor=request.auth,
    )
    return HttpStatus(
        201,
        {
            "id": rate.pk,
            "member_id": rate.member_id,
            "year": rate.year,
            "category": rate.category,
            "base": _money(rate.base),
            "rate": R.format_rate(rate.rate),
            "monthly_amount": _money(rate.monthly_amount),
            "quarterly_approved": rate.quarterly_approved,
            "hardship_approved_by": rate.hardship_approved_by,
        },
    )
