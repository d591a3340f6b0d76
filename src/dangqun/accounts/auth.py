"""API authentication: a bearer token, or the page session (with CSRF on unsafe methods)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf


class BearerOrSession(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return self.authenticate(request, header[7:].strip())
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS") and check_csrf(request) is not None:
            return None  # a session without its CSRF token does not authenticate a change
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from .tokens import token_for

        found = token_for(token)
        if found is None:
            return None
        request.user = found.user
        request.api_token = found  # lets DELETE /auth/token revoke exactly the token in use
        return found.user
