"""Alerts that come to people, and the reports sent to them.

`AlertPreference`: how one person wants one kind of alert (at once, in the daily summary, or not at all).
`AlertDelivery`: one alert (or report) for one recipient about one event. The unique constraint on
(kind, event_key, recipient) is the deduplication: raising the same event twice — a repeated poll, a retried
task, the next sweep — finds the row already there and sends nothing more. The Slack/Teams webhook is a
recipient too: the row whose `recipient` is "webhook" (one post per event).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts_registry.models import OrgUnit


class AlertKind(models.TextChoices):
    EMERGENCY = "emergency", "Possible emergency waiting"
    ACCOUNT_PROBLEM = "account_problem", "Account needs reconnecting or keeps failing"
    TRAINING = "training", "Training expiring or expired"
    CRITICAL_FLAG = "critical_flag", "Critical policy flag"
    # Reports are delivered (and deduplicated) like alerts; they have no preference of their own.
    WEEKLY_DIGEST = "weekly_digest", "Weekly digest"
    MONTHLY_REPORT = "monthly_report", "Monthly organization report"


ALERT_KINDS: tuple[AlertKind, ...] = (
    AlertKind.EMERGENCY,
    AlertKind.ACCOUNT_PROBLEM,
    AlertKind.TRAINING,
    AlertKind.CRITICAL_FLAG,
)
# Kinds also posted to the optional Slack/Teams webhook (settings.CHORUS_POLICY_WEBHOOK_URL).
WEBHOOK_KINDS: frozenset[str] = frozenset({AlertKind.EMERGENCY, AlertKind.CRITICAL_FLAG})


class Timing(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DAILY = "daily", "In the daily summary"
    OFF = "off", "Off"


class AlertPreference(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preferences")
    kind = models.CharField(max_length=30, choices=[(kind.value, kind.label) for kind in ALERT_KINDS])
    timing = models.CharField(max_length=20, choices=Timing.choices, default=Timing.IMMEDIATELY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "kind"], name="alertpreference_unique_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.timing}"


class AlertDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "To send now"
        SENDING = "sending", "Being sent"
        SUMMARY = "summary", "Waiting for the daily summary"
        SENT = "sent", "Sent"
        OFF = "off", "Not sent (turned off)"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    event_key = models.CharField(max_length=200, help_text="What happened, e.g. triage:42 or training:7:expired.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_deliveries"
    )  # None: the Slack/Teams webhook
    recipient = models.CharField(max_length=40, help_text='"user:<id>", or "webhook".')
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Plain text; untrusted excerpts stay plain.")
    html_body = models.TextField(blank=True, help_text="Reports: the HTML part.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # One alert per event per person, and one webhook post per event.
            models.UniqueConstraint(fields=["kind", "event_key", "recipient"], name="alertdelivery_one_per_event"),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["state", "user"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_key} → {self.recipient} ({self.state})"


WEBHOOK_RECIPIENT = "webhook"


def user_recipient(user_id: int) -> str:
    return f"user:{user_id}"
