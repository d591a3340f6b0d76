"""Page forms. They only parse input; the rules live in login.py and actions.py.

Pages render with `novalidate`: errors come from the server, beside their field, never as a
browser pop-up, and everything works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class AccessibleForm(forms.Form):
    """Django 5.2 links each input to its help and error text (aria-describedby "<id>_helptext",
    "<id>_error") and marks it aria-invalid; templates/accounts/_field.html uses those ids."""


class LoginForm(AccessibleForm):
    login = forms.CharField(
        label=_("用户名或手机号"),
        max_length=150,
        error_messages={"required": _("请输入用户名或手机号")},
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label=_("密码"),
        max_length=4096,
        strip=False,
        error_messages={"required": _("请输入密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpForm(AccessibleForm):
    code = forms.CharField(
        label=_("6位动态口令"),
        max_length=12,
        help_text=_("打开手机上的认证器应用，输入当前显示的6位数字。"),
        error_messages={"required": _("请输入6位动态口令")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
            }
        ),
    )


class PasswordChangeForm(AccessibleForm):
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        max_length=4096,
        error_messages={"required": _("请输入原密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("新密码"),
        strip=False,
        max_length=4096,
        help_text=_("至少10个字符，包含大写字母、小写字母、数字、符号中的至少三类，不要用常见密码。"),
        error_messages={"required": _("请输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label=_("再次输入新密码"),
        strip=False,
        max_length=4096,
        error_messages={"required": _("请再次输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, second = data.get("new_password"), data.get("new_password_again")
        if first and second and first != second:
            self.add_error("new_password_again", _("两次输入的新密码不一致"))
        return data


def language_choices() -> list[tuple[str, str]]:
    return [("", _("跟随浏览器")), *settings.LANGUAGES]


class PreferencesForm(AccessibleForm):
    elder_mode = forms.BooleanField(
        label=_("长辈模式（大字号、高对比度）"),
        required=False,
    )
    language = forms.ChoiceField(label=_("界面语言"), choices=language_choices, required=False)
