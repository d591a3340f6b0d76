"""`dangqun seed_catalog`: the demo catalog (catalog_data.PLANS) on the demo street's departments.

Idempotent: an item whose code exists is left as it is (so an administrator's edits survive a
re-run); `update=True` rewrites the seeded items through the same action. Items are attached to
the 10 departments `dangqun seed` creates (core.seed_plan.DEPARTMENTS) and received at the hall's
综合受理 window (一窗受理), whose staff account `window` thereby sees the demo applications.
A department without a 统一社会信用代码 gets the demo one its items carry: it signs their
e-certificates (ItemPlan.certificate).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError

from dangqun.core.audit import audit
from dangqun.core.seed_plan import DEPARTMENTS, WINDOWS
from dangqun.core.seeding import seeded_street
from dangqun.core.validators import credit_check_char
from dangqun.orgs.actions import do_update_organization
from dangqun.orgs.choices import OrgKind
from dangqun.orgs.models import Organization

from . import rules as R
from .actions import do_save_item
from .catalog_data import PERSON_FIELDS, PLANS, ItemPlan
from .models import ServiceItem

LEVELS = {"dept_huji": "4", "dept_scjg": "4"}  # 派出所、市场监管所 act for the county level
HOURS = "周一至周五 9:00—12:00，13:30—17:00（法定节假日除外）"


class CatalogSeedError(Exception):
    pass


class SeedActor:
    """The seeding process itself: may configure everything, audited as "seed_catalog"."""

    pk = None
    is_active = True
    is_superuser = True
    is_authenticated = False
    username = full_name = "seed_catalog"

    def __str__(self) -> str:
        return "seed_catalog"


@dataclass
class CatalogReport:
    created: int
    updated: int
    skipped: int


def credit_code_for(index: int) -> str:
    """A valid 统一社会信用代码 for the n-th demo department (11 = 机构编制 · 机关, region 330106)."""
    first17 = f"11330106MB{index:07d}"
    return first17 + credit_check_char(first17)


def basic_code(plan: ItemPlan, dept_index: int, serial: int) -> str:
    """12-character 基本编码: item type (2) + department (3) + serial (4) + 000."""
    return f"{plan.item_type}{dept_index:03d}{serial:04d}000"


def _resolve_process(
    process: dict[str, Any] | None, departments: dict[str, Organization]
) -> dict[str, Any] | None:
    if process is None:
        return None
    process = copy.deepcopy(process)
    for stage in process["stages"]:
        for task in stage["tasks"]:
            org = task.get("org", "department")
            if isinstance(org, str) and org.startswith("@"):
                task["org"] = departments[org[1:]].pk
    return process


def wipe_catalog(*, log: Callable[[str], None] = lambda _m: None) -> int:
    """Delete the items of the demo street's departments (before `dangqun seed --reset`). Items
    with applications are protected: then nothing is deleted and the error says why."""
    street = seeded_street()
    if street is None:
        return 0
    lo, hi = street.subtree_range()
    items = ServiceItem.objects.filter(department__path__gte=lo, department__path__lt=hi)
    try:
        with transaction.atomic():
            deleted = items.delete()[1].get(ServiceItem._meta.label, 0)
            audit(SeedActor(), "onestop.item.wipe_demo", street, deleted=deleted)
    except ProtectedError as exc:
        raise CatalogSeedError("演示事项已有办件，不能自动清除；请使用新数据库。") from exc
    log(f"已清除演示事项 {deleted} 项。")
    return deleted


def seed_catalog(*, update: bool = False, log: Callable[[str], None] = lambda _m: None) -> CatalogReport:
    street = seeded_street()
    if street is None:
        raise CatalogSeedError("还没有演示街道：请先运行 dangqun seed。")
    by_name = {
        o.name: o
        for o in Organization.objects.filter(
            path__startswith=street.path, kind__in=[OrgKind.DEPARTMENT, OrgKind.WINDOW, OrgKind.SERVICE_HALL]
        )
    }
    departments = {}
    for key, name, _short in DEPARTMENTS:
        if name not in by_name:
            raise CatalogSeedError(f"演示街道缺少部门“{name}”：请运行 dangqun seed --reset。")
        departments[key] = by_name[name]
    window = by_name.get(WINDOWS[0])
    hall = next((o for o in by_name.values() if o.kind == OrgKind.SERVICE_HALL), None)
    dept_index = {key: i for i, (key, _n, _s) in enumerate(DEPARTMENTS, start=1)}
    serials: dict[str, int] = {}
    existing = set(ServiceItem.objects.values_list("code", flat=True))
    actor = SeedActor()
    created = updated = skipped = 0
    with transaction.atomic():
        for plan in PLANS:
            serials[plan.department] = serials.get(plan.department, 0) + 1
            code = basic_code(plan, dept_index[plan.department], serials[plan.department])
            if code in existing and not update:
                skipped += 1
                continue
            dept = departments[plan.department]
            level = LEVELS.get(plan.department, "5")
            credit = credit_code_for(dept_index[plan.department])
            if not dept.credit_code:
                # The department signs the e-certificates of its items under this code.
                dept = do_update_organization(dept, actor=actor, credit_code=credit)
                departments[plan.department] = dept
            fields: dict[str, Any] = {
                "code": code,
                "implementation_code": R.implementation_code(credit, level, code),
                "name": plan.name,
                "department": dept,
                "receiving_org": window,
                "implementer_credit_code": credit,
                "legal_basis": plan.basis,
                "item_type": plan.item_type,
                "level": level,
                "handling_mode": plan.mode,
                "statutory_limit_days": plan.statutory,
                "promised_limit_days": plan.promised,
                "limit_note": plan.note,
                "conditions": plan.conditions,
                "service_objects": plan.objects,
                "is_free": not plan.fees,
                "fees": plan.fees,
                "channels": plan.channels,
                "cross_region": plan.cross,
                "visits": plan.visits,
                "life_events": plan.life_events,
                "keywords": plan.keywords,
                "form_schema": {"fields": [*copy.deepcopy(PERSON_FIELDS), *copy.deepcopy(plan.fields)]},
                "result_type": plan.result[0],
                "result_name": plan.result[1],
                "certificate_type": plan.certificate,
                "address": (hall.address if hall and hall.address else "") + f" {WINDOWS[0]}",
                "hours": HOURS,
                "phone": (hall.phone if hall and hall.phone else "12345"),
            }
            process = _resolve_process(plan.process, departments)
            if process is not None:
                fields["process"] = process
            materials = [
                {
                    "name": m["name"],
                    "form": m.get("form", "original"),
                    "source": m.get("source", "applicant"),
                    "count": m.get("count", 1),
                    "required": m.get("required", True),
                    "core": m.get("core", True),
                    "deficiency_allowed": m.get("deficiency_allowed", False),
                    "shared": m.get("shared", ""),
                    "allowed_kinds": m.get("allowed_kinds", []),
                    "max_size_kb": m.get("max_size_kb", 10240),
                    "max_pages": m.get("max_pages", 20),
                    "spec": m.get("spec", ""),
                    "note": m.get("note", ""),
                }
                for m in plan.materials
            ]
            item = ServiceItem.objects.filter(code=code).first()
            do_save_item(item, actor=actor, materials=materials, **fields)
            if item is None:
                created += 1
            else:
                updated += 1
    log(f"事项清单：新建 {created} 项，更新 {updated} 项，已存在跳过 {skipped} 项。")
    return CatalogReport(created, updated, skipped)
