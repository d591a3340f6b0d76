"""The back office for accounts, in Chinese.

ID and phone numbers are never shown in plaintext here: lists and forms show them masked,
and a new value is entered into an empty field and saved through do_set_identity (which
validates it, keeps the blind index and audits). Search finds an exact ID number or phone
through the blind index, since encrypted columns cannot be searched with LIKE.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dangqun.core import crypto
from dangqun.core.audit import audit
from dangqun.core.errors import RuleViolation
from dangqun.core.validators import validate_id_number, validate_phone

from . import actions
from .models import ApiToken, Consent, DeletionRequest, RoleGrant, User


def admin_login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin has no login of its own: Django's would skip the lockout, the per-address
    limit and the second factor. Everyone signs in through accounts:login."""
    target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
    return redirect_to_login(target, login_url=reverse("accounts:login"))


admin.site.login = admin_login


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    fields = ("role", "organization", "granted_by", "granted_at")
    readonly_fields = ("granted_by", "granted_at")
    raw_id_fields = ("organization",)
    verbose_name = verbose_name_plural = _("角色授权")


class IdentityChangeForm(UserChangeForm):
    """The admin's user form: identity fields are write-only (blank = unchanged)."""

    new_id_number = forms.CharField(
        label=_("新身份证号"), required=False, help_text=_("留空表示不修改；保存时校验并加密存储。")
    )
    new_phone = forms.CharField(label=_("新手机号"), required=False, help_text=_("留空表示不修改。"))

    class Meta(UserChangeForm.Meta):
        model = User

    def clean_new_id_number(self) -> str:
        value = self.cleaned_data.get("new_id_number", "")
        if not value.strip():
            return ""
        clean = validate_id_number(value)
        index = crypto.blind_index(clean, purpose="id")
        if User.objects.filter(id_number_index=index).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("该身份证号已登记在其他账号下"), code="id_number_taken")
        return clean

    def clean_new_phone(self) -> str:
        value = self.cleaned_data.get("new_phone", "")
        return validate_phone(value) if value.strip() else ""


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = IdentityChangeForm
    inlines = [RoleGrantInline]
    list_display = (
        "username",
        "full_name",
        "masked_id_number",
        "masked_phone",
        "is_active",
        "totp_confirmed",
        "locked_until",
    )
    list_filter = ("is_active", "is_superuser", "totp_confirmed", "grants__role")
    search_fields = ("username", "full_name")
    ordering = ("username",)
    readonly_fields = (
        "masked_id_number",
        "masked_phone",
        "birth_date",
        "gender",
        "totp_confirmed",
        "failed_logins",
        "last_login",
        "date_joined",
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("实名信息"),
            {
                "fields": (
                    "full_name",
                    "masked_id_number",
                    "new_id_number",
                    "masked_phone",
                    "new_phone",
                    "birth_date",
                    "gender",
                )
            },
        ),
        (_("偏好"), {"fields": ("elder_mode", "language")}),
        (
            _("登录安全"),
            {"fields": ("totp_confirmed", "failed_logins", "locked_until", "last_login", "date_joined")},
        ),
        (_("后台权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "password1", "password2")}),
    )
    actions = ["reset_two_factor", "unlock"]

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: User) -> str:
        return obj.id_number_masked or "—"

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: User) -> str:
        return obj.phone_masked or "—"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Name/username by substring; an exact ID number or phone through its blind index."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        for validate, purpose, column in (
            (validate_id_number, "id", "id_number_index"),
            (validate_phone, "phone", "phone_index"),
        ):
            try:
                clean = validate(term)
            except ValidationError:
                continue
            results |= queryset.filter(**{column: crypto.blind_index(clean, purpose=purpose)})
        return results, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        new_id, new_phone = form.cleaned_data.get("new_id_number"), form.cleaned_data.get("new_phone")
        if new_id or new_phone:
            try:
                actions.do_set_identity(
                    obj,
                    full_name=obj.full_name,
                    id_number=new_id or obj.id_number,
                    phone=new_phone or obj.phone,
                    actor=request.user,
                )
            except RuleViolation as exc:
                self.message_user(request, exc.message, level=messages.ERROR)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Role grants changed here are audited like any other change (who granted what)."""
        instances = formset.save(commit=False)
        for grant in formset.deleted_objects:
            audit(
                request.user, "role.revoke", grant.user, role=grant.role, organization=grant.organization_id
            )
            grant.delete()
        for grant in instances:
            if isinstance(grant, RoleGrant):
                grant.granted_by = grant.granted_by or request.user
                grant.save()
                audit(
                    request.user,
                    "role.grant",
                    grant.user,
                    role=grant.role,
                    organization=grant.organization_id,
                )
            else:
                grant.save()
        formset.save_m2m()

    @admin.action(description=_("重置所选用户的双因素认证"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for user in queryset:
            try:
                actions.do_reset_totp(user, actor=request.user)
                done += 1
            except RuleViolation as exc:
                self.message_user(request, f"{user}: {exc.message}", level=messages.ERROR)
        self.message_user(request, _("已重置 %(n)d 个用户的双因素认证。") % {"n": done})

    @admin.action(description=_("解除所选用户的登录锁定"))
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset.filter(locked_until__isnull=False):
            actions.do_unlock_user(user, actor=request.user)
        self.message_user(request, _("已解除锁定。"))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are read-only: only the prefix and dates are known; revoking is the one change."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "user__full_name")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("注销所选访问令牌"), permissions=["view"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for token in queryset.select_related("user"):
            actions.do_revoke_api_token(token, actor=request.user)
        self.message_user(request, _("已注销所选访问令牌。"))


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    """Deletion requests (个人信息保护法 第四十七条): carried out by an action, never by hand."""

    list_display = ("user", "state", "requested_at", "decided_at")
    list_filter = ("state",)
    readonly_fields = (
        "user",
        "reason",
        "state",
        "requested_at",
        "decided_by",
        "decided_at",
        "deleted",
        "retained",
    )
    actions = ["erase"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="执行删除（依法须保存的记录保留并最小化）")
    def erase(self, request, queryset) -> None:
        from .privacy import do_erase

        done = 0
        for req in queryset.filter(state=DeletionRequest.State.PENDING):
            do_erase(req, actor=request.user, note="后台执行")
            done += 1
        self.message_user(request, f"已处理 {done} 项删除申请。")


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """The consent register (个人信息保护法 第十四条): read only — given and withdrawn by the person."""

    list_display = ("person", "purpose", "recipient_name", "granted_at", "withdrawn_at")
    list_filter = ("data",)
    readonly_fields = (
        "person",
        "purpose",
        "data",
        "data_name",
        "recipient",
        "recipient_name",
        "legal_basis",
        "source_type",
        "source_id",
        "reference",
        "granted_at",
        "withdrawn_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
