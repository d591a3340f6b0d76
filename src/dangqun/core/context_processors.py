"""What every page's shell needs: elder mode, language, navigation by role, unread count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, get_language_bidi, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from dangqun.accounts.choices import Role

from .models import Notification
from .permissions import grants_for


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    description: str = ""


def first_url(*names: str, args: tuple = (), default: str = "") -> str:
    """The first of `names` that resolves. Pages of apps still being written drop in by name."""
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return default


def _admin_items() -> list[NavItem]:
    admin = first_url("admin:index", default="/admin/")
    return [
        NavItem("orgs", pgettext_lazy("nav", "组织"), reverse("orgs:tree"), _("组织树、换届提醒与设置提示")),
        NavItem(
            "rules",
            pgettext_lazy("nav", "规则"),
            first_url("core:rules", "rules", "admin:core_rulevalue_changelist", default=admin),
            _("规则值、版本与依据"),
        ),
        NavItem(
            "calendar",
            pgettext_lazy("nav", "日历"),
            first_url("core:calendar", "calendar", "admin:core_calendarday_changelist", default=admin),
            _("节假日与调休，办理时限按工作日计算"),
        ),
        NavItem(
            "audit",
            pgettext_lazy("nav", "审计"),
            first_url("core:audit", "audit", "admin:core_auditevent_changelist", default=admin),
            _("全部操作记录，防篡改校验"),
        ),
        NavItem("admin", pgettext_lazy("nav", "后台"), admin, _("后台数据管理")),
    ]


def _party_items() -> list[NavItem]:
    """党员 and 会议 for those who keep a branch's records (apps absent from the URL conf drop out)."""
    entries = [
        (
            "members",
            pgettext_lazy("nav", "党员"),
            first_url("members:index"),
            _("党员名册、发展党员、本月待办、党费"),
        ),
        (
            "meetings",
            pgettext_lazy("nav", "会议"),
            first_url("meetings:list"),
            _("三会一课、表决与选举、民主评议"),
        ),
    ]
    return _present(entries)


def nav_items(user: Any) -> list[NavItem]:
    """Entry points by role (a user holding several roles gets each role's entries once)."""
    if not getattr(user, "is_authenticated", False):
        return [
            NavItem(
                "login", pgettext_lazy("nav", "登录"), first_url("accounts:login", default="/accounts/login/")
            )
        ]
    roles = user.role_set()
    items: list[NavItem] = []
    if user.is_superuser or Role.STREET_ADMIN in roles:
        items += _admin_items()
    elif roles & {Role.DEPARTMENT_ADMIN, Role.WINDOW_STAFF}:
        items.append(
            NavItem("orgs", pgettext_lazy("nav", "组织"), reverse("orgs:tree"), _("本部门、本窗口的组织信息"))
        )
    if Role.BRANCH_SECRETARY in roles:
        # grants_for shares its per-request cache with the permission checks: no extra query.
        grants = [g for g in grants_for(user, "orgs.view") if g.role == Role.BRANCH_SECRETARY]
        branch = min(grants, key=lambda g: g.organization.path).organization
        items.append(
            NavItem(
                "my_branch",
                pgettext_lazy("nav", "我的支部"),
                reverse("orgs:detail", args=[branch.pk]),
                _("支部概况、任期与设置提示"),
            )
        )
    if user.is_superuser or roles & {Role.STREET_ADMIN, Role.BRANCH_SECRETARY}:
        items += _party_items()
    if user.is_superuser or roles & {Role.STREET_ADMIN, Role.DEPARTMENT_ADMIN, Role.WINDOW_STAFF}:
        queue = first_url("onestop:queue")
        if queue:
            items.append(
                NavItem("queue", pgettext_lazy("nav", "办件"), queue, _("待办办件、期限倒计时与帮办代办"))
            )
    if user.is_superuser or roles & {Role.STREET_ADMIN, Role.DEPARTMENT_ADMIN, Role.WINDOW_STAFF}:
        items += _feedback_items(roles, user.is_superuser)
    if Role.MEMBER in roles:
        items.append(
            NavItem(
                "mine",
                pgettext_lazy("nav", "我的"),
                first_url("accounts:profile", "members:mine", "notifications"),
                _("个人信息、学习与通知"),
            )
        )
    if user.is_superuser or roles & {Role.MEMBER, Role.BRANCH_SECRETARY, Role.STREET_ADMIN}:
        items += _present(
            [
                (
                    "learning",
                    pgettext_lazy("nav", "学习"),
                    first_url("learning:index"),
                    _("推荐学习、必学内容与学时"),
                )
            ]
        )
    if Role.RESIDENT in roles:
        items.append(
            NavItem(
                "services",
                pgettext_lazy("nav", "办事"),
                first_url("onestop:catalog", "onestop:index", default=reverse("home") + "#services"),
                _("查找事项、在线申请、查询进度"),
            )
        )
        items += _present(
            [
                (
                    "messages",
                    pgettext_lazy("nav", "留言"),
                    first_url("feedback:messages"),
                    _("留言、投诉与办理进度"),
                )
            ]
        )
    return items


def _present(entries: list[tuple]) -> list[NavItem]:
    """NavItems for the entries whose page exists (apps absent from the URL conf drop out)."""
    return [NavItem(key, label, url, description) for key, label, url, description in entries if url]


def _feedback_items(roles: set[str], superuser: bool) -> list[NavItem]:
    entries = [
        (
            "feedback",
            pgettext_lazy("nav", "评价"),
            first_url("feedback:index"),
            _("好差评、整改回访与留言诉求"),
        )
    ]
    if superuser or roles & {Role.STREET_ADMIN, Role.DEPARTMENT_ADMIN}:  # those who hold insights.view
        entries.append(
            (
                "insights",
                pgettext_lazy("nav", "看板"),
                first_url("insights:index"),
                _("办件量、满意度与改进建议"),
            )
        )
    return _present(entries)


def mark_current(items: list[NavItem], path: str) -> list[tuple[NavItem, str]]:
    """Pair each item with its aria-current value: "page" on it, "true" inside its section."""
    best = max(
        (i for i in items if path.startswith(i.url.split("#")[0]) and i.url.split("#")[0] != "/"),
        key=lambda i: len(i.url),
        default=None,
    )
    return [(i, ("page" if path == i.url else "true") if i is best else "") for i in items]


def html_lang(code: str | None) -> str:
    """BCP 47 for <html lang>: Django's "zh-hans" is written "zh-Hans"."""
    code = code or "zh-hans"
    lang, _sep, script = code.partition("-")
    return f"{lang}-{script.title()}" if len(script) == 4 else code


def unread_count(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def shell(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)

    return {
        "elder_mode": getattr(request, "elder_mode", False),
        "html_lang": html_lang(get_language()),
        "html_dir": "rtl" if get_language_bidi() else "ltr",
        "nav": SimpleLazyObject(lambda: mark_current(nav_items(user), request.path)),
        "unread_count": SimpleLazyObject(lambda: unread_count(user)),
    }
