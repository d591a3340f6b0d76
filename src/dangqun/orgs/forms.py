"""The staff edit form of an organization. Saving goes through actions.do_update_organization."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Organization

EDIT_FIELDS = [
    "name",
    "short_name",
    "code",
    "credit_code",
    "setting_mode",
    "is_village_or_community",
    "covered_units",
    "committee_size",
    "deputy_secretaries",
    "term_started_on",
    "term_ends_on",
    "address",
    "phone",
    "is_active",
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None):
        super().__init__(attrs, format="%Y-%m-%d")


class OrganizationForm(forms.ModelForm):
    """Edits the fields an administrator may change (actions.EDITABLE); member counts come from
    the member records and the place in the tree does not change here."""

    class Meta:
        model = Organization
        fields = EDIT_FIELDS
        widgets = {"term_started_on": DateInput(), "term_ends_on": DateInput()}

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("term_started_on"), data.get("term_ends_on")
        if start and end and end < start:
            self.add_error("term_ends_on", _("任期届满日期不能早于任期开始日期。"))
        return data

    def _post_clean(self) -> None:
        # Model validation runs in the action (full_clean there); the form only parses input.
        pass
