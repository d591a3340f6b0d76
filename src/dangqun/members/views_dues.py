"""Dues pages: a branch's monthly ledger (due, paid, arrears), its arrears report with the
疑似自行脱党 flag (a flag for the branch, never a status), and a member's dues — the year's rate
and the payments — with the forms that set the rate and record a payment.

Thin views (DESIGN.md): scope with access_* (404 outside the user's subtree), change through one
action (members.actions.do_set_dues_rate / do_record_dues_payment), every broken rule beside its
field. A payment form carries its own idempotency key: a second click records nothing twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from dangqun.core.permissions import has_perm
from dangqun.core.rulesets import ruleset_for

from . import queries
from . import queries_transfer as QT
from . import rules as R
from .actions import do_record_dues_payment, do_set_dues_rate
from .choices import MEMBER_STATUSES, DuesCategory, PaymentMethod, Status
from .forms import try_action
from .forms_transfer import DuesPaymentForm, DuesRateForm, parse_month
from .models import PartyMember
from .views import scoped

# How far back a member's page looks for arrears (the ledger's window).
ARREARS_WINDOW_MONTHS = 12
PAYMENTS_SHOWN = 36


def _month(request: HttpRequest, today: date) -> date:
    return parse_month(request.GET.get("month")) or R.month_of(today)


def _ledger_context(request: HttpRequest, org_id: int) -> dict[str, Any]:
    branch = queries.access_branch(request.user, org_id)
    today = timezone.localdate()
    month = _month(request, today)
    book = QT.branch_ledger(branch, month)
    return {
        "branch": branch,
        "book": book,
        "month": month,
        "month_label": R.month_label(month),
        "previous": R.add_months(month, -1).strftime("%Y-%m"),
        "next": R.add_months(month, 1).strftime("%Y-%m"),
        "this_month": month == R.month_of(today),
        "statuses": {s.value: s.label for s in Status},
        "can_change": has_perm(request.user, "members.change", branch),
    }


@scoped
@require_safe
def ledger(request: HttpRequest, org_id: int) -> HttpResponse:
    """党费收缴台账: every member's dues for the month, paid or not, and their arrears."""
    return render(request, "members/dues/ledger.html", _ledger_context(request, org_id))


@scoped
@require_safe
def arrears(request: HttpRequest, org_id: int) -> HttpResponse:
    """欠交情况: members with unpaid months, those with party.dues.arrears_flag_months in a row
    flagged 疑似自行脱党 for the branch to look into (the branch meeting decides)."""
    return render(request, "members/dues/arrears.html", _ledger_context(request, org_id))


def _member_context(
    request: HttpRequest,
    member: PartyMember,
    can_change: bool,
    *,
    rate_form: DuesRateForm | None = None,
    payment_form: DuesPaymentForm | None = None,
) -> dict[str, Any]:
    today = timezone.localdate()
    this_month = R.month_of(today)
    rates = list(member.dues_rates.order_by("-year"))
    payments = list(member.dues_payments.order_by("-period_start", "-id"))
    covered = [m for p in payments for m in R.covered_months(p.period_start, p.months)]
    start = member.admitted_on or member.full_on
    window = R.add_months(this_month, -(ARREARS_WINDOW_MONTHS - 1))
    unpaid = (
        R.arrears_months(max(R.month_of(start), window), this_month, covered)
        if start and member.status in MEMBER_STATUSES
        else []
    )
    rules = ruleset_for(member.branch, today, prefix="party.dues.")
    fixed_this_year = any(r.year == today.year for r in rates)
    if can_change and rate_form is None:
        rate_form = DuesRateForm(
            prefix="rate",  # beside the payment form: field ids stay unique on the page
            initial={
                "year": today.year if not fixed_this_year else today.year + 1,
                "category": member.dues_category or DuesCategory.EMPLOYED,
            },
        )
    if can_change and payment_form is None:
        payment_form = DuesPaymentForm(
            initial={
                "period_start": this_month,
                "months": 1,
                "method": PaymentMethod.MONTHLY,
                "paid_on": today,
                "idempotency_key": DuesPaymentForm.new_key(),
            }
        )
    return {
        "member": member,
        "can_change": can_change and member.status in MEMBER_STATUSES,
        "status_label": Status(member.status).label,
        "rates": [
            {"rate": r, "category": DuesCategory(r.category).label, "percent": R.format_rate(r.rate)}
            for r in rates
        ],
        "payments": payments[:PAYMENTS_SHOWN],
        "unpaid": unpaid,
        "unpaid_labels": [R.month_label(m) for m in unpaid],
        # The running month is listed as unpaid but never counts toward the flag (complete
        # months only, as the monthly job and the organizational-life flag count them).
        "lapse": R.lapse_flag(unpaid, rules, through=queries.last_complete_month(today, today)),
        # The other reason of the same flag (party.md §5): no organizational life recorded.
        "life_lapse": R.life_lapse_flag(queries.member_months_without_life(member, today), rules),
        "large_yuan": rules["party.dues.large_payment_yuan"],
        "max_months": rules["party.dues.max_advance_months"],
        "rate_form": rate_form,
        "payment_form": payment_form,
    }


