"""Pages of the organizational relationship: a branch's transfers, letters and flowing members; a
member's relationship; issuing, accepting and returning a transfer; the introduction letter
(PDF, receipt, cancellation); flowing members and their contact log.

Thin views (DESIGN.md): scope with access_* (404 outside the user's subtree), change through one
action, every broken rule beside its field. No JavaScript needed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from dangqun.core.errors import RuleViolation
from dangqun.core.permissions import has_perm
from dangqun.core.rulesets import ruleset_for

from . import actions_transfer as AT
from . import queries
from . import queries_transfer as QT
from . import rules_transfer as RT
from .choices import MEMBER_STATUSES, Status
from .forms import try_action
from .forms_transfer import (
    CancelLetterForm,
    ContactForm,
    DecisionForm,
    EndFlowingForm,
    FlowingForm,
    GraduationForm,
    LetterForm,
    ReceiptForm,
    ReturnForm,
    TransferForm,
)
from .letters import render_letter_pdf
from .transfers import FlowKind, LetterStatus, TransferStatus
from .views import scoped

# ---------------------------------------------------------------------------------------------
# A branch's overview and a member's relationship
# ---------------------------------------------------------------------------------------------


@scoped
@require_safe
def branch(request: HttpRequest, org_id: int) -> HttpResponse:
    """Transfers in and out under way, letters (those past validity without receipt flagged),
    flowing members (those not contacted for 6 months flagged)."""
    org = queries.access_branch(request.user, org_id)
    today = timezone.localdate()
    return render(
        request,
        "members/transfers/branch.html",
        {
            "branch": org,
            "data": QT.branch_transfers(org, today),
            "can_change": has_perm(request.user, "members.change", org),
            "today": today,
        },
    )


@scoped
@require_safe
def relation(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's relationship: transfers, letters, flowing registration, the postponement of
    the full-membership discussion for a probationary member transferred in. The member sees
    their own (read only)."""
    member, can_change = queries.access_member_page(request.user, pk)
    today = timezone.localdate()
    rel = QT.member_relation(member, today)
    open_letter = any(r.letter.status == LetterStatus.ISSUED for r in rel.letters)
    movable = member.status in MEMBER_STATUSES and rel.pending is None and not open_letter
    return render(
        request,
        "members/transfers/relation.html",
        {
            "member": member,
            "rel": rel,
            "can_change": can_change,
            "movable": can_change and movable,
            "can_flow": can_change and member.status in MEMBER_STATUSES and rel.flowing is None,
            "can_graduate": can_change and member.status in MEMBER_STATUSES,
            "status_label": Status(member.status).label,
        },
    )


def _form_page(request: HttpRequest, form: forms.Form, **context: Any) -> HttpResponse:
    return render(request, "members/transfers/form.html", {"form": form, **context})


# ---------------------------------------------------------------------------------------------
# Transfer inside the platform
# ---------------------------------------------------------------------------------------------


@scoped
@require_http_methods(["GET", "POST"])
def transfer_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The out-branch issues a transfer to another branch of the platform."""
    member = queries.access_member(request.user, pk, "members.change")
    targets = QT.transfer_targets(exclude=member.branch)
    form = TransferForm(request.POST or None, targets=targets, initial={"issued_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        transfer = try_action(
            form,
            lambda: AT.do_issue_transfer(
                member,
                to_branch=data["to_branch"],
                issued_on=data["issued_on"],
                reason=data["reason"],
                actor=request.user,
            ),
        )
        if transfer is not None:
            messages.success(
                request,
                _("已将%(name)s的组织关系转出至%(to)s，等待对方接收。")
                % {"name": member.name, "to": transfer.to_branch.name},
            )
            return redirect("members:transfer", pk=transfer.pk)
    return _form_page(
        request,
        form,
        member=member,
        title=_("转出组织关系（平台内）"),
        intro=_("转入支部接收前，党员仍由本支部管理，党员人数不变；对方接收后自动转入。"),
        submit=_("转出"),
    )


def _transfer_context(request: HttpRequest, transfer: Any, **forms_: Any) -> dict[str, Any]:
    pending = transfer.status == TransferStatus.PENDING
    can_decide = pending and has_perm(request.user, "members.change", transfer.to_branch)
    today = timezone.localdate()
    return {
        "t": transfer,
        "status_label": TransferStatus(transfer.status).label,
        "member_status_label": Status(transfer.member_status).label,
        "can_decide": can_decide,
        "can_cancel": pending and has_perm(request.user, "members.change", transfer.from_branch),
        # Prefixed: both forms have a date field, and ids must be unique on the page.
        "accept_form": forms_.get("accept_form")
        or DecisionForm(prefix="accept", initial={"decided_on": today}),
        "return_form": forms_.get("return_form")
        or ReturnForm(prefix="return", initial={"decided_on": today}),
    }


@scoped
@require_safe
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    t = QT.access_transfer(request.user, pk)
    return render(request, "members/transfers/transfer.html", _transfer_context(request, t))


@scoped
@require_POST
def transfer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Only the in-branch may accept (others who can see the transfer: 403)."""
    t = QT.access_transfer(request.user, pk)
    form = DecisionForm(request.POST, prefix="accept")
    if form.is_valid():
        accepted = try_action(
            form,
            lambda: AT.do_accept_transfer(t, accepted_on=form.cleaned_data["decided_on"], actor=request.user),
        )
        if accepted is not None:
            messages.success(request, _("已接收%(name)s的组织关系。") % {"name": t.member.name})
            return redirect("members:transfer", pk=t.pk)
    return render(request, "members/transfers/transfer.html", _transfer_context(request, t, accept_form=form))


