"""Personal information rights (个人信息保护法): a copy of one's own data (第四十五条) and deletion
(第四十七条) with legal retention.

The copy is generic: every row of every model that points at the person (a foreign key to the
user), so an app added later is covered without code here. Secrets (password hashes, token
digests, TOTP secrets, blind indexes) are never exported.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from dangqun.core.audit import audit
from dangqun.core.errors import PermissionDenied, RuleViolation

from .consents import withdraw_all
from .models import ApiToken, DeletionRequest, RoleGrant, User

SECRET_FIELDS = frozenset(
    {
        "password",
        "digest",
        "totp_secret",
        "totp_last_step",
        "id_number_index",
        "phone_index",
        "token",
        "prefix",
    }
)
EXPORT_LIMIT = 5000  # rows per table: a person's own data, not a dump
# Kept when a person asks for deletion: records the law requires to keep. The person's contact
# details are removed from them and processing stops except storage (第四十七条第二款).
RETAINED = {
    "onestop.application": "行政许可法 第六十一条、政务服务办件归档要求：办件材料依法归档保存",
    "members.member": "中国共产党党员权利保障条例、党员档案管理规定：党员档案依规保存",
    "core.auditevent": "网络安全法 第二十一条：网络日志留存不少于六个月",
    "feedback.message": "政务服务便民热线工单依法归档保存",
    "onestop.authorization": "帮办代办授权记录随办件保存",
    "accounts.consent": "个人信息保护法 第十四条：同意记录是共享使用依法有据的凭证，随办件保存，同意均已终止",
}
KEPT_WITH_OTHERS = "与依法保存的其他记录相关联，保留但停止处理"
CONTACT_KEYS = ("phone", "mobile", "email", "address", "contact_phone")


def _user_links() -> list[tuple[Any, str]]:
    """(model, field name) of every foreign key to the user model, except the user's own table."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    links = []
    for model in apps.get_models():
        if model is user_model:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is user_model:
                links.append((model, field.name))
    return links


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "name") and hasattr(value, "url"):  # a file field
        return value.name
    return value


def export(user: User) -> dict[str, Any]:
    """Everything the platform holds about `user`, as plain JSON-able data."""
    profile = {
        "username": user.username,
        "full_name": user.full_name,
        "id_number": user.id_number,
        "phone": user.phone,
        "email": user.email,
        "birth_date": _plain(user.birth_date),
        "gender": user.gender,
        "date_joined": _plain(user.date_joined),
        "last_login": _plain(user.last_login),
        "elder_mode": user.elder_mode,
        "language": user.language,
        "two_factor": user.totp_confirmed,
    }
    records: dict[str, list[dict[str, Any]]] = {}
    for model, field in _user_links():
        rows = model._base_manager.filter(**{field: user}).order_by("pk")[:EXPORT_LIMIT]
        names = [f for f in model._meta.concrete_fields if f.name not in SECRET_FIELDS]
        out = [{f.name: _plain(getattr(row, f.attname)) for f in names} for row in rows]
        if out:
            key = f"{model._meta.label_lower}.{field}"
            records[key] = out
    return {
        "exported_at": timezone.now().isoformat(),
        "law": "个人信息保护法 第四十五条",
        "profile": profile,
        "records": records,
    }


def do_request_deletion(user: User, *, reason: str = "", actor: Any) -> DeletionRequest:
    if getattr(actor, "pk", None) != user.pk:
        raise PermissionDenied()
    if DeletionRequest.objects.filter(user=user, state=DeletionRequest.State.PENDING).exists():
        raise RuleViolation("deletion_pending", _("您已提交删除申请，正在处理中。"))
    with transaction.atomic():
        req = DeletionRequest.objects.create(user=user, reason=str(reason or "")[:2000])
        audit(actor, "accounts.deletion.request", req)
    return req


def _minimise(model: Any, field: str, user: User) -> int:
    """Keep the rows; drop the contact details kept inside them (JSON form data)."""
    rows = model._base_manager.filter(**{field: user})
    json_fields = [f.name for f in model._meta.concrete_fields if f.get_internal_type() == "JSONField"]
    if "form_data" in json_fields:
        for row in rows.only("pk", "form_data"):
            data = {k: v for k, v in (row.form_data or {}).items() if k not in CONTACT_KEYS}
            if data != row.form_data:
                model._base_manager.filter(pk=row.pk).update(form_data=data)
    return rows.count()


def do_erase(req: DeletionRequest, *, actor: Any, note: str = "") -> DeletionRequest:
    """Carry out a deletion request (by a street administrator or the system administrator)."""
    if not (getattr(actor, "is_superuser", False) or actor.grants.filter(role="street_admin").exists()):
        raise PermissionDenied()
    with transaction.atomic():
        req = DeletionRequest.objects.select_for_update().select_related("user").get(pk=req.pk)
        if req.state != DeletionRequest.State.PENDING:
            raise RuleViolation("deletion_decided", _("这项申请已经处理过了。"))
        user = req.user
        withdraw_all(user)  # no further use of the person's data on any consent
        deleted: dict[str, int] = {}
        retained: dict[str, dict[str, Any]] = {}
        for model, field in _user_links():
            label = model._meta.label_lower
            qs = model._base_manager.filter(**{field: user})
            if not qs.exists():
                continue
            if label in RETAINED:
                retained[f"{label}.{field}"] = {
                    "rows": _minimise(model, field, user),
                    "basis": RETAINED[label],
                }
            elif model._meta.get_field(field).null and model not in (RoleGrant, ApiToken):
                # A record of something else (a rating, a meeting roll): it stays, without the person.
                deleted[f"{label}.{field} (unlinked)"] = qs.update(**{field: None})
            else:
                try:
                    with transaction.atomic():
                        deleted[f"{label}.{field}"] = qs.delete()[0]
                except (ProtectedError, IntegrityError):
                    retained[f"{label}.{field}"] = {"rows": qs.count(), "basis": KEPT_WITH_OTHERS}
        # The account itself: identity and contact details gone, the row kept for the records above.
        user.full_name = _("已注销用户")
        user.username = f"erased-{user.pk}"
        user.email = ""
        user.id_number = user.phone = ""
        user.birth_date, user.gender = None, ""
        user.totp_secret, user.totp_confirmed = "", False
        user.is_active = False
        user.set_unusable_password()
        user.save()
        req.state, req.decided_by, req.decided_at = DeletionRequest.State.DONE, actor, timezone.now()
        req.note, req.deleted, req.retained = str(note or "")[:2000], deleted, retained
        req.save()
        audit(actor, "accounts.deletion.erase", req, deleted=deleted, retained=sorted(retained))
    return req
