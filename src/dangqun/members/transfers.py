"""Transfers of the organizational relationship and flowing members (party.md §6; 组通字〔2006〕45号).

Models of three records, loaded with the app's models (models.py imports this module at its end):

- `Transfer`: a transfer between two branches on the platform. The out-branch issues it, the
  in-branch accepts or returns it; until it is accepted the member stays in the out-branch,
  which remains responsible for them (branch and counters move only on acceptance).
- `IntroductionLetter`: 党员组织关系介绍信 for a transfer to an organization outside the
  platform, numbered per issuing committee and year (`LetterCounter`), valid at most
  party.transfer.letter_valid_months (cross-province: ..._cross_province), closed by the
  receipt (回执) of the receiving committee.
- `FlowingMember` and `FlowingContact`: 流动党员 — away for less than
  party.transfer.away_months_formal at a fixed place, at no fixed place, or abroad — with the
  log of contacts with the branch.

Every change goes through actions_transfer.py. The daily reminder jobs are declared at the end
of this module so that the job consumer registers them when the app's models load.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from dangqun.core.fields import EncryptedTextField
from dangqun.core.validators import mask_phone


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已撤回")


class Transfer(models.Model):
    """组织关系转接 inside the platform (组通字〔2006〕45号; party.md §6).

    The out-branch issues, the in-branch accepts (or returns it with a reason). Until the
    acceptance the member's branch and both branches' counters do not change: the out-branch
    stays responsible. A probationary member accepted here gets `postpone_until`, the latest
    date of the full-membership discussion (probation end + party.dev.transfer_in_postpone_max_months,
    发展党员工作细则 第三十七条); the full-membership date stays the end of probation.
    """

    member = models.ForeignKey(
        "members.PartyMember", on_delete=models.PROTECT, related_name="transfers", verbose_name=_("党员")
    )
    from_branch = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("转出党支部")
    )
    to_branch = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("转入党支部")
    )
    status = models.CharField(
        _("状态"), max_length=12, choices=TransferStatus.choices, default=TransferStatus.PENDING
    )
    member_status = models.CharField(_("转出时身份"), max_length=20)
    reason = models.CharField(_("转接原因"), max_length=200, blank=True)
    issued_on = models.DateField(_("转出日期"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    decided_on = models.DateField(_("接收或退回日期"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    postpone_until = models.DateField(
        _("转正讨论最迟日期（转入的预备党员）"),
        null=True,
        blank=True,
        help_text=_("预备期满后最多推迟 6 个月讨论转正；转正时间仍为预备期满之日"),
    )

    class Meta:
        verbose_name = verbose_name_plural = _("组织关系转接")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(status="pending"),
                name="transfer_one_pending_per_member",
            ),
            models.CheckConstraint(
                condition=~models.Q(from_branch=models.F("to_branch")), name="transfer_between_two_branches"
            ),
        ]
        indexes = [
            models.Index(fields=["to_branch", "status"], name="transfer_in_status"),
            models.Index(fields=["from_branch", "status"], name="transfer_out_status"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_branch_id} → {self.to_branch_id} ({self.status})"


class LetterStatus(models.TextChoices):
    ISSUED = "issued", _("已开具，待回执")
    RECEIVED = "received", _("已回执")
    CANCELLED = "cancelled", _("已作废")


class LetterCounter(models.Model):
    """The last letter number of one issuing committee in one year.

    Allocation increments this row inside the issuing transaction (actions_transfer): two
    letters of the same committee wait for each other on this row only, never on a global lock,
    and a refused or rolled-back letter gives its number back.
    """

    committee = models.ForeignKey("orgs.Organization", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = _("介绍信编号")
        constraints = [models.UniqueConstraint(fields=["committee", "year"], name="letter_counter_once")]

    def __str__(self) -> str:
        return f"{self.committee_id}/{self.year}: {self.last}"


class IntroductionLetter(models.Model):
    """中国共产党党员组织关系介绍信, to an organization outside the platform (组通字〔2006〕45号).

    Numbered per issuing committee and year; valid at most party.transfer.letter_valid_months
    from the issue date (cross-province: party.transfer.letter_valid_months_cross_province).
    What the letter says is kept as issued (holder, standing, dues paid through), so the PDF
    printed again later is the same letter. The member becomes 转出 when the receipt (回执) is
    recorded, not when the letter is issued: until the receiving committee confirms, nobody
    else is responsible for them, and an unused letter can be cancelled without undoing a status.
    """

    committee = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("开具党委")
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    seq = models.PositiveIntegerField(_("序号"))
    number = models.CharField(_("编号"), max_length=60, unique=True)
    member = models.ForeignKey(
        "members.PartyMember", on_delete=models.PROTECT, related_name="letters", verbose_name=_("党员")
    )
    from_branch = models.ForeignKey(
        "orgs.Organization", on_delete=models.PROTECT, related_name="+", verbose_name=_("转出党支部")
    )
    from_name = models.CharField(_("转出组织"), max_length=120)
    committee_name = models.CharField(_("开具党委名称"), max_length=120)
    to_organization = models.CharField(_("转往组织"), max_length=120)
    cross_province = models.BooleanField(_("跨省（区、市）转接"), default=False)
    reason = models.CharField(_("转接原因"), max_length=200, blank=True)
    holder_name = models.CharField(_("姓名"), max_length=60)
    holder_gender = models.CharField(_("性别"), max_length=4, blank=True)
    holder_age = models.PositiveSmallIntegerField(_("年龄"), null=True, blank=True)
    member_status = models.CharField(_("身份"), max_length=20)
    standing_years = models.PositiveSmallIntegerField(_("党龄（年）"), null=True, blank=True)
    probation_ends_on = models.DateField(_("预备期满"), null=True, blank=True)
    dues_paid_through = models.DateField(_("党费交至（月份）"), null=True, blank=True)
    issued_on = models.DateField(_("开具日期"))
    valid_until = models.DateField(_("有效期至"))
    status = models.CharField(
        _("状态"), max_length=12, choices=LetterStatus.choices, default=LetterStatus.ISSUED
    )
    received_on = models.DateField(_("回执日期"), null=True, blank=True)
    receipt_org = models.CharField(_("回执组织"), max_length=120, blank=True)
    receipt_note = models.CharField(_("回执说明"), max_length=200, blank=True)
    cancelled_on = models.DateField(_("作废日期"), null=True, blank=True)
    cancel_reason = models.CharField(_("作废原因"), max_length=200, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = _("介绍信")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "year", "seq"], name="letter_number_once"),
            models.UniqueConstraint(
                fields=["member"], condition=models.Q(status="issued"), name="letter_one_open_per_member"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("issued_on")), name="letter_valid_after_issue"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="letter_status_valid"),
            models.Index(fields=["from_branch", "status"], name="letter_branch_status"),
        ]

    def __str__(self) -> str:
        return self.number


class FlowKind(models.TextChoices):
    SHORT = "short", _("外出不满 6 个月（地点固定）")
    UNFIXED = "unfixed", _("外出地点不固定")
    ABROAD = "abroad", _("出国（境）")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("电话")
    ONLINE = "online", _("网络（微信、视频等）")
    VISIT = "visit", _("见面")
    LETTER = "letter", _("书信、邮件")
    REPORT = "report", _("本人汇报")


class FlowingMember(models.Model):
    """流动党员: away for less than party.transfer.away_months_formal at a fixed place, at no
    fixed place, or abroad (组通字〔2006〕45号; 党员教育管理工作条例). The branch keeps in touch;
    `last_contact_on` (the registration counts as a contact) drives the reminder when there has
    been no contact for party.flow.contact_interval_months (6).
    """

    member = models.ForeignKey(
        "members.PartyMember", on_delete=models.PROTECT, related_name="flowing", verbose_name=_("党员")
    )
    kind = models.CharField(_("外出类型"), max_length=10, choices=FlowKind.choices)
    place = models.CharField(_("外出地点"), max_length=200)
    contact = EncryptedTextField(_("联系方式"), blank=True)
    since = models.DateField(_("外出日期"))
    expected_return = models.DateField(_("预计返回日期"), null=True, blank=True)
    reason = models.CharField(_("外出原因"), max_length=200, blank=True)
    registered_on = models.DateField(_("登记日期"))
    last_contact_on = models.DateField(_("最近联系日期"))
    active = models.BooleanField(_("在外"), default=True)
    ended_on = models.DateField(_("返回日期"), null=True, blank=True)
    end_note = models.CharField(_("结束说明"), max_length=200, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("流动党员")
        ordering = ["-since", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=models.Q(active=True), name="flowing_one_active_per_member"
            ),
        ]
        indexes = [models.Index(fields=["active", "last_contact_on"], name="flowing_active_contact")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.place}"

    @property
    def contact_masked(self) -> str:
        # A phone number as everywhere (138****5678); any other handle keeps its ends visible.
        return mask_phone(self.contact)


class FlowingContact(models.Model):
    """One contact between the branch and a flowing member (联系记录)."""

    registration = models.ForeignKey(
        FlowingMember, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("流动党员登记")
    )
    contacted_on = models.DateField(_("联系日期"))
    channel = models.CharField(_("方式"), max_length=10, choices=ContactChannel.choices)
    note = models.CharField(_("情况"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = _("流动党员联系记录")
        ordering = ["-contacted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.registration_id} {self.contacted_on}"


# ---------------------------------------------------------------------------------------------
# Daily jobs (registered with the app's models; the work is in actions_transfer)
# ---------------------------------------------------------------------------------------------


@db_periodic_task(crontab(hour="7", minute="20"))
def remind_letter_receipts_daily() -> int:
    from .actions_transfer import remind_letter_receipts

    return remind_letter_receipts()


@db_periodic_task(crontab(hour="7", minute="25"))
def remind_flowing_contacts_daily() -> int:
    from .actions_transfer import remind_flowing_contacts

    return remind_flowing_contacts()
