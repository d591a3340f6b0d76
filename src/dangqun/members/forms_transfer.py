"""Forms of the transfer, letter, flowing-member and dues pages. They parse input; the rules are in
the actions (a RuleViolation is shown beside its field with forms.add_violations)."""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dangqun.orgs.models import Organization

from .choices import DuesCategory, PaymentMethod
from .forms import DateInput
from .transfers import ContactChannel, FlowKind


class TransferForm(forms.Form):
    to_branch = forms.ModelChoiceField(
        label=_("转入党支部"), queryset=Organization.objects.none(), help_text=_("平台上的任一党支部")
    )
    issued_on = forms.DateField(label=_("转出日期"), widget=DateInput())
    reason = forms.CharField(label=_("转接原因"), max_length=200, required=False)

    def __init__(self, *args: Any, targets: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["to_branch"].queryset = targets


class DecisionForm(forms.Form):
    decided_on = forms.DateField(label=_("日期"), widget=DateInput())


class ReturnForm(DecisionForm):
    return_reason = forms.CharField(
        label=_("退回原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class LetterForm(forms.Form):
    to_organization = forms.CharField(
        label=_("转往组织"), max_length=120, help_text=_("接收党员组织关系的党组织全称")
    )
    cross_province = forms.BooleanField(label=_("跨省（区、市）转接"), required=False)
    issued_on = forms.DateField(label=_("开具日期"), widget=DateInput())
    valid_until = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=DateInput(),
        help_text=_("最长 3 个月，跨省最长 6 个月；不填则取最长有效期"),
    )
    reason = forms.CharField(label=_("转接原因"), max_length=200, required=False)


class ReceiptForm(forms.Form):
    received_on = forms.DateField(label=_("回执日期"), widget=DateInput())
    receipt_org = forms.CharField(label=_("回执组织"), max_length=120)
    receipt_note = forms.CharField(label=_("说明"), max_length=200, required=False)


class CancelLetterForm(forms.Form):
    cancel_reason = forms.CharField(label=_("作废原因"), max_length=200)


class GraduationForm(forms.Form):
    graduated_on = forms.DateField(
        label=_("毕业日期"),
        widget=DateInput(),
        help_text=_("组织关系暂留学校的毕业生党员：保留一般不超过 2 年，超过后提示转接"),
    )


class FlowingForm(forms.Form):
    kind = forms.ChoiceField(label=_("外出类型"), choices=FlowKind.choices)
    place = forms.CharField(label=_("外出地点"), max_length=200)
    since = forms.DateField(label=_("外出日期"), widget=DateInput())
    expected_return = forms.DateField(
        label=_("预计返回日期"), required=False, widget=DateInput(), help_text=_("地点固定的短期外出必填")
    )
    contact = forms.CharField(
        label=_("联系方式"), max_length=100, required=False, help_text=_("手机号、微信号等")
    )
    reason = forms.CharField(label=_("外出原因"), max_length=200, required=False)
    registered_on = forms.DateField(label=_("登记日期"), widget=DateInput())


class ContactForm(forms.Form):
    contacted_on = forms.DateField(label=_("联系日期"), widget=DateInput())
    channel = forms.ChoiceField(label=_("方式"), choices=ContactChannel.choices)
    note = forms.CharField(
        label=_("情况"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class EndFlowingForm(forms.Form):
    ended_on = forms.DateField(label=_("返回日期"), widget=DateInput())
    end_note = forms.CharField(label=_("说明"), max_length=200, required=False)


# ---------------------------------------------------------------------------------------------
# Dues
# ---------------------------------------------------------------------------------------------

_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(value: str | None) -> date | None:
    """ "2025-06" → 2025-06-01; anything else → None."""
    match = _MONTH_RE.match((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 9998 and 1 <= month <= 12):
        return None
    return date(year, month, 1)


class MonthInput(forms.TextInput):
    input_type = "month"


class MonthField(forms.CharField):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("widget", MonthInput())
        kwargs.setdefault("max_length", 7)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value.strftime("%Y-%m") if isinstance(value, date) else value

    def clean(self, value: Any) -> date | None:
        text = super().clean(value)
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise ValidationError(_("请按“年-月”填写月份，例如 2025-06。"), code="month")
        return month


class DuesRateForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    category = forms.ChoiceField(label=_("党费类别"), choices=DuesCategory.choices)
    income = forms.CharField(
        label=_("月收入"),
        max_length=20,
        required=False,
        help_text=_("在职为税后月工资，离退休为月养老金（元）"),
    )
    amount = forms.CharField(
        label=_("每月金额"),
        max_length=20,
        required=False,
        help_text=_("农民党员 0.2 至 1 元；经批准减免的填批准的金额（免交填 0）"),
    )
    hardship_approved_by = forms.CharField(label=_("批准减免的组织"), max_length=120, required=False)
    hardship_approved_on = forms.DateField(label=_("批准减免日期"), required=False, widget=DateInput())
    quarterly_approved_by = forms.CharField(label=_("批准按季交纳的组织"), max_length=120, required=False)
    quarterly_approved_on = forms.DateField(label=_("批准按季交纳日期"), required=False, widget=DateInput())


class DuesPaymentForm(forms.Form):
    period_start = MonthField(label=_("起始月份"))
    months = forms.IntegerField(label=_("月数"), min_value=1, max_value=13, initial=1)
    method = forms.ChoiceField(label=_("方式"), choices=PaymentMethod.choices, initial=PaymentMethod.MONTHLY)
    amount = forms.CharField(
        label=_("实交金额（元）"), max_length=20, required=False, help_text=_("不填则为应交金额")
    )
    paid_on = forms.DateField(label=_("交纳日期"), widget=DateInput())
    note = forms.CharField(label=_("备注"), max_length=200, required=False)
    # One key per form shown: a second click or a resent form records the payment once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput(), max_length=80)

    @staticmethod
    def new_key() -> str:
        return "web-" + secrets.token_hex(16)
