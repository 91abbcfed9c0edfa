from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.utils import timezone

from engagement.models import ApiToken, CategoryCorrection, ClassifierRule, Feedback, TriageItem, TriageNote

if TYPE_CHECKING:
    from django.http import HttpRequest


@admin.register(ClassifierRule)
class ClassifierRuleAdmin(admin.ModelAdmin[ClassifierRule]):
    """Tune the classifier here; `manage.py evaluate_classifier` measures the effect on the labelled set,
    `manage.py recompute_triage` re-classifies waiting items."""

    list_display = ("category", "kind", "language", "is_enabled", "updated_at")
    list_filter = ("category", "kind", "language", "is_enabled")
    readonly_fields = ("updated_at",)

    def save_model(self, request: HttpRequest, obj: ClassifierRule, form: Any, change: bool) -> None:  # noqa: FBT001
        obj.updated_at = timezone.now()  # the classifier cache is keyed on the latest edit
        super().save_model(request, obj, form, change)


@admin.register(CategoryCorrection)
class CategoryCorrectionAdmin(admin.ModelAdmin[CategoryCorrection]):
    list_display = ("created_at", "previous", "category", "actor", "text")
    list_filter = ("category", "previous")
    readonly_fields = ("item", "text", "previous", "category", "actor", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # corrections come from the inbox (audited)


@admin.register(TriageItem)
class TriageItemAdmin(admin.ModelAdmin[TriageItem]):
    list_display = ("message", "account", "status", "category", "category_reason", "priority", "created_at")
    list_filter = ("status", "category", "platform")
    list_select_related = ("message", "account", "assignee")
    raw_id_fields = ("message", "account", "assignee", "closed_by", "answer")


admin.site.register(TriageNote)
admin.site.register(Feedback)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
