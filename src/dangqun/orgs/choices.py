from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    # Party organizations (党组织)
    PARTY_COMMITTEE = "party_committee", _("基层党委")
    GENERAL_BRANCH = "general_branch", _("党总支")
    BRANCH = "branch", _("党支部")
    GROUP = "group", _("党小组")
    # Service organizations (服务组织)
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    DEPARTMENT = "department", _("部门")
    SERVICE_HALL = "service_hall", _("服务大厅")
    WINDOW = "window", _("窗口")


PARTY_KINDS = frozenset({OrgKind.PARTY_COMMITTEE, OrgKind.GENERAL_BRANCH, OrgKind.BRANCH, OrgKind.GROUP})


class SettingMode(models.TextChoices):
    SINGLE = "single", _("单独建")
    JOINT = "joint", _("联合建")
    REGIONAL = "regional", _("区域建")
    INDUSTRY = "industry", _("行业建")
    FLOWING = "flowing", _("流动党员党组织")
    PROJECT = "project", _("项目党组织")
