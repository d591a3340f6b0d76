"""Demo data of the feedback loop on the demo street: the dispatch table of messages, a finished
case for the demo resident to rate, a 差评 under fix, a window visit and a few messages.

Everything is made through the actions (so it is audited like real work) and marked, so that
`seed_feedback --wipe` (called by `dangqun seed --reset`) removes exactly what it made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from dangqun.accounts.models import User
from dangqun.core import workcalendar
from dangqun.onestop import actions as onestop
from dangqun.onestop.choices import ItemStatus, Outcome
from dangqun.onestop.models import Application, ServiceItem
from dangqun.orgs.models import Organization

from . import actions, message_actions
from .models import Appeal, ClassificationRule, Fix, Message, Rating, Visit

KEY = "demo-feedback-"

# (keywords, category, department short name, urgency, kind)
DISPATCH_TABLE = (
    ("社保 养老金 医保卡 参保 退休金", "社会保障", "社保", "ordinary", ""),
    ("医保 报销 住院 门诊", "医疗保障", "医保", "ordinary", ""),
    ("公积金 提取 贷款", "住房公积金", "公积金", "ordinary", ""),
    ("户口 落户 身份证 户籍", "户籍管理", "户籍", "ordinary", ""),
    ("低保 救助 养老院 婚姻 殡葬", "民政服务", "民政", "ordinary", ""),
    ("残疾 轮椅 无障碍", "残疾人服务", "残联", "ordinary", ""),
    ("疫苗 卫生 诊所 食品安全", "卫生健康", "卫健", "complex", ""),
    ("营业执照 准入 审批 壁垒 歧视", "市场准入", "市场监管", "complex", "market_barrier"),
    ("拖欠 账款 工程款 货款", "拖欠企业账款", "市场监管", "complex", "unpaid"),
    ("就业 招聘 工资 欠薪 培训", "就业创业", "人社", "ordinary", ""),
    ("路灯 井盖 道路 漏水 违建 垃圾", "城市管理", "住建", "ordinary", ""),
    ("燃气 泄漏 火灾 塌陷", "紧急安全", "住建", "emergency", ""),
)


def _street() -> Organization | None:
    from dangqun.core.seeding import seeded_street

    return seeded_street()


def seed_feedback(*, log: Callable[[str], None] = lambda _m: None) -> int:
    """Idempotent: nothing is added when the dispatch table exists already."""
    street = _street()
    if street is None or ClassificationRule.objects.exists():
        return 0
    departments = {o.short_name: o for o in Organization.objects.filter(parent=street, kind="department")}
    for i, (words, category, dept, urgency, kind) in enumerate(DISPATCH_TABLE):
        if dept in departments:
            ClassificationRule.objects.create(
                keywords=words,
                category=category,
                unit=departments[dept],
                urgency=urgency,
                kind=kind,
                priority=(i + 1) * 10,
            )
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["resident", "window", "dept_admin", "demo_r0000001"])
    }
    item = (
        ServiceItem.objects.filter(
            department__short_name="社保", status=ItemStatus.ACTIVE, certificate_type=""
        )
        .order_by("code")
        .first()
    )
    if item is None or not {"resident", "window", "dept_admin"} <= users.keys():
        log("好差评演示：缺少演示事项或账号，只生成了留言分类规则。")
        return 1
    today = timezone.localdate()
    # A few working days back, so the cases ended before today and the fix deadline lies ahead.
    ended = today
    for _ in range(2):
        ended = ended - timedelta(days=1)
        while not workcalendar.is_workday(ended):
            ended -= timedelta(days=1)
    cases = []
    for n, username in enumerate(["resident", "demo_r0000001"]):
        applicant = users.get(username)
        if applicant is None:
            continue
        with transaction.atomic():
            app = onestop.do_create_and_submit(
                item,
                {"applicant_name": applicant.full_name},
                actor=applicant,
                idempotency_key=f"{KEY}{n}",
                on=ended,
            ).application
            onestop.do_accept(app, actor=users["window"], on=ended)
            while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
                onestop.do_review_task(task, passed=True, opinion="同意", actor=users["dept_admin"])
            onestop.do_decide(app, Outcome.APPROVED, actor=users["dept_admin"], on=ended)
            onestop.do_deliver(app, actor=users["window"], on=ended)
        cases.append(Application.objects.get(pk=app.pk))
    if len(cases) > 1:
        actions.do_rate_case(
            cases[1],
            level=2,
            reasons=["runs"],
            comment="材料要求没写清楚，跑了两趟",
            actor=cases[1].applicant,
        )
    window = Organization.objects.filter(kind="window", parent__parent=street).order_by("path").first()
    if window is not None:
        actions.do_record_visit(window=window, unit=item.department, item=item, actor=users["window"])
    message_actions.do_leave_message(
        kind="complaint",
        title="幸福路路灯不亮",
        body="幸福路与和平街交叉口的路灯已经坏了一周，晚上很黑",
        location="幸福路与和平街交叉口",
        idempotency_key=f"{KEY}m1",
        actor=users["resident"],
    )
    message_actions.do_leave_message(
        kind="consult",
        title="退休后养老金怎么领取",
        body="我明年退休，想咨询养老金领取需要准备哪些材料",
        idempotency_key=f"{KEY}m2",
        actor=users["resident"],
    )
    log("已生成好差评与留言演示数据：分类规则、待评价办件、差评整改、窗口回执、留言。")
    return 1


def wipe_feedback(*, log: Callable[[str], None] = lambda _m: None) -> None:
    """Remove the feedback rows and the demo cases made for them (before the street is wiped)."""
    with transaction.atomic():
        Appeal.objects.all().delete()
        Fix.objects.all().delete()
        Rating.objects.all().delete()
        Visit.objects.all().delete()
        Message.objects.filter(duplicate_of__isnull=False).delete()
        Message.objects.all().delete()
        ClassificationRule.objects.all().delete()
        Application.objects.filter(idempotency_key__startswith=KEY).delete()
    log("已清除好差评与留言演示数据。")
