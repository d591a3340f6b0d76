"""Demo data of the feedback loop on the demo street: the dispatch table of messages, a finished
case for the demo resident to rate, a 差评 under fix, a window visit and a few messages.

Everything is made through the actions (so it is audited like real work) and marked, so that
`seed_feedback --wipe` (called by `dangqun seed --reset`) removes exactly what it made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from dangqun.accounts.models import Consent, User
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
    users = {u.username: u for u in User.objects.filter(username__in=["resident", "window", "dept_admin"])}
    item = _rateable_item()
    if item is None or not {"resident", "window", "dept_admin"} <= users.keys():
        log("好差评演示：缺少演示事项或账号，只生成了留言分类规则。")
        return 1
    ended = _last_working_days_ago(2)
    cases = []
    # Both by the demo resident (generated residents are recreated on --reset: they must author nothing).
    for n, username in enumerate(["resident", "resident"]):
        applicant = users.get(username)
        if applicant is None:
            continue
        with transaction.atomic():
            cases.append(
                _finished_case(item, applicant, users["window"], users["dept_admin"], ended, f"{KEY}{n}")
            )
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


def _rateable_item() -> ServiceItem | None:
    """A 社保 item whose form fills itself from the profile and whose materials are all shared data
    (免提交): the demo can finish a case without uploads."""
    items = (
        ServiceItem.objects.filter(
            department__short_name="社保", status=ItemStatus.ACTIVE, certificate_type=""
        )
        .prefetch_related("materials")
        .order_by("code")
    )
    for item in items:
        fields = item.form_schema.get("fields", [])
        if all(f.get("prefill") or not f.get("required") for f in fields) and all(
            m.shared or not m.required for m in item.materials.all()
        ):
            return item
    return None


def _last_working_days_ago(n: int) -> date:
    day = timezone.localdate()
    for _ in range(n):
        day -= timedelta(days=1)
        while not workcalendar.is_workday(day):
            day -= timedelta(days=1)
    return day


def _finished_case(
    item: ServiceItem, applicant: User, window: User, dept: User, on: date, mark: str
) -> Application:
    """Apply (profile-filled form, shared materials), accept, review, approve, deliver — as staff would."""
    app = onestop.do_start_application(item, actor=applicant, on=on)
    for material in item.materials.all():
        if material.shared:
            onestop.do_use_shared_material(app, material, actor=applicant, consent=True)
    onestop.do_submit_application(app, actor=applicant, on=on)
    Application.objects.filter(pk=app.pk).update(idempotency_key=mark)  # what --wipe removes
    app.refresh_from_db()
    onestop.do_accept(app, actor=window, on=on)
    while task := app.tasks.filter(state="pending").order_by("stage", "id").first():
        onestop.do_review_task(task, passed=True, opinion="同意", actor=dept)
    onestop.do_decide(app, Outcome.APPROVED, actor=dept, on=on)
    onestop.do_deliver(app, actor=window, on=on)
    return Application.objects.get(pk=app.pk)


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
        demo_cases = Application.objects.filter(idempotency_key__startswith=KEY)
        # The applicants' consents to 免提交 in the demo cases go with them.
        Consent.objects.filter(
            source_type=Application._meta.label_lower, source_id__in=demo_cases.values("pk")
        ).delete()
        demo_cases.delete()
    log("已清除好差评与留言演示数据。")
