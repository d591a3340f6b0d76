"""Insights fixtures: a second department (for scope), items of both, and builders of cases,
ratings, fixes and messages with chosen dates.

Applications, ratings and fixes are written with objects.create here: the statistics are
checked against direct counts of exactly these rows, and the dates they fall on must be
chosen freely (the onestop actions stamp today). One test drives real onestop actions too.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time

import pytest
from django.utils import timezone

from dangqun.accounts.choices import Role
from dangqun.feedback.models import Fix, Message, Rating, Visit
from dangqun.onestop.models import Application, CorrectionNotice
from dangqun.orgs.actions import do_create_organization
from dangqun.orgs.choices import OrgKind
from tests.conftest import make_user
from tests.onestop.conftest import (  # noqa: F401  (fixtures shared with onestop)
    _onestop_env,
    applicant,
    calendar_2027,
    item,
    save_item,
    simple_item,
)

_serial = itertools.count(1)


@pytest.fixture
def other_department(tree, root_admin):
    return do_create_organization(
        name="市场监管所", kind=OrgKind.DEPARTMENT, parent=tree.street, actor=root_admin
    )


@pytest.fixture
def other_admin(other_department):
    return make_user("dept_admin_2", Role.DEPARTMENT_ADMIN, other_department, full_name="郑所长")


@pytest.fixture
def other_item(tree, street_admin, other_department):
    return save_item(
        tree,
        street_admin,
        code="200020001000",
        name="食品经营许可",
        department=other_department,
        keywords="食品 经营",
        materials=[{"name": "营业执照", "shared": "business_license"}, {"name": "场所平面图"}],
    )


def make_app(
    service_item,
    who,
    *,
    received: date | None,
    accepted: date | None = None,
    completed: date | None = None,
    promised: date | None = None,
    channel: str = "web",
    state: str | None = None,
    stopped: int = 0,
    department=None,
) -> Application:
    n = next(_serial)
    if state is None:
        state = "completed" if completed else ("accepted" if accepted else "submitted")
    return Application.objects.create(
        number=f"T{n:010d}",
        item=service_item,
        applicant=who,
        created_by=who,
        department=department or service_item.department,
        receiving_org=service_item.receiving_org,
        channel=channel,
        state=state,
        submitted_at=timezone.now() if received else None,
        received_on=received,
        accepted_on=accepted,
        completed_on=completed,
        promised_due=promised,
        decision_due=promised,
        stopped_days=stopped,
    )


def notice(app: Application, on: date, names: list[str], actor) -> CorrectionNotice:
    return CorrectionNotice.objects.create(
        application=app,
        issued_on=on,
        items=[{"material_id": None, "name": name, "problem": "不清晰"} for name in names],
        issued_by=actor,
    )


def rate(
    unit,
    level: int,
    on: date,
    *,
    app: Application | None = None,
    visit: Visit | None = None,
    about=None,
    channel: str = "web",
    reasons: list[str] | None = None,
    elderly: bool = False,
    enterprise: bool = False,
    rural: bool = False,
) -> Rating:
    return Rating.objects.create(
        mode="case" if app else "visit",
        application=app,
        visit=visit,
        unit=unit,
        item=about if about is not None else (app.item if app else visit.item),
        level=level,
        reasons=reasons or [],
        channel=channel,
        elderly=elderly,
        enterprise=enterprise,
        rural=rural,
        rated_on=on,
    )


def visit(window, unit, staff, on: date, about=None) -> Visit:
    n = next(_serial)
    return Visit.objects.create(
        number=f"V{n:08d}", window=window, unit=unit, staff=staff, item=about, visited_on=on
    )


def at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


def make_fix(rating: Rating, due: date, **fields) -> Fix:
    fix = Fix.objects.create(rating=rating, unit=rating.unit, due=due, **fields)
    return fix


def make_message(author, unit, kind: str = "complaint", **fields) -> Message:
    n = next(_serial)
    return Message.objects.create(
        number=f"M{n:08d}", author=author, kind=kind, title="路灯不亮", body="x", unit=unit, **fields
    )
