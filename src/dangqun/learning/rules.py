"""Pure rules of the learning app: no database, no request.

Study hours (党员教育管理工作条例 2019 第二十条, party.md §7): 32 a year for members, 56 for
secretaries and committee members; the numbers come from the rule set
(party.learning.annual_hours_member / party.learning.annual_hours_cadre). A study hour (学时) is
HOUR_MINUTES minutes of credited study; an item credits the time actually spent on it, once it
is finished, never more than its stated duration.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from dangqun.core.errors import Violation

from .choices import AgeGroup, Post

HOUR_MINUTES = 45  # 1 学时 = 45 分钟, the usual class hour of party and cadre training
MAX_REPORT_SECONDS = 3600  # one progress report covers at most an hour
REPORT_SLACK_SECONDS = 30  # clock skew allowed between client and server
SMS_MAX = 70  # one SMS segment of Chinese text
CARD_MAX = 200
MAX_SEGMENTS = 10


def credited_seconds(seconds_spent: int, minutes: int) -> int:
    """The seconds a finished item counts for: time spent, capped at its duration."""
    return max(0, min(seconds_spent, minutes * 60))


def hours(seconds: int) -> float:
    return round(seconds / (HOUR_MINUTES * 60), 1)


def accepted_seconds(reported: int, since: datetime, now: datetime) -> int:
    """A report may not claim more time than has passed since the previous one (plus slack)."""
    elapsed = max(0, int((now - since).total_seconds())) + REPORT_SLACK_SECONDS
    return max(0, min(reported, elapsed, MAX_REPORT_SECONDS))


def quiz_score(answers: list[int], keys: list[int]) -> int:
    """Percentage of right answers (0–100), rounded half up."""
    if not keys:
        return 0
    right = sum(1 for a, k in zip(answers, keys, strict=False) if a == k)
    return (right * 200 + len(keys)) // (2 * len(keys))


def age_group(birth: date | None, on: date) -> str | None:
    if birth is None:
        return None
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 35:
        return AgeGroup.YOUTH
    if age < 60:
        return AgeGroup.MIDDLE
    return AgeGroup.SENIOR


def birth_range(group: str, on: date) -> tuple[date | None, date | None]:
    """(born after, born on or before) for an age group on a date: a database filter."""

    def years_ago(n: int) -> date:
        try:
            return on.replace(year=on.year - n)
        except ValueError:  # 29 February
            return on.replace(year=on.year - n, day=28)

    if group == AgeGroup.YOUTH:
        return years_ago(35), None
    if group == AgeGroup.MIDDLE:
        return years_ago(60), years_ago(35)
    return None, years_ago(60)


_POST_HINTS = [
    (Post.VILLAGE_CADRE, r"村.*(书记|主任|委员|干部)|村干部|村两委"),
    (Post.COMMUNITY_WORKER, r"社区|网格"),
    (Post.TEACHER, r"教师|老师|教授|校长|教研"),
    (Post.MEDICAL, r"医|护士|护理|卫生"),
    (Post.RETIRED, r"退休|离休"),
    (Post.STUDENT, r"学生|研究生|本科"),
    (Post.CIVIL_SERVANT, r"公务员|机关|科员|科长|局"),
    (Post.FARMER, r"农民|务农|种植|养殖"),
    (Post.ENTERPRISE, r"企业|公司|职工|工人|工程师"),
]


def guess_post(*texts: str) -> str:
    """A learner's post from their party record (职务, 职业, 党费类别): the cold start."""
    joined = " ".join(t for t in texts if t)
    for post, pattern in _POST_HINTS:
        if re.search(pattern, joined):
            return post
    return Post.OTHER


def due_violation(due_on: date, today: date) -> Violation | None:
    if due_on < today:
        return Violation("due_in_past", _("完成期限不能早于今天。"), field="due_on")
    if due_on > today + timedelta(days=366):
        return Violation("due_too_far", _("完成期限最多为一年之内。"), field="due_on")
    return None
