"""The back office for party members: read-only.

Every change goes through members.actions (rules, counters, audit); the admin only looks.
ID and phone numbers are shown masked, never in plaintext.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import (
    DevelopmentStep,
    DuesPayment,
    DuesRate,
    PartyMember,
    ProbationCancellation,
    ProbationExtension,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StepInline(admin.TabularInline):
    model = DevelopmentStep
    fields = ("step", "done_on", "responsible", "flags", "recorded_by")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartyMember)
class PartyMemberAdmin(ReadOnlyAdmin):
    list_display = ("name", "status", "branch", "group", "admitted_on", "full_on")
    list_filter = ("status",)
    list_select_related = ("branch", "group")
    search_fields = ("name",)
    fields = (
        "name",
        "masked_id_number",
        "masked_phone",
        "birth_date",
        "gender",
        "branch",
        "group",
        "status",
        "applied_on",
        "activist_on",
        "candidate_on",
        "admitted_on",
        "probation_ends_on",
        "full_on",
        "ended_on",
        "dues_category",
        "dues_base",
        "graduated_on",
        "graduate_branch",
    )
    readonly_fields = fields
    inlines = [StepInline]

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: PartyMember) -> str:
        return obj.id_number_masked

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: PartyMember) -> str:
        return obj.phone_masked


@admin.register(ProbationExtension)
class ProbationExtensionAdmin(ReadOnlyAdmin):
    list_display = ("member", "months", "meeting_on", "approved_on", "approved_by", "new_end")
    list_select_related = ("member",)


@admin.register(DuesRate)
class DuesRateAdmin(ReadOnlyAdmin):
    list_display = ("member", "year", "category", "base", "rate", "monthly_amount", "quarterly_approved_on")
    list_filter = ("year", "category")
    list_select_related = ("member",)


@admin.register(DuesPayment)
class DuesPaymentAdmin(ReadOnlyAdmin):
    list_display = ("member", "period_start", "months", "amount", "paid_on", "method", "large_payment")
    list_filter = ("method", "large_payment")
    list_select_related = ("member",)


@admin.register(ProbationCancellation)
class ProbationCancellationAdmin(ReadOnlyAdmin):
    list_display = ("member", "meeting_on", "approved_on", "approved_by")
    list_select_related = ("member",)
