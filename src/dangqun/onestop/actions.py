"""Every change of the catalog and of applications (DESIGN.md: actions).

Each action runs under transaction.atomic, checks permission, applies `rules`, saves with
update_fields, records the transition (Event: who, when, from, to, note), writes one audit event
and schedules notifications after commit. Legal sources are in each docstring; the numbers come
from the rule set (core/rules_data/onestop.json).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from dangqun.accounts import consents
from dangqun.certs.actions import do_issue_certificate
from dangqun.certs.catalog import CERT_TYPES
from dangqun.certs.models import Certificate
from dangqun.core import workcalendar
from dangqun.core.audit import audit
from dangqun.core.errors import NotFound, PermissionDenied, RuleViolation, Violation, raise_if_any
from dangqun.core.permissions import has_perm, require
from dangqun.core.rulesets import ruleset_for
from dangqun.core.validators import mask_id_number, validate_credit_code

from . import expr, search, uploads
from . import process as review_flow
from . import rules as R
from .choices import (
    DEFICIENCY_STATES,
    Channel,
    CrossRegion,
    HandlingMode,
    ItemStatus,
    LifeEvent,
    Outcome,
    SharedData,
    State,
    StopReason,
    TaskState,
)
from .models import (
    Application,
    ApplicationMaterial,
    Authorization,
    ClockStop,
    CorrectionNotice,
    Event,
    Extension,
    Material,
    ReviewTask,
    SearchMiss,
    SerialCounter,
    ServiceItem,
)
from .queries import (
    application_certificate,
    can_decide,
    can_handle,
    certificate_source,
    consent_source,
    is_applicant_side,
    shared_available,
    shared_consents,
)

CHECK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a window
CONSEQUENCE_MAX = 500  # 容缺: the stated consequence of a missed deadline, in characters


def _today(on: date | None) -> date:
    return on or timezone.localdate()


# =============================================================================================
# Catalog
# =============================================================================================

ITEM_FIELDS = (
    "code",
    "implementation_code",
    "name",
    "department",
    "receiving_org",
    "implementer_credit_code",
    "legal_basis",
    "item_type",
    "level",
    "handling_mode",
    "statutory_limit_days",
    "promised_limit_days",
    "limit_note",
    "conditions",
    "service_objects",
    "is_free",
    "fees",
    "channels",
    "cross_region",
    "visits",
    "life_events",
    "keywords",
    "form_schema",
    "process",
    "result_type",
    "result_name",
    "certificate_type",
    "status",
    "address",
    "hours",
    "phone",
)


def _check_item(item: ServiceItem) -> list[Violation]:
    out = [*R.check_schema(item.form_schema), *check_process(item.process)]
    if (
        item.handling_mode != HandlingMode.IMMEDIATE
        and item.statutory_limit_days
        and (item.promised_limit_days > item.statutory_limit_days)
    ):
        out.append(
            Violation(
                "promise_over_statutory",
                _("承诺办结时限不能超过法定办结时限。"),
                field="promised_limit_days",
            )
        )
    bad = [c for c in item.channels if c not in Channel.values]
    if bad:
        out.append(Violation("channel", _("未知的办理渠道：%(c)s") % {"c": "、".join(bad)}, field="channels"))
    bad = [e for e in item.life_events if e not in LifeEvent.values]
    if bad:
        out.append(
            Violation("life_event", _("未知的一件事主题：%(c)s") % {"c": "、".join(bad)}, field="life_events")
        )
    if item.certificate_type:
        out.extend(_check_certificate_type(item))
    if len(item.code) != 12 or len(item.implementation_code) != 31:
        out.append(Violation("item_code", _("基本编码须为 12 位，实施编码须为 31 位。"), field="code"))
    return out


def _check_certificate_type(item: ServiceItem) -> list[Violation]:
    """An item that issues e-certificates names a known type, and its department (the issuer)
    has a valid 统一社会信用代码: told when configuring, not only when the first approval fails."""
    if item.certificate_type not in CERT_TYPES:
        return [
            Violation(
                "certificate_type",
                _("未知的电子证照类型：%(c)s") % {"c": item.certificate_type},
                field="certificate_type",
            )
        ]
    try:
        validate_credit_code(item.department.credit_code)
    except ValidationError:
        return [
            Violation(
                "certificate_issuer",
                _("实施主体“%(org)s”未登记有效的统一社会信用代码，不能签发电子证照。")
                % {"org": item.department.name},
                field="certificate_type",
            )
        ]
    return []


def check_process(process: Any) -> list[Violation]:
    """A review process (run by SpiffWorkflow, process.py): either stages in order, each with
    parallel tasks and an optional `when` condition in the restricted expression language
    (expr.py), or a BPMN document under "bpmn" with its tasks' organizations under "orgs"."""
    if isinstance(process, dict) and process.get("bpmn"):
        return _check_bpmn(process)
    stages = process.get("stages") if isinstance(process, dict) else None
    if not isinstance(stages, list) or not stages:
        return [Violation("process_stages", _("审查流程须至少有一个环节。"), field="process")]
    out: list[Violation] = []
    for i, stage in enumerate(stages, start=1):
        tasks = stage.get("tasks") if isinstance(stage, dict) else None
        if not isinstance(tasks, list) or not tasks:
            out.append(Violation("process_tasks", _("第 %(i)s 个环节没有任务。") % {"i": i}, field="process"))
            continue
        keys = [t.get("key") for t in tasks if isinstance(t, dict)]
        if len(keys) != len(tasks) or len(set(keys)) != len(keys) or not all(keys):
            out.append(
                Violation(
                    "process_keys", _("第 %(i)s 个环节的任务须有不重复的 key。") % {"i": i}, field="process"
                )
            )
        for t in tasks:
            if isinstance(t, dict) and not (
                t.get("org", "department") == "department" or isinstance(t.get("org"), int)
            ):
                out.append(
                    Violation(
                        "process_org",
                        _("第 %(i)s 个环节的任务部门须为 department 或组织编号。") % {"i": i},
                        field="process",
                    )
                )
        if stage.get("when"):
            try:
                expr.parse(stage["when"])
            except expr.ExpressionError as exc:
                out.append(Violation("process_when", f"第 {i} 个环节：{exc}", field="process"))
    if not out:
        out += _check_bpmn(process)
    return out


def _check_bpmn(process: dict) -> list[Violation]:
    if not isinstance(process.get("bpmn", ""), str) or len(process.get("bpmn", "")) > 200_000:
        return [Violation("process_bpmn", _("BPMN 文档须为不超过 200 KB 的文本。"), field="process")]
    orgs = process.get("orgs") or {}
    if not isinstance(orgs, dict) or not all(isinstance(v, int) for v in orgs.values()):
        return [Violation("process_org", _("任务的办理部门须为组织编号。"), field="process")]
    try:
        review_flow.validate(process)
    except review_flow.ProcessError as exc:
        return [Violation("process_bpmn", str(exc), field="process")]
    return []


