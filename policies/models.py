"""The organization's social media policy as rules, and the flags raised where something breaks it."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts_registry.models import OrgUnit, SocialAccount
from monitoring.models import Message


class PolicyRule(models.Model):
    """One rule: a scope (platforms, unit subtree, direction) and one matcher, configured in `config`.

    `config` holds the kind's own fields (the documented JSON format of export_policies):
    keywords → terms, exceptions; regex → pattern; detector → detector (phone_number, email,
    licence_plate, street_address, date_of_birth, case_number) and its options; link_domains → allowed;
    posting_hours → start, end, timezone; governance (account-level, run daily) → check and its options.
    """

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"
        BOTH = "both", "Both"

    class Kind(models.TextChoices):
        KEYWORDS = "keywords", "Keywords and phrases"
        REGEX = "regex", "Regular expression"
        DETECTOR = "detector", "Personal information detector"
        LINK_DOMAINS = "link_domains", "Links outside allowed domains"
        POSTING_HOURS = "posting_hours", "Posting outside permitted hours"
        GOVERNANCE = "governance", "Account governance (daily)"

    name = models.CharField(max_length=200, unique=True)
    explanation = models.TextField(help_text="Plain language, shown to the member.")
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    is_enabled = models.BooleanField(default=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    platforms = models.JSONField(default=list, blank=True, help_text="Empty: every platform.")
    unit = models.ForeignKey(
        OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Empty: everywhere."
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name


class PolicyFlag(models.Model):
    """A rule matched a message (or, for governance rules, an account). Re-evaluation never duplicates it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        FALSE_POSITIVE = "false_positive", "False positive"

    rule = models.ForeignKey(PolicyRule, on_delete=models.CASCADE, related_name="flags")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="policy_flags")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="policy_flags")
    spans = models.JSONField(default=list, blank=True, help_text="[[start, end], ...] in the message text.")
    excerpt = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["rule", "message"], condition=models.Q(message__isnull=False), name="flag_once_per_message"
            ),
            models.UniqueConstraint(
                fields=["rule", "account"],
                condition=models.Q(message__isnull=True) & models.Q(status__in=["open", "acknowledged"]),
                name="flag_once_per_open_account_problem",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "-created_at"], name="flag_queue"),
            models.Index(fields=["account", "status"], name="flag_account"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} on {self.message_id or self.account_id}"


class RescanJob(models.Model):
    """Re-evaluating history after a rule changed: a background job whose progress the page shows."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(PolicyRule, null=True, blank=True, on_delete=models.CASCADE, related_name="rescans")
    since = models.DateTimeField()
    until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    flags_created = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"rescan {self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return (
            100
            if self.total == 0 and self.status == self.Status.DONE
            else int(100 * self.processed / max(self.total, 1))
        )
