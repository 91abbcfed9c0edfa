from django.contrib import admin

from engagement.models import ApiToken, ClassifierRule, Feedback, TriageItem, TriageNote


@admin.register(ClassifierRule)
class ClassifierRuleAdmin(admin.ModelAdmin[ClassifierRule]):
    list_display = ("category", "language", "is_enabled", "updated_at")
    list_filter = ("category", "language", "is_enabled")


@admin.register(TriageItem)
class TriageItemAdmin(admin.ModelAdmin[TriageItem]):
    list_display = ("message", "account", "status", "category", "priority", "created_at", "assignee")
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
