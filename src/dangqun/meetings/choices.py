from django.db import models
from django.utils.translation import gettext_lazy as _


class MeetingKind(models.TextChoices):
    """三会一课 and the other forms of organizational life (支部工作条例 第十一—十三条; party.md §3)."""

    BRANCH_ASSEMBLY = "branch_assembly", _("支部党员大会")
    COMMITTEE = "committee", _("支委会")
    GROUP = "group", _("党小组会")
    LECTURE = "lecture", _("党课")
    THEME_DAY = "theme_day", _("主题党日")
    LIFE = "life", _("组织生活会")
    TALK = "talk", _("谈心谈话")


# Kinds whose attendees are the whole roster of the branch (or, for GROUP, of the group).
ROSTER_KINDS = frozenset(
    {MeetingKind.BRANCH_ASSEMBLY, MeetingKind.LECTURE, MeetingKind.THEME_DAY, MeetingKind.LIFE}
)
# Kinds whose attendees are chosen (the committee; the people of a talk). Members of the branch
# who are not among them do not see these meetings: a talk is private, committee business too.
CHOSEN_KINDS = frozenset({MeetingKind.COMMITTEE, MeetingKind.TALK})


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("已安排")
    HELD = "held", _("已召开")
    CANCELLED = "cancelled", _("已取消")


class AttendanceStatus(models.TextChoices):
    EXPECTED = "expected", _("未签到")
    PRESENT = "present", _("出席")
    ABSENT = "absent", _("缺席")
    LEAVE = "leave", _("请假")


# A reason is required for these (party.md §3: absent with reason / on leave).
NEEDS_REASON = frozenset({AttendanceStatus.ABSENT, AttendanceStatus.LEAVE})


class SignInMethod(models.TextChoices):
    QR = "qr", _("扫码签到")
    RECORDED = "recorded", _("书记登记")


class VoteKind(models.TextChoices):
    ADMISSION = "admission", _("接收预备党员")
    FULL_MEMBERSHIP = "full_membership", _("预备党员转正")
    OTHER = "other", _("其他事项")


class BallotMode(models.TextChoices):
    HANDS = "hands", _("举手表决")
    PAPER = "paper", _("纸质无记名投票（录入计票结果）")
    ONLINE = "online", _("在线无记名投票")


SECRET_MODES = frozenset({BallotMode.PAPER, BallotMode.ONLINE})


class Choice(models.TextChoices):
    FOR = "for", _("赞成")
    AGAINST = "against", _("反对")
    ABSTAIN = "abstain", _("弃权")


class PollStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class Grade(models.TextChoices):
    """民主评议党员 grades (党员教育管理工作条例 2019 第二十六条)."""

    EXCELLENT = "excellent", _("优秀")
    QUALIFIED = "qualified", _("合格")
    BASIC = "basic", _("基本合格")
    UNQUALIFIED = "unqualified", _("不合格")


class DecisionStep(models.IntegerChoices):
    """四议两公开 (party.md §8), in order."""

    PROPOSAL = 1, _("党组织提议")
    CONSULTATION = 2, _("两委商议")
    MEMBER_REVIEW = 3, _("党员大会审议")
    VILLAGER_DECISION = 4, _("村民会议或村民代表会议决议")
    RESOLUTION_PUBLIC = 5, _("决议公开")
    RESULT_PUBLIC = 6, _("实施结果公开")


class VillageBody(models.TextChoices):
    VILLAGERS = "villagers", _("村民会议")
    REPRESENTATIVES = "representatives", _("村民代表会议")


class DecisionStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("办理中")
    REJECTED = "rejected", _("未通过")
    COMPLETED = "completed", _("已完成")


class ComplianceState(models.TextChoices):
    OK = "ok", _("已落实")
    MISSING = "missing", _("未落实")
    PENDING = "pending", _("期限未到")
    NOT_APPLICABLE = "na", _("不适用")
