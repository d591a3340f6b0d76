"""Scoped reads of the organization tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, scope_filter
from dangqun.core.rulesets import ruleset_for

from .choices import OrgKind
from .models import Organization
from .rules import TERM_KINDS, OrgFacts, OrgWarning, setup_warnings

# Kinds whose member figures are the sum over the branches beneath them.
AGGREGATE_KINDS = frozenset({OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH})


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
        pk = int(pk)
        if not 0 < pk < 2**63:  # beyond a database integer: cannot exist (and would overflow SQLite)
            raise ValueError(pk)
        org = Organization.objects.get(pk=pk)
    except (Organization.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if not has_perm(actor, "orgs.view", org):
        raise NotFound()
    return org


def org_facts(org: Organization) -> OrgFacts:
    """The counts the setup rules apply to.

    Every member belongs to a branch, so a 党委 or 党总支 counts the members of the branches
    beneath it (one aggregate query); with no branch beneath it yet, its own figures.
    """
    if org.kind in AGGREGATE_KINDS:
        totals = (
            subtree(org, include_self=False)
            .filter(kind=OrgKind.BRANCH)
            .aggregate(full=Sum("full_members"), probationary=Sum("probationary_members"), n=Count("pk"))
        )
        if totals["n"]:
            full = totals["full"] or 0
            return OrgFacts.of(org, members=full + (totals["probationary"] or 0), full_members=full)
    return OrgFacts.of(org)


def org_warnings(
    org: Organization, facts: OrgFacts | None = None, today: date | None = None
) -> list[OrgWarning]:
    """The setup warnings of one organization, from the rule values in force for it today."""
    if org.kind not in TERM_KINDS:
        return []  # service organizations and 党小组 have no setup rules: no rule query
    today = today or timezone.localdate()
    rules = ruleset_for(org, today, prefix="party.org.")
    return setup_warnings(facts or org_facts(org), rules, today)


@dataclass
class TreeRow:
    """One organization in the tree page: its level in the view and its member totals."""

    org: Organization
    level: int
    members: int
    full_members: int
    before: str = ""  # list markup (a SafeString) closing the previous rows: see visible_tree


def visible_tree(actor: Any) -> list[TreeRow]:
    """Everything `actor` may see, in tree order, in one query.

    Totals of a 党委/党总支 are summed over the branches beneath it in Python (no query per
    node). `before` holds the fixed markup that nests the rows as <ul>/<li> lists, so the
    template renders a real nested list for screen readers without a recursive include.
    """
    rows: list[TreeRow] = []
    by_id: dict[int, TreeRow] = {}
    for org in visible_organizations(actor).order_by("path"):
        parent = by_id.get(org.parent_id) if org.parent_id else None
        row = TreeRow(org, parent.level + 1 if parent else 0, org.member_count, org.full_members)
        rows.append(row)
        by_id[org.pk] = row
    sums: dict[int, list[int]] = {}  # 党委/党总支 id -> [members, full members] of branches beneath
    for row in rows:
        if row.org.kind == OrgKind.BRANCH:
            for ancestor_id in row.org.ancestor_ids()[:-1]:
                total = sums.setdefault(ancestor_id, [0, 0])
                total[0] += row.org.member_count
                total[1] += row.org.full_members
    for row in rows:
        if row.org.kind in AGGREGATE_KINDS and row.org.pk in sums:
            row.members, row.full_members = sums[row.org.pk]
    previous = None
    for row in rows:
        if previous is not None:
            # Fixed markup only, never data: safe to mark as such.
            if row.level > previous.level:
                row.before = SafeString("<ul>")
            else:
                row.before = SafeString("</li>" + "</ul></li>" * (previous.level - row.level))
        previous = row
    return rows


def tree_end(rows: list[TreeRow]) -> SafeString:
    return SafeString("</li>" + "</ul></li>" * rows[-1].level if rows else "")
