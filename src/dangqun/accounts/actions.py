"""Every change to an account: identity, login bookkeeping, two-factor, tokens, preferences.

Each action runs in one transaction and writes one audit event. Audit payloads never carry a
password, a token, a TOTP secret or an unmasked ID/phone number.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pyotp.utils import strings_equal

from dangqun.core import crypto
from dangqun.core.audit import audit
from dangqun.core.errors import PermissionDenied, RuleViolation, Violation, raise_if_any
from dangqun.core.permissions import has_perm
from dangqun.core.validators import (
    birth_date_from_id,
    gender_from_id,
    mask_id_number,
    mask_phone,
    validate_id_number,
    validate_phone,
)

from .models import ApiToken, User
from .passwords import password_problems

TOKEN_PREFIX = "dq_"  # noqa: S105 - a public marker so secret scanners can spot leaked tokens
TOTP_ISSUER = "党群服务平台"


def may_manage(actor: Any, user: User) -> bool:
    """The user themselves, a superuser, or an accounts manager over one of the user's orgs."""
    if getattr(actor, "pk", None) is not None and actor.pk == user.pk:
        return True
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    return any(
        has_perm(actor, "accounts.manage", g.organization) for g in user.grants.select_related("organization")
    )


def _require_manage(actor: Any, user: User) -> None:
    if not may_manage(actor, user):
        raise PermissionDenied()


# --- identity ---------------------------------------------------------------------------------


@transaction.atomic
def do_set_identity(user: User, *, full_name: str, id_number: str, phone: str, actor: Any) -> User:
    """Record the real-name identity (网络安全法 第二十四条 实名制).

    The ID number is checked per GB 11643-1999 and birth date and gender are derived from it;
    the phone must be a mainland mobile number (or empty). All problems are reported at once.
    An ID number belongs to one account only.
    """
    _require_manage(actor, user)
    problems: list[Violation | None] = []
    name = " ".join((full_name or "").split())
    if not name:
        problems.append(Violation("full_name_required", _("请填写姓名"), field="full_name"))
    elif len(name) > 60:
        problems.append(Violation("full_name_length", _("姓名不能超过60个字"), field="full_name"))
    try:
        id_clean = validate_id_number(id_number)
    except ValidationError as exc:
        id_clean = ""
        problems.append(Violation("invalid_id_number", exc.messages[0], field="id_number"))
    phone_clean = ""
    if (phone or "").strip():
        try:
            phone_clean = validate_phone(phone)
        except ValidationError as exc:
            problems.append(Violation("invalid_phone", exc.messages[0], field="phone"))
    if id_clean:
        index = crypto.blind_index(id_clean, purpose="id")
        if User.objects.filter(id_number_index=index).exclude(pk=user.pk).exists():
            problems.append(
                Violation(
                    "id_number_taken", _("该身份证号已登记在其他账号下，请联系管理员"), field="id_number"
                )
            )
    raise_if_any(problems)

    user.full_name, user.id_number, user.phone = name, id_clean, phone_clean
    user.birth_date, user.gender = birth_date_from_id(id_clean), gender_from_id(id_clean)
    user.save(update_fields=["full_name", "id_number", "phone", "birth_date", "gender"])
    audit(
        actor,
        "accounts.identity_set",
        user,
        full_name=name,
        id_number=mask_id_number(id_clean),
        phone=mask_phone(phone_clean),
    )
    return user


# --- login bookkeeping ------------------------------------------------------------------------


def _lockout_delta() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


@transaction.atomic
def do_record_login_failure(user: User, *, reason: str, ip: str, channel: str, actor: Any) -> datetime | None:
    """Count one failed attempt; the LOGIN_MAX_FAILURES-th in a row locks the account for
    LOGIN_LOCKOUT_MINUTES (等保 2.0 身份鉴别：登录失败处理). Returns the lock's end, if it locked.

    The counter restarts after a lock, so the account gets a fresh set of attempts once the
    lock has expired. `actor` is who tried ("anonymous"), not the account's owner.
    """
    row = User.objects.select_for_update().only("pk", "failed_logins").get(pk=user.pk)
    failures = row.failed_logins + 1
    locked_until = None
    if failures >= settings.LOGIN_MAX_FAILURES:
        locked_until = timezone.now() + _lockout_delta()
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=locked_until)
        audit(actor, "login.lockout", user, reason=reason, ip=ip, channel=channel, until=locked_until)
    else:
        User.objects.filter(pk=user.pk).update(failed_logins=failures)
        audit(actor, "login.failed", user, reason=reason, ip=ip, channel=channel, failures=failures)
    user.failed_logins, user.locked_until = (
        (0, locked_until) if locked_until else (failures, user.locked_until)
    )
    return locked_until


def do_record_refused_login(*, login: str, reason: str, ip: str, channel: str, actor: Any) -> None:
    """Audit an attempt that names no account, or one refused before its password was checked
    (locked account). Nothing changes but the audit chain."""
    with transaction.atomic():
        audit(actor, "login.failed", None, login=login, reason=reason, ip=ip, channel=channel)


