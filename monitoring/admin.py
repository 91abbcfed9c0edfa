from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from monitoring.models import DailyActivity, JobRun, Message, PlatformUsage, PollRun, PollState, WebhookEvent


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin[Message]):
    list_display = ("platform", "external_id", "account", "direction", "kind", "author_handle", "created_at")
    list_filter = ("platform", "direction", "kind")
    search_fields = ("external_id", "author_handle", "text")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    date_hierarchy = "created_at"


@admin.register(PollState)
class PollStateAdmin(ReadOnlyModelAdmin[PollState]):
    list_display = ("account", "next_poll_at", "lease_until", "last_success_at", "consecutive_failures")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(PollRun)
class PollRunAdmin(ReadOnlyModelAdmin[PollRun]):
    list_display = ("account", "started_at", "outcome", "items_new", "items_updated", "pages", "error")
    list_filter = ("outcome",)
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(DailyActivity)
class DailyActivityAdmin(ReadOnlyModelAdmin[DailyActivity]):
    list_display = ("account", "day", "posts", "replies", "inbound")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


admin.site.register(PlatformUsage, ReadOnlyModelAdmin)
admin.site.register(WebhookEvent, ReadOnlyModelAdmin)
admin.site.register(JobRun, ReadOnlyModelAdmin)
