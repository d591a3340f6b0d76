"""/api/v1/auth/token and /api/v1/me: thin endpoints over the login flow and the actions."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Router, Status

from dangqun.core.errors import RuleViolation
from dangqun.core.schemas import ERRORS, PUBLIC_ERRORS, ErrorOut

from . import actions, consents, login
from .models import Consent
from .schemas import PK, ConsentListOut, ConsentOut, MeOut, RoleOut, TokenIn, TokenOut

router = Router(tags=["accounts"])


@router.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, **PUBLIC_ERRORS},
    summary="用账号密码换取访问令牌",
)
def issue_token(request: HttpRequest, data: TokenIn):
    """Same rules as the login page: lockout, per-address limit, and a TOTP code for staff.

    The token is shown once and expires after API_TOKEN_TTL_HOURS; only its SM3 digest is kept.
    """
    ip = login.client_ip(request)
    user = login.check_password_step(data.username, data.password, ip=ip, channel="api")
    method = "password"
    if user.needs_two_factor:
        if not user.totp_confirmed:
            raise login.LoginRefused(
                "totp_setup_required", _("请先在网页登录并完成动态口令（双因素认证）设置。")
            )
        if not data.totp:
            raise login.LoginRefused("totp_required", _("该账号需要动态口令，请填写认证器上的6位数字。"))
        login.check_totp_step(user, data.totp, ip=ip, channel="api")
        method = "password+totp"
    login.complete_login(user, method=method, ip=ip, channel="api")
    raw, token = actions.do_issue_api_token(user, actor=user, name="api")
    return {"token": raw, "expires_at": timezone.localtime(token.expires_at)}


@router.delete("/auth/token", response={204: None, **ERRORS}, summary="注销当前访问令牌")
def revoke_token(request: HttpRequest):
    token = getattr(request, "api_token", None)
    if token is None:
        raise RuleViolation("no_token", _("本次请求没有使用访问令牌，无需注销。"))
    actions.do_revoke_api_token(token, actor=request.user)
    return Status(204, None)


@router.get("/me", response={200: MeOut, **ERRORS}, summary="当前用户")
def me(request: HttpRequest):
    user = request.user
    grants = user.grants.select_related("organization").order_by("organization__path", "role")
    return {
        "username": user.username,
        "full_name": user.full_name,
        "roles": [
            RoleOut(
                role=g.role,
                role_label=str(g.get_role_display()),
                organization_id=g.organization_id,
                organization_name=g.organization.name,
            )
            for g in grants
        ],
        "id_number_masked": user.id_number_masked,
        "phone_masked": user.phone_masked,
        "two_factor": user.needs_two_factor,
    }


@router.get(
    "/me/data", response={200: dict, **ERRORS}, summary="下载我的个人信息（个人信息保护法 第四十五条）"
)
def my_data(request: HttpRequest):
    from dangqun.core.audit import audit

    from . import privacy

    audit(request.auth, "accounts.data.export", request.auth)
    return privacy.export(request.auth)


@router.post("/me/deletion-request", response={201: dict, **ERRORS}, summary="申请删除个人信息（第四十七条）")
def request_deletion(request: HttpRequest):
    from ninja.responses import Status

    from . import privacy

    req = privacy.do_request_deletion(request.auth, actor=request.auth)
    return Status(201, {"id": req.pk, "state": req.state})


def consent_out(c: Consent) -> dict[str, Any]:
    return {
        "id": c.pk,
        "purpose": c.purpose,
        "data": c.data,
        "data_name": c.data_name,
        "recipient": c.recipient_name,
        "legal_basis": c.legal_basis,
        "reference": c.reference,
        "granted_at": timezone.localtime(c.granted_at),
        "withdrawn_at": timezone.localtime(c.withdrawn_at) if c.withdrawn_at else None,
        "state": c.state,
        "state_label": c.get_state_display(),
    }


@router.get(
    "/me/consents",
    response={200: ConsentListOut, **ERRORS},
    summary="我的同意记录（个人信息保护法 第十四条）",
)
def my_consents(request: HttpRequest):
    """Every consent the person gave for sharing or reusing their data: purpose, recipient, data,
    legal basis, when, and whether it was withdrawn; the newest first (at most 500). Only one's own."""
    qs = consents.my_consents(request.auth)
    rows = [consent_out(c) for c in qs[: consents.LIST_LIMIT]]
    return {"count": qs.count() if len(rows) == consents.LIST_LIMIT else len(rows), "items": rows}


@router.post(
    "/me/consents/{consent_id}/withdraw",
    response={200: ConsentOut, **ERRORS},
    summary="撤回同意（个人信息保护法 第十五条）",
)
def withdraw_consent(request: HttpRequest, consent_id: Path[PK]):
    """Further use of the data needs a new consent; cases already handed in are not undone.
    Withdrawing again answers the same. 404 for a consent that is not the caller's."""
    consent = consents.access_consent(request.auth, consent_id)
    return consent_out(consents.do_withdraw_consent(consent, actor=request.auth))
