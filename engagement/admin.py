from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.utils import timezone

from common.admin import ReadOnlyModelAdmin
from engagement.models import ApiToken, CategoryCorrection, ClassifierRule, Feedback, TriageItem, TriageNote

if TYPE_CHECKING:
    from django.http import HttpRequest


# Classifier rules are tuning configuration with no page of their own yet: still edited here.
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
class CategoryCorrectionAdmin(ReadOnlyModelAdmin[CategoryCorrection]):
    """Corrections come from the inbox (audited)."""

    list_display = ("created_at", "previous", "category", "actor", "text")
    list_filter = ("category", "previous")


@admin.register(TriageItem)
class TriageItemAdmin(ReadOnlyModelAdmin[TriageItem]):
    list_display = ("message", "account", "status", "category", "category_reason", "priority", "created_at")
    list_filter = ("status", "category", "platform")
    list_select_related = ("message", "account", "assignee")
    raw_id_fields = ("message", "account", "assignee", "closed_by", "answer")


@admin.register(TriageNote)
class TriageNoteAdmin(ReadOnlyModelAdmin[TriageNote]):
    pass


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyModelAdmin[Feedback]):
    pass


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
