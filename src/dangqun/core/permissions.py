"""Scoped permissions: a role grant covers its organization's whole subtree.

`require(actor, perm, org)` raises PermissionDenied; `scope_filter(actor, perm)` gives the
Q() of organizations the actor may act on, for `access_*` helpers that answer 404 for the rest.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from django.db.models import Q

from dangqun.accounts.choices import Role

from .errors import PermissionDenied

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.STREET_ADMIN: frozenset(
        {
            "orgs.view",
            "orgs.change",
            "accounts.view",
            "accounts.manage",
            "rules.view",
            "rules.change",
            "calendar.change",
            "audit.view",
            "members.view",
            "members.change",
            "onestop.view",
            "onestop.handle",
            "onestop.configure",
            "feedback.view",
            "feedback.handle",
            "insights.view",
        }
    ),
    Role.DEPARTMENT_ADMIN: frozenset(
        {
            "orgs.view",
            "accounts.view",
            "rules.view",
            "onestop.view",
            "onestop.handle",
            "onestop.configure",
            "feedback.view",
            "feedback.handle",
            "insights.view",
        }
    ),
    Role.BRANCH_SECRETARY: frozenset(
        {
            "orgs.view",
            "accounts.view",
            "rules.view",
            "members.view",
            "members.change",
            "meetings.change",
            "learning.assign",
        }
    ),
    Role.WINDOW_STAFF: frozenset({"orgs.view", "onestop.view", "onestop.handle", "feedback.view"}),
    Role.MEMBER: frozenset({"orgs.view_own", "learning.study"}),
    Role.RESIDENT: frozenset({"onestop.apply"}),
}


def grants_for(actor: Any, perm: str) -> list[Any]:
    if not getattr(actor, "is_authenticated", False):
        return []
    cache = actor.__dict__.setdefault("_grant_cache", None)
    if cache is None:
        cache = list(
            actor.grants.select_related("organization").only(
                "user_id", "role", "organization__id", "organization__path"
            )
        )
        actor.__dict__["_grant_cache"] = cache
    return [g for g in cache if perm in ROLE_PERMISSIONS.get(g.role, ())]


def has_perm(actor: Any, perm: str, org: Any = None) -> bool:
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    grants = grants_for(actor, perm)
    if org is None:
        return bool(grants)
    return any(org.path.startswith(g.organization.path) for g in grants)


def require(actor: Any, perm: str, org: Any = None) -> None:
    if not has_perm(actor, perm, org):
        raise PermissionDenied()


def scope_filter(actor: Any, perm: str, prefix: str = "") -> Q:
    """Q over organizations (`prefix` = "organization__" for related models) the actor may see."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return Q()
    ranges = [
        Q(**{f"{prefix}path__gte": g.organization.path, f"{prefix}path__lt": g.organization.path + "~"})
        for g in grants_for(actor, perm)
    ]
    return reduce(lambda a, b: a | b, ranges) if ranges else Q(pk__in=[])
