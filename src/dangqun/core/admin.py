"""Admin for the shared kernel: work calendar, rule values (audited), audit chain and
notifications (read-only).

Changing data here needs both Django's model permission and the scoped permission of the
platform (calendar.change, rules.change); every save or delete writes an audit event.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .audit import audit

# Importing the calendar actions (and so workcalendar) here connects the calendar's cache
# invalidation signals in every process: admin autodiscovery runs wherever Django is set up.
from .calendar_actions import do_delete_calendar_day, do_save_calendar_day
from .models import AuditEvent, CalendarDay, CalendarYear, Notification, RuleValue
from .permissions import has_perm, scope_filter


class ScopedPermissionMixin:
    """Django's model permission AND the platform's role permission (`scoped_perm`)."""

    scoped_perm = ""

    def _scoped(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_perm(request.user, self.scoped_perm)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and self._scoped(request)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._scoped(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._scoped(request, obj)  # type: ignore[misc]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Append-only records: viewable, never added, changed or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# Work calendar
# ---------------------------------------------------------------------------------------------


class KindFilter(admin.SimpleListFilter):
    title = _("类型")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("holiday", _("放假")), ("workday", _("调休上班"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("holiday", "workday"):
            return queryset.filter(is_workday=self.value() == "workday")
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(ScopedPermissionMixin, admin.ModelAdmin):
    scoped_perm = "calendar.change"
    list_display = ("day", "weekday", "kind", "name")
    list_filter = (KindFilter,)
    search_fields = ("name", "day")
    date_hierarchy = "day"
    ordering = ("-day",)

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return "一二三四五六日"[obj.day.weekday()]

    @admin.display(description=_("类型"), ordering="is_workday")
    def kind(self, obj: CalendarDay) -> str:
        return str(_("调休上班") if obj.is_workday else _("放假"))

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        do_save_calendar_day(obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        do_delete_calendar_day(obj, actor=request.user)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            do_delete_calendar_day(obj, actor=request.user)


@admin.register(CalendarYear)
class CalendarYearAdmin(ScopedPermissionMixin, admin.ModelAdmin):
    """Years are added by importing a whole schedule (validated), never by hand."""

    scoped_perm = "calendar.change"
    list_display = ("year", "source", "imported_at", "entries")
    search_fields = ("source",)
    readonly_fields = ("year", "imported_at")

    @admin.display(description=_("条目数"))
    def entries(self, obj: CalendarYear) -> int:
        return CalendarDay.objects.filter(day__year=obj.year).count()

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # `dangqun calendar import` or POST /api/v1/calendar/import

    def save_model(self, request: HttpRequest, obj: CalendarYear, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit(request.user, "calendar.year.change", obj, year=obj.year, source=obj.source)

    def delete_model(self, request: HttpRequest, obj: CalendarYear) -> None:
        self.delete_queryset(request, CalendarYear.objects.filter(pk=obj.pk))

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The year becomes unknown again (if past chinesecalendar's years); its days stay as rows.
        for obj in queryset:
            audit(request.user, "calendar.year.delete", obj, year=obj.year, source=obj.source)
            obj.delete()


# ---------------------------------------------------------------------------------------------
# Rule values
# ---------------------------------------------------------------------------------------------


class ScopeFilter(admin.SimpleListFilter):
    title = _("适用范围")
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("national", _("全国默认")), ("override", _("组织覆盖"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "national":
            return queryset.filter(organization__isnull=True)
        if self.value() == "override":
            return queryset.filter(organization__isnull=False)
        return queryset


class RuleValueForm(forms.ModelForm):
    user: Any = None

    class Meta:
        model = RuleValue
        fields = (
            "key",
            "version",
            "effective_from",
            "value",
            "clause",
            "source",
            "description",
            "organization",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        org, key, value = data.get("organization"), data.get("key"), data.get("value")
        if org is None and not getattr(self.user, "is_superuser", False):
            self.add_error("organization", _("全国默认值只能由系统管理员修改；请选择适用的组织。"))
        elif org is not None and not has_perm(self.user, "rules.change", org):
            self.add_error("organization", _("您没有修改该组织规则的权限。"))
        if key and "value" in data:
            # A value of another type than the shipped one (the text "20" for a number of days)
            # would break every computation that reads this rule.
            others = (
                RuleValue.objects.filter(key=key).exclude(pk=self.instance.pk).values_list("value", flat=True)
            )
            types = {type(v) for v in others}
            if types and type(value) not in types:
                self.add_error(
                    "value",
                    _("该规则其他版本的值类型为 %(t)s，请保持一致（如数字不要加引号）。")
                    % {"t": "、".join(sorted(t.__name__ for t in types))},
                )
        return data


@admin.register(RuleValue)
class RuleValueAdmin(admin.ModelAdmin):
    form = RuleValueForm
    list_display = ("key", "version", "effective_from", "value", "organization", "source", "clause")
    list_filter = (ScopeFilter, "effective_from")
    search_fields = ("key", "source", "clause", "description", "organization__name")
    list_select_related = ("organization",)
    ordering = ("key", "-effective_from")

    def _may_change(self, request: HttpRequest, obj: RuleValue | None) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return has_perm(request.user, "rules.change")
        return obj.organization is not None and has_perm(request.user, "rules.change", obj.organization)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self._may_change(request, None)

    def has_change_permission(self, request: HttpRequest, obj: RuleValue | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: RuleValue | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "organization" and not request.user.is_superuser:
            field.queryset = field.queryset.filter(scope_filter(request.user, "rules.change"))
        return field

    def save_model(self, request: HttpRequest, obj: RuleValue, form: Any, change: bool) -> None:
        before = (
            RuleValue.objects.filter(pk=obj.pk).values("value", "effective_from", "version").first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        audit(
            request.user,
            "rule.change" if change else "rule.add",
            obj,
            key=obj.key,
            version=obj.version,
            effective_from=obj.effective_from,
            value=obj.value,
            organization=obj.organization_id,
            before=before,
        )

    def delete_model(self, request: HttpRequest, obj: RuleValue) -> None:
        self.delete_queryset(request, RuleValue.objects.filter(pk=obj.pk))

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            audit(
                request.user,
                "rule.delete",
                obj,
                key=obj.key,
                version=obj.version,
                value=obj.value,
                organization=obj.organization_id,
            )
            obj.delete()


# ---------------------------------------------------------------------------------------------
# Read-only records
# ---------------------------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "action", "actor_label", "object_type", "object_id")
    list_filter = ("object_type",)
    search_fields = ("action", "actor_label", "object_type", "object_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("title", "recipient", "created_at", "read_at")
    search_fields = ("title", "key", "recipient__username")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
