"""Scoped reads of the learning app; 404 for what the actor may not see.

Who does what:
* learners — a member grant (`learning.study`) or a branch secretary — study the items published
  by their branch's ancestors or nationally (no organization), see their own records;
* assigners — `learning.assign` (a branch secretary) — assign required items to their subtree and
  see its progress as aggregates (never per person: party.md §7);
* editors — `learning.edit`, or `orgs.change` until the role table grants it (a street
  administrator) — keep the library, turn sources into products, push them, see deliveries.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.core.errors import NotFound, PermissionDenied
from dangqun.core.permissions import grants_for, has_perm, scope_filter
from dangqun.core.rulesets import ruleset_for
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import Audience, ItemStatus
from .models import ContentItem, LearnerProfile, Product, Push, Requirement, Source, StudyRecord

STUDY_PERM = "learning.study"
ASSIGN_PERM = "learning.assign"
# "orgs.change" stands in for "learning.edit" until core.permissions grants the latter.
EDIT_PERMS = ("learning.edit", "orgs.change")
LEARNER_ROLES = (Role.MEMBER, Role.BRANCH_SECRETARY)


def int_pk(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not 0 < value < 2**63:
        raise NotFound()
    return value


def is_learner(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        has_perm(user, STUDY_PERM) or has_perm(user, ASSIGN_PERM)
    )


def can_edit(user: Any, org: Organization | None = None) -> bool:
    return any(has_perm(user, p, org) for p in EDIT_PERMS)


def can_assign(user: Any, org: Organization | None = None) -> bool:
    return has_perm(user, ASSIGN_PERM, org) or can_edit(user, org)


def edit_scope(user: Any, prefix: str = "") -> Q:
    q = Q(pk__in=[])
    for perm in EDIT_PERMS:
        q |= scope_filter(user, perm, prefix)
    return q


def assign_scope(user: Any, prefix: str = "") -> Q:
    return scope_filter(user, ASSIGN_PERM, prefix) | edit_scope(user, prefix)


def editable_orgs(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(edit_scope(user), is_active=True).order_by("path")


def assignable_orgs(user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(assign_scope(user), is_active=True).order_by("path")


def learner_branch(user: Any) -> Organization | None:
    """The branch a learner studies in: their party record's branch, else their member grant's."""
    member = getattr(user, "party_member", None)
    if member is not None:
        return member.branch
    grants = [g for g in grants_for(user, STUDY_PERM) + grants_for(user, ASSIGN_PERM) if g.organization_id]
    if not grants:
        return None
    return max(grants, key=lambda g: len(g.organization.path)).organization


def profile(user: Any) -> LearnerProfile:
    """The learner's profile, created on first use from their party record (cold start)."""
    if not is_learner(user):
        raise PermissionDenied()
    # One row per user (one-to-one): no ordering to compile.
    found = list(LearnerProfile.objects.select_related("branch").filter(user=user).order_by()[:1])
    if found:
        return found[0]
    from .actions import ensure_profile

    return ensure_profile(user)


def visible_items(prof: LearnerProfile | None) -> QuerySet[ContentItem]:
    """Published items for a learner: national ones and those of their branch's ancestors."""
    qs = ContentItem.objects.filter(status=ItemStatus.PUBLISHED)
    chain = prof.branch.ancestor_ids() if prof is not None and prof.branch is not None else []
    return qs.filter(Q(organization__isnull=True) | Q(organization_id__in=chain))


def library(user: Any) -> QuerySet[ContentItem]:
    """What an editor keeps: national items (superuser / street scope) and their subtree's."""
    if not can_edit(user):
        raise PermissionDenied()
    return ContentItem.objects.filter(Q(organization__isnull=True) | edit_scope(user, "organization__"))


def access_item(user: Any, pk: Any, *, for_edit: bool = False) -> ContentItem:
    pk = int_pk(pk)
    if for_edit:
        item = library(user).filter(pk=pk).select_related("organization").first()
        if item is None or (item.organization is None and not (user.is_superuser or can_edit(user))):
            raise NotFound()
        return item
    if can_edit(user):
        item = library(user).filter(pk=pk).first()
        if item is not None:
            return item
    if not is_learner(user):
        raise NotFound()
    item = visible_items(profile(user)).filter(pk=pk).first()
    if item is None:
        raise NotFound()
    return item


def access_assign_org(user: Any, pk: Any) -> Organization:
    org = Organization.objects.filter(assign_scope(user), pk=int_pk(pk)).first()
    if org is None:
        raise NotFound()
    return org


def access_source(user: Any, pk: Any) -> Source:
    source = (
        Source.objects.filter(edit_scope(user, "organization__"), pk=int_pk(pk))
        .select_related("organization")
        .first()
    )
    if source is None:
        raise NotFound()
    return source


def requirements_for(prof: LearnerProfile, year: int) -> QuerySet[Requirement]:
    """The learner's requirements due this year or later (a December assignment may fall due in
    January)."""
    if prof.branch is None:
        return Requirement.objects.none()
    audiences = [Audience.ALL, Audience.CADRES] if prof.is_cadre else [Audience.ALL]
    return (
        Requirement.objects.filter(
            organization_id__in=prof.branch.ancestor_ids(),
            due_on__gte=date(year, 1, 1),
            audience__in=audiences,
            item__status=ItemStatus.PUBLISHED,
        )
        .select_related("item", "organization")
        .only(*REQUIREMENT_FIELDS)
        .order_by("due_on", "pk")
    )


