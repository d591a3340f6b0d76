"""Forms of the member pages. They parse input; the rules live in the actions (every broken rule
comes back as a RuleViolation and is shown beside its field by `add_violations`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dangqun.core.errors import RuleViolation, Violation
from dangqun.core.validators import validate_id_number, validate_phone
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import Status
from .models import PartyMember


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


def add_violations(
    form: forms.Form, violations: list[Violation], aliases: dict[str, str] | None = None
) -> None:
    """Put each broken rule beside its field (or above the form), with its source when the
    message does not already end with it."""
    aliases = aliases or {}
    for v in violations:
        name = aliases.get(v.field, v.field)
        message = str(v.message)
        if v.source and v.source not in message:
            message = _("%(message)s（依据：%(source)s）") % {"message": message, "source": v.source}
        visible = name in form.fields and not form.fields[name].widget.is_hidden
        form.add_error(name if visible else None, message)


T = TypeVar("T")


def try_action(form: forms.Form, action: Callable[[], T], aliases: dict[str, str] | None = None) -> T | None:
    """Run one action for a valid form: its result, or None once every broken rule stands beside
    its field. A 403 or 404 is no form error: it goes on up to the page's 403/404 handler."""
    try:
        return action()
    except RuleViolation as exc:
        if exc.status != 422:
            raise
        add_violations(form, exc.violations, aliases)
        return None


# ---------------------------------------------------------------------------------------------
# Roster filters
# ---------------------------------------------------------------------------------------------

STATUS_FILTER_CHOICES = [
    ("", _("在册（申请人至正式党员）")),
    *[(s.value, s.label) for s in Status],
    ("all", _("全部（含转出、去世等）")),
]
STAGE_CHOICES = [("", _("全部阶段")), *[(str(n), f"{n} {name}") for n, name in R.STAGES.items()]]


class RosterFilterForm(forms.Form):
    """The roster's search and filters (GET: a bookmarkable, shareable address)."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=40,
        help_text=_("姓名、全拼或首字母，如 张三、zhangsan、zs；也可输入完整身份证号"),
    )
    status = forms.ChoiceField(label=_("身份"), choices=STATUS_FILTER_CHOICES, required=False)
    group = forms.TypedChoiceField(label=_("党小组"), required=False, coerce=int, empty_value=None)
    stage = forms.TypedChoiceField(
        label=_("发展阶段"), choices=STAGE_CHOICES, required=False, coerce=int, empty_value=None
    )

    def __init__(self, data: Any, groups: list[Organization]):
        super().__init__(data)
        self.fields["group"].choices = [("", _("全部党小组")), *[(g.pk, g.name) for g in groups]]

    def filters(self) -> dict[str, Any]:
        """The cleaned filters; an invalid value is dropped rather than failing the page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "q": data.get("q") or "",
            "status": data.get("status") or "",
            "group_id": data.get("group"),
            "stage": data.get("stage"),
        }


# ---------------------------------------------------------------------------------------------
# Register an applicant (step 1)
# ---------------------------------------------------------------------------------------------


