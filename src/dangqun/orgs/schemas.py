from __future__ import annotations

from datetime import date

from ninja import Schema


class OrgRef(Schema):
    id: int
    name: str
    kind: str


class OrgOut(Schema):
    """One organization. `member_count` is the organization's own registered members."""

    id: int
    name: str
    short_name: str
    kind: str
    kind_label: str
    parent_id: int | None
    depth: int
    setting_mode: str
    is_village_or_community: bool
    covered_units: int
    full_members: int
    probationary_members: int
    member_count: int
    committee_size: int
    deputy_secretaries: int
    term_started_on: date | None
    term_ends_on: date | None
    is_active: bool

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class WarningOut(Schema):
    code: str
    rule: str
    message: str
    source: str
    level: str


class OrgDetailOut(OrgOut):
    """One organization with what its page shows: ancestors, counts the rules use, warnings."""

    ancestors: list[OrgRef]
    rule_members: int
    rule_full_members: int
    warnings: list[WarningOut]
