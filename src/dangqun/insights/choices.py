"""Code lists of the insights app: resident groups, suggestion kinds and states, task states."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Group(models.TextChoices):
    """Resident groups compared on the dashboards. ALL is every rating; a rating of an elderly
    entrepreneur also counts under ELDERLY and ENTERPRISE (groups overlap, ALL never double-counts)."""

    ALL = "all", _("全部")
    ELDERLY = "elderly", _("老年人")
    ENTERPRISE = "enterprise", _("企业")
    RURAL = "rural", _("农村居民")


RESIDENT_GROUPS = (Group.ELDERLY, Group.ENTERPRISE, Group.RURAL)


class SliceKind(models.TextChoices):
    CASE = "case", _("办件")
    RATING = "rating", _("评价")
    FIX = "fix", _("整改")
    MESSAGE = "message", _("留言")


class SuggestionKind(models.TextChoices):
    NOTICE_MATERIAL = "notice_material", _("一次性告知偏多")
    GROUP_LOW = "group_low", _("群体评价偏低")
    SEARCH_MISS = "search_miss", _("检索无结果")
    OVERDUE_FIXES = "overdue_fixes", _("整改超期")
    ON_TIME_LOW = "on_time_low", _("按期办结率偏低")
    BAD_REASON = "bad_reason", _("差评原因集中")


class SuggestionState(models.TextChoices):
    OPEN = "open", _("待处理")
    ACCEPTED = "accepted", _("已采纳")
    DISMISSED = "dismissed", pgettext_lazy("suggestion state", "不采纳")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("未开始")
    DOING = "doing", _("进行中")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")
