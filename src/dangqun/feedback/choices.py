"""Code lists of 好差评 (onestop.md §5) and of messages and complaints (§6)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    """Five levels; 1 and 2 are 差评 (国办发〔2019〕51号)."""

    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    BASIC = 3, _("基本满意")
    UNSATISFIED = 2, _("不满意")
    VERY_UNSATISFIED = 1, _("非常不满意")


BAD_LEVELS = (Level.UNSATISFIED, Level.VERY_UNSATISFIED)


class Mode(models.TextChoices):
    """一事一评 for a case handled online, 一次一评 for a visit at a window."""

    CASE = "case", _("一事一评")
    VISIT = "visit", _("一次一评")


class RatingChannel(models.TextChoices):
    WEB = "web", _("网页")
    MOBILE = "mobile", _("手机")
    QR = "qr", _("窗口二维码")
    KIOSK = "kiosk", _("评价器")
    HOTLINE = "hotline", _("热线")


# The items rated besides the overall level, online and at a window (onestop.md §5).
ONLINE_ASPECTS = {
    "efficiency": _("办事效率"),
    "guide": _("办事指南准确"),
    "convenience": _("便捷程度"),
    "usability": _("系统好用"),
}
OFFLINE_ASPECTS = {
    "efficiency": _("办事效率"),
    "service": _("服务水平"),
    "attitude": _("服务态度"),
}

# Reasons a rater may tick on a 差评: the dashboards count them.
BAD_REASONS = {
    "slow": _("办理慢、超时"),
    "runs": _("多次跑、重复提交材料"),
    "guide": _("指南不清楚"),
    "attitude": _("服务态度差"),
    "system": _("系统不好用"),
    "result": _("结果不满意"),
    "other": _("其他"),
}


class FixState(models.TextChoices):
    """差评整改: 回访核实 → 整改 → 答复 → 办结 (谁办理、谁负责)."""

    OPEN = "open", _("待回访")
    CALLED_BACK = "called_back", _("已回访")
    FIXED = "fixed", _("已整改")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    VOIDED = "voided", _("复核撤销")


OPEN_FIX_STATES = (FixState.OPEN, FixState.CALLED_BACK, FixState.FIXED)


class AppealState(models.TextChoices):
    PENDING = "pending", _("待复核")
    UPHELD = "upheld", _("申诉成立")
    REJECTED = "rejected", _("申诉不成立")


class MessageKind(models.TextChoices):
    CONSULT = "consult", _("咨询")
    HELP = "help", _("求助")
    SUGGEST = "suggest", _("建议")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    # Enterprises' own complaint categories (优化营商环境条例 第六十一条; 保障中小企业款项支付条例).
    MARKET_BARRIER = "market_barrier", _("市场准入壁垒")
    UNPAID = "unpaid", _("拖欠企业账款")


ENTERPRISE_KINDS = (MessageKind.MARKET_BARRIER, MessageKind.UNPAID)


class Urgency(models.TextChoices):
    """Time-limit classes of §6 (defaults: emergency 2 hours, ordinary 7 days, complex 15 days)."""

    EMERGENCY = "emergency", _("紧急")
    ORDINARY = "ordinary", _("一般")
    COMPLEX = "complex", _("复杂")


class MessageState(models.TextChoices):
    """受理 → 派单 → 承办 → 答复 → 办结 → 回访 → 评价."""

    RECEIVED = "received", _("待派单")
    DISPATCHED = "dispatched", _("已派单")
    DISPUTED = "disputed", _("退回争议")
    HANDLING = "handling", _("办理中")
    REPLIED = "replied", _("已答复")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已合并")


OPEN_MESSAGE_STATES = (
    MessageState.RECEIVED,
    MessageState.DISPATCHED,
    MessageState.DISPUTED,
    MessageState.HANDLING,
)


class MessageAction(models.TextChoices):
    RECEIVE = "receive", _("收到留言")
    DISPATCH = "dispatch", _("派单")
    DISPUTE = "dispute", _("承办单位退回")
    ACCEPT = "accept", _("签收办理")
    REPLY = "reply", _("答复")
    CALLBACK = "callback", _("回访办结")
    RATE = "rate", _("评价")
    MERGE = "merge", _("合并为重复件")