@transaction.atomic
def do_save_item(
    item: ServiceItem | None,
    *,
    actor: Any,
    materials: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> ServiceItem:
    """Create or change a service item (事项) and, when given, replace its materials.

    Only someone who may configure the item's department (onestop.configure). The version grows
    with every change of a published item; the search columns are recomputed here.
    """
    creating = item is None
    item = item or ServiceItem()
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"unknown item fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(item, name, value)
    require(actor, "onestop.configure", item.department)
    if not creating and fields.get("department") is not None:
        old = ServiceItem.objects.select_related("department").get(pk=item.pk)
        require(actor, "onestop.configure", old.department)
    raise_if_any(_check_item(item))
    dept = item.department
    extras = [
        dept.name,
        dept.short_name,
        item.result_name,
        *(str(LifeEvent(e).label) for e in item.life_events),
    ]
    item.search_name, item.search_text = search.index_texts(item.name, item.keywords, extras)
    if not creating:
        item.version = F("version") + 1
    item.save()
    item.refresh_from_db(fields=["version"])
    if materials is not None:
        existing = {m.name: m for m in item.materials.all()}
        keep = []
        for position, data in enumerate(materials, start=1):
            m = existing.get(data["name"]) or Material(item=item)
            for key, value in data.items():
                setattr(m, key, value)
            m.position = position
            m.save()
            keep.append(m.pk)
        stale = item.materials.exclude(pk__in=keep)
        # Materials already handed in for an application stay (PROTECT); they are only unlisted.
        for m in stale:
            if not ApplicationMaterial.objects.filter(material=m).exists():
                m.delete()
    audit(
        actor,
        "onestop.item.create" if creating else "onestop.item.change",
        item,
        code=item.code,
        version=item.version,
    )
    search.catalog_changed()
    return item


def do_record_search_miss(query: str, filters: dict[str, Any], on: date | None = None) -> None:
    """Count a search with no result for the feedback team's "searched but not found" chart.

    Not audited (a public read, not a change of anyone's data); one row per query and day.
    """
    q = search.normalize(query)[:100]
    if not q:
        return
    day = _today(on)
    with transaction.atomic():
        updated = SearchMiss.objects.filter(query=q, day=day).update(
            count=F("count") + 1, last_filters=filters
        )
        if not updated:
            try:
                with transaction.atomic():
                    SearchMiss.objects.create(query=q, day=day, count=1, last_filters=filters)
            except IntegrityError:  # another request created it meanwhile
                SearchMiss.objects.filter(query=q, day=day).update(count=F("count") + 1)


# =============================================================================================
# Applications: drafts, materials, submission
# =============================================================================================


def _lock(app: Application) -> Application:
    """The application row, locked until the end of the transaction (fresh from the database)."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("item", "department", "receiving_org", "authorization", "applicant")
        .get(pk=app.pk)
    )


def _event(
    app: Application,
    actor: Any,
    action: str,
    from_state: str = "",
    note: str = "",
    *,
    public: bool = True,
    announce: bool = False,
    **data: Any,
) -> Event:
    """Record one step of the application; `announce`: tell the applicant after commit.

    The event row carries `pending_announce` in the same transaction, so an announcement lost
    on the way (a killed worker, the queue down) is found and sent by tasks.sweep_unannounced.
    """
    is_user = getattr(actor, "pk", None) is not None
    event = Event.objects.create(
        application=app,
        actor=actor if is_user else None,
        actor_label=(getattr(actor, "full_name", "") or getattr(actor, "username", ""))
        if is_user
        else str(actor),
        action=action,
        from_state=from_state,
        to_state=app.state,
        note=note,
        public=public,
        pending_announce=announce,
        data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()},
    )
    if announce:
        from .tasks import announce as announce_task

        app_id, event_id = app.pk, event.pk
        transaction.on_commit(lambda: announce_task(app_id, event_id))
    return event


def _require_applicant(actor: Any, app: Application) -> None:
    if not is_applicant_side(actor, app):
        raise NotFound()


def _prefill(schema: dict, user: Any) -> dict:
    values = {}
    for f in schema.get("fields", []):
        source = f.get("prefill")
        if source in ("full_name", "id_number", "phone", "email"):
            value = getattr(user, source, "")
            if value:
                values[f["name"]] = value
    return values


@transaction.atomic
def do_authorize_agent(
    *,
    principal: Any,
    item: ServiceItem,
    org: Any,
    valid_until: date,
    basis: str,
    actor: Any,
    on: date | None = None,
) -> Authorization:
    """帮办代办: record the resident's authorization for this staff member and this item.

    The staff member acts from a window or department where they may handle the item; the
    authorization is visible to the resident, who may revoke it at any time (onestop.md §3).
    """
    require(actor, "onestop.handle", org)
    today = _today(on)
    problems = []
    if not basis.strip():
        problems.append(
            Violation(
                "basis_missing", _("请写明授权方式（例如：本人到窗口签署的授权委托书）。"), field="basis"
            )
        )
    if valid_until < today:
        problems.append(Violation("valid_until_past", _("授权有效期不能早于今天。"), field="valid_until"))
    elif valid_until > today + timedelta(days=366):
        problems.append(Violation("valid_until_long", _("授权有效期最长一年。"), field="valid_until"))
    if item.status != ItemStatus.ACTIVE:
        problems.append(Violation("item_inactive", _("该事项暂停或已取消办理。"), field="item"))
    if principal.pk == actor.pk:
        problems.append(Violation("self_authorization", _("不能为自己办理帮办授权。"), field="principal"))
    raise_if_any(problems)
    auth = Authorization.objects.create(
        agent=actor, principal=principal, item=item, org=org, valid_until=valid_until, basis=basis.strip()
    )
    audit(
        actor, "onestop.authorization.create", auth, principal=principal.pk, item=item.code, until=valid_until
    )
    from dangqun.core.notifications import notify

    pk = auth.pk
    transaction.on_commit(
        lambda: notify(
            [principal],
            f"onestop:auth:{pk}",
            _("帮办授权：%(item)s") % {"item": item.name},
            _("%(agent)s 将代您办理“%(item)s”，有效期至 %(d)s。如非本人意愿，请在“我的办件”中撤销。")
            % {"agent": actor.full_name or actor.username, "item": item.name, "d": valid_until.isoformat()},
        )
    )
    return auth


@transaction.atomic
def do_revoke_authorization(auth: Authorization, *, actor: Any) -> Authorization:
    """The resident (or the agent) ends an authorization; later actions under it are refused."""
    auth = Authorization.objects.select_for_update().get(pk=auth.pk)
    if actor.pk not in (auth.principal_id, auth.agent_id):
        raise NotFound()
    if auth.revoked_at is None:
        auth.revoked_at = timezone.now()
        auth.save(update_fields=["revoked_at"])
        audit(actor, "onestop.authorization.revoke", auth)
    return auth


@transaction.atomic
def do_start_application(
    item: ServiceItem,
    *,
    actor: Any,
    authorization: Authorization | None = None,
    channel: str = Channel.WEB,
    on: date | None = None,
) -> Application:
    """A new draft (草稿) for `item`, its form pre-filled from the applicant's profile.

    A resident applies for themself (onestop.apply); staff apply for a resident only under that
    resident's valid authorization for this item (帮办代办).
    """
    today = _today(on)
    if item.status != ItemStatus.ACTIVE:
        raise RuleViolation("item_inactive", _("该事项目前暂停或已取消办理，不能申请。"))
    if authorization is not None:
        if authorization.agent_id != actor.pk or authorization.item_id != item.pk:
            raise PermissionDenied(_("这份帮办授权不是授予您办理此事项的。"))
        if not authorization.is_valid_on(today):
            raise RuleViolation("authorization_invalid", _("帮办授权已过期或已被撤销。"))
        require(actor, "onestop.handle", authorization.org)
        applicant = authorization.principal
        channel = Channel.WINDOW
    else:
        require(actor, "onestop.apply")
        applicant = actor
    app = Application.objects.create(
        item=item,
        item_version=item.version,
        applicant=applicant,
        created_by=actor,
        authorization=authorization,
        department=item.department,
        receiving_org=authorization.org if authorization is not None else item.receiving_org,
        channel=channel,
        form_data=_prefill(item.form_schema, applicant),
    )
    _event(app, actor, "create", note="帮办代办" if authorization else "", public=False)
    audit(actor, "onestop.application.create", app, item=item.code, assisted=authorization is not None)
    return app


@transaction.atomic
def do_save_draft(
    app: Application, data: dict[str, Any], *, actor: Any
) -> tuple[Application, list[Violation]]:
    """Save the form as the user goes (autosave): keep everything typed, report problems, refuse nothing.

    Drafts are not legal acts: not audited (an autosave every few seconds would flood the chain).
    """
    app = _lock(app)
    _require_applicant(actor, app)
    if app.state not in (State.DRAFT, State.CORRECTING):
        raise RuleViolation("not_editable", _("已提交的申请不能再修改表单。"))
    cleaned, problems = R.clean_form(app.item.form_schema, data, partial=True)
    merged = {**app.form_data, **cleaned}
    for f in app.item.form_schema.get("fields", []):
        if f["name"] in data and f["name"] not in cleaned:
            merged.pop(f["name"], None)  # emptied by the user
    app.form_data = merged
    app.save(update_fields=["form_data", "updated_at"])
    return app, problems


def _material_of(app: Application, material_id: Any) -> Material:
    try:
        return Material.objects.get(pk=int(material_id), item_id=app.item_id)
    except (Material.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound() from None


def _noticed_ids(app: Application) -> set[int]:
    notice = app.notices.filter(resolved_on__isnull=True).first()
    return {i["material_id"] for i in (notice.items if notice else []) if i.get("material_id")}


def _can_change_material(app: Application, material: Material) -> bool:
    if app.state == State.DRAFT:
        return True
    if app.state == State.CORRECTING:
        return material.pk in _noticed_ids(app)
    # 容缺: the missing minor materials are handed in after acceptance.
    return app.deficiency_due is not None and app.state in (State.ACCEPTED, State.REVIEWING)


@transaction.atomic
def do_upload_material(
    app: Application, material: Material, *, data: bytes, filename: str, actor: Any
) -> ApplicationMaterial:
    """Attach a file for one material after checking type, size and pages from its bytes.

    A refused file leaves nothing behind: the checks run before anything is written; the file is
    written once the checks passed and removed again if the database write fails; a replaced
    file is deleted only after the transaction commits.
    """
    app = _lock(app)
    _require_applicant(actor, app)
    if material.item_id != app.item_id:
        raise NotFound()
    if not _can_change_material(app, material):
        raise RuleViolation("material_locked", _("当前状态下不能更换这份材料。"))
    checked = uploads.check_file(
        data,
        allowed=material.kinds(),
        max_size_kb=material.max_size_kb,
        max_pages=material.max_pages,
        material=material.name,
    )
    name = default_storage.save(
        f"onestop/{timezone.now():%Y/%m}/{app.pk}-{material.pk}-{checked.sha256[:16]}.{checked.kind}",
        ContentFile(data),
    )
    try:
        with transaction.atomic():
            row = ApplicationMaterial.objects.filter(application=app, material=material).first()
            old_name = row.file.name if row is not None and row.file else ""
            row = row or ApplicationMaterial(application=app, material=material)
            row.file.name = name
            row.original_name = (filename or "")[:200]
            row.kind, row.size, row.pages, row.sha256 = (
                checked.kind,
                checked.size,
                checked.pages,
                checked.sha256,
            )
            row.from_shared = False
            row.defect = ""
            row.save()
    except Exception:
        default_storage.delete(name)
        raise
    if old_name and old_name != name:
        transaction.on_commit(lambda: default_storage.delete(old_name))
    audit(
        actor,
        "onestop.material.upload",
        app,
        material=material.pk,
        size=checked.size,
        pages=checked.pages,
        kind=checked.kind,
    )
    _clear_supplied_deficiency(app, actor)
    return row


def _clear_supplied_deficiency(app: Application, actor: Any) -> bool:
    """The last 容缺 material arrived (uploaded or shared): nothing is awaited any more, the
    approval is no longer blocked. `late`: it came after the 容缺逾期 flag was raised."""
    if app.deficiency_due is None or _missing_materials(app, include_deficient=True):
        return False
    app.deficiency_due = None
    app.save(update_fields=["deficiency_due", "updated_at"])
    _event(
        app,
        actor,
        "deficiency_supplied",
        app.state,
        _("容缺材料已补齐"),
        late=app.deficiency_missed_on is not None,
    )
    return True


def _shared_name(key: str) -> str:
    """The name of a kind of shared data in the default language (a record, not a screen)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(SharedData(key).label)


def _record_shared_consent(app: Application, key: str, *, actor: Any, new: bool = False) -> Any:
    """The applicant's consent to 免提交 of `key` for this application (个人信息保护法 第十四条)."""
    data_name = _shared_name(key)
    return consents.record_consent(
        app.applicant,
        data=key,
        data_name=data_name,
        purpose=f"办理《{app.item.name}》：使用平台已有的{data_name}代替上传",
        recipient=app.department,
        source=consent_source(app),
        reference=app.number or "",
        actor=actor,
        new_source=new,
    )


@transaction.atomic
def do_use_shared_material(
    app: Application, material: Material, *, actor: Any, consent: bool = False
) -> ApplicationMaterial:
    """免提交: use the data the platform already holds instead of an upload (国务院令第716号 第七条).

    Only with the applicant's explicit consent in this request (`consent`, 个人信息保护法 第十四条),
    recorded in the consent register in this transaction: once per application and data while it
    is not withdrawn.
    """
    app = _lock(app)
    _require_applicant(actor, app)
    if material.item_id != app.item_id:
        raise NotFound()
    if not material.shared or not shared_available(app.applicant, material.shared):
        raise RuleViolation("shared_unavailable", _("平台暂未掌握“%(m)s”，请上传。") % {"m": material.name})
    if not _can_change_material(app, material):
        raise RuleViolation("material_locked", _("当前状态下不能更换这份材料。"))
    if not consent:
        raise RuleViolation(
            "consent_required",
            _("使用平台已有的%(d)s须经您同意：请勾选“我同意……”后再选择免提交；不同意的，请上传“%(m)s”。")
            % {"d": SharedData(material.shared).label, "m": material.name},
            field="consent",
            details={"data": material.shared},
        )
    given = _record_shared_consent(app, material.shared, actor=actor)
    row = ApplicationMaterial.objects.filter(application=app, material=material).first()
    old_name = row.file.name if row is not None and row.file else ""
    row = row or ApplicationMaterial(application=app, material=material)
    row.file.name = ""
    row.original_name, row.kind, row.size, row.pages, row.sha256 = "", "", 0, 0, ""
    row.from_shared, row.defect = True, ""
    row.save()
    if old_name:
        transaction.on_commit(lambda: default_storage.delete(old_name))
    audit(
        actor, "onestop.material.shared", app, material=material.pk, source=material.shared, consent=given.pk
    )
    _clear_supplied_deficiency(app, actor)
    return row


@transaction.atomic
def do_remove_material(app: Application, material: Material, *, actor: Any) -> None:
    app = _lock(app)
    _require_applicant(actor, app)
    if app.state != State.DRAFT:
        raise RuleViolation("material_locked", _("已提交的申请不能删除材料。"))
    row = ApplicationMaterial.objects.filter(application=app, material=material).first()
    if row is not None:
        old_name = row.file.name if row.file else ""
        row.delete()
        if old_name:
            transaction.on_commit(lambda: default_storage.delete(old_name))


def _missing_materials(app: Application, *, include_deficient: bool = False) -> list[Material]:
    """Required materials with neither a file nor shared data (容缺 ones only if asked)."""
    have = set(ApplicationMaterial.objects.filter(application=app).values_list("material_id", flat=True))
    out = []
    for m in app.item.materials.all():
        if not m.required or m.pk in have:
            continue
        if m.deficiency_allowed and not m.core and not include_deficient:
            continue
        out.append(m)
    return out


def next_serial(prefix: str, day: date) -> int:
    """One more serial for (prefix, day), safe under concurrency, in one statement.

    INSERT … ON CONFLICT DO UPDATE … RETURNING (PostgreSQL; SQLite ≥ 3.35): the conflicting row is
    locked and incremented atomically, so concurrent submissions get consecutive serials.
    """
    table = connection.ops.quote_name(SerialCounter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, day, last) VALUES (%s, %s, 1) "  # noqa: S608 — the model's table
            f"ON CONFLICT (prefix, day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [prefix, connection.ops.adapt_datefield_value(day)],
        )
        return cursor.fetchone()[0]


