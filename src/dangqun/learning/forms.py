"""Forms of the learning pages: type checks only; the rules live in actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import AgeGroup, Audience, Channel, ItemStatus, Kind, Level, Post, Topic


def apply_errors(form: forms.Form, exc: Any) -> None:
    """Show each violation beside its field (or above the form)."""
    for v in exc.violations:
        name = v.field if v.field in form.fields else None
        form.add_error(name, str(v.message))


class DateInput(forms.DateInput):
    input_type = "date"


class ProfileForm(forms.Form):
    post = forms.ChoiceField(label=_("我的岗位/行业"), choices=Post.choices)


class ItemForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("发布组织"), empty_label=None)
    kind = forms.ChoiceField(label=_("类型"), choices=Kind.choices)
    title = forms.CharField(label=_("标题"), max_length=200)
    summary = forms.CharField(label=_("摘要"), max_length=500, required=False)
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    url = forms.URLField(label=_("音视频链接"), required=False, assume_scheme="https")
    document = forms.FileField(label=_("PDF 文件"), required=False)
    topic = forms.ChoiceField(label=_("主题"), choices=Topic.choices)
    posts = forms.MultipleChoiceField(
        label=_("适用岗位"), choices=Post.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    level = forms.ChoiceField(label=_("难度"), choices=Level.choices)
    keywords = forms.CharField(label=_("关键词"), max_length=200, required=False)
    minutes = forms.IntegerField(label=_("学习时长（分钟）"), min_value=1, max_value=600, initial=20)
    lessons = forms.CharField(
        label=_("课程章节"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("课程每行一节：标题 | 分钟 | 链接（可省略）"),
    )
    questions = forms.CharField(
        label=_("测验题目"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("测验每行一题：题目 | 选项A；选项B；选项C | 正确选项序号（从1开始）"),
    )
    status = forms.ChoiceField(label=_("状态"), choices=ItemStatus.choices, initial=ItemStatus.PUBLISHED)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations

    def parsed_lessons(self) -> list[dict]:
        out = []
        for line in (self.cleaned_data.get("lessons") or "").splitlines():
            parts = [p.strip() for p in line.split("|")]
            if not parts[0]:
                continue
            minutes = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10
            out.append({"title": parts[0], "minutes": minutes, "url": parts[2] if len(parts) > 2 else ""})
        return out

    def parsed_questions(self) -> list[dict]:
        out = []
        for line in (self.cleaned_data.get("questions") or "").splitlines():
            parts = [p.strip() for p in line.split("|")]
            if not parts[0]:
                continue
            options = (
                [o.strip() for o in parts[1].replace(";", "；").split("；") if o.strip()]
                if len(parts) > 1
                else []
            )
            answer = int(parts[2]) - 1 if len(parts) > 2 and parts[2].isdigit() else -1
            out.append({"text": parts[0], "options": options, "answer": answer})
        return out


class AssignForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("组织"), empty_label=None)
    item = forms.TypedChoiceField(label=_("必学内容"), coerce=int)
    due_on = forms.DateField(label=_("完成期限"), widget=DateInput())
    audience = forms.ChoiceField(label=_("对象"), choices=Audience.choices)

    def __init__(self, *args: Any, organizations: Any, items: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations
        # The newest 300 items of the scope: a select of 50,000 would help nobody (use search).
        self.fields["item"].choices = list(items.order_by("-published_at").values_list("pk", "title")[:300])


class SourceForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=None, label=_("所属组织"), empty_label=None)
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("素材正文"), widget=forms.Textarea(attrs={"rows": 8}))
    topic = forms.ChoiceField(label=_("主题"), choices=[("", "—"), *Topic.choices], required=False)
    photo = forms.FileField(label=_("照片（可选）"), required=False)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


class ProductForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 4}))


class PushForm(forms.Form):
    org1 = forms.ModelChoiceField(queryset=None, label=_("推送对象一：组织"), required=False)
    posts1 = forms.MultipleChoiceField(
        label=_("推送对象一：岗位（不选为全部）"),
        choices=Post.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    ages1 = forms.MultipleChoiceField(
        label=_("推送对象一：年龄段（不选为全部）"),
        choices=AgeGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    org2 = forms.ModelChoiceField(queryset=None, label=_("推送对象二：组织"), required=False)
    posts2 = forms.MultipleChoiceField(
        label=_("推送对象二：岗位（不选为全部）"),
        choices=Post.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label=_("渠道"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["org1"].queryset = organizations
        self.fields["org2"].queryset = organizations

    def segments(self) -> list[dict]:
        d = self.cleaned_data
        out = []
        if d.get("org1"):
            out.append({"org": d["org1"].pk, "posts": d.get("posts1") or [], "ages": d.get("ages1") or []})
        if d.get("org2"):
            out.append({"org": d["org2"].pk, "posts": d.get("posts2") or [], "ages": []})
        return out
