from django.contrib import admin

from alerts.models import AlertDelivery, AlertPreference
from common.admin import ReadOnlyModelAdmin


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyModelAdmin[AlertDelivery]):
    list_display = ("created_at", "kind", "event_key", "user", "state", "sent_at")
    list_filter = ("kind", "state")


@admin.register(AlertPreference)
class AlertPreferenceAdmin(ReadOnlyModelAdmin[AlertPreference]):
    list_display = ("user", "kind", "timing", "updated_at")
    list_filter = ("kind", "timing")
