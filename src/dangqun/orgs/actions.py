"""Every change to the organization tree."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation
from dangqun.core.permissions import require

from .choices import OrgKind
from .models import Organization, encode_segment

# Which kinds may hang under which (a 党小组 only under a 党支部, a window only in a hall...).
ALLOWED_PARENTS: dict[str, set[str | None]] = {
    OrgKind.STREET: {None},
    OrgKind.PARTY_COMMITTEE: {None, OrgKind.STREET, OrgKind.COMMUNITY, OrgKind.PARTY_COMMITTEE},
    OrgKind.GENERAL_BRANCH: {OrgKind.PARTY_COMMITTEE},
    OrgKind.BRANCH: {OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH},
    OrgKind.GROUP: {OrgKind.BRANCH},
    OrgKind.COMMUNITY: {OrgKind.STREET},
    OrgKind.DEPARTMENT: {None, OrgKind.STREET},
    OrgKind.SERVICE_HALL: {OrgKind.STREET, OrgKind.COMMUNITY, OrgKind.DEPARTMENT},
    OrgKind.WINDOW: {OrgKind.SERVICE_HALL},
}


def place(org: Organization, parent: Organization | None) -> None:
    """Set path/depth once the primary key is known."""
    org.path = (parent.path if parent else "") + encode_segment(org.pk)
    org.depth = parent.depth + 1 if parent else 0


def check_parent(kind: str, parent: Organization | None) -> None:
    """Refuse a kind under a parent it may not hang under (ALLOWED_PARENTS)."""
    allowed = ALLOWED_PARENTS.get(kind, set())
    if (parent.kind if parent else None) not in allowed:
        raise RuleViolation(
            "org_parent_kind",
            _("“%(kind)s”不能设在“%(parent)s”之下。")
            % {"kind": OrgKind(kind).label, "parent": OrgKind(parent.kind).label if parent else _("顶层")},
            field="parent",
        )


@transaction.atomic
def do_create_organization(
    *, name: str, kind: str, parent: Organization | None, actor: Any, **fields: Any
) -> Organization:
    """Create a node under `parent`. Only an administrator of the parent's subtree may."""
    if parent is None:
        if not getattr(actor, "is_superuser", False):
            raise RuleViolation("forbidden", _("只有系统管理员可以创建顶层组织。"))
    else:
        require(actor, "orgs.change", parent)
    check_parent(kind, parent)
    org = Organization(name=name.strip(), kind=kind, parent=parent, path=f"tmp-{name}-{id(fields)}", **fields)
    org.full_clean(exclude=["path"])
    org.save()
    place(org, parent)
    org.save(update_fields=["path", "depth"])
    audit(actor, "org.create", org, name=org.name, kind=kind, parent=parent.pk if parent else None)
    return org


EDITABLE = {
    "name",
    "short_name",
    "code",
    "credit_code",
    "setting_mode",
    "is_village_or_community",
    "covered_units",
    "term_started_on",
    "term_ends_on",
    "committee_size",
    "deputy_secretaries",
    "address",
    "phone",
    "is_active",
}


@transaction.atomic
def do_update_organization(org: Organization, *, actor: Any, **changes: Any) -> Organization:
    require(actor, "orgs.change", org)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise RuleViolation(
            "org_field", _("不能修改这些字段：%(fields)s") % {"fields": "、".join(sorted(unknown))}
        )
    before = {k: str(getattr(org, k)) for k in changes}
    for key, value in changes.items():
        setattr(org, key, value)
    org.full_clean(exclude=["path", "parent"])
    org.save(update_fields=sorted(changes))
    audit(actor, "org.update", org, before=before, after={k: str(v) for k, v in changes.items()})
    return org
