"""Scoped reads of the organization tree."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, scope_filter

from .models import Organization


def subtree(org: Organization, *, include_self: bool = True) -> QuerySet[Organization]:
    """The whole subtree of `org` as one index range scan on `path`."""
    lo, hi = org.subtree_range()
    qs = Organization.objects.filter(path__gte=lo, path__lt=hi)
    return qs if include_self else qs.exclude(pk=org.pk)


def ancestors(org: Organization) -> QuerySet[Organization]:
    return Organization.objects.filter(pk__in=org.ancestor_ids()[:-1]).order_by("depth")


def visible_organizations(actor: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(scope_filter(actor, "orgs.view"))


def access_organization(actor: Any, pk: Any) -> Organization:
    """The organization if `actor` may view it; otherwise 404, never a hint that it exists."""
    try:
        org = Organization.objects.get(pk=int(pk))
    except (Organization.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if not has_perm(actor, "orgs.view", org):
        raise NotFound()
    return org
