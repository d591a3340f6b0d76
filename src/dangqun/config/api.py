"""The root NinjaAPI at /api/v1/: one error schema, every app's router mounted here."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from dangqun.accounts.auth import BearerOrSession
from dangqun.core.errors import RuleViolation

api = NinjaAPI(
    title="dangqun 党群服务平台 API",
    version="1",
    urls_namespace="api",
    description="党群服务平台开放接口。错误统一为 {code, message, details}；时间为 Asia/Shanghai。",
    auth=BearerOrSession(),
)


def _error(
    request: HttpRequest, status: int, code: str, message: str, details: dict | None = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "details": details or {}}, status=status
    )


@api.exception_handler(RuleViolation)
def on_rule_violation(request: HttpRequest, exc: RuleViolation) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("query", "body", "path", "form", "payload")]
        fields.append({"field": ".".join(loc), "type": err.get("type", ""), "message": err.get("msg", "")})
    names = "、".join(f["field"] for f in fields if f["field"]) or _("请求")
    message = _("输入有误，请检查：%(names)s。") % {"names": names}
    return _error(request, 422, "invalid_input", message, {"fields": fields})


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthenticated", _("请先登录，或提供有效的访问令牌。"))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("未找到，或您无权查看。"))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's "Cannot parse request body": one error status (422) for every bad input.
        return _error(request, 422, "invalid_body", _("请求内容无法解析，请发送合法的 JSON。"))
    codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 429: "rate_limited"}
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc.message))


def mount_routers() -> None:
    from dangqun.accounts.api import router as accounts_router
    from dangqun.certs.api import router as certs_router
    from dangqun.core.api import router as core_router
    from dangqun.feedback.api import router as feedback_router
    from dangqun.insights.api import router as insights_router
    from dangqun.learning.api import router as learning_router
    from dangqun.meetings.api import router as meetings_router
    from dangqun.members.api import router as members_router
    from dangqun.onestop.api import router as onestop_router
    from dangqun.orgs.api import router as orgs_router

    api.add_router("/", core_router)
    api.add_router("/", accounts_router)
    api.add_router("/", orgs_router)
    api.add_router("/", members_router)
    api.add_router("/", meetings_router)
    api.add_router("/", onestop_router)
    api.add_router("/", certs_router)
    api.add_router("/", learning_router)
    api.add_router("/", feedback_router)
    api.add_router("/", insights_router)


mount_routers()
