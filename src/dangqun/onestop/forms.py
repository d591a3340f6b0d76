"""Page forms: the item's application form is built from its schema; the rest are plain forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import Channel, LifeEvent, Outcome, StopReason


def application_form(schema: dict[str, Any], data: Any = None, initial: dict | None = None) -> forms.Form:
    """A Django form mirroring the schema, for rendering (the rules check values in actions)."""
    fields: dict[str, forms.Field] = {}
    for f in schema.get("fields", []):
        kind = f.get("type", "text")
        common = {
            "label": f.get("label", f["name"]),
            "required": bool(f.get("required")),
            "help_text": f.get("help", ""),
        }
        rules = f.get("validators") or {}
        if kind == "textarea":
            field: forms.Field = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
        elif kind == "number":
            field = forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
        elif kind == "date":
            field = forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        elif kind == "select":
            choices = [("", "——请选择——")] + [
                (str(c[0]), str(c[1])) if isinstance(c, list | tuple) else (str(c), str(c))
                for c in f.get("choices", [])
            ]
            field = forms.ChoiceField(choices=choices, **common)
        elif kind == "checkbox":
            field = forms.BooleanField(**common)
        elif kind == "phone":
            field = forms.CharField(
                widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}), **common
            )
        elif kind == "email":
            field = forms.CharField(widget=forms.TextInput(attrs={"type": "email"}), **common)
        else:
            attrs = {"maxlength": rules["max_length"]} if rules.get("max_length") else {}
            if kind == "id_number":
                attrs["autocomplete"] = "off"
            field = forms.CharField(widget=forms.TextInput(attrs=attrs), **common)
        fields[f["name"]] = field
    form_class = type("ApplicationForm", (forms.Form,), dict(fields))
    return form_class(data=data, initial=initial, prefix="f")


class SearchForm(forms.Form):
    q = forms.CharField(label=_("搜索事项"), required=False, max_length=50)
    department = forms.TypedChoiceField(label=_("部门"), required=False, coerce=int, empty_value=None)
    life_event = forms.ChoiceField(
        label=_("一件事"), required=False, choices=[("", _("全部")), *LifeEvent.choices]
    )
    channel = forms.ChoiceField(
        label=_("办理渠道"), required=False, choices=[("", _("全部")), *Channel.choices]
    )

    def __init__(self, *args: Any, departments: list[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("全部")), *list(departments)]


class TrackForm(forms.Form):
    number = forms.CharField(label=_("办件编号"), max_length=48)
    code = forms.CharField(label=_("查询码"), max_length=8, help_text=_("提交申请时告知您的 6 位查询码"))


class AssistForm(forms.Form):
    """帮办代办: the resident's authorization, recorded at the window."""

    principal = forms.CharField(label=_("委托人身份证号"), max_length=18)
    item = forms.CharField(label=_("事项基本编码"), max_length=12)
    valid_until = forms.DateField(label=_("授权有效期至"), widget=forms.DateInput(attrs={"type": "date"}))
    basis = forms.CharField(label=_("授权方式"), max_length=200, initial=_("本人到窗口签署授权委托书"))


class QueueForm(forms.Form):
    state = forms.CharField(required=False)
    due = forms.CharField(required=False)
    department = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, choices=())
    number = forms.CharField(required=False, max_length=48)


OUTCOME_CHOICES = Outcome.choices
STOP_CHOICES = [c for c in StopReason.choices if c[0] != StopReason.CORRECTION]
