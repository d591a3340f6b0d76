"""Formatting a table cell by its column kind (percentages, averages, counts)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "pct":
        return f"{float(value) * 100:.1f}%"
    if kind == "num":
        return f"{float(value):.2f}"
    return str(value)


@register.filter
def cells(row: list[Any], columns: list[Any]) -> list[tuple[Any, Any]]:
    return list(zip(row, columns, strict=False))