class RegisterApplicantForm(forms.Form):
    branch = forms.ModelChoiceField(label=_("党支部"), queryset=Organization.objects.none())
    name = forms.CharField(label=_("姓名"), max_length=60)
    id_number = forms.CharField(
        label=_("身份证号"), max_length=30, help_text=_("18 位，最后一位可为 X；年满 18 周岁方可申请")
    )
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    applied_on = forms.DateField(label=_("递交入党申请书日期"), widget=DateInput())
    occupation = forms.CharField(label=_("职业"), max_length=60, required=False)
    responsible = forms.CharField(label=_("接收人"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, branches: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        self.fields["id_number"].widget.attrs.update({"autocomplete": "off", "inputmode": "text"})
        self.fields["phone"].widget.input_type = "tel"

    def clean_id_number(self) -> str:
        return validate_id_number(self.cleaned_data["id_number"])

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone") or ""
        return validate_phone(phone) if phone else ""


# ---------------------------------------------------------------------------------------------
# Record a development step
# ---------------------------------------------------------------------------------------------


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several evidence files at once; their type and size are checked by the action."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class PeopleField(forms.TypedMultipleChoiceField):
    """Members named in a step (培养联系人, 入党介绍人): the branch's full members are offered, but
    any member id is accepted here, so that the action names the rule a choice breaks (a form
    left open while someone stopped being a full member: "入党介绍人须为正式党员……依据：党章"),
    instead of a bare "not one of the available choices"."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, coerce=int, **kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value).isdigit() and int(value) < 2**63


PASSED_CHOICES = [("", _("请选择")), ("1", _("合格")), ("0", _("不合格"))]

# Fields of each step beyond date, people responsible, notes and evidence (actions.STEP_FIELDS).
STEP_EXTRA: dict[int, tuple[str, ...]] = {
    5: ("contact_person_ids",),
    9: ("introducer_ids",),
    10: ("passed",),
    11: ("training_days", "training_hours"),
    13: ("passed", "publicity_start", "publicity_end"),
    15: ("entitled", "present", "in_favour", "written_in_favour", "written_total", "leaving_unit_on"),
    17: ("approved_by", "delay_reason", "delay_approved_by"),
    23: ("entitled", "present", "in_favour", "written_in_favour", "written_total"),
    24: ("approved_by", "delay_reason", "delay_approved_by"),
}
# Where a rule's field name differs from the form's.
VIOLATION_FIELDS = {
    "contact_persons": "contact_person_ids",
    "introducers": "introducer_ids",
    "applied_on": "done_on",
}


def _count(label: Any, help_text: Any = "") -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=0, max_value=100_000, help_text=help_text
    )


def _extra_field(name: str, people: Any) -> forms.Field:
    if name in ("contact_person_ids", "introducer_ids"):
        label = (
            _("培养联系人（1—2 名正式党员）")
            if name == "contact_person_ids"
            else _("入党介绍人（2 名正式党员）")
        )
        return PeopleField(
            label=label,
            choices=[(p.pk, p.name) for p in people],
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
    return {
        "passed": lambda: forms.ChoiceField(label=_("审查结论"), choices=PASSED_CHOICES, required=False),
        "training_days": lambda: _count(_("集中培训天数"), _("不少于 3 天，或不少于 24 学时")),
        "training_hours": lambda: _count(_("集中培训学时")),
        "publicity_start": lambda: forms.DateField(
            label=_("公示开始日期"), required=False, widget=DateInput()
        ),
        "publicity_end": lambda: forms.DateField(label=_("公示结束日期"), required=False, widget=DateInput()),
        "entitled": lambda: _count(_("有表决权的正式党员人数")),
        "present": lambda: _count(_("实到会有表决权的正式党员人数")),
        "in_favour": lambda: _count(_("到会赞成人数")),
        "written_in_favour": lambda: _count(_("会前书面表示赞成的人数")),
        "written_total": lambda: _count(_("会前提交书面意见的人数")),
        "leaving_unit_on": lambda: forms.DateField(
            label=_("将离开工作、学习单位的日期（如有）"), required=False, widget=DateInput()
        ),
        "approved_by": lambda: forms.CharField(
            label=_("审批的上级党委"),
            required=False,
            max_length=120,
            help_text=_("具有审批权限的上级基层党委；村、社区党委不能审批"),
        ),
        "delay_reason": lambda: forms.CharField(
            label=_("审批超过期限的原因"),
            required=False,
            max_length=500,
            widget=forms.Textarea(attrs={"rows": 2}),
        ),
        "delay_approved_by": lambda: forms.CharField(
            label=_("批准延期的组织或负责人"), required=False, max_length=120
        ),
    }[name]()


class StepForm(forms.Form):
    """The form of one development step: its date, the people responsible, notes, evidence, and
    only the fields that step records (the action refuses any other)."""

    step = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=R.LAST_STEP)
    done_on = forms.DateField(label=_("完成日期"), widget=DateInput())
    responsible = forms.CharField(
        label=_("负责人"), required=False, max_length=200, help_text=_("如谈话人、考察人")
    )
    notes = forms.CharField(
        label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    files = MultipleFileField(
        label=_("证明材料"),
        required=False,
        help_text=_("PDF、PNG 或 JPG，每个文件不超过 10 MB，可多选"),
    )

    def __init__(self, *args: Any, step: int, member: PartyMember, **kwargs: Any):
        kwargs.setdefault("initial", {})["step"] = step
        super().__init__(*args, **kwargs)
        self.step_number = step
        self.step_spec = R.STEPS[step]
        people = (
            PartyMember.objects.filter(branch_id=member.branch_id, status=Status.FULL)
            .exclude(pk=member.pk)
            .only("id", "name")
            .order_by("name_pinyin", "id")
        )
        for name in STEP_EXTRA.get(step, ()):
            self.fields[name] = _extra_field(name, people)

    def clean_step(self) -> int:
        value = self.cleaned_data["step"]
        if value != self.step_number:
            raise ValidationError(_("步骤不一致，请重新选择要登记的步骤。"))
        return value

    def evidence(self) -> dict[str, Any]:
        """What the step records, for actions.do_record_step (empty values left out)."""
        out: dict[str, Any] = {}
        for name in STEP_EXTRA.get(self.step_number, ()):
            value = self.cleaned_data.get(name)
            if name in ("contact_person_ids", "introducer_ids"):
                if value:
                    out[name] = list(value)
            elif name == "passed":
                if value in ("0", "1"):
                    out[name] = value == "1"
            elif value not in (None, ""):
                out[name] = value
        return out


class ProbationCancelForm(forms.Form):
    """取消预备党员资格: the 支部大会 and the higher approval, the reason. Its fields are the
    keyword arguments of actions.do_cancel_probation."""

    meeting_on = forms.DateField(label=_("支部大会日期"), widget=DateInput())
    approved_on = forms.DateField(label=_("上级党委批准日期"), widget=DateInput())
    approved_by = forms.CharField(label=_("批准机关"), max_length=120)
    reason = forms.CharField(label=_("原因"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))


class ProbationExtendForm(ProbationCancelForm):
    """延长预备期: the months first, then the same decision as a cancellation. The field only
    keeps the number sane (1–120); the range is the rule's (rules.check_extension, the rule set's
    6–12), so that the page says which range applies and on what authority."""

    field_order = ["months"]

    months = forms.IntegerField(label=_("延长月数"), min_value=1, max_value=120)


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("名册文件（.xlsx）"),
        help_text=_("使用导出的名册作为模板：第一行为表头，每行一人。"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
    )


class ImportConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    valid_only = forms.BooleanField(
        label=_("只导入没有错误的行，跳过有错误的行"),
        required=False,
    )