@scoped
@require_POST
def transfer_return(request: HttpRequest, pk: int) -> HttpResponse:
    t = QT.access_transfer(request.user, pk)
    form = ReturnForm(request.POST, prefix="return")
    if form.is_valid():
        returned = try_action(
            form,
            lambda: AT.do_return_transfer(
                t,
                reason=form.cleaned_data["return_reason"],
                returned_on=form.cleaned_data["decided_on"],
                actor=request.user,
            ),
        )
        if returned is not None:
            messages.success(request, _("已退回该组织关系转接。"))
            return redirect("members:transfer", pk=t.pk)
    return render(request, "members/transfers/transfer.html", _transfer_context(request, t, return_form=form))


@scoped
@require_POST
def transfer_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    t = QT.access_transfer(request.user, pk)
    try:
        AT.do_cancel_transfer(t, actor=request.user)
    except RuleViolation as exc:
        if exc.status != 422:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤回该组织关系转接。"))
    return redirect("members:transfer", pk=t.pk)


# ---------------------------------------------------------------------------------------------
# Introduction letter
# ---------------------------------------------------------------------------------------------


@scoped
@require_http_methods(["GET", "POST"])
def letter_new(request: HttpRequest, pk: int) -> HttpResponse:
    member = queries.access_member(request.user, pk, "members.change")
    form = LetterForm(request.POST or None, initial={"issued_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        letter = try_action(
            form,
            lambda: AT.do_issue_letter(
                member,
                to_organization=data["to_organization"],
                issued_on=data["issued_on"],
                valid_until=data["valid_until"],
                cross_province=data["cross_province"],
                reason=data["reason"],
                actor=request.user,
            ),
        )
        if letter is not None:
            messages.success(request, _("已开具介绍信 %(n)s。") % {"n": letter.number})
            return redirect("members:letter", pk=letter.pk)
    return _form_page(
        request,
        form,
        member=member,
        title=_("开具介绍信（转往平台外）"),
        intro=_("介绍信有效期最长 3 个月，跨省转接最长 6 个月。收到接收单位的回执后，党员转出本支部。"),
        submit=_("开具"),
    )


def _letter_context(request: HttpRequest, letter: Any, **forms_: Any) -> dict[str, Any]:
    today = timezone.localdate()
    is_open = letter.status == LetterStatus.ISSUED
    can_change = has_perm(request.user, "members.change", letter.from_branch)
    return {
        "l": letter,
        "status_label": LetterStatus(letter.status).label,
        "member_status_label": Status(letter.member_status).label,
        "expired": is_open and today > letter.valid_until,
        "can_change": can_change,
        "can_close": can_change and is_open,
        "receipt_form": forms_.get("receipt_form") or ReceiptForm(initial={"received_on": today}),
        "cancel_form": forms_.get("cancel_form") or CancelLetterForm(),
    }


@scoped
@require_safe
def letter(request: HttpRequest, pk: int) -> HttpResponse:
    letter = QT.access_letter(request.user, pk)
    return render(request, "members/transfers/letter.html", _letter_context(request, letter))


@scoped
@require_safe
def letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable letter (full ID number): only for those who may change the branch's members."""
    letter = QT.access_letter(request.user, pk, "members.change")
    response = HttpResponse(
        render_letter_pdf(letter, letter.member.id_number), content_type="application/pdf"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"介绍信-{letter.number}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


@scoped
@require_POST
def letter_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    letter = QT.access_letter(request.user, pk)
    form = ReceiptForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        receipt = try_action(
            form,
            lambda: AT.do_record_letter_receipt(
                letter,
                received_on=data["received_on"],
                receipt_org=data["receipt_org"],
                note=data["receipt_note"],
                actor=request.user,
            ),
        )
        if receipt is not None:
            messages.success(
                request, _("已登记回执，%(name)s的组织关系已转出。") % {"name": letter.holder_name}
            )
            return redirect("members:letter", pk=letter.pk)
    return render(
        request, "members/transfers/letter.html", _letter_context(request, letter, receipt_form=form)
    )


@scoped
@require_POST
def letter_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    letter = QT.access_letter(request.user, pk)
    form = CancelLetterForm(request.POST)
    if form.is_valid():
        cancelled = try_action(
            form,
            lambda: AT.do_cancel_letter(
                letter, reason=form.cleaned_data["cancel_reason"], actor=request.user
            ),
        )
        if cancelled is not None:
            messages.success(request, _("介绍信 %(n)s 已作废。") % {"n": letter.number})
            return redirect("members:letter", pk=letter.pk)
    return render(
        request, "members/transfers/letter.html", _letter_context(request, letter, cancel_form=form)
    )


# ---------------------------------------------------------------------------------------------
# Flowing members
# ---------------------------------------------------------------------------------------------


@scoped
@require_http_methods(["GET", "POST"])
def flowing_new(request: HttpRequest, pk: int) -> HttpResponse:
    member = queries.access_member(request.user, pk, "members.change")
    today = timezone.localdate()
    form = FlowingForm(request.POST or None, initial={"registered_on": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        reg = try_action(form, lambda: AT.do_register_flowing(member, actor=request.user, **data))
        if reg is not None:
            messages.success(request, _("已登记%(name)s为流动党员。") % {"name": member.name})
            return redirect("members:flowing", pk=reg.pk)
    return _form_page(
        request,
        form,
        member=member,
        title=_("登记流动党员"),
        intro=_(
            "外出不满 6 个月或地点不固定的党员登记为流动党员；外出 6 个月以上且地点固定的，应转移组织关系。"
            "至少每 6 个月联系一次。"
        ),
        submit=_("登记"),
    )


@scoped
@require_http_methods(["GET", "POST"])
def graduate(request: HttpRequest, pk: int) -> HttpResponse:
    """The school's branch records the graduation of a member whose relationship it keeps
    (actions_transfer.do_record_graduation); the relationship page warns after 2 years."""
    member = queries.access_member(request.user, pk, "members.change")
    form = GraduationForm(request.POST or None, initial={"graduated_on": member.graduated_on})
    if request.method == "POST" and form.is_valid():
        graduated = try_action(
            form,
            lambda: AT.do_record_graduation(
                member, graduated_on=form.cleaned_data["graduated_on"], actor=request.user
            ),
        )
        if graduated is not None:
            messages.success(request, _("已登记%(name)s的毕业日期。") % {"name": member.name})
            return redirect("members:relation", pk=member.pk)
    keep = ruleset_for(member.branch, timezone.localdate(), prefix="party.transfer.")
    return _form_page(
        request,
        form,
        member=member,
        title=_("毕业生党员组织关系暂留学校"),
        intro=_(
            "没有落实工作单位的毕业生党员，组织关系可暂时保留在学校党组织，一般不超过 %(n)s 年"
            "（依据：%(source)s）。满 %(n)s 年当日仍在期限内，次日起提示及时转接。"
        )
        % {
            "n": keep[RT.GRADUATE_KEEP_KEY],
            "source": keep.source(RT.GRADUATE_KEEP_KEY),
        },
        submit=_("登记"),
    )


def _flowing_context(request: HttpRequest, reg: Any, **forms_: Any) -> dict[str, Any]:
    today = timezone.localdate()
    due = RT.contact_due_on(reg.last_contact_on, ruleset_for(reg.member.branch, today, prefix="party."))
    can_change = has_perm(request.user, "members.change", reg.member.branch)
    return {
        "reg": reg,
        "member": reg.member,
        "kind_label": FlowKind(reg.kind).label,
        "contacts": list(reg.contacts.select_related("recorded_by")),
        "due_on": due,
        "overdue": reg.active and today >= due,
        "can_change": can_change and reg.active,
        "contact_form": forms_.get("contact_form") or ContactForm(initial={"contacted_on": today}),
        "end_form": forms_.get("end_form") or EndFlowingForm(initial={"ended_on": today}),
    }


@scoped
@require_safe
def flowing(request: HttpRequest, pk: int) -> HttpResponse:
    reg = QT.access_flowing(request.user, pk)
    return render(request, "members/transfers/flowing.html", _flowing_context(request, reg))


@scoped
@require_POST
def flowing_contact(request: HttpRequest, pk: int) -> HttpResponse:
    reg = QT.access_flowing(request.user, pk)
    form = ContactForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        contact = try_action(
            form,
            lambda: AT.do_log_flowing_contact(
                reg,
                contacted_on=data["contacted_on"],
                channel=data["channel"],
                note=data["note"],
                actor=request.user,
            ),
        )
        if contact is not None:
            messages.success(request, _("已登记联系记录。"))
            return redirect("members:flowing", pk=reg.pk)
    return render(
        request, "members/transfers/flowing.html", _flowing_context(request, reg, contact_form=form)
    )


@scoped
@require_POST
def flowing_end(request: HttpRequest, pk: int) -> HttpResponse:
    reg = QT.access_flowing(request.user, pk)
    form = EndFlowingForm(request.POST)
    if form.is_valid():
        ended = try_action(
            form,
            lambda: AT.do_end_flowing(
                reg,
                ended_on=form.cleaned_data["ended_on"],
                note=form.cleaned_data["end_note"],
                actor=request.user,
            ),
        )
        if ended is not None:
            messages.success(request, _("流动党员登记已结束。"))
            return redirect("members:flowing", pk=reg.pk)
    return render(request, "members/transfers/flowing.html", _flowing_context(request, reg, end_form=form))
