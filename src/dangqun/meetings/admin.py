"""The back office for meetings: read-only.

Every change goes through meetings.actions (rules, audit). Secret ballots are not listed here
at all: the admin has nothing to show that a count on the result pages does not.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Appraisal, DisciplinaryProbation, Election, Meeting, VillageDecision, Vote


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ("held_on", "kind", "topic", "organization", "status", "quorate")
    list_filter = ("kind", "status")
    search_fields = ("topic",)
    date_hierarchy = "held_on"
    exclude = ("signin_key",)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ("subject", "meeting", "mode", "status", "adopted")
    list_filter = ("mode", "status")


@admin.register(Election)
class ElectionAdmin(ReadOnlyAdmin):
    list_display = ("title", "meeting", "seats", "status", "valid")


@admin.register(VillageDecision)
class VillageDecisionAdmin(ReadOnlyAdmin):
    list_display = ("title", "branch", "status", "created_at")
    list_filter = ("status",)


@admin.register(Appraisal)
class AppraisalAdmin(ReadOnlyAdmin):
    list_display = ("year", "branch", "status", "excellent_cap")


@admin.register(DisciplinaryProbation)
class DisciplinaryProbationAdmin(ReadOnlyAdmin):
    list_display = ("member", "starts_on", "ends_on", "decided_by")
