"""Login (password, then TOTP for staff), logout, profile and password pages.

Until the second factor passes, the session is *not* logged in: it only carries the pending
account id (PENDING), which expires after PENDING_SECONDS.
"""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.middleware import ELDER_COOKIE

from . import actions, consents, login
from .forms import LoginForm, PasswordChangeForm, PreferencesForm, TotpForm
from .models import User

PENDING = "accounts_pending_2fa"
PENDING_SECONDS = 300
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


def _finish(request: HttpRequest, user: User, method: str, next_url: str) -> HttpResponse:
    request.session.pop(PENDING, None)
    auth_login(request, user, backend=BACKEND)  # rotates the session key
    login.complete_login(user, method=method, ip=login.client_ip(request), channel="web")
    # The saved language applies by itself (core ElderModeMiddleware) unless this browser chose one.
    return redirect(next_url)


def _pending_user(request: HttpRequest) -> tuple[User | None, str]:
    pending = request.session.get(PENDING) or {}
    if not pending or timezone.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, ""
    user = User.objects.filter(pk=pending.get("uid"), is_active=True).first()
    return user, pending.get("next", "")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = login.check_password_step(
                form.cleaned_data["login"],
                form.cleaned_data["password"],
                ip=login.client_ip(request),
                channel="web",
            )
        except login.LoginThrottled as exc:
            form.add_error(None, exc.message)
            status = 429
        except login.LoginRefused as exc:
            form.add_error("password", exc.message)
        else:
            if not user.needs_two_factor:
                return _finish(request, user, "password", next_url)
            request.session.cycle_key()
            request.session[PENDING] = {"uid": user.pk, "at": timezone.now().timestamp(), "next": next_url}
            return redirect("accounts:totp_verify" if user.totp_confirmed else "accounts:totp_setup")
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


def _totp_step(request: HttpRequest, user: User, form: TotpForm, next_url: str) -> HttpResponse | None:
    """Check the posted code; the response that finishes the login, or None (errors on the form)."""
    if not form.is_valid():
        return None
    try:
        login.check_totp_step(user, form.cleaned_data["code"], ip=login.client_ip(request), channel="web")
    except login.LoginThrottled as exc:
        request.session.pop(PENDING, None)  # locked: start over at the login page later
        form.add_error(None, exc.message)
        return None
    except login.LoginRefused as exc:
        form.add_error("code", exc.message)
        return None
    return _finish(request, user, "password+totp", next_url)


@never_cache
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    """First login of a staff account: enrol an authenticator app, then confirm with a code."""
    user, next_url = _pending_user(request)
    if user is None:
        messages.info(request, _("登录已超时，请重新输入用户名和密码。"))
        return redirect("accounts:login")
    if user.totp_confirmed:
        return redirect("accounts:totp_verify")
    secret = actions.do_start_totp_setup(user, actor=user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and (done := _totp_step(request, user, form, next_url)):
        return done
    uri = actions.totp_for(user).provisioning_uri()
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    context = {
        "form": form,
        "qr_data_uri": qr,
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "issuer": actions.TOTP_ISSUER,
        "account": user.username,
    }
    return render(
        request, "accounts/totp_setup.html", context, status=429 if form.non_field_errors() else 200
    )


@never_cache
@require_http_methods(["GET", "POST"])
def totp_verify_view(request: HttpRequest) -> HttpResponse:
    user, next_url = _pending_user(request)
    if user is None:
        messages.info(request, _("登录已超时，请重新输入用户名和密码。"))
        return redirect("accounts:login")
    if not user.totp_confirmed:
        return redirect("accounts:totp_setup")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and (done := _totp_step(request, user, form, next_url)):
        return done
    status = 429 if form.non_field_errors() else 200
    return render(request, "accounts/totp_verify.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        actions.do_record_logout(request.user, ip=login.client_ip(request), actor=request.user)
    auth_logout(request)
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    initial = {"elder_mode": user.elder_mode, "language": user.language}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_update_preferences(
                user,
                elder_mode=form.cleaned_data["elder_mode"],
                language=form.cleaned_data["language"],
                actor=user,
            )
        except RuleViolation as exc:
            form.add_error(exc.violations[0].field or None, exc.message)
        else:
            messages.success(request, _("已保存您的偏好设置。"))
            response = redirect("accounts:profile")
            # The cookies are what the middleware reads first; keep them in step with the profile.
            response.set_cookie(
                ELDER_COOKIE, "1" if user.elder_mode else "0", samesite="Lax", max_age=365 * 86400
            )
            if user.language:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax", max_age=365 * 86400
                )
            else:
                response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
            return response
    grants = user.grants.select_related("organization").order_by("organization__path", "role")
    return render(request, "accounts/profile.html", {"form": form, "profile": user, "grants": grants})


@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_change_password(
                request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                actor=request.user,
            )
        except RuleViolation as exc:
            for violation in exc.violations:
                form.add_error(violation.field or None, violation.message)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def my_data_view(request: HttpRequest) -> HttpResponse:
    """个人信息权利: download a copy of one's data; ask for deletion (decided by an administrator)."""
    from . import privacy
    from .models import DeletionRequest

    if request.method == "POST":
        try:
            privacy.do_request_deletion(
                request.user, reason=request.POST.get("reason", ""), actor=request.user
            )
        except RuleViolation as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已收到您的删除申请，我们会在15个工作日内处理并告知结果。"))
        return redirect("accounts:my_data")
    requests_ = DeletionRequest.objects.filter(user=request.user).order_by("-requested_at")
    return render(
        request,
        "accounts/my_data.html",
        {"requests": requests_, "consents": list(consents.my_consents(request.user)[: consents.LIST_LIMIT])},
    )


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """个人信息保护法 第十五条: withdraw one's own consent (404 for anyone else's)."""
    try:
        consent = consents.access_consent(request.user, pk)
    except NotFound:
        raise Http404 from None
    consents.do_withdraw_consent(consent, actor=request.user)
    messages.success(
        request,
        _("已撤回同意：%(p)s。今后再使用这项数据须重新征得您的同意；已提交的办件不受影响。")
        % {"p": consent.purpose},
    )
    return redirect(reverse("accounts:my_data") + "#consents")


@login_required
@require_http_methods(["GET"])
def my_data_download(request: HttpRequest) -> HttpResponse:
    import json

    from dangqun.core.audit import audit

    from . import privacy

    data = privacy.export(request.user)
    audit(request.user, "accounts.data.export", request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response["Cache-Control"] = "no-store"
    return response
