"""Code lists of the service catalog (catalog.md) and the states of an application (onestop.md §3)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ItemType(models.TextChoices):
    """事项类型 (国办发〔2018〕45号 annex)."""

    LICENSING = "01", _("行政许可")
    PENALTY = "02", _("行政处罚")
    COERCION = "03", _("行政强制")
    LEVY = "04", _("行政征收")
    BENEFIT = "05", _("行政给付")
    INSPECTION = "06", _("行政检查")
    CONFIRMATION = "07", _("行政确认")
    REWARD = "08", _("行政奖励")
    ADJUDICATION = "09", _("行政裁决")
    OTHER_POWER = "10", _("其他行政权力")
    PUBLIC_SERVICE = "20", _("公共服务")


class HandlingMode(models.TextChoices):
    """办件类型: 即办件 are done on the spot (promised limit 0); 联办件 have the joint 45-day limit."""

    IMMEDIATE = "1", _("即办件")
    PROMISED = "2", _("承诺件")
    JOINT = "4", _("联办件")


class ItemStatus(models.TextChoices):
    ACTIVE = "active", _("在用")
    SUSPENDED = "suspended", _("暂停")
    CANCELLED = "cancelled", _("取消")


class Channel(models.TextChoices):
    """办理形式 and online channels: where an item can be applied for."""

    WINDOW = "window", _("窗口办理")
    WEB = "web", _("网上办理")
    MOBILE = "mobile", _("移动端办理")
    KIOSK = "kiosk", _("自助终端")
    POST = "post", _("快递申请")


class CrossRegion(models.TextChoices):
    """跨省通办 modes (国办发〔2020〕35号)."""

    NONE = "none", _("不支持异地办理")
    ONLINE = "online", _("全程网办")
    PROXY = "proxy", _("异地代收代办")
    MULTI = "multi", _("多地联办")


class LifeEvent(models.TextChoices):
    """高效办成一件事 bundles (catalog.md) and common themes."""

    NEWBORN = "newborn", _("新生儿出生")
    BUSINESS = "business", _("企业开办")
    RETIREMENT = "retirement", _("退休")
    AFTER_DEATH = "after_death", _("身后事")
    EMPLOYMENT = "employment", _("就业创业")
    HOUSING = "housing", _("住房")
    RELOCATION = "relocation", _("迁居落户")
    ASSISTANCE = "assistance", _("社会救助")
    DISABILITY = "disability", _("残疾人服务")
    MEDICAL = "medical", _("看病就医")
    MARRIAGE = "marriage", _("婚育")


class ServiceObject(models.TextChoices):
    PERSON = "person", _("自然人")
    ENTERPRISE = "enterprise", _("企业法人")
    INSTITUTION = "institution", _("事业法人")
    SOCIAL_ORG = "social_org", _("社会组织法人")
    UNINCORPORATED = "unincorporated", _("非法人企业")
    AUTHORITY = "authority", _("行政机关")
    OTHER = "other", _("其他组织")


class ResultType(models.TextChoices):
    CERTIFICATE = "certificate", _("证照")
    APPROVAL = "approval", _("批文")
    OTHER = "other", _("其他")


class MaterialForm(models.TextChoices):
    ORIGINAL = "original", _("原件")
    COPY = "copy", _("复印件")
    ORIGINAL_AND_COPY = "both", _("原件和复印件")
    ELECTRONIC = "electronic", _("电子材料")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("申请人自备")
    GOVERNMENT = "government", _("政府部门核发")
    OTHER = "other", _("其他")


class SharedData(models.TextChoices):
    """Data the platform already holds (免提交, 国务院令第716号 第七条): offered instead of an upload."""

    ID_CARD = "id_card", _("居民身份证信息")
    HOUSEHOLD = "household", _("户籍信息")
    MARRIAGE = "marriage", _("婚姻登记信息")
    SOCIAL_SECURITY = "social_security", _("社会保险参保信息")
    BUSINESS_LICENSE = "business_license", _("营业执照信息")
    PROPERTY = "property", _("不动产登记信息")
    BIRTH = "birth", _("出生医学证明信息")
    DISABILITY = "disability", _("残疾人证信息")


class FileKind(models.TextChoices):
    PDF = "pdf", "PDF"
    JPEG = "jpg", "JPEG"
    PNG = "png", "PNG"


class State(models.TextChoices):
    """办件状态 (onestop.md §3)."""

    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    CORRECTING = "correcting", _("补正中")
    ACCEPTED = "accepted", _("已受理")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    REVIEWING = "reviewing", _("审查中")
    DECIDED = "decided", _("已决定")
    COMPLETED = "completed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATES = (State.SUBMITTED, State.CORRECTING, State.ACCEPTED, State.REVIEWING, State.DECIDED)
CLOSED_STATES = (State.NOT_ACCEPTED, State.COMPLETED, State.WITHDRAWN)


class Outcome(models.TextChoices):
    APPROVED = "approved", _("准予")
    DENIED = "denied", _("不予")


class StopReason(models.TextChoices):
    """挂起: periods not counted in the time limit (行政许可法 第四十五条, 补正 第三十二条)."""

    CORRECTION = "correction", _("补正材料")
    HEARING = "hearing", _("听证")
    TESTING = "testing", _("检验、检测、检疫")
    EXPERT = "expert", _("专家评审")
    SITE = "site", _("现场核查")


class TaskState(models.TextChoices):
    PENDING = "pending", _("待办")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("不通过")
    SKIPPED = "skipped", _("无需办理")


class Due(models.TextChoices):
    """The queue's countdown flag for one application, and the queue's deadline filters."""

    OK = "ok", _("正常")
    WARNING = "warning", _("即将到期")
    OVERDUE = "overdue", _("已超期")
    STOPPED = "stopped", _("已挂起")
    # Not a countdown flag (an application may be 容缺逾期 and still within its limit): a filter.
    DEFICIENCY_MISSED = "deficiency_missed", _("容缺逾期")


EVENT_LABELS = {
    "create": _("创建草稿"),
    "submit": _("提交申请"),
    "accept": _("受理"),
    "refuse": _("不予受理"),
    "notice": _("一次性告知"),
    "correct": _("提交补正"),
    "review": _("审查"),
    "stop": _("挂起"),
    "resume": _("恢复计时"),
    "extend": _("延长期限"),
    "decide": _("作出决定"),
    "deliver": _("办结送达"),
    "withdraw": _("撤回"),
    "deficiency_supplied": _("容缺材料补齐"),
    "deficiency_missed": _("容缺材料逾期未补齐"),
}

# Where 容缺 materials are awaited and a decision can be made: the states the 容缺逾期 job scans.
DEFICIENCY_STATES = (State.ACCEPTED, State.REVIEWING)
