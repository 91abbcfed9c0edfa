"""The Django admin is a read-only window on the domain models.

Every write to the organization, accounts, triage, feedback and tokens goes through the app's services,
which check the rules (onboarding, scoping) and write the audit trail. An admin form would save the
model directly and skip both, so domain ModelAdmins list and show, and never add, change or delete.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Mix into a ModelAdmin (or inline) before the admin class: view permission only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin[M: Model](ReadOnlyAdminMixin, admin.ModelAdmin[M]):
    """A ModelAdmin that only lists and shows."""
