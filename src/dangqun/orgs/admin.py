"""Organization admin: tree order, filters by kind; saving goes through the actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dangqun.core.errors import RuleViolation
from dangqun.core.permissions import has_perm, scope_filter

from .actions import EDITABLE, check_parent, do_create_organization, do_update_organization
from .models import Organization

# Set once at creation: the place in the tree and the kind.
CREATE_ONLY = ("kind", "parent", "full_members", "probationary_members")


class OrganizationAdminForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = [
            "name",
            "kind",
            "parent",
            *sorted(EDITABLE - {"name"}),
            "full_members",
            "probationary_members",
        ]

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        if kind and not self.instance.pk:
            try:
                check_parent(kind, data.get("parent"))
            except RuleViolation as exc:
                self.add_error("parent", exc.message)
        return data


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = ("indented_name", "kind", "member_count", "term_ends_on", "is_active")
    list_filter = ("kind", "setting_mode", "is_village_or_community", "is_active")
    search_fields = ("name", "short_name", "code")
    ordering = ("path",)
    list_per_page = 200
    readonly_fields = ("path", "depth", "created_at")

    @admin.display(description=_("名称"), ordering="path")
    def indented_name(self, obj: Organization) -> str:
        return "　" * obj.depth + obj.name  # ideographic spaces: indentation without markup

    @admin.display(description=_("党员数"))
    def member_count(self, obj: Organization) -> int:
        return obj.member_count

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(scope_filter(request.user, "orgs.view"))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "parent":
            # A new node goes only under an organization the user administers; only a
            # superuser creates a top-level one (actions.do_create_organization).
            kwargs["queryset"] = Organization.objects.filter(scope_filter(request.user, "orgs.change"))
            kwargs["required"] = not request.user.is_superuser
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and has_perm(request.user, "orgs.change")

    def has_change_permission(self, request: HttpRequest, obj: Organization | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or has_perm(request.user, "orgs.change", obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> tuple:
        return self.readonly_fields + (CREATE_ONLY if obj is not None else ())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # organizations are deactivated (is_active), never deleted: history refers to them

    def save_model(
        self, request: HttpRequest, obj: Organization, form: forms.ModelForm, change: bool
    ) -> None:
        """Through the actions, so the admin audits like every other change."""
        if change:
            changes = {f: form.cleaned_data[f] for f in form.changed_data if f in EDITABLE}
            if changes:
                # A fresh copy: `obj` already holds the new values, the audit wants the old ones.
                fresh = self.get_queryset(request).get(pk=obj.pk)
                do_update_organization(fresh, actor=request.user, **changes)
            return
        fields = {
            f: form.cleaned_data[f]
            for f in form.cleaned_data
            if f not in ("name", "kind", "parent") and (f in EDITABLE or f in CREATE_ONLY)
        }
        created = do_create_organization(
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            parent=form.cleaned_data.get("parent"),
            actor=request.user,
            **fields,
        )
        obj.pk, obj.path, obj.depth = created.pk, created.path, created.depth
