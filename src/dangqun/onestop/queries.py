"""Scoped reads of the catalog and of applications: what an actor may see, 404 for the rest.

Who sees an application: its applicant; the staff member who submitted it on their behalf (帮办代办)
while the authorization holds; staff of the competent department (办理地) and of the receiving
window (收件地) — both see a case received in one place and decided in another (跨省通办).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from dangqun.accounts import consents
from dangqun.certs.models import Certificate
from dangqun.core import workcalendar
from dangqun.core.errors import NotFound
from dangqun.core.permissions import has_perm, require, scope_filter
from dangqun.core.rulesets import ruleset_for
from dangqun.orgs.models import Organization

from . import rules as R
from .choices import DEFICIENCY_STATES, OPEN_STATES, Due, ItemStatus, SharedData, State
from .models import Application, Authorization, Material, ServiceItem


def _int(pk: Any) -> int:
    try:
        value = int(pk)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    if not 0 < value < 2**63:
        raise NotFound()
    return value


# --- the catalog (public) ---


def public_items() -> QuerySet[ServiceItem]:
    """Items anyone may read: in use or suspended (a cancelled item's guide is gone)."""
    return ServiceItem.objects.exclude(status=ItemStatus.CANCELLED)


def access_item(code: str) -> ServiceItem:
    item = public_items().select_related("department", "receiving_org").filter(code=str(code)[:12]).first()
    if item is None:
        raise NotFound()
    return item


# What the guide page reads on every request: the head of the page and the stamp of its cached
# facts (views.guide). The facts themselves come from guide_item() when they are rendered.
GUIDE_FIELDS = (
    "code",
    "name",
    "item_type",
    "handling_mode",
    "status",
    "version",
    "updated_at",
    "department__name",
)


def access_guide_item(code: str) -> ServiceItem:
    """The item for its public guide page (GUIDE_FIELDS only; code is unique: no ordering)."""
    found = list(
        public_items()
        .select_related("department")
        .only(*GUIDE_FIELDS)
        .filter(code=str(code)[:12])
        .order_by()[:1]
    )
    if not found:
        raise NotFound()
    return found[0]


def guide_item(pk: int) -> tuple[ServiceItem, list[Material]]:
    """The whole item, its department and its materials, for rendering the guide's facts."""
    item = ServiceItem.objects.select_related("department").get(pk=pk)
    return item, list(item.materials.all())


def item_for_submission(code: str) -> tuple[ServiceItem, list[Material]]:
    """The item (with its department and window) and its materials for the submission API: read
    once per process and kept until the catalog changes (search.cached_item), so the hot path of
    API clients costs two queries fewer. A suspension made through the actions or the admin is
    seen at once in this process and by the others after commit."""
    from . import search

    code = str(code)[:12]

    def load() -> tuple[ServiceItem, list[Material]]:
        item = access_item(code)
        return item, list(item.materials.all())

    return search.cached_item(code, load)


def access_item_for_configure(actor: Any, code: str) -> ServiceItem:
    item = ServiceItem.objects.select_related("department").filter(code=str(code)[:12]).first()
    if item is None or not has_perm(actor, "onestop.configure", item.department):
        raise NotFound()
    return item


# --- applications ---


def staff_scope(actor: Any, perm: str = "onestop.view") -> Q:
    """Applications whose department or receiving window lies in the actor's subtrees."""
    return scope_filter(actor, perm, prefix="department__") | scope_filter(
        actor, perm, prefix="receiving_org__"
    )


MAX_SCOPE_IDS = 1000


def staff_scope_by_ids(actor: Any, perm: str = "onestop.view") -> Q:
    """The same scope as plain column conditions: the organizations of the actor's subtrees are
    read first (one small query), so the applications are filtered without joining the tree and
    the queue's indexes on (department | receiving window, due date) apply. A very wide scope
    (more than MAX_SCOPE_IDS organizations) keeps the join."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return Q()
    ids = list(
        Organization.objects.filter(scope_filter(actor, perm)).values_list("pk", flat=True)[
            : MAX_SCOPE_IDS + 1
        ]
    )
    if len(ids) > MAX_SCOPE_IDS:
        return staff_scope(actor, perm)
    return Q(department_id__in=ids) | Q(receiving_org_id__in=ids)


def can_handle(actor: Any, app: Application) -> bool:
    """Acceptance and notices: the receiving window or the competent department."""
    return has_perm(actor, "onestop.handle", app.department) or (
        app.receiving_org_id is not None and has_perm(actor, "onestop.handle", app.receiving_org)
    )


def can_decide(actor: Any, app: Application) -> bool:
    """The decision never moves: only the competent department (办理地) decides."""
    return has_perm(actor, "onestop.handle", app.department)


def is_applicant_side(actor: Any, app: Application, today: date | None = None) -> bool:
    """The applicant, or the agent who submitted for them under an authorization still valid."""
    if not getattr(actor, "is_authenticated", False):
        return False
    if app.applicant_id == actor.pk:
        return True
    if app.created_by_id == actor.pk and app.authorization_id is not None:
        return app.authorization.is_valid_on(today or timezone.localdate())
    return False


def access_application(actor: Any, pk: Any) -> Application:
    """The application if `actor` may see it; otherwise 404 — never a hint that it exists."""
    app = (
        Application.objects.select_related(
            "item", "department", "receiving_org", "authorization", "applicant"
        )
        .filter(pk=_int(pk))
        .first()
    )
    if app is None:
        raise NotFound()
    if is_applicant_side(actor, app):
        return app
    if app.state != State.DRAFT and (
        has_perm(actor, "onestop.view", app.department)
        or (app.receiving_org_id is not None and has_perm(actor, "onestop.view", app.receiving_org))
    ):
        return app
    raise NotFound()


# --- e-certificates of approved applications ---


def certificate_source(app: Application) -> str:
    """The `source` a certificate issued for this application carries (certs.models.Certificate)."""
    return f"onestop.application:{app.number}"


def application_certificate(app: Application) -> Certificate | None:
    """The e-certificate issued for an approved application, if any (one query, indexed)."""
    if not app.number or not app.outcome:
        return None
    return Certificate.objects.filter(source=certificate_source(app)).order_by("id").first()


def certificates_by_number(apps: list[Application]) -> dict[str, Certificate]:
    """The certificates of several applications in one query (none when none was approved)."""
    sources = {certificate_source(a): a.number for a in apps if a.number and a.outcome == "approved"}
    if not sources:
        return {}
    return {
        sources[c.source]: c for c in Certificate.objects.filter(source__in=list(sources)).order_by("-id")
    }


def access_application_certificate(actor: Any, pk: Any) -> tuple[Application, Certificate]:
    """The certificate of an application `actor` may see (its applicant, or staff in scope); 404
    otherwise, and when no certificate was issued."""
    app = access_application(actor, pk)
    cert = application_certificate(app)
    if cert is None:
        raise NotFound()
    return app, cert


def my_applications(actor: Any) -> QuerySet[Application]:
    return Application.objects.filter(applicant=actor).select_related("item").order_by("-created_at", "-id")


def my_authorizations(actor: Any) -> QuerySet[Authorization]:
    return Authorization.objects.filter(principal=actor).select_related("agent", "item", "org")


def access_authorization(actor: Any, pk: Any) -> Authorization:
    auth = Authorization.objects.select_related("item", "org").filter(pk=_int(pk)).first()
    if auth is None or actor.pk not in (auth.principal_id, auth.agent_id):
        raise NotFound()
    return auth


def shared_available(user: Any, key: str) -> bool:
    """Whether the platform holds this data for the applicant (免提交).

    The platform holds a real-name identity (ID card) for every verified user; 户籍 and 社保参保
    data come from the shared exchange keyed by that ID number. Other records (licences,
    property, disability cards…) are not connected yet, so they are asked for as uploads.
    """
    has_id = bool(getattr(user, "id_number", ""))
    return key in (SharedData.ID_CARD, SharedData.HOUSEHOLD, SharedData.SOCIAL_SECURITY) and has_id


def consent_source(app: Application) -> tuple[str, int]:
    """How the consent register names an application (accounts.consents)."""
    return (Application._meta.label_lower, app.pk)


def shared_consents(app: Application) -> set[str]:
    """The shared data the applicant currently consents to for this application (免提交)."""
    return consents.active_data(app.applicant_id, consent_source(app))


# --- the staff queue ---


@dataclass
class QueueFilters:
    state: str = ""
    due: str = ""  # "", overdue, warning, stopped, deficiency_missed
    department: int | None = None
    item: str = ""
    number: str = ""


def queue(actor: Any, filters: QueueFilters, today: date) -> QuerySet[Application]:
    """Open applications in the actor's scope, the nearest due date first.

    Filters are plain column conditions: `due` compares the stored due date with boundaries
    computed once (the date `warning` working days ahead), so the database does the counting.
    """
    require(actor, "onestop.view")
    qs = Application.objects.filter(staff_scope_by_ids(actor), state__in=OPEN_STATES, due_date__isnull=False)
    if filters.state and filters.state in OPEN_STATES:
        qs = qs.filter(state=filters.state)
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    if filters.item:
        qs = qs.filter(item__code=filters.item[:12])
    if filters.number:
        qs = qs.filter(number__startswith=filters.number.strip()[:48])
    if filters.due == Due.OVERDUE:
        qs = qs.filter(due_date__lt=today, stopped_since__isnull=True)
    elif filters.due == Due.WARNING:
        warning = ruleset_for(None, today, prefix="onestop.")["onestop.countdown_warning_working_days"]
        edge = workcalendar.add_working_days(today, warning)
        qs = qs.filter(due_date__gte=today, due_date__lte=edge, stopped_since__isnull=True)
    elif filters.due == Due.STOPPED:
        qs = qs.filter(stopped_since__isnull=False)
    elif filters.due == Due.DEFICIENCY_MISSED:
        # Application.deficiency_overdue as columns: flagged, still awaited, not decided yet.
        qs = qs.filter(
            deficiency_missed_on__isnull=False, deficiency_due__isnull=False, state__in=DEFICIENCY_STATES
        )
    return qs.select_related("item", "department").only(*QUEUE_FIELDS).order_by("due_date", "id")


QUEUE_FIELDS = (
    "id",
    "number",
    "state",
    "due_date",
    "stopped_since",
    "deficiency_due",
    "deficiency_missed_on",
    "item__name",
    "item__code",
    "department__name",
    "department__short_name",
)
COUNT_CAP = 10_000


@dataclass
class QueuePage:
    """One page of the queue; the total is counted up to COUNT_CAP (beyond: "more than")."""

    rows: list[Application]
    number: int
    size: int
    count: int
    more: bool

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def queue_page(qs: QuerySet[Application], number: int, size: int = 50) -> QueuePage:
    """Count (capped: an exact count of 100,000 rows costs more than the page itself) and one page."""
    counted = qs.order_by()[: COUNT_CAP + 1].count()
    more = counted > COUNT_CAP
    count = min(counted, COUNT_CAP)
    pages = max(1, -(-count // size))
    number = max(1, min(number, pages))
    start = (number - 1) * size
    return QueuePage(list(qs[start : start + size]), number, size, count, more)


@dataclass
class Countdown:
    days_left: int | None
    flag: str

    @property
    def overdue_days(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


def countdown(app: Application, today: date, warning: int) -> Countdown:
    """Working days left for one row of the page shown (the calendar is in memory)."""
    if app.stopped_since is not None:
        return Countdown(None, Due.STOPPED)
    if app.due_date is None:
        return Countdown(None, Due.OK)
    try:
        left = R.working_days_left(app.due_date, today, workcalendar.working_days_between)
    except Exception:  # a due date past the known calendar years: shown without a count
        return Countdown(None, Due.OK)
    return Countdown(left, R.due_flag(left, warning))


# --- public tracking (办件进度查询) ---


def track(number: str, code: str) -> Application:
    """The application for a number and its check code; 404 alike for an unknown number or a
    wrong code (the comparison runs either way, in constant time)."""
    number, code = str(number).strip()[:48], str(code).strip().upper()[:8]
    app = (
        Application.objects.select_related("item", "department")
        .filter(number=number)
        .exclude(state=State.DRAFT)
        .first()
        if number
        else None
    )
    expected = app.check_code if app is not None else "!" * 6
    if not hmac.compare_digest(expected.encode(), code.encode()) or app is None:
        raise NotFound(_not_found_message())
    return app


def _not_found_message() -> str:
    from django.utils.translation import gettext as _

    return _("未找到该办件，请核对办件编号和查询码。")
