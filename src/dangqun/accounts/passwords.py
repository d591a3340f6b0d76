"""Password rules (等保 2.0 身份鉴别: length, complexity) with Chinese messages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class CharacterClassValidator:
    """At least three of: lower case, upper case, digits, symbols (等保 2.0 身份鉴别)."""

    def validate(self, password: str, user=None) -> None:
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if sum(classes) < 3:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少三类。"), code="password_classes"
            )

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、符号中的至少三类。")


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's length rule with a message that is Chinese by default.

    Django 5.2 changed this message id to "%d", and its zh_Hans catalog still carries the
    old "%(min_length)d" one, so the stock validator answers in English.
    """

    def get_error_message(self) -> str:
        return ngettext(
            "密码太短，至少需要 %(n)d 个字符。", "密码太短，至少需要 %(n)d 个字符。", self.min_length
        ) % {"n": self.min_length}

    def get_help_text(self) -> str:
        return _("密码至少需要 %(n)d 个字符。") % {"n": self.min_length}


def _chinese(error: ValidationError) -> str:
    """The message of one validator error, in Chinese whatever validator class produced it."""
    params = error.params or {}
    by_code = {
        "password_too_short": lambda: (
            _("密码太短，至少需要 %(n)d 个字符。") % {"n": params.get("min_length", 0)}
        ),
        "password_too_similar": lambda: (
            _("密码与您的%(field)s过于相似。") % {"field": params.get("verbose_name", _("个人信息"))}
        ),
        "password_too_common": lambda: _("这个密码太常见，容易被猜中。"),
        "password_entirely_numeric": lambda: _("密码不能全部是数字。"),
    }
    make = by_code.get(error.code or "")
    return str(make()) if make else " ".join(str(m) for m in error.messages)


def password_problems(password: str, user: Any = None) -> list[str]:
    """Every rule the password breaks (the configured validators), each as a Chinese message."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        return [_chinese(e) for e in exc.error_list]
    return []
