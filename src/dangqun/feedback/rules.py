"""Pure rules of 好差评 and of messages (no database, no request): timing, input checks, dispatch.

Values come from the versioned rule sets (core/rules_data/feedback.json and onestop.json) and
are passed in by the actions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from dangqun.core.errors import Violation

from .choices import BAD_REASONS, OFFLINE_ASPECTS, ONLINE_ASPECTS, Level, Mode, Urgency

COMMENT_MAX = 500


@dataclass(frozen=True)
class Timing:
    allowed: bool
    late: bool
    last_day: date


def rating_timing(ended_on: date, today: date, *, reminder_days: int, late_days: int) -> Timing:
    """Rated within `reminder_days` of the end: on time; later and up to `late_days`: 补评; then closed."""
    last_day = ended_on + timedelta(days=late_days)
    return Timing(
        allowed=ended_on <= today <= last_day,
        late=today > ended_on + timedelta(days=reminder_days),
        last_day=last_day,
    )


def check_rating(
    mode: str, level: Any, aspects: Any, reasons: Any, comment: str
) -> tuple[list[Violation], dict[str, int], list[str]]:
    """Violations, and the aspects and reasons cleaned. A score is never pre-filled: level is required."""
    problems: list[Violation] = []
    if not isinstance(level, int) or isinstance(level, bool) or level not in Level.values:
        problems.append(Violation("rating_level", _("请选择 1 到 5 星的评价等级。"), field="level"))
        level = 0
    allowed = ONLINE_ASPECTS if mode == Mode.CASE else OFFLINE_ASPECTS
    clean_aspects: dict[str, int] = {}
    for key, value in (aspects or {}).items() if isinstance(aspects, dict) else []:
        if key not in allowed:
            names = "、".join(str(v) for v in allowed.values())
            problems.append(
                Violation("rating_aspect", _("分项只能是：%(names)s。") % {"names": names}, field="aspects")
            )
        elif not isinstance(value, int) or isinstance(value, bool) or value not in Level.values:
            problems.append(
                Violation(
                    "rating_aspect_level",
                    _("“%(aspect)s”请选择 1 到 5 星。") % {"aspect": allowed[key]},
                    field="aspects",
                )
            )
        else:
            clean_aspects[key] = value
    if aspects is not None and not isinstance(aspects, dict):
        problems.append(Violation("rating_aspect", _("分项评价格式不正确。"), field="aspects"))
    reasons = [] if reasons is None else reasons
    clean_reasons = list(dict.fromkeys(reasons)) if isinstance(reasons, list | tuple) else None
    if clean_reasons is None or any(r not in BAD_REASONS for r in clean_reasons):
        problems.append(Violation("rating_reason", _("差评原因不在可选范围内。"), field="reasons"))
        clean_reasons = []
    if len(comment) > COMMENT_MAX:
        problems.append(
            Violation("comment_too_long", _("评价内容最多 %(n)s 字。") % {"n": COMMENT_MAX}, field="comment")
        )
    if level in (Level.UNSATISFIED, Level.VERY_UNSATISFIED) and not (clean_reasons or comment.strip()):
        # A 差评 is followed up: the unit needs to know what went wrong.
        problems.append(
            Violation("bad_rating_reason", _("不满意的评价请勾选原因或写明情况，便于整改。"), field="reasons")
        )
    if level and level > Level.UNSATISFIED and clean_reasons:
        clean_reasons = []  # reasons belong to 差评 only
    return problems, clean_aspects, clean_reasons


def message_due(start: datetime, urgency: str, limits: dict[str, int]) -> datetime:
    """The handling deadline of a message (§6): hours for an emergency, days otherwise."""
    if urgency == Urgency.EMERGENCY:
        return start + timedelta(hours=limits["emergency_hours"])
    days = limits["complex_days"] if urgency == Urgency.COMPLEX else limits["ordinary_days"]
    return start + timedelta(days=days)


@dataclass(frozen=True)
class Dispatch:
    rule_id: int
    category: str
    unit_id: int
    urgency: str
    matched: str


_SPLIT = re.compile(r"[\s,，、;；]+")


def keywords_of(rule_keywords: str) -> list[str]:
    return [k for k in _SPLIT.split(rule_keywords) if k]


def classify(tokens: Iterable[str], text: str, kind: str, rules: Sequence[Any]) -> Dispatch | None:
    """The first active rule (by priority) whose keyword is a token of the message, or failing
    that a substring of it (for words the segmenter splits, e.g. 拖欠账款 → 拖欠 / 账款)."""
    token_set = set(tokens)
    for rule in rules:
        if not rule.active or (rule.kind and rule.kind != kind):
            continue
        words = keywords_of(rule.keywords)
        hit = next((w for w in words if w in token_set), None) or next((w for w in words if w in text), None)
        if hit:
            return Dispatch(rule.pk, rule.category, rule.unit_id, rule.urgency, hit)
    return None


def similar(a: set[str], b: set[str]) -> float:
    """Jaccard similarity of two token sets (duplicate hints)."""
    return len(a & b) / len(a | b) if a and b else 0.0
