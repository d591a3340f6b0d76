"""Forms parse input; the rules are checked by the actions (errors shown beside the fields)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import (
    AttendanceStatus,
    BallotMode,
    Choice,
    DecisionStep,
    Grade,
    MeetingKind,
    VillageBody,
    VoteKind,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.get_status_display()}）"


class MembersField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.get_status_display()}）"


def apply_errors(form: forms.Form, exc: Any) -> None:
    """Show each violation beside its field (or above the form)."""
    for v in exc.violations:
        name = v.field if v.field in form.fields else None
        form.add_error(name, str(v.message))


class MeetingForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("召开组织"), empty_label=None)
    kind = forms.ChoiceField(label=_("会议类型"), choices=MeetingKind.choices)
    topic = forms.CharField(label=_("会议主题"), max_length=200)
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DateTimeInput())
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=DateTimeInput(), required=False)
    lecturer = forms.CharField(
        label=_("主讲人"), max_length=60, required=False, help_text=_("党课填写讲课人")
    )
    lecturer_is_secretary = forms.BooleanField(
        label=_("主讲人是本支部书记"),
        required=False,
        help_text=_("只用于党课：支部书记每年至少讲 1 次党课。"),
    )
    attendees = MembersField(
        queryset=None,
        label=_("参加人员"),
        required=False,
        help_text=_("只有支委会、谈心谈话需要选择；其他会议的应到人员按党员名册自动生成。"),
    )

    def __init__(self, *args: Any, organizations: Any, members: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        self.fields["attendees"].queryset = members


class MeetingEditForm(forms.Form):
    topic = forms.CharField(label=_("会议主题"), max_length=200)
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    starts_at = forms.DateTimeField(label=_("开始时间"), widget=DateTimeInput())
    ends_at = forms.DateTimeField(label=_("结束时间"), widget=DateTimeInput(), required=False)
    lecturer = forms.CharField(label=_("主讲人"), max_length=60, required=False)
    lecturer_is_secretary = forms.BooleanField(
        label=_("主讲人是本支部书记"),
        required=False,
        help_text=_("只用于党课：支部书记每年至少讲 1 次党课。"),
    )
    minutes = forms.CharField(
        label=_("会议记录"),
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        max_length=20_000,
        help_text=_("议程、发言要点、决定事项。"),
    )


class AttendanceForm(forms.Form):
    """One status and reason per expected attendee."""

    def __init__(self, *args: Any, rows: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"status_{row.member_id}"] = forms.ChoiceField(
                label=row.member.name, choices=AttendanceStatus.choices, initial=row.status
            )
            self.fields[f"reason_{row.member_id}"] = forms.CharField(
                label=_("%(name)s 缺席或请假原因") % {"name": row.member.name},
                max_length=200,
                required=False,
                initial=row.reason,
            )

    def entries(self) -> dict[int, tuple[str, str]]:
        return {
            row.member_id: (
                self.cleaned_data[f"status_{row.member_id}"],
                self.cleaned_data[f"reason_{row.member_id}"],
            )
            for row in self.rows
        }

    def pairs(self) -> list[tuple[Any, Any, Any]]:
        return [(row, self[f"status_{row.member_id}"], self[f"reason_{row.member_id}"]) for row in self.rows]


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("附件"), help_text=_("PDF、PNG 或 JPG，不超过 10 MB"))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=200)


class SignInForm(forms.Form):
    code = forms.CharField(
        label=_("签到码"),
        max_length=64,
        help_text=_("扫描会场二维码会自动填写；也可以输入屏幕上显示的 8 位签到码。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class VoteForm(forms.Form):
    kind = forms.ChoiceField(label=_("事项类型"), choices=VoteKind.choices)
    subject = forms.CharField(label=_("表决事项"), max_length=200)
    subject_member = MemberChoiceField(
        queryset=None,
        label=_("表决对象"),
        required=False,
        help_text=_("接收预备党员、预备党员转正时选择；多名对象须逐个表决。"),
    )
    mode = forms.ChoiceField(label=_("表决方式"), choices=BallotMode.choices)
    written_for = forms.IntegerField(label=_("书面意见：赞成"), min_value=0, initial=0)
    written_against = forms.IntegerField(label=_("书面意见：反对"), min_value=0, initial=0)
    written_abstain = forms.IntegerField(label=_("书面意见：弃权"), min_value=0, initial=0)

    def __init__(self, *args: Any, members: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["subject_member"].queryset = members


class CountsForm(forms.Form):
    in_favour = forms.IntegerField(label=_("赞成"), min_value=0)
    against = forms.IntegerField(label=_("反对"), min_value=0)
    abstain = forms.IntegerField(label=_("弃权"), min_value=0)


class CastForm(forms.Form):
    choice = forms.ChoiceField(label=_("您的选择"), choices=Choice.choices, widget=forms.RadioSelect)


class ElectionForm(forms.Form):
    title = forms.CharField(label=_("选举事项"), max_length=200, initial=_("选举党支部委员会委员"))
    seats = forms.IntegerField(label=_("应选人数"), min_value=1, max_value=100)
    mode = forms.ChoiceField(
        label=_("投票方式"), choices=[(m.value, m.label) for m in BallotMode if m != BallotMode.HANDS]
    )
    candidates = MembersField(
        queryset=None, label=_("候选人"), help_text=_("候选人应多于应选人数的 20%（差额选举）。")
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["candidates"].queryset = members


class ElectionCountsForm(forms.Form):
    def __init__(self, *args: Any, candidates: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for c in candidates:
            self.fields[f"votes_{c.pk}"] = forms.IntegerField(
                label=_("%(name)s 得票") % {"name": c.member.name}, min_value=0
            )
        self.candidates = candidates

    def votes(self) -> dict[int, int]:
        return {c.pk: self.cleaned_data[f"votes_{c.pk}"] for c in self.candidates}


class ElectionCastForm(forms.Form):
    candidates = forms.MultipleChoiceField(
        label=_("选择候选人"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, candidates: list[Any], seats: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["candidates"]
        field.choices = [(str(c.pk), c.member.name) for c in candidates]
        field.help_text = _("最多选 %(n)d 人；一个都不选即为弃权。") % {"n": seats}


class ComplianceForm(forms.Form):
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    quarter = forms.TypedChoiceField(
        label=_("季度"), coerce=int, choices=[(q, _("第%(q)d季度") % {"q": q}) for q in range(1, 5)]
    )
    branch = forms.ModelChoiceField(
        queryset=None, label=_("党支部"), required=False, empty_label=_("全部（本人管辖范围）")
    )

    def __init__(self, *args: Any, branches: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class DecisionForm(forms.Form):
    branch = forms.ModelChoiceField(queryset=None, label=_("党支部"), empty_label=None)
    title = forms.CharField(label=_("事项"), max_length=200)
    summary = forms.CharField(label=_("事项说明"), widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args: Any, branches: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


def _text_area(label: str) -> forms.CharField:
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000)


def decision_step_form(step: int, *args: Any, **kwargs: Any) -> forms.Form:
    """The form of one step of 四议两公开."""
    fields: dict[str, forms.Field] = {"held_on": forms.DateField(label=_("日期"), widget=DateInput())}
    if step == DecisionStep.PROPOSAL:
        fields["proposal"] = _text_area(_("提议内容"))
    elif step == DecisionStep.CONSULTATION:
        fields["opinion"] = _text_area(_("两委商议意见"))
    elif step == DecisionStep.MEMBER_REVIEW:
        fields["plan_sent_on"] = forms.DateField(
            label=_("方案送达党员日期"), widget=DateInput(), help_text=_("至少在会前 3 天")
        )
        fields["entitled"] = forms.IntegerField(label=_("应到会有表决权的党员"), min_value=0)
        fields["present"] = forms.IntegerField(label=_("实到党员"), min_value=0)
        fields["in_favour"] = forms.IntegerField(label=_("赞成"), min_value=0)
    elif step == DecisionStep.VILLAGER_DECISION:
        fields["body"] = forms.ChoiceField(
            label=_("决议机构"), choices=VillageBody.choices, widget=forms.RadioSelect
        )
        fields["by_households"] = forms.BooleanField(
            label=_("村民会议按户的代表计算到会（三分之二以上的户）"), required=False
        )
        fields["notice_on"] = forms.DateField(
            label=_("通知日期"), widget=DateInput(), required=False, help_text=_("村民会议应提前十天通知村民")
        )
        fields["total"] = forms.IntegerField(
            label=_("应到人数"),
            min_value=0,
            help_text=_("村民会议：十八周岁以上村民数（按户时填户数）；村民代表会议：代表总数"),
        )
        fields["present"] = forms.IntegerField(label=_("到会人数（按户时填户数）"), min_value=0)
        fields["in_favour"] = forms.IntegerField(label=_("赞成"), min_value=0)
    elif step == DecisionStep.RESOLUTION_PUBLIC:
        fields["resolution"] = _text_area(_("决议内容（公告正文）"))
        fields["place"] = forms.CharField(label=_("公开方式或地点"), max_length=200, initial=_("村务公开栏"))
    else:
        fields["result"] = _text_area(_("实施结果（公告正文）"))
        fields["place"] = forms.CharField(label=_("公开方式或地点"), max_length=200, initial=_("村务公开栏"))
    fields["notes"] = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=20_000
    )
    form_class = type("DecisionStepForm", (forms.Form,), fields)
    return form_class(*args, **kwargs)


class AppraisalForm(forms.Form):
    branch = forms.ModelChoiceField(queryset=None, label=_("党支部"), empty_label=None)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)

    def __init__(self, *args: Any, branches: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches


class GradesForm(forms.Form):
    """A grade per full member; probationary members take part without a grade."""

    def __init__(self, *args: Any, entries: list[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.entries = entries
        choices = [("", _("（未评定）")), *Grade.choices]
        for e in entries:
            if e.graded:
                self.fields[f"grade_{e.member_id}"] = forms.ChoiceField(
                    label=e.member.name, choices=choices, required=False, initial=e.grade
                )

    def grades(self) -> dict[int, str]:
        return {e.member_id: self.cleaned_data[f"grade_{e.member_id}"] for e in self.entries if e.graded}

    def rows(self) -> list[tuple[Any, Any]]:
        return [(e, self[f"grade_{e.member_id}"] if e.graded else None) for e in self.entries]


class ProbationForm(forms.Form):
    member = MemberChoiceField(queryset=None, label=_("党员"))
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput())
    ends_on = forms.DateField(label=_("结束日期"), widget=DateInput())
    decided_by = forms.CharField(label=_("决定机关"), max_length=120)
    reason = forms.CharField(label=_("处分事由"), max_length=300)

    def __init__(self, *args: Any, members: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members