def _number_application(pk: int, prefix: str, day: date) -> str:
    """Allocate the day's next serial and write the number (办件编号) onto the application.

    PostgreSQL does both in one statement (a data-modifying CTE); elsewhere two statements.
    """
    if connection.vendor != "postgresql":
        number = R.application_number(prefix, day, next_serial(prefix, day))
        Application.objects.filter(pk=pk).update(number=number)
        return number
    counters = connection.ops.quote_name(SerialCounter._meta.db_table)
    apps = connection.ops.quote_name(Application._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH s AS (INSERT INTO {counters} (prefix, day, last) VALUES (%s, %s, 1) "  # noqa: S608 — model tables
            f"ON CONFLICT (prefix, day) DO UPDATE SET last = {counters}.last + 1 RETURNING last) "
            f"UPDATE {apps} SET number = %s || lpad(s.last::text, 4, '0') FROM s WHERE {apps}.id = %s "
            f"RETURNING {apps}.number",
            [prefix, day, f"{prefix}{day:%Y%m%d}", pk],
        )
        return cursor.fetchone()[0]


def _apply_deadlines(app: Application, notice_days: int | None = None) -> None:
    """Recompute the stored deadlines and the queue's due date from the clock facts."""
    if notice_days is None:
        notice_days = ruleset_for(app.department, app.received_on, prefix="onestop.")[
            "onestop.notice_working_days"
        ]
    d = R.deadlines(
        app.received_on,
        promised=app.promised_days,
        decision=app.decision_days,
        notice=notice_days,
        stopped_days=app.stopped_days,
        extension_days=app.extension_days,
        add_days=workcalendar.add_working_days,
    )
    app.notice_due, app.promised_due, app.decision_due = d.notice_due, d.promised_due, d.decision_due
    if app.state == State.SUBMITTED and app.accepted_on is None:
        # Accept or notify within 5 working days. Back from a timely correction, the days the
        # clock stood still do not count either: the corrected application is not overdue the
        # moment it comes back (without a notice, stopped_days is 0 and this is notice_due).
        accept_due = (
            workcalendar.add_working_days(app.received_on, notice_days + app.stopped_days)
            if app.stopped_days
            else d.notice_due
        )
        app.due_date = min(accept_due, d.promised_due)
    elif app.state == State.DECIDED:
        app.due_date = app.delivery_due
    else:
        app.due_date = d.promised_due


DEADLINE_FIELDS = ["notice_due", "promised_due", "decision_due", "due_date"]


@dataclass
class Submitted:
    application: Application
    replayed: bool  # True: a retry of a submission already made (nothing new was created)


@transaction.atomic
def do_submit_application(
    app: Application, *, actor: Any, undertaking: str = "", on: date | None = None
) -> Submitted:
    """Hand in the application: every problem at once, then a number, a check code and the promised
    completion date = add_working_days(day of submission, promised limit) (onestop.md §2).

    Idempotent: the draft row is locked, so a retried or doubled submit finds it submitted and
    returns it unchanged (`replayed`), never a second application.
    """
    app = _lock(app)
    _require_applicant(actor, app)
    if app.state != State.DRAFT:
        if app.number:
            return Submitted(app, True)
        raise RuleViolation("not_draft", _("这份申请已不是草稿。"))
    rows = list(ApplicationMaterial.objects.filter(application=app).values_list("material_id", "from_shared"))
    have = {material_id for material_id, _shared in rows}
    shared = {material_id for material_id, from_shared in rows if from_shared}
    problems = _shared_without_consent(app, shared) if shared else []
    _finish_submission(app, have, actor=actor, undertaking=undertaking, on=on, extra=problems)
    if shared:
        consents.set_reference(consent_source(app), app.number)
    return Submitted(app, False)


def _shared_without_consent(app: Application, material_ids: set[int]) -> list[Violation]:
    """Shared materials whose consent was withdrawn (or never given): they may not be used
    (个人信息保护法 第十五条); the applicant consents again or uploads the material."""
    given = shared_consents(app)
    return [
        Violation(
            "consent_missing",
            _(
                "使用平台已有的%(d)s须经您同意（尚未同意或已撤回）：请重新勾选同意并选择免提交，或上传“%(m)s”。"
            )
            % {"d": SharedData(m.shared).label, "m": m.name},
            field=f"material-{m.pk}",
            details={"material_id": m.pk, "data": m.shared},
        )
        for m in Material.objects.filter(pk__in=material_ids).order_by("position", "pk")
        if m.shared not in given
    ]


def _finish_submission(
    app: Application,
    have: set[int],
    *,
    actor: Any,
    undertaking: str,
    on: date | None,
    materials: list[Material] | None = None,
    then: Any = None,
    extra: list[Violation] | None = None,
) -> Application:
    """The checks and facts of a submission, shared by the draft path and the one-call API path:
    every problem at once; the limits and the deadlines; the row; the number and the check code;
    the event, the audit and the announcement. `have`: the materials handed in (uploaded or
    shared); `then(app)` runs once the row exists (the one-call path adds its materials);
    `extra`: the caller's own problems, reported with the others (shared data without consent).

    The serial is allocated last, just before commit: its counter row is locked from that
    statement to the end of the transaction, so concurrent submissions of one item wait for a
    few statements only, not for the whole submission.
    """
    item = app.item
    if item.status != ItemStatus.ACTIVE:
        raise RuleViolation("item_inactive", _("该事项目前暂停或已取消办理，不能提交。"))
    today = _today(on)
    cleaned, problems = R.clean_form(item.form_schema, app.form_data)
    problems = [*(extra or []), *problems]
    listed = materials if materials is not None else list(item.materials.all())
    required = [m for m in listed if m.required and m.pk not in have]
    missing = [m for m in required if not (m.deficiency_allowed and not m.core)]
    deficient = [m for m in required if m.deficiency_allowed and not m.core]
    for m in missing:
        problems.append(
            Violation(
                "material_missing",
                _("请提交“%(m)s”。") % {"m": m.name},
                field=f"material-{m.pk}",
                details={"material_id": m.pk},
            )
        )
    if deficient and not undertaking.strip():
        names = "、".join(m.name for m in deficient)
        problems.append(
            Violation(
                "undertaking_missing",
                _("以下材料可容缺受理，但须签署补齐承诺：%(m)s。") % {"m": names},
                field="undertaking",
                details={"material_ids": [m.pk for m in deficient]},
            )
        )
    raise_if_any(problems)
    rules = ruleset_for(app.department, today, prefix="onestop.")
    limits = R.limits_for(item.handling_mode, item.statutory_limit_days, item.promised_limit_days, rules)
    app.form_data = cleaned
    app.received_on = today
    app.submitted_at = timezone.now()
    app.promised_days, app.decision_days, app.max_extension_days = (
        limits.promised,
        limits.decision,
        limits.max_extension,
    )
    app.check_code = "".join(secrets.choice(CHECK_CODE_ALPHABET) for _ in range(6))
    if deficient:
        app.undertaking = undertaking.strip()
        app.undertaking_signed_at = timezone.now()
    from_state = app.state
    app.submit()
    _apply_deadlines(app, notice_days=limits.notice)
    app.save()
    if then is not None:
        then(app)
    _event(
        app,
        actor,
        "submit",
        from_state,
        promised_due=app.promised_due,
        deficient=[m.name for m in deficient],
        announce=True,
    )
    app.number = _number_application(app.pk, item.implementation_code, today)
    audit(actor, "onestop.application.submit", app, number=app.number, promised_due=app.promised_due)
    return app


def do_create_and_submit(
    item: ServiceItem,
    form: dict[str, Any],
    *,
    actor: Any,
    idempotency_key: str | None,
    shared: bool = True,
    consent: bool = False,
    undertaking: str = "",
    on: date | None = None,
    materials: list[Material] | None = None,
) -> Submitted:
    """One call for API clients: the form and the shared materials, submitted (no draft stage).
    Using shared materials needs `consent` (个人信息保护法 第十四条), else nothing is submitted.

    With an Idempotency-Key, a retry (even one racing the first request) returns the application
    made the first time: the key is unique per client, and a losing racer reads the winner's row.
    """
    key = (idempotency_key or "").strip()[:80] or None
    # No lookup first: a new key (the common case) costs nothing extra; a replayed key fails the
    # unique constraint at the INSERT, early in the transaction, and reads the first answer.
    try:
        with transaction.atomic():
            return Submitted(
                _create_submitted(
                    item,
                    form,
                    actor=actor,
                    key=key,
                    shared=shared,
                    undertaking=undertaking,
                    on=on,
                    materials=materials,
                    consent=consent,
                ),
                False,
            )
    except IntegrityError:
        if key is None:
            raise
        # The key was used before (a retry, or a concurrent request that won the unique
        # constraint): answer with that application.
        existing = _by_key(actor, key)
        if existing is None:
            raise
        return _replay(existing, item)
    except RuleViolation:
        # A retry of a submission that was accepted, refused now (e.g. the item was suspended in
        # between): the first answer still stands.
        existing = _by_key(actor, key) if key is not None else None
        if existing is None:
            raise
        return _replay(existing, item)


def _create_submitted(
    item: ServiceItem,
    form: dict[str, Any],
    *,
    actor: Any,
    key: str | None,
    shared: bool,
    undertaking: str,
    on: date | None,
    materials: list[Material] | None = None,
    consent: bool = False,
) -> Application:
    """The one-call path: the application is inserted already submitted, with its shared
    materials, in one transaction (no draft round trips: this is the hot path of API clients).
    `materials`: the item's, when the caller holds them already (queries.item_for_submission).
    Shared materials need the applicant's explicit `consent` (个人信息保护法 第十四条), recorded
    in the consent register in the same transaction."""
    require(actor, "onestop.apply")
    app = Application(
        item=item,
        item_version=item.version,
        applicant=actor,
        created_by=actor,
        department=item.department,  # loaded with the item (queries.access_item)
        receiving_org=item.receiving_org,
        channel=Channel.WEB,
        idempotency_key=key,
    )
    cleaned, _problems = R.clean_form(
        item.form_schema, {**_prefill(item.form_schema, actor), **form}, partial=True
    )
    app.form_data = cleaned
    materials = list(item.materials.all()) if materials is None else materials
    offered = [m for m in materials if shared and m.shared and shared_available(actor, m.shared)]
    keys = list(dict.fromkeys(m.shared for m in offered))
    problems = []
    if keys and not consent:
        problems.append(
            Violation(
                "consent_required",
                _("使用平台已有的%(d)s代替上传（免提交）须经您明确同意：请在申请中将 consent 设为 true。")
                % {"d": "、".join(str(SharedData(k).label) for k in keys)},
                field="consent",
                details={"data": keys},
            )
        )

    def add_materials(saved: Application) -> None:
        ApplicationMaterial.objects.bulk_create(
            [ApplicationMaterial(application=saved, material=m, from_shared=True) for m in offered]
        )

    app = _finish_submission(
        app,
        {m.pk for m in offered},
        actor=actor,
        undertaking=undertaking,
        on=on,
        materials=materials,
        then=add_materials,
        extra=problems,
    )
    for key in keys:  # same transaction: no shared material without its consent record
        _record_shared_consent(app, key, actor=actor, new=True)
    return app


def _by_key(actor: Any, key: str) -> Application | None:
    return Application.objects.select_related("item").filter(created_by=actor, idempotency_key=key).first()


def _replay(existing: Application, item: ServiceItem) -> Submitted:
    if existing.item_id != item.pk:
        raise RuleViolation(
            "idempotency_key_reused",
            _("这个 Idempotency-Key 已用于另一个事项的申请，请换一个。"),
            {"number": existing.number},
        )
    return Submitted(existing, True)


@transaction.atomic
def do_withdraw(app: Application, *, actor: Any, reason: str = "") -> Application:
    """The applicant withdraws before acceptance (a draft is simply deleted)."""
    app = _lock(app)
    _require_applicant(actor, app)
    if app.state == State.DRAFT:
        app.delete()
        return app
    if app.state not in (State.SUBMITTED, State.CORRECTING):
        raise RuleViolation("withdraw_late", _("已受理的申请不能撤回，请联系办理部门。"))
    from_state = app.state
    app.withdraw()
    app.due_date = None
    _close_clock(app, _today(None))
    app.save()
    _event(app, actor, "withdraw", from_state, reason, announce=True)
    audit(actor, "onestop.application.withdraw", app)
    return app


# =============================================================================================
# Staff: acceptance, one-time notice, review, decision, delivery, clock stops, extensions
# =============================================================================================


def _require_handle(actor: Any, app: Application) -> None:
    if not can_handle(actor, app):
        raise PermissionDenied()


def _require_decide(actor: Any, app: Application) -> None:
    if not can_decide(actor, app):
        raise PermissionDenied(_("只有实施部门可以审查和作出决定（收件窗口不能代为决定）。"))


def _task_org(app: Application, org: Any) -> Any:
    if isinstance(org, int):
        from dangqun.orgs.models import Organization

        return Organization.objects.filter(pk=org).first() or app.department
    return app.department


def _open_ready_tasks(app: Application) -> list[ReviewTask]:
    """Create the review tasks the BPMN process has made ready after the tasks already passed
    (review_flow.ready_tasks replays them); none when the process has ended."""
    flow = app.review_process or app.item.process
    tasks = list(app.tasks.all())
    passed = sorted((t for t in tasks if t.state == TaskState.PASSED), key=lambda t: (t.done_at, t.pk))
    opened = {review_flow.bpmn_id(flow, t.stage, t.key) for t in tasks}
    try:
        ready = review_flow.ready_tasks(
            flow, app.form_data, [review_flow.bpmn_id(flow, t.stage, t.key) for t in passed]
        )
    except review_flow.ProcessError as exc:
        raise RuleViolation(
            "process_error", _("审查流程无法继续，请联系事项管理员：%(e)s") % {"e": exc}
        ) from exc
    new = [
        ReviewTask(application=app, stage=s.stage, key=s.key, name=s.name[:60], org=_task_org(app, s.org))
        for s in ready
        if s.bpmn_id not in opened
    ]
    ReviewTask.objects.bulk_create(new)
    return new


@transaction.atomic
def do_accept(
    app: Application,
    *,
    actor: Any,
    note: str = "",
    deficiency_due: date | None = None,
    deficiency_consequence: str = "",
    on: date | None = None,
) -> Application:
    """受理 (行政许可法 第三十二条). With minor materials missing under a signed undertaking (容缺受理)
    the deadline for them is required, from the day of acceptance to the promised completion date
    (onestop.md §2), and the acceptance states what happens if it is missed: the consequence staff
    write, by default the rule set's (onestop.deficiency_missed_outcome), told to the applicant.
    For 异地代收代办 items received at a window, acceptance is also the forwarding to the competent
    department, which alone decides."""
    app = _lock(app)
    _require_handle(actor, app)
    if app.state != State.SUBMITTED:
        raise RuleViolation("not_submitted", _("只有“已提交”的申请可以受理。"))
    today = _today(on)
    problems: list[Violation | None] = []
    missing = _missing_materials(app)
    if missing:
        problems.append(
            Violation(
                "material_missing",
                _("核心材料不全，不能受理：%(m)s。请出具一次性告知书。")
                % {"m": "、".join(m.name for m in missing)},
            )
        )
    deficient = _missing_materials(app, include_deficient=True)
    stated = R.DeficiencyOutcome("", "")
    if deficient and not missing:
        if not app.undertaking:
            problems.append(Violation("undertaking_missing", _("容缺受理须有申请人签署的承诺。")))
        problems.append(R.check_deficiency_due(deficiency_due, today, app.promised_due))
        stated = R.deficiency_missed_outcome(ruleset_for(app.department, today, prefix="onestop."))
        stated = R.DeficiencyOutcome(stated.outcome, deficiency_consequence.strip() or stated.text)
        if not stated.text:
            problems.append(
                Violation(
                    "deficiency_consequence_missing",
                    _("容缺受理须告知逾期未补齐材料的后果。"),
                    field="deficiency_consequence",
                )
            )
        elif len(stated.text) > CONSEQUENCE_MAX:
            problems.append(
                Violation(
                    "deficiency_consequence_too_long",
                    _("逾期未补齐的后果最多 %(n)s 个字。") % {"n": CONSEQUENCE_MAX},
                    field="deficiency_consequence",
                )
            )
    raise_if_any(problems)
    from_state = app.state
    app.accept()
    if app.accepted_on is None and today > app.notice_due and not app.notices.exists():
        # Neither accepted nor told what was missing within 5 working days: the application
        # counts as accepted from the day the materials arrived (行政许可法 第三十二条).
        app.deemed_accepted, app.accepted_on = True, app.received_on
    app.accepted_on = app.accepted_on or today
    app.deficiency_due = deficiency_due if deficient else None
    app.deficiency_outcome, app.deficiency_consequence = stated.outcome, stated.text  # blank unless 容缺
    if (
        app.receiving_org_id
        and app.item.cross_region == CrossRegion.PROXY
        and not has_perm(actor, "onestop.handle", app.department)
    ):
        app.forwarded_at = timezone.now()
    _apply_deadlines(app)
    app.review_process = app.item.process
    app.save()
    _open_ready_tasks(app)
    _event(
        app,
        actor,
        "accept",
        from_state,
        note,
        deficiency_due=app.deficiency_due,
        deficient=[m.name for m in deficient] if app.deficiency_due else [],
        consequence=app.deficiency_consequence,
        forwarded=app.forwarded_at is not None,
        late=app.deemed_accepted,
        announce=True,
    )
    audit(
        actor,
        "onestop.application.accept",
        app,
        deficiency_due=app.deficiency_due,
        forwarded=app.forwarded_at is not None,
    )
    return app


def flag_missed_deficiencies(today: date | None = None, *, batch: int = 1000) -> int:
    """容缺逾期 (onestop.md §2: missed ⇒ the outcome stated in the notice): once the day after the
    deadline has begun with minor materials still missing, the application is flagged for staff
    (the queue's 容缺逾期), one event records it and the applicant is told the stated consequence.

    Idempotent: the flag is set under the row lock and never cleared, so a second run (or a
    concurrent one) records nothing more. Nothing is decided here: the approval stays blocked
    and staff decide, the decision form offering the stated outcome and words (不予 + reasons).
    Returns how many applications were flagged.
    """
    today = _today(today)
    pending = list(
        Application.objects.filter(
            deficiency_due__isnull=False,
            deficiency_missed_on__isnull=True,
            deficiency_due__lt=today,
            state__in=DEFICIENCY_STATES,
        )
        .order_by("deficiency_due", "id")
        .values_list("pk", flat=True)[:batch]
    )
    system = _("系统")
    flagged = 0
    for pk in pending:
        with transaction.atomic():
            app = (
                Application.objects.select_for_update(of=("self",))
                .select_related("item", "department")
                .filter(pk=pk)
                .first()
            )
            if (
                app is None
                or app.deficiency_missed_on is not None
                or app.state not in DEFICIENCY_STATES
                or not R.deficiency_missed(app.deficiency_due, today)
            ):
                continue
            missing = _missing_materials(app, include_deficient=True)
            if not missing:
                _clear_supplied_deficiency(app, system)
                continue
            app.deficiency_missed_on = today
            app.save(update_fields=["deficiency_missed_on", "updated_at"])
            names = [m.name for m in missing]
            _event(
                app,
                system,
                "deficiency_missed",
                app.state,
                app.deficiency_consequence,
                deficiency_due=app.deficiency_due,
                missing=names,
                outcome=app.deficiency_outcome,
                announce=True,
            )
            audit(
                "onestop.deficiency",
                "onestop.application.deficiency_missed",
                app,
                deficiency_due=app.deficiency_due,
                missing=[m.pk for m in missing],
            )
            flagged += 1
    return flagged


@transaction.atomic
def do_refuse(app: Application, *, actor: Any, reasons: str, on: date | None = None) -> Application:
    """不予受理 with written reasons (行政许可法 第三十二条第一款第一、二项)."""
    app = _lock(app)
    _require_handle(actor, app)
    if app.state != State.SUBMITTED:
        raise RuleViolation("not_submitted", _("只有“已提交”的申请可以不予受理。"))
    if not reasons.strip():
        raise RuleViolation("reasons_missing", _("不予受理须写明理由。"), field="reasons")
    from_state = app.state
    app.refuse()
    app.reasons, app.due_date, app.completed_on = reasons.strip(), None, _today(on)
    app.save()
    _event(app, actor, "refuse", from_state, reasons.strip(), announce=True)
    audit(actor, "onestop.application.refuse", app)
    return app


@transaction.atomic
def do_issue_notice(
    app: Application, items: list[dict[str, Any]], *, actor: Any, on: date | None = None
) -> CorrectionNotice:
    """一次性告知: ONE notice listing every missing or defective material (行政许可法 第三十二条).

    Every required material still missing (容缺 ones too) must be on it. Given within 5 working
    days of receipt, the clock stops until the applicant corrects (挂起, days not counted). Given later, the
    application counts as accepted from the day the materials arrived: that is recorded, and the
    clock keeps running (the office's delay is not the applicant's).
    """
    app = _lock(app)
    _require_handle(actor, app)
    if app.state not in (State.SUBMITTED, State.ACCEPTED, State.REVIEWING):
        raise RuleViolation("notice_state", _("当前状态不能出具补正告知。"))
    if app.notices.exists():
        raise RuleViolation("notice_once", _("一次性告知只能出具一次，此前已告知过。"))
    today = _today(on)
    listed: list[dict[str, Any]] = []
    problems: list[Violation] = []
    materials = {m.pk: m for m in app.item.materials.all()}
    for entry in items:
        problem = str(entry.get("problem", "")).strip()
        mid = entry.get("material_id")
        if mid is not None:
            try:
                mid = int(mid)
            except (TypeError, ValueError):
                mid = -1
            if mid not in materials:
                problems.append(Violation("notice_material", _("告知的材料不属于该事项。")))
                continue
        if not problem:
            problems.append(Violation("notice_problem", _("请写明每一项需要补正的内容。")))
            continue
        listed.append({"material_id": mid, "name": materials[mid].name if mid else "", "problem": problem})
    if not listed:
        problems.append(Violation("notice_empty", _("告知书须至少列出一项需要补正的材料。")))
    listed_ids = {e["material_id"] for e in listed}
    # Everything still missing, 容缺 ones included: the applicant learns it all from one notice.
    not_listed = [m for m in _missing_materials(app, include_deficient=True) if m.pk not in listed_ids]
    if not_listed:
        problems.append(
            Violation(
                "notice_incomplete",
                _("一次性告知须列出全部缺少的材料，还缺：%(m)s。")
                % {"m": "、".join(m.name for m in not_listed)},
                details={"material_ids": [m.pk for m in not_listed]},
            )
        )
    raise_if_any(problems)
    late = R.notice_is_late(
        app.received_on,
        today,
        ruleset_for(app.department, app.received_on, prefix="onestop.")["onestop.notice_working_days"],
        workcalendar.add_working_days,
    )
    notice = CorrectionNotice.objects.create(
        application=app, issued_on=today, items=listed, late=late, issued_by=actor
    )
    for e in listed:
        if e["material_id"]:
            ApplicationMaterial.objects.filter(application=app, material_id=e["material_id"]).update(
                defect=e["problem"]
            )
    from_state = app.state
    if late and app.accepted_on is None:
        app.deemed_accepted, app.accepted_on = True, app.received_on
    elif not late:
        _open_stop(app, StopReason.CORRECTION, today, _("一次性告知，等待补正"))
    app.request_correction()
    _apply_deadlines(app)
    app.save()
    _event(
        app,
        actor,
        "notice",
        from_state,
        "；".join(f"{e['name'] or '其他'}：{e['problem']}" for e in listed),
        late=late,
        announce=True,
    )
    audit(actor, "onestop.application.notice", app, items=len(listed), late=late)
    return notice


@transaction.atomic
def do_correct(app: Application, *, actor: Any, on: date | None = None) -> Application:
    """The applicant hands in the corrections: every noticed material must have been replaced.

    The clock resumes (the stopped working days are added to the deadlines); an application not yet
    accepted goes back to acceptance, one accepted (or deemed accepted) back to review.
    """
    app = _lock(app)
    _require_applicant(actor, app)
    if app.state != State.CORRECTING:
        raise RuleViolation("not_correcting", _("这份申请不在补正中。"))
    notice = app.notices.filter(resolved_on__isnull=True).first()
    today = _today(on)
    still = []
    for e in notice.items if notice else []:
        if e.get("material_id"):
            row = ApplicationMaterial.objects.filter(application=app, material_id=e["material_id"]).first()
            if row is None or row.defect:
                still.append(e["name"])
    raise_if_any(
        [Violation("correction_incomplete", _("以下材料还未按告知补正：%(m)s。") % {"m": "、".join(still)})]
        if still
        else []
    )
    if notice is not None:
        notice.resolved_on = today
        notice.save(update_fields=["resolved_on"])
    _close_clock(app, today)
    from_state = app.state
    if app.accepted_on is not None:
        app.resume_review()
    else:
        app.resubmit()
    _apply_deadlines(app)
    app.save()
    _event(app, actor, "correct", from_state, stopped_days=app.stopped_days, announce=True)
    audit(actor, "onestop.application.correct", app, stopped_days=app.stopped_days)
    return app


def _open_stop(app: Application, reason: str, today: date, note: str) -> None:
    ClockStop.objects.create(application=app, reason=reason, started_on=today, note=note[:300])
    app.stopped_since, app.stop_reason = today, reason


def _close_clock(app: Application, today: date) -> None:
    if app.stopped_since is None:
        return
    stop = app.clock_stops.filter(ended_on__isnull=True).order_by("-id").first()
    days = R.stopped_working_days(app.stopped_since, today, workcalendar.working_days_between)
    if stop is not None:
        stop.ended_on, stop.working_days = today, days
        stop.save(update_fields=["ended_on", "working_days"])
    app.stopped_days += days
    app.stopped_since, app.stop_reason = None, ""


@transaction.atomic
def do_stop_clock(
    app: Application, reason: str, *, actor: Any, note: str = "", on: date | None = None
) -> ClockStop:
    """挂起 for a hearing, testing, expert review or a site check (行政许可法 第四十五条): the days
    until it resumes are not counted, and are shown."""
    app = _lock(app)
    _require_decide(actor, app)
    if app.state not in (State.ACCEPTED, State.REVIEWING):
        raise RuleViolation("stop_state", _("只有受理后、决定前可以挂起。"))
    if reason not in StopReason.values or reason == StopReason.CORRECTION:
        raise RuleViolation(
            "stop_reason", _("请选择挂起原因：听证、检验检测、专家评审或现场核查。"), field="reason"
        )
    if app.stopped_since is not None:
        raise RuleViolation("already_stopped", _("已在挂起中。"))
    today = _today(on)
    _open_stop(app, reason, today, note)
    app.save(update_fields=["stopped_since", "stop_reason", "updated_at"])
    stop = app.clock_stops.order_by("-id").first()
    _event(app, actor, "stop", app.state, note, reason=reason, announce=True)
    audit(actor, "onestop.application.stop", app, reason=reason)
    return stop


@transaction.atomic
def do_resume_clock(app: Application, *, actor: Any, on: date | None = None) -> Application:
    app = _lock(app)
    _require_decide(actor, app)
    if app.stopped_since is None or app.stop_reason == StopReason.CORRECTION:
        raise RuleViolation("not_stopped", _("没有可以恢复的挂起（补正由申请人提交后自动恢复）。"))
    _close_clock(app, _today(on))
    _apply_deadlines(app)
    app.save()
    _event(app, actor, "resume", app.state, stopped_days=app.stopped_days, announce=True)
    audit(actor, "onestop.application.resume", app, stopped_days=app.stopped_days)
    return app


@transaction.atomic
def do_extend(app: Application, days: int, reason: str, *, actor: Any, on: date | None = None) -> Extension:
    """延长办理期限 with recorded reasons: at most 10 working days, 15 for joint handling
    (行政许可法 第四十二条), approved by the competent department."""
    app = _lock(app)
    _require_decide(actor, app)
    if app.state not in (State.ACCEPTED, State.REVIEWING):
        raise RuleViolation("extend_state", _("只有受理后、决定前可以延长期限。"))
    today = _today(on)
    max_times = ruleset_for(app.department, today, prefix="onestop.")["onestop.decision_extension_max_times"]
    found = R.check_extension(
        days,
        app.extension_days,
        app.max_extension_days,
        reason,
        times_done=app.extensions.count(),
        max_times=max_times,
    )
    raise_if_any([found])
    ext = Extension.objects.create(
        application=app, days=days, reason=reason.strip(), approved_by=actor, on=today
    )
    app.extension_days += days
    _apply_deadlines(app)
    app.save()
    _event(
        app,
        actor,
        "extend",
        app.state,
        reason.strip(),
        days=days,
        decision_due=app.decision_due,
        announce=True,
    )
    audit(actor, "onestop.application.extend", app, days=days)
    return ext


@transaction.atomic
def do_review_task(task: ReviewTask, *, passed: bool, opinion: str, actor: Any) -> ReviewTask:
    """Complete one review task (审核 / 批准 / a department's joint review). When every task of a
    stage passed, the next applicable stage opens; a failed task ends the review (decide 不予)."""
    app = _lock(task.application)
    task = ReviewTask.objects.select_for_update().select_related("org").get(pk=task.pk)
    if not has_perm(actor, "onestop.handle", task.org):
        raise PermissionDenied()
    if app.state not in (State.ACCEPTED, State.REVIEWING):
        raise RuleViolation("review_state", _("当前状态不能审查。"))
    if task.state != TaskState.PENDING:
        raise RuleViolation("task_done", _("这项审查任务已经办理。"))
    if not passed and not opinion.strip():
        raise RuleViolation("opinion_missing", _("审查不通过须写明意见。"), field="opinion")
    task.state = TaskState.PASSED if passed else TaskState.FAILED
    task.actor, task.opinion, task.done_at = actor, opinion.strip(), timezone.now()
    task.save(update_fields=["state", "actor", "opinion", "done_at"])
    from_state = app.state
    if app.state == State.ACCEPTED:
        app.begin_review()
        app.save(update_fields=["state", "updated_at"])
    if passed:
        _open_ready_tasks(app)
    else:
        ReviewTask.objects.filter(application=app, state=TaskState.PENDING).update(state=TaskState.SKIPPED)
    _event(app, actor, "review", from_state, opinion.strip(), public=False, task=task.name, passed=passed)
    audit(actor, "onestop.application.review", app, task=task.key, passed=passed)
    return task


def review_complete(app: Application) -> tuple[bool, bool]:
    """(finished, all passed): finished when no task is pending and the last stage was reached."""
    tasks = list(app.tasks.all())
    if any(t.state == TaskState.PENDING for t in tasks):
        return False, False
    failed = any(t.state == TaskState.FAILED for t in tasks)
    return True, not failed and bool(tasks)


@transaction.atomic
def do_decide(
    app: Application, outcome: str, *, actor: Any, reasons: str = "", on: date | None = None
) -> Application:
    """已决定: 准予 after every review task passed (and no 容缺 material outstanding), or 不予 with
    reasons (行政许可法 第三十八条). The result is due within 10 working days (第四十四条)."""
    app = _lock(app)
    _require_decide(actor, app)
    if app.state not in (State.ACCEPTED, State.REVIEWING):
        raise RuleViolation("decide_state", _("只有受理后的申请可以作出决定。"))
    if outcome not in Outcome.values:
        raise RuleViolation("outcome", _("请选择准予或不予。"), field="outcome")
    problems: list[Violation] = []
    if app.stopped_since is not None:
        problems.append(Violation("stopped", _("挂起中的申请须先恢复计时再作决定。")))
    if outcome == Outcome.APPROVED:
        finished, passed = review_complete(app)
        if not (finished and passed):
            problems.append(Violation("review_pending", _("审查尚未全部通过，不能准予。")))
        if app.deficiency_due is not None:
            problems.append(Violation("deficiency_pending", _("容缺材料尚未补齐，不能准予。")))
    elif not reasons.strip():
        problems.append(Violation("reasons_missing", _("不予决定须写明理由。"), field="reasons"))
    raise_if_any(problems)
    today = _today(on)
    from_state = app.state
    app.decide()
    app.outcome, app.reasons, app.decided_on = outcome, reasons.strip(), today
    rules = ruleset_for(app.department, today, prefix="onestop.")
    app.delivery_due = workcalendar.add_working_days(today, rules["onestop.delivery_working_days"])
    app.due_date = app.delivery_due
    ReviewTask.objects.filter(application=app, state=TaskState.PENDING).update(state=TaskState.SKIPPED)
    app.save()
    _event(app, actor, "decide", from_state, reasons.strip(), outcome=outcome, announce=True)
    audit(actor, "onestop.application.decide", app, outcome=outcome)
    if outcome == Outcome.APPROVED:
        # In the decision's transaction: an approval whose certificate cannot be issued (no credit
        # code, no signing key) is not recorded either, and staff see why.
        _issue_result_certificate(app, actor)
    return app


def certificate_data(app: Application) -> tuple[dict[str, str], dict[str, str]]:
    """(holder, data) of an application's e-certificate.

    The holder is named by the applicant's real name only: the PDF then prints the ID number
    masked (what the holder shows to others), never in full. The data names the item, the
    application number and the decision date, so the certificate leads back to the case.
    """
    applicant = app.applicant
    name = (applicant.full_name or str(app.form_data.get("applicant_name", "")) or applicant.username).strip()
    data = {"持证人姓名": name}
    id_number = applicant.id_number or str(app.form_data.get("id_number", ""))
    if id_number:
        data["身份证号"] = mask_id_number(id_number)
    data["办理事项"] = app.item.name
    data["办件编号"] = app.number or ""
    data["决定日期"] = app.decided_on.isoformat() if app.decided_on else ""
    return {"name": name[:60]}, data


def _issue_result_certificate(app: Application, actor: Any) -> Certificate | None:
    """The item's e-certificate for an approved application, at most one per application.

    The certificate's `source` names the application ("onestop.application:<number>"); one
    already issued for it is returned as it is, so a retried call never issues a second. The
    caller holds the application row lock, which orders concurrent calls.
    """
    item = app.item
    if not item.certificate_type or app.outcome != Outcome.APPROVED or not app.number:
        return None
    existing = application_certificate(app)
    if existing is not None:
        return existing
    holder, data = certificate_data(app)
    return do_issue_certificate(
        app.department, item.certificate_type, holder, data, actor=actor, source=certificate_source(app)
    )


@transaction.atomic
def do_issue_result_certificate(app: Application, *, actor: Any) -> Certificate | None:
    """Issue (or find) the e-certificate of an approved application: the retry after a failure
    outside the decision, or for an item given a certificate type after the decision.

    Only the competent department (it signs as the issuer); idempotent: one certificate per
    application. None when the item issues no certificate or the application was not approved.
    """
    app = _lock(app)
    _require_decide(actor, app)
    if app.state not in (State.DECIDED, State.COMPLETED) or app.outcome != Outcome.APPROVED:
        raise RuleViolation("certificate_state", _("只有准予的申请可以签发电子证照。"))
    return _issue_result_certificate(app, actor)


@transaction.atomic
def do_deliver(app: Application, *, actor: Any, note: str = "", on: date | None = None) -> Application:
    """已办结: the result (or the written refusal) was delivered (送达)."""
    app = _lock(app)
    _require_handle(actor, app)
    if app.state != State.DECIDED:
        raise RuleViolation("deliver_state", _("只有已决定的申请可以办结送达。"))
    today = _today(on)
    from_state = app.state
    app.complete()
    app.completed_on, app.due_date = today, None
    app.save()
    _event(app, actor, "deliver", from_state, note, late=today > app.delivery_due, announce=True)
    audit(actor, "onestop.application.deliver", app)
    return app