# What a learner's list shows of a requirement (recommend.recommendations, the API and the page):
# the item's card and the assigning organization's name. The item's body and search columns are
# not read on this hot path.
REQUIREMENT_FIELDS = (
    "item_id",
    "organization_id",
    "due_on",
    "audience",
    "year",
    "item__title",
    "item__kind",
    "item__topic",
    "item__minutes",
    "organization__name",
    "organization__short_name",
)


def annual_target(prof: LearnerProfile, on: date | None = None) -> tuple[int, str]:
    """(hours, cited source) from the rule set in force for the learner's branch."""
    rules = ruleset_for(prof.branch, on, prefix="party.learning.")
    key = "party.learning.annual_hours_cadre" if prof.is_cadre else "party.learning.annual_hours_member"
    return int(rules[key]), rules.source(key)


def year_totals(records: list[tuple[Any, ...]], year: int) -> tuple[int, int]:
    """(credited seconds, records) of `year` from rows ending in (year, credited_seconds): what
    my_progress would count, from rows already read (recommend.recommendations reads them all)."""
    seconds = count = 0
    for *_rest, record_year, credited in records:
        if record_year == year:
            seconds += credited or 0
            count += 1
    return seconds, count


def my_progress(
    user: Any, year: int, prof: LearnerProfile | None = None, totals: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The year's hours against the annual target. `totals` (year_totals of the user's records)
    saves the aggregate query when the caller has just read every record of the user."""
    prof = prof or profile(user)
    if totals is None:
        agg = StudyRecord.objects.filter(user=user, year=year).aggregate(
            seconds=Sum("credited_seconds"), finished=Count("pk")
        )
        totals = (agg["seconds"] or 0, agg["finished"] or 0)
    target, source = annual_target(prof, date(year, 12, 31) if year != timezone.localdate().year else None)
    done = R.hours(totals[0])
    return {
        "year": year,
        "hours": done,
        "target": target,
        "source": source,
        "finished": totals[1],
        "percent": min(100, round(done * 100 / target)) if target else 100,
        "is_cadre": prof.is_cadre,
    }


def learners_of(org: Organization) -> QuerySet[LearnerProfile]:
    lo, hi = org.subtree_range()
    return LearnerProfile.objects.filter(branch__path__gte=lo, branch__path__lt=hi)


def branch_progress(org: Organization, year: int) -> dict[str, Any]:
    """Aggregates only: how many learners, how many reached their annual hours, the average, and
    per requirement how many finished. No names, no ranking (party.md §7)."""
    learners = learners_of(org)
    per_user = dict(
        StudyRecord.objects.filter(user__learner_profile__in=learners, year=year)
        .values_list("user_id")
        .annotate(s=Sum("credited_seconds"))
        .values_list("user_id", "s")
    )
    people = list(learners.values_list("user_id", "is_cadre"))
    rules = ruleset_for(org, None, prefix="party.learning.")
    member_t, cadre_t = (
        rules["party.learning.annual_hours_member"],
        rules["party.learning.annual_hours_cadre"],
    )
    reached = sum(
        1 for uid, cadre in people if R.hours(per_user.get(uid, 0)) >= (cadre_t if cadre else member_t)
    )
    total_hours = sum(R.hours(s or 0) for s in per_user.values())
    n = len(people)
    reqs = []
    for req in Requirement.objects.filter(organization_id__in=org.ancestor_ids(), year=year).select_related(
        "item"
    ):
        bound = [uid for uid, cadre in people if req.audience == Audience.ALL or cadre]
        done = (
            StudyRecord.objects.filter(item=req.item, user_id__in=bound, finished_at__isnull=False).count()
            if bound
            else 0
        )
        reqs.append(
            {
                "requirement": req,
                "bound": len(bound),
                "finished": done,
                "percent": round(done * 100 / len(bound)) if bound else 0,
            }
        )
    return {
        "organization": org,
        "year": year,
        "learners": n,
        "reached": reached,
        "reached_percent": round(reached * 100 / n) if n else 0,
        "average_hours": round(total_hours / n, 1) if n else 0.0,
        "member_target": member_t,
        "cadre_target": cadre_t,
        "requirements": reqs,
    }


SourceRow = TypeVar("SourceRow", Product, Push)


def _access_of_source(model: type[SourceRow], user: Any, pk: Any) -> SourceRow:
    """A product or push is editable where its source is (access_source): 404 elsewhere."""
    row = (
        model.objects.filter(edit_scope(user, "source__organization__"), pk=int_pk(pk))
        .select_related("source__organization")
        .first()
    )
    if row is None:
        raise NotFound()
    return row


def access_product(user: Any, pk: Any) -> Product:
    return _access_of_source(Product, user, pk)


def access_push(user: Any, pk: Any) -> Push:
    return _access_of_source(Push, user, pk)


def delivery_counts(push_ids: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """push -> channel -> status -> count (one query)."""
    from .models import Delivery

    out: dict[int, dict[str, dict[str, int]]] = {}
    rows = (
        Delivery.objects.filter(push_id__in=push_ids)
        .values_list("push_id", "channel", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for push_id, channel, status, n in rows:
        out.setdefault(push_id, {}).setdefault(channel, {})[status] = n
    return out
