"""Versioned rule sets: read rule values in force for an organization on a date.

Default (national) values ship as JSON files in core/rules_data/, one entry per value with
version, effective date, clause and source. They are synced into RuleValue after every
migrate (new versions added, nothing an administrator changed is overwritten).
Administrators add versions or per-organization overrides in the admin.
"""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from .errors import RuleViolation

DATA_DIR = Path(__file__).parent / "rules_data"


@dataclass(frozen=True)
class Rule:
    key: str
    value: Any
    version: str
    effective_from: date
    clause: str
    source: str
    organization_id: int | None = None

    def cite(self) -> str:
        return f"{self.source} {self.clause}".strip()


class RuleSet:
    """The rule values in force for one organization on one date."""

    def __init__(self, rules: dict[str, Rule], on: date):
        self._rules, self.on = dict(rules), on
        self._copied: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        # rules.party__activist_min_years is rules["party.activist_min_years"]
        key = name.replace("__", ".")
        if key in self._rules:
            return self.rule(key).value
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        return self.rule(key).value

    def rule(self, key: str) -> Rule:
        try:
            rule = self._rules[key]
        except KeyError:
            raise RuleViolation(
                "rule_missing", _("规则 %(key)s 在 %(on)s 没有生效的值。") % {"key": key, "on": self.on}
            ) from None
        if key not in self._copied and isinstance(rule.value, list | dict):
            # The snapshot is shared by every request: a caller may mutate what it gets. One copy
            # per rule set, as when each rule set decoded its own rows (loops read rules often).
            rule = self._rules[key] = replace(rule, value=deepcopy(rule.value))
            self._copied.add(key)
        return rule

    def source(self, key: str) -> str:
        return self.rule(key).cite()

    def keys(self) -> list[str]:
        return sorted(self._rules)


def ruleset_for(organization: Any = None, on: date | None = None, prefix: str = "") -> RuleSet:
    """Rules in force on `on` for `organization`: its nearest ancestor's override wins; among
    values of the same organization the newest effective date wins, then the newest row.

    Answers from the per-process snapshot of workcalendar (no query on the hot path): rule
    writes invalidate it like calendar writes do, with the same guarantees across processes."""
    from django.utils import timezone

    from .workcalendar import rule_values

    on = on or timezone.localdate()
    chain: list[int] = organization.ancestor_ids() if organization is not None else []
    rank = {org_id: i for i, org_id in enumerate(reversed(chain))}  # nearest ancestor = 0
    best: dict[str, tuple[tuple[int, date], Rule]] = {}
    for rule in rule_values():
        if rule.effective_from > on or not rule.key.startswith(prefix):
            continue
        if rule.organization_id is None:
            order = (-(10**6), rule.effective_from)
        elif rule.organization_id in rank:
            order = (-rank[rule.organization_id], rule.effective_from)
        else:
            continue
        if rule.key not in best or order >= best[rule.key][0]:
            best[rule.key] = (order, rule)
    return RuleSet({key: rule for key, (_, rule) in best.items()}, on)


def default_rule_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in sorted(DATA_DIR.glob("*.json")):
        entries.extend(json.loads(path.read_text(encoding="utf-8")))
    return entries


def sync_default_rules(**kwargs: Any) -> int:
    """Insert shipped national rule values that are not in the table yet, and bring the citation
    (source, clause, description) of shipped rows up to date where the value is still the shipped
    one: a corrected clause reaches existing databases, a value an operator changed is left alone.
    Idempotent; answers how many rows it wrote."""
    from .models import RuleValue

    using = kwargs.get("using", "default")
    existing = {
        (row.key, row.version): row
        for row in RuleValue.objects.using(using).filter(organization__isnull=True)
    }
    new, refreshed = [], []
    for e in default_rule_entries():
        cited = {
            "source": e["source"],
            "clause": e.get("clause", ""),
            "description": e.get("description", ""),
        }
        row = existing.get((e["key"], e["version"]))
        if row is None:
            new.append(
                RuleValue(
                    key=e["key"],
                    version=e["version"],
                    effective_from=date.fromisoformat(e["effective_from"]),
                    value=e["value"],
                    **cited,
                )
            )
        elif row.value == e["value"] and any(getattr(row, f) != v for f, v in cited.items()):
            for field, value in cited.items():
                setattr(row, field, value)
            refreshed.append(row)
    RuleValue.objects.using(using).bulk_create(new)
    RuleValue.objects.using(using).bulk_update(refreshed, ["source", "clause", "description"])
    if new or refreshed:
        from .workcalendar import invalidate

        invalidate()  # bulk writes send no signals
    return len(new) + len(refreshed)
