"""Errors a user can act on.

A broken rule raises RuleViolation(code, message, details). The API answers 422 with
{"code", "message", "details"}; pages show the message beside the field. Several
violations are raised together (RuleViolations) so the user fixes everything at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


@dataclass
class Violation:
    code: str
    message: str
    source: str = ""
    field: str = ""
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.source:
            data["source"] = self.source
        if self.field:
            data["field"] = self.field
        if self.details:
            data["details"] = self.details
        return data


class RuleViolation(Exception):
    """One or more broken rules. `code`/`message` are those of the first violation."""

    status = 422

    def __init__(
        self,
        code: str,
        message: str = "",
        details: dict[str, Any] | None = None,
        *,
        violations: list[Violation] | None = None,
        source: str = "",
        field: str = "",
    ):
        self.violations = violations or [Violation(code, message, source, field, details or {})]
        first = self.violations[0]
        self.code, self.message, self.details = first.code, str(first.message), details or first.details
        super().__init__(f"{self.code}: {self.message}")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message, "details": dict(self.details)}
        if len(self.violations) > 1:
            data["details"]["violations"] = [v.as_dict() for v in self.violations]
        elif self.violations[0].source:
            data["details"].setdefault("source", self.violations[0].source)
        return data


def raise_if_any(violations: list[Violation | None]) -> None:
    """Raise every broken rule at once (party.md §9: never only the first)."""
    found = [v for v in violations if v]
    if found:
        raise RuleViolation(found[0].code, found[0].message, violations=found)


class PermissionDenied(RuleViolation):
    status = 403

    def __init__(self, message: str = ""):
        super().__init__("forbidden", message or _("您没有权限进行此操作。"))


class NotFound(RuleViolation):
    status = 404

    def __init__(self, message: str = ""):
        super().__init__("not_found", message or _("未找到，或您无权查看。"))
