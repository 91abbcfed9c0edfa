"""Engagement: who is waiting for an answer, who is on it, how fast the organization responds."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts_registry.models import Member, Platform, SocialAccount
from monitoring.models import Message


class TriageItem(models.Model):
    """The triage state of one inbound message that may need a response.

    Answered-detection (services) derives `answered` from messages, so a re-poll can only confirm an
    answer; `handled` and `dismissed` are human decisions that nothing automatic ever reverses.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        ANSWERED = "answered", "Answered"
        HANDLED = "handled", "Handled"
        DISMISSED = "dismissed", "Dismissed"

    class Category(models.TextChoices):
        """What a message is. The labels (and CATEGORY_BANNERS below) are the one place its wording lives."""

        EMERGENCY = "emergency", _("Possible emergency")
        CRIME = "crime", _("Crime report")
        COMPLAINT = "complaint", _("Complaint")
        QUESTION = "question", _("Question")
        GREETING = "greeting", _("Greeting or thanks")
        OTHER = "other", _("Other")

    class HandledReason(models.TextChoices):
        ANSWERED_PRIVATELY = "answered_privately", "Answered privately"
        ANSWERED_BY_PHONE = "answered_by_phone", "Answered by phone"
        NO_REPLY_NEEDED = "no_reply_needed", "No reply needed"
        SPAM = "spam", "Spam or abuse"
        DUPLICATE = "duplicate", "Duplicate"

    class Priority(models.IntegerChoices):
        """Stored rank; items older than the response target also rank as HIGH when listed."""

        URGENT = 0, "Possible emergency"
        HIGH = 1, "Question, crime report or corporate account"
        NORMAL = 2, "Normal"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="triage")
    # Copies of immutable message facts, so the inbox filters and sorts on one table.
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="triage_items")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    created_at = models.DateTimeField(help_text="When the inbound message was posted.")
    conversation_id = models.CharField(max_length=300, blank=True)
    author_id = models.CharField(max_length=300)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    category = models.CharField(max_length=10, choices=Category.choices, default=Category.OTHER)
    is_question = models.BooleanField(default=False)
    category_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the classifier chose the category (the rules that fired)."
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="triage_items"
    )
    handled_reason = models.CharField(max_length=30, choices=HandledReason.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    answer = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    answered_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=~models.Q(status="handled") | ~models.Q(handled_reason=""),
                name="triage_handled_has_reason",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # The inbox: by status, then rank, then age (keyset pagination walks this index).
            models.Index(fields=["status", "priority", "created_at", "id"], name="triage_inbox"),
            models.Index(fields=["account", "status", "priority", "created_at", "id"], name="triage_inbox_account"),
            models.Index(fields=["platform", "conversation_id", "author_id"], name="triage_thread_author"),
            # Metrics over a period (per account) and the API's newest-first listing.
            models.Index(fields=["account", "created_at"], name="triage_account_created"),
            models.Index(fields=["-created_at", "-id"], name="triage_recent"),
        ]

    def __str__(self) -> str:
        return f"triage of {self.message_id} ({self.status})"


# The banner a row of this category shows in the inbox (categories without one show none).
CATEGORY_BANNERS = {
    TriageItem.Category.EMERGENCY: _(
        "Possible emergency. These accounts are not watched around the clock: if someone may be in danger "
        "or a crime is in progress, tell them to call 911 now."
    ),
    TriageItem.Category.CRIME: _(
        "Crime report. Point the person to the reporting channel (online report or the non-emergency line); "
        "if anyone is in danger now, 911."
    ),
}


class CategoryCorrection(models.Model):
    """A person's correction of an item's category, kept as labelled data for the classifier's evaluation.

    The message text is copied, so a correction still counts when the message is gone.
    """

    item = models.ForeignKey(TriageItem, null=True, on_delete=models.SET_NULL, related_name="corrections")
    text = models.TextField()
    previous = models.CharField(max_length=10, choices=TriageItem.Category.choices)
    category = models.CharField(max_length=10, choices=TriageItem.Category.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.previous} -> {self.category} ({self.item_id})"


class TriageNote(models.Model):
    """An internal note on a triage item (never posted to the platform)."""

    item = models.ForeignKey(TriageItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["created_at"]

    def __str__(self) -> str:
        return f"note on {self.item_id}"


class ClassifierRule(models.Model):
    """A transparent, admin-tunable rule (see engagement/classify.py for how the kinds combine).

    Phrases match case- and accent-insensitively on whole words. Categories are decided by precedence
    (possible emergency first), so a message asking for help is never filed as a greeting.
    """

    class Kind(models.TextChoices):
        PHRASE = "phrase", "Phrases: the text is this category"
        CUE = "cue", "Cues: immediacy (emergency) or past time (crime report)"
        EXCEPTION = "exception", "Exceptions: inside these, the category's phrases do not count"

    category = models.CharField(max_length=10, choices=TriageItem.Category.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PHRASE)
    language = models.CharField(max_length=5, default="en", help_text="en, fr, ... (informational)")
    phrases = models.TextField(help_text="One phrase per line.")
    is_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.get_category_display()} ({self.language})"


class Feedback(models.Model):
    """Kudos or coaching left on an outbound post, for the member who holds the account."""

    class Kind(models.TextChoices):
        KUDOS = "kudos", "Kudos"
        COACHING = "coaching", "Coaching"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.TextField(max_length=4000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.member_id}"


class ApiToken(models.Model):
    """A read-only API token; the API sees what its owner sees. Only a hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise the token in lists.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# Upper bounds (seconds, inclusive) of the first-response buckets of DailyResponse: 5-minute steps up to
# an hour, then coarser; the last bucket (over 3 days) has no upper bound. Percentiles of a roll-up are
# interpolated inside these buckets, so they are approximate (see engagement.services.daily_response).
RESPONSE_BUCKET_BOUNDS: tuple[int, ...] = (
    *(minutes * 60 for minutes in range(5, 65, 5)),
    *(hours * 3600 for hours in (2, 3, 4, 6, 8, 12, 24, 48, 72)),
)
RESPONSE_BUCKETS = len(RESPONSE_BUCKET_BOUNDS) + 1


def bucket_field(index: int) -> str:
    return f"bucket_{index:02d}"


class DailyResponse(models.Model):
    """Per account per local day: the response figures of the triage items opened that day (the day of
    their inbound message), counted for the item's account and for every other org account its message
    addresses. Maintained on triage (engagement.services.daily_response), rebuildable with
    `manage.py rebuild_responses`; the overview's roll-ups read these rows, never the items."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="daily_responses")
    day = models.DateField()
    inbound = models.PositiveIntegerField(default=0)
    questions = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    within_target = models.PositiveIntegerField(default=0, help_text="Answered within the response target.")
    response_seconds = models.PositiveBigIntegerField(default=0, help_text="Sum of first-response seconds.")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "day"], name="daily_response_unique"),
        ]
        # The roll-ups read one day of every account (a day's sums, recomputed when triage writes them).
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["day"], name="daily_response_day")]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.day}"


# One column per bucket (bucket_00 ... bucket_21): summed in SQL over a subtree's rows.
for _index in range(RESPONSE_BUCKETS):
    models.PositiveIntegerField(default=0).contribute_to_class(DailyResponse, bucket_field(_index))
