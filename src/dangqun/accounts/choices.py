from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STREET_ADMIN = "street_admin", _("街道管理员")
    DEPARTMENT_ADMIN = "department_admin", _("部门管理员")
    BRANCH_SECRETARY = "branch_secretary", _("支部书记")
    WINDOW_STAFF = "window_staff", _("窗口工作人员")
    MEMBER = "member", _("党员")
    RESIDENT = "resident", _("居民")


# Roles that handle other people's data must use two-factor login (TOTP).
STAFF_ROLES = frozenset({Role.STREET_ADMIN, Role.DEPARTMENT_ADMIN, Role.BRANCH_SECRETARY, Role.WINDOW_STAFF})


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
