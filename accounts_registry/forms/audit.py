"""The audit log's filters, parsed like every list's (common.filters): a malformed value is a form error
on the page and a 400 in the export."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts_registry.selectors.audit import AUDIT_VERB_CHOICES, AuditFilters
from common.filters import ChoiceFilter, FilterForm


class AuditFilterForm(FilterForm):
    verb = ChoiceFilter(choices=[("", "Any change"), *AUDIT_VERB_CHOICES])
    actor = forms.CharField(required=False, max_length=150, label="By (username)")
    since = forms.DateField(required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(required=False, input_formats=["%Y-%m-%d"])

    @staticmethod
    def filters_from(data: dict[str, Any]) -> AuditFilters:
        return AuditFilters(
            verb=data.get("verb") or "",
            actor=(data.get("actor") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )

    def page_filters(self) -> AuditFilters:
        """The valid filters (see `errors` for the others)."""
        return self.filters_from(self.valid_values())

    def strict_filters(self) -> AuditFilters:
        """Every filter valid, or InvalidFilters (the export)."""
        return self.filters_from(self.parse())
