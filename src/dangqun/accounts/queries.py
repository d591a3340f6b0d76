"""Reads of accounts: lookup by the blind indexes, never by decrypting every row."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from dangqun.core import crypto
from dangqun.core.validators import validate_id_number, validate_phone

from .models import User


def find_user_by_id_number(id_number: str) -> User | None:
    """The account registered with this resident ID number (normalized first), if any."""
    try:
        clean = validate_id_number(id_number)
    except ValidationError:
        return None  # an invalid number can never have been stored (do_set_identity checks it)
    return User.objects.filter(id_number_index=crypto.blind_index(clean, purpose="id")).first()


def users_by_phone(phone: str) -> list[User]:
    """Accounts with this mobile number (a number may be shared, e.g. within a family)."""
    try:
        clean = validate_phone(phone)
    except ValidationError:
        return []
    return list(User.objects.filter(phone_index=crypto.blind_index(clean, purpose="phone"))[:2])


def find_login_user(login: str) -> User | None:
    """The account a login form means: the exact username, else the only account with that phone."""
    login = (login or "").strip()
    if not login or "\x00" in login:  # PostgreSQL refuses NUL in text: it can match no account
        return None
    user = User.objects.filter(username=login).first()
    if user is not None:
        return user
    matches = users_by_phone(login)
    return matches[0] if len(matches) == 1 else None