@transaction.atomic
def do_record_login_success(user: User, *, method: str, ip: str, channel: str, actor: Any) -> User:
    """A completed login (password, plus TOTP for staff): the failure count starts over."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None, last_login=now)
    user.failed_logins, user.locked_until, user.last_login = 0, None, now
    audit(actor, "login.success", user, method=method, ip=ip, channel=channel)
    return user


@transaction.atomic
def do_unlock_user(user: User, *, actor: Any) -> User:
    """An administrator lifts a login lock before it expires."""
    _require_manage(actor, user)
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.failed_logins, user.locked_until = 0, None
    audit(actor, "login.unlock", user)
    return user


@transaction.atomic
def do_record_logout(user: User, *, ip: str, actor: Any) -> None:
    """A deliberate logout (the session itself is ended by the view)."""
    audit(actor, "logout", user, ip=ip)


# --- two-factor (TOTP, RFC 6238) ----------------------------------------------------------------


def totp_for(user: User) -> pyotp.TOTP:
    return pyotp.TOTP(user.totp_secret, name=user.username, issuer=TOTP_ISSUER)


@transaction.atomic
def do_start_totp_setup(user: User, *, actor: Any) -> str:
    """Give the user a TOTP secret to enrol (kept while unconfirmed, so a reload shows the same
    QR code). A confirmed secret is never replaced here."""
    _require_manage(actor, user)
    if user.totp_confirmed:
        raise RuleViolation("totp_already_confirmed", _("已启用双因素认证"))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
        audit(actor, "totp.setup_started", user)
    return user.totp_secret


def totp_step_for(user: User, code: str, *, at: datetime | None = None) -> int | None:
    """The time step the code belongs to (±1 step for clock drift), or None.

    A step at or before the last accepted one is refused, so an observed code cannot be
    replayed (RFC 6238 §5.2).
    """
    code = "".join((code or "").split())
    if not user.totp_secret or len(code) != 6 or not code.isdigit():
        return None
    totp = totp_for(user)
    current = totp.timecode(at or timezone.now())
    for step in (current - 1, current, current + 1):
        if step > user.totp_last_step and strings_equal(code, totp.generate_otp(step)):
            return step
    return None


@transaction.atomic
def do_accept_totp(user: User, step: int, *, actor: Any) -> User:
    """Mark the code's step as used; the first accepted code confirms the enrolment."""
    fields = ["totp_last_step"]
    user.totp_last_step = step
    if not user.totp_confirmed:
        user.totp_confirmed = True
        fields.append("totp_confirmed")
        audit(actor, "totp.confirmed", user)
    user.save(update_fields=fields)
    return user


@transaction.atomic
def do_reset_totp(user: User, *, actor: Any) -> User:
    """Forget the user's TOTP secret (a lost phone); they enrol again at the next login.
    Only an accounts manager may, never the user alone."""
    if getattr(actor, "pk", None) == user.pk and not actor.is_superuser:
        raise PermissionDenied(_("不能重置自己的双因素认证，请联系管理员。"))
    _require_manage(actor, user)
    user.totp_secret, user.totp_confirmed, user.totp_last_step = "", False, 0
    user.save(update_fields=["totp_secret", "totp_confirmed", "totp_last_step"])
    audit(actor, "totp.reset", user)
    return user


# --- API tokens ---------------------------------------------------------------------------------


@transaction.atomic
def do_issue_api_token(user: User, *, actor: Any, name: str = "") -> tuple[str, ApiToken]:
    """A new bearer token, valid API_TOKEN_TTL_HOURS. Returns the plaintext once; only its SM3
    digest and an 8-character prefix (to tell tokens apart) are stored."""
    _require_manage(actor, user)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:60],
        digest=crypto.sm3_hex(raw.encode()),
        prefix=raw[:8],
        expires_at=timezone.now() + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    audit(actor, "token.issue", token, prefix=token.prefix, expires_at=token.expires_at)
    return raw, token


@transaction.atomic
def do_revoke_api_token(token: ApiToken, *, actor: Any) -> ApiToken:
    """Revoke a token at once; revoking twice is harmless."""
    _require_manage(actor, token.user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(actor, "token.revoke", token, prefix=token.prefix)
    return token


# --- password and preferences -------------------------------------------------------------------


@transaction.atomic
def do_change_password(user: User, *, old_password: str, new_password: str, actor: Any) -> User:
    """Change one's own password: the old one must be right and the new one must pass every
    configured rule (长度、复杂度、常见密码). All broken rules are reported together."""
    if getattr(actor, "pk", None) != user.pk:
        raise PermissionDenied()
    if not user.check_password(old_password):
        raise RuleViolation("wrong_password", _("原密码不正确"), field="old_password")
    problems = password_problems(new_password, user)
    if problems:
        raise RuleViolation(
            "weak_password",
            problems[0],
            violations=[Violation("weak_password", m, field="new_password") for m in problems],
        )
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit(actor, "password.change", user)
    return user


@transaction.atomic
def do_update_preferences(user: User, *, elder_mode: bool, language: str, actor: Any) -> User:
    """长辈模式 and interface language, saved on the account so they follow the user."""
    if getattr(actor, "pk", None) != user.pk:
        raise PermissionDenied()
    languages = {code for code, _label in settings.LANGUAGES}
    if language and language not in languages:
        raise RuleViolation("invalid_language", _("不支持该界面语言"), field="language")
    user.elder_mode, user.language = bool(elder_mode), language
    user.save(update_fields=["elder_mode", "language"])
    audit(actor, "accounts.preferences", user, elder_mode=user.elder_mode, language=language)
    return user
