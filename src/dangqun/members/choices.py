from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    """A person's standing in the party (党章 第一—九条; 发展党员工作细则 stages 一—五)."""

    APPLICANT = "applicant", _("入党申请人")
    ACTIVIST = "activist", _("入党积极分子")
    CANDIDATE = "candidate", _("发展对象")
    PROBATIONARY = "probationary", _("预备党员")
    FULL = "full", _("正式党员")
    # End states (and one that can be lifted: 停止党籍 → 恢复党籍).
    TRANSFERRED_OUT = "transferred_out", _("转出")
    LEFT = "left", _("出党")
    SUSPENDED = "suspended", _("停止党籍")
    DECEASED = "deceased", _("去世")
    DISQUALIFIED = "disqualified", _("取消预备党员资格")


# Statuses counted on orgs.Organization.full_members / probationary_members.
COUNTER_FIELD = {Status.FULL: "full_members", Status.PROBATIONARY: "probationary_members"}
# Party members proper (dues, votes for FULL only): the people the branch is responsible for.
MEMBER_STATUSES = frozenset({Status.PROBATIONARY, Status.FULL})
IN_DEVELOPMENT = frozenset({Status.APPLICANT, Status.ACTIVIST, Status.CANDIDATE})


class DuesCategory(models.TextChoices):
    """党费 categories (党费收缴、使用和管理的规定 2008, 一(一)1–6)."""

    EMPLOYED = "employed", _("在职")
    RETIRED = "retired", _("离退休")
    FARMER = "farmer", _("农民")
    STUDENT = "student", _("学生")
    UNEMPLOYED = "unemployed", _("下岗失业")
    LOW_INCOME = "low_income", _("低保")
    HARDSHIP = "hardship", _("经批准减免")


# The categories anyone may ask a quote for (HARDSHIP needs an approved amount).
QUOTE_CATEGORIES = (
    DuesCategory.EMPLOYED,
    DuesCategory.RETIRED,
    DuesCategory.FARMER,
    DuesCategory.STUDENT,
    DuesCategory.UNEMPLOYED,
    DuesCategory.LOW_INCOME,
)


class PaymentMethod(models.TextChoices):
    MONTHLY = "monthly", _("按月")
    QUARTERLY = "quarterly", _("按季（经批准）")


class StepState(models.TextChoices):
    """Where a development step stands on a member's timeline."""

    DONE = "done", _("已完成")
    DUE = "due", _("可办理")
    OVERDUE = "overdue", _("已逾期")
    WAITING = "waiting", _("未到时间")
    PENDING = "pending", _("待前序步骤")
    LOCKED = "locked", _("已锁定")
