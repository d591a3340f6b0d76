"""The login flow shared by the pages and the token API.

1. `check_password_step`: per-IP rate limit → account lock → password (等保 2.0 身份鉴别：
   登录失败处理). Refusals raise LoginRefused (401) or LoginThrottled (429) with a Chinese
   message that says what to do; every attempt is audited, never with the password.
2. `check_totp_step` for accounts that need two factors (staff roles, superusers): a wrong
   code counts as a failed login, so the lockout also stops guessing codes.
3. `complete_login`: the failure count starts over and the success is audited.

The per-IP counter lives in Django's cache (Redis when REDIS_URL is set, so it is shared by
every app server). It counts failures only: a community centre's many users behind one NAT
address are not throttled by each other's successful logins.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.errors import RuleViolation
from dangqun.core.net import client_ip as client_ip  # re-exported: the login views record it
from dangqun.core.validators import mask_phone

from . import actions
from .models import User
from .queries import find_login_user

ANONYMOUS = "anonymous"


class LoginRefused(RuleViolation):
    """Wrong credentials or code: the client may try again (HTTP 401)."""

    status = 401


class LoginThrottled(RuleViolation):
    """Locked account or too many failures from one address: try later (HTTP 429)."""

    status = 429


def ip_limit() -> tuple[int, int]:
    """(failures, seconds) allowed per client address; settings may tune both."""
    return (
        int(getattr(settings, "LOGIN_IP_MAX_FAILURES", 20)),
        int(getattr(settings, "LOGIN_IP_WINDOW_SECONDS", 900)),
    )


def _ip_key(ip: str) -> str:
    return f"dq:login-failures:{ip}"


def _check_ip(ip: str) -> None:
    limit, window = ip_limit()
    if (cache.get(_ip_key(ip)) or 0) >= limit:
        raise LoginThrottled(
            "rate_limited",
            _("登录失败次数过多，请 %(m)d 分钟后再试。") % {"m": math.ceil(window / 60)},
            {"retry_after": window},
        )


def _count_ip_failure(ip: str, *, login: str, channel: str) -> None:
    limit, window = ip_limit()
    key = _ip_key(ip)
    cache.add(key, 0, timeout=window)  # a fixed window starting at the first failure
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    if count == limit:  # audited once per window, however long the flood goes on
        actions.do_record_refused_login(
            login=login, reason="ip_rate_limited", ip=ip, channel=channel, actor=ANONYMOUS
        )


def _when(moment: datetime) -> str:
    """A lock's end as the user reads it: rounded up to the minute, Shanghai time."""
    local = timezone.localtime(moment)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return _("%(m)d月%(d)d日 %(t)s") % {"m": local.month, "d": local.day, "t": local.strftime("%H:%M")}


def locked_error(until: datetime) -> LoginThrottled:
    return LoginThrottled(
        "account_locked",
        _("连续登录失败次数过多，账号已锁定，请于 %(time)s 后再试。") % {"time": _when(until)},
        {"locked_until": until.isoformat()},
    )


def _masked_login(login: str) -> str:
    # A phone typed as a login name is personal data: the audit keeps it masked.
    login = (login or "").strip()[:150]
    return mask_phone(login) if login.isdigit() and len(login) == 11 else login


def check_password_step(login: str, password: str, *, ip: str, channel: str) -> User:
    """The account for `login` (username or phone) if `password` is right and it may log in."""
    _check_ip(ip)
    user = find_login_user(login)
    if user is None:
        make_password(password)  # the same hashing time as for a real account: no enumeration
        _count_ip_failure(ip, login=_masked_login(login), channel=channel)
        actions.do_record_refused_login(
            login=_masked_login(login), reason="unknown_user", ip=ip, channel=channel, actor=ANONYMOUS
        )
        raise LoginRefused("invalid_credentials", _("用户名或密码不正确。"))
    if user.is_locked:
        _count_ip_failure(ip, login=user.username, channel=channel)
        actions.do_record_refused_login(
            login=user.username, reason="locked", ip=ip, channel=channel, actor=ANONYMOUS
        )
        raise locked_error(user.locked_until)
    if not user.check_password(password):
        _count_ip_failure(ip, login=user.username, channel=channel)
        until = actions.do_record_login_failure(
            user, reason="password", ip=ip, channel=channel, actor=ANONYMOUS
        )
        if until:
            raise locked_error(until)
        left = settings.LOGIN_MAX_FAILURES - user.failed_logins
        raise LoginRefused(
            "invalid_credentials",
            _("用户名或密码不正确。再失败 %(n)d 次，账号将锁定 %(m)d 分钟。")
            % {"n": left, "m": settings.LOGIN_LOCKOUT_MINUTES},
            {"attempts_left": left},
        )
    if not user.is_active:
        actions.do_record_refused_login(
            login=user.username, reason="inactive", ip=ip, channel=channel, actor=ANONYMOUS
        )
        raise LoginRefused("account_disabled", _("该账号已停用，请联系管理员。"))
    return user


def check_totp_step(user: User, code: str, *, ip: str, channel: str) -> User:
    """Accept the user's current TOTP code (once); the first accepted code confirms enrolment."""
    _check_ip(ip)
    user.refresh_from_db()
    if user.is_locked:
        raise locked_error(user.locked_until)
    step = actions.totp_step_for(user, code)
    if step is None:
        _count_ip_failure(ip, login=user.username, channel=channel)
        until = actions.do_record_login_failure(user, reason="totp", ip=ip, channel=channel, actor=ANONYMOUS)
        if until:
            raise locked_error(until)
        raise LoginRefused(
            "invalid_totp",
            _("动态口令不正确或已使用过，请输入认证器上最新的6位数字。"),
            field="totp",
        )
    return actions.do_accept_totp(user, step, actor=user)


def complete_login(user: User, *, method: str, ip: str, channel: str) -> User:
    return actions.do_record_login_success(user, method=method, ip=ip, channel=channel, actor=user)
