"""Elder mode (适老化) and the content security policy, on every response."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext

ELDER_COOKIE = "dq_elder"

# Every asset is served by the app itself (no CDN), so the policy can be strict.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class ElderModeMiddleware:
    """Remembers the elder-mode switch (cookie, and the user's profile when logged in).

    Also applies the signed-in user's saved interface language when this browser has not
    chosen one yet (no language cookie): LocaleMiddleware runs before authentication, so it
    cannot see the profile. A language chosen with the switch (cookie) always wins.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            # The API renders no pages: don't load the session user just for a display preference.
            request.elder_mode = False
            return self.get_response(request)
        user = getattr(request, "user", None)
        cookie = request.COOKIES.get(ELDER_COOKIE)
        if cookie is not None:
            request.elder_mode = cookie == "1"
        else:
            request.elder_mode = bool(user and user.is_authenticated and getattr(user, "elder_mode", False))
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and user and user.is_authenticated:
            preferred = getattr(user, "language", "")
            if preferred and preferred in dict(settings.LANGUAGES):
                translation.activate(preferred)
                request.LANGUAGE_CODE = preferred
        return self.get_response(request)


class RejectNulBytesMiddleware:
    """Refuse API input carrying NUL characters (raw, %00 or \\u0000 in JSON).

    PostgreSQL text cannot hold NUL, so such input would fail deep inside a transaction;
    Django forms already refuse it on pages (ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/") and self._has_nul(request):
            return JsonResponse(
                {
                    "code": "invalid_characters",
                    "message": gettext("输入中含有不允许的控制字符（NUL），请删除后重试。"),
                    "details": {},
                },
                status=422,
            )
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return True
        # Only text bodies: uploaded files (multipart) legitimately contain NUL bytes.
        if request.content_type in ("application/json", "application/x-www-form-urlencoded"):
            body = request.body
            return b"\x00" in body or b"\\u0000" in body.lower()
        return False


class ContentSecurityPolicyMiddleware:
    """A strict policy on every page: scripts and styles only from /static/, nothing inline.

    Exceptions: the API docs (Swagger UI needs inline start-up code) and the Django admin
    (its templates use inline scripts); both are staff tools.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/v1/docs"):
            # Swagger UI (served locally by ninja) needs inline init code.
            response.setdefault(
                "Content-Security-Policy",
                CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
                    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
                ),
            )
        elif not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("Permissions-Policy", "camera=(self), geolocation=(), microphone=()")
        return response
