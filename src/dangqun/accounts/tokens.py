"""Bearer tokens: found by the SM3 digest of the presented value, never stored in plaintext."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dangqun.core import crypto

from .models import ApiToken, User

# last_used_at is written at most this often, so authenticated reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_for(raw: str) -> ApiToken | None:
    """The live token for this bearer value: not revoked, not expired, its user active."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=crypto.sm3_hex(raw.encode()), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_for_token(raw: str) -> User | None:
    token = token_for(raw)
    return token.user if token else None


def issue_token(user: User, *, name: str = "", actor: object = None) -> tuple[str, ApiToken]:
    """A new token for `user` (see actions.do_issue_api_token); the plaintext is returned once."""
    from .actions import do_issue_api_token

    return do_issue_api_token(user, actor=actor or user, name=name)
