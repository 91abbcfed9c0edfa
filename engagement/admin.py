from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from engagement.models import ApiToken, ClassifierRule, Feedback, TriageItem, TriageNote


# Classifier rules are tuning configuration with no page of their own yet: still edited here.
@admin.register(ClassifierRule)
class ClassifierRuleAdmin(admin.ModelAdmin[ClassifierRule]):
    list_display = ("category", "language", "is_enabled", "updated_at")
    list_filter = ("category", "language", "is_enabled")


@admin.register(TriageItem)
class TriageItemAdmin(ReadOnlyModelAdmin[TriageItem]):
    list_display = ("message", "account", "status", "category", "priority", "created_at", "assignee")
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
