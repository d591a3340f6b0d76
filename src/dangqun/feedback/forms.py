"""Forms of the rating, fix, appeal and message pages. Rules are checked by the actions; forms
only shape the input (and never pre-select a score)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import BAD_REASONS, OFFLINE_ASPECTS, ONLINE_ASPECTS, Level, MessageKind, Urgency

LEVELS = [(level.value, level.label) for level in sorted(Level, reverse=True)]


def _stars(label: str, required: bool) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=LEVELS,
        coerce=int,
        required=required,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择 1 到 5 星的评价等级。")},
    )


class RatingForm(forms.Form):
    """Overall level (required, nothing pre-selected), the aspects of the mode, reasons for a 差评."""

    def __init__(self, *args, online: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"] = _stars(_("总体评价"), True)
        self.aspect_names = list((ONLINE_ASPECTS if online else OFFLINE_ASPECTS).items())
        for key, label in self.aspect_names:
            self.fields[f"aspect_{key}"] = _stars(label, False)
        self.fields["reasons"] = forms.MultipleChoiceField(
            label=_("不满意的原因（差评时填写）"),
            choices=list(BAD_REASONS.items()),
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["comment"] = forms.CharField(
            label=_("意见和建议"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
        )

    def aspects(self) -> dict[str, int]:
        return {
            key: self.cleaned_data[f"aspect_{key}"]
            for key, _label in self.aspect_names
            if self.cleaned_data.get(f"aspect_{key}")
        }


def _note(label: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


def _yes_no(label: str, yes: str, no: str) -> forms.TypedChoiceField:
    """A required yes/no answer as two radio buttons, cleaned to a bool."""
    return forms.TypedChoiceField(
        label=label, choices=[("1", yes), ("0", no)], coerce=lambda v: v == "1", widget=forms.RadioSelect
    )


class NoteForm(forms.Form):
    note = _note(_("说明"))


class FixNoteForm(forms.Form):
    note = _note(_("整改措施"))


class AppealForm(forms.Form):
    note = _note(_("申诉理由"))


class DisputeForm(forms.Form):
    note = _note(_("退回理由"))


class CallbackForm(forms.Form):
    note = _note(_("回访情况"))
    verified = _yes_no(_("核实结果"), _("情况属实"), _("情况不属实"))


class ConfirmForm(forms.Form):
    solved = _yes_no(_("问题是否已解决"), _("已解决"), _("未解决"))
    note = forms.CharField(
        label=_("补充说明"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class MessageCallbackForm(forms.Form):
    note = _note(_("回访情况"))


class DecisionForm(forms.Form):
    note = _note(_("复核意见"))
    upheld = _yes_no(_("复核结论"), _("申诉成立，该评价不计入统计"), _("申诉不成立，维持评价"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); the action checks their contents."""

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class MessageForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=MessageKind.choices)
    title = forms.CharField(label=_("标题"), max_length=100)
    body = forms.CharField(
        label=_("内容"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请写明时间、地点、经过和您的诉求。"),
    )
    location = forms.CharField(label=_("地点"), max_length=200, required=False)
    enterprise_name = forms.CharField(
        label=_("企业名称"), max_length=100, required=False, help_text=_("企业诉求必填")
    )
    credit_code = forms.CharField(
        label=_("统一社会信用代码"), max_length=30, required=False, help_text=_("企业诉求必填，18位")
    )
    files = MultipleFileField(
        label=_("附件"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        help_text=_("PDF、JPG 或 PNG，最多 5 个，每个不超过 5 MB"),
    )


class DispatchForm(forms.Form):
    unit = forms.TypedChoiceField(label=_("承办单位"), coerce=int)
    urgency = forms.ChoiceField(label=_("时限类别"), choices=Urgency.choices)
    category = forms.CharField(label=_("分类"), max_length=40, required=False)

    def __init__(self, *args, units: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units


class ReplyForm(forms.Form):
    reply = forms.CharField(label=_("答复内容"), max_length=3000, widget=forms.Textarea(attrs={"rows": 4}))


class MessageRatingForm(forms.Form):
    level = _stars(_("对办理结果的评价"), True)


class HotlineForm(forms.Form):
    """A rating a caller gives by phone (12345 / the service hotline), entered by staff."""

    number = forms.CharField(label=_("办件编号"), max_length=48)
    level = _stars(_("来电人的总体评价"), True)
    reasons = forms.MultipleChoiceField(
        label=_("不满意的原因（差评时填写）"),
        choices=list(BAD_REASONS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        label=_("来电人的意见"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
