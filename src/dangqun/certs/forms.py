"""The public verification form: an identifier, or a PDF file (with an optional identifier)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class VerifyUploadForm(forms.Form):
    pdf = forms.FileField(
        label=_("电子证照 PDF 文件"),
        help_text=_("文件只用于计算摘要、比对签名，不会保存。"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )
    identifier = forms.CharField(
        label=_("证照标识（可不填）"),
        required=False,
        max_length=200,
        help_text=_("填写后，将核对文件是否就是该证照。"),
    )
