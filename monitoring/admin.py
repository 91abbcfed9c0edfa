from django.contrib import admin

from monitoring.models import DailyActivity, JobRun, Message, PlatformUsage, PollRun, PollState, WebhookEvent


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ("platform", "external_id", "account", "direction", "kind", "author_handle", "created_at")
    list_filter = ("platform", "direction", "kind")
    search_fields = ("external_id", "author_handle", "text")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    date_hierarchy = "created_at"


@admin.register(PollState)
class PollStateAdmin(admin.ModelAdmin[PollState]):
    list_display = ("account", "next_poll_at", "lease_until", "last_success_at", "consecutive_failures")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(PollRun)
class PollRunAdmin(admin.ModelAdmin[PollRun]):
    list_display = ("account", "started_at", "outcome", "items_new", "items_updated", "pages", "error")
    list_filter = ("outcome",)
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(DailyActivity)
class DailyActivityAdmin(admin.ModelAdmin[DailyActivity]):
    list_display = ("account", "day", "posts", "replies", "inbound")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


admin.site.register(PlatformUsage)
admin.site.register(WebhookEvent)
admin.site.register(JobRun)