def _member(request: HttpRequest, pk: int, *, change: bool = False) -> tuple[PartyMember, bool]:
    member, can_change = queries.access_member_page(request.user, pk)
    if change and not can_change:
        raise PermissionDenied
    return member, can_change


@scoped
@require_safe
def member_dues(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's rates and payments; the member sees their own (read only)."""
    member, can_change = _member(request, pk)
    return render(request, "members/dues/member.html", _member_context(request, member, can_change))


@scoped
@require_POST
def set_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """核定全年党费: from the category and income by the brackets; fixed for the year."""
    member, can_change = _member(request, pk, change=True)
    form = DuesRateForm(request.POST, prefix="rate")
    if form.is_valid():
        data = form.cleaned_data
        rate = try_action(
            form,
            lambda: do_set_dues_rate(
                member,
                data["year"],
                category=data["category"],
                income=data["income"] or None,
                amount=data["amount"] or None,
                hardship_approved_on=data["hardship_approved_on"],
                hardship_approved_by=data["hardship_approved_by"],
                quarterly_approved_on=data["quarterly_approved_on"],
                quarterly_approved_by=data["quarterly_approved_by"],
                actor=request.user,
            ),
            {"monthly_income": "income"},
        )
        if rate is not None:
            messages.success(
                request,
                _("已核定%(name)s %(y)s 年党费：每月 %(a)s 元。")
                % {"name": member.name, "y": rate.year, "a": f"{rate.monthly_amount:.2f}"},
            )
            return redirect("members:dues_member", pk=member.pk)
    member.refresh_from_db()
    context = _member_context(request, member, can_change, rate_form=form)
    return render(request, "members/dues/member.html", context)


@scoped
@require_POST
def record_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """登记党费交纳 (monthly; quarterly with approval; back/pre-payment ≤ 6 months)."""
    member, can_change = _member(request, pk, change=True)
    form = DuesPaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        payment = try_action(
            form,
            lambda: do_record_dues_payment(
                member,
                period_start=data["period_start"],
                months=data["months"],
                method=data["method"],
                amount=data["amount"] or None,
                paid_on=data["paid_on"],
                note=data["note"],
                idempotency_key=data["idempotency_key"],
                actor=request.user,
            ),
        )
        if payment is not None:
            messages.success(
                request,
                _("已登记%(name)s %(a)s 的党费 %(amount)s 元。")
                % {
                    "name": member.name,
                    "a": R.month_label(payment.period_start)
                    if payment.months == 1
                    else f"{R.month_label(payment.period_start)}—{R.month_label(payment.period_end)}",
                    "amount": f"{payment.amount:.2f}",
                },
            )
            if payment.large_payment:
                big = ruleset_for(member.branch, payment.paid_on, prefix="party.dues.")
                messages.warning(
                    request,
                    _("一次交纳党费 %(big)s 元以上，该笔党费全额上缴中央。")
                    % {"big": big["party.dues.large_payment_yuan"]},
                )
            return redirect("members:dues_member", pk=member.pk)
    member.refresh_from_db()
    context = _member_context(request, member, can_change, payment_form=form)
    return render(request, "members/dues/member.html", context)
