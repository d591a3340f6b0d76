"""The organization tree: party and service organizations in one tree."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import PARTY_KINDS, OrgKind, SettingMode

SEGMENT = 7  # base-36 digits per level: 36**7 ≈ 78 billion ids


def encode_segment(pk: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while pk:
        pk, r = divmod(pk, 36)
        out = digits[r] + out
    return out.rjust(SEGMENT, "0")


class Organization(models.Model):
    """A node of the organization tree (支部工作条例 第五条 for the party kinds).

    `path` is a materialized path of fixed-width base-36 segments ("000001a000002b"), so a
    whole subtree is one index range scan: path >= p AND path < p + "~" (works on SQLite and
    PostgreSQL alike, where LIKE 'p%' would not always use the index). On PostgreSQL the
    column uses the "C" collation so that the range follows byte order (migration 0002).
    """

    name = models.CharField(_("名称"), max_length=120)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    kind = models.CharField(_("类型"), max_length=20, choices=OrgKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("上级组织"),
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    code = models.CharField(_("组织代码"), max_length=40, blank=True, db_index=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    setting_mode = models.CharField(_("设置方式"), max_length=20, choices=SettingMode.choices, blank=True)
    is_village_or_community = models.BooleanField(
        _("村（社区）党组织"), default=False, help_text=_("村、社区党组织任期5年")
    )
    covered_units = models.PositiveSmallIntegerField(_("覆盖单位数"), default=1)
    term_started_on = models.DateField(_("本届任期开始"), null=True, blank=True)
    term_ends_on = models.DateField(_("本届任期届满"), null=True, blank=True)
    committee_size = models.PositiveSmallIntegerField(_("委员人数"), default=0)
    deputy_secretaries = models.PositiveSmallIntegerField(_("副书记人数"), default=0)
    full_members = models.PositiveIntegerField(_("正式党员数"), default=0)
    probationary_members = models.PositiveIntegerField(_("预备党员数"), default=0)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("组织")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_party(self) -> bool:
        return self.kind in PARTY_KINDS

    @property
    def member_count(self) -> int:
        return self.full_members + self.probationary_members

    def ancestor_ids(self) -> list[int]:
        """Root first, self last — read from the path, no query."""
        return [int(self.path[i : i + SEGMENT], 36) for i in range(0, len(self.path), SEGMENT)]

    def subtree_range(self) -> tuple[str, str]:
        return self.path, self.path + "~"
