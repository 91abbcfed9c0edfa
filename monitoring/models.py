"""What the platforms said: messages, and the bookkeeping of fetching them (poll state, runs, usage)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts_registry.models import Platform, SocialAccount
from common.folding import Fold

if TYPE_CHECKING:
    from collections.abc import Collection


class Message(models.Model):
    """One platform item, inbound (addressed to an org account) or outbound (posted by one).

    Unique on (platform, external_id): a re-poll or a webhook replay can only update it in place.
    """

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Kind(models.TextChoices):
        MENTION = "mention", "Mention"
        REPLY = "reply", "Reply"
        COMMENT = "comment", "Comment"
        POST = "post", "Post"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Followers only"
        DIRECT = "direct", "Private message"

    platform = models.CharField(max_length=20, choices=Platform.choices)
    external_id = models.CharField(max_length=300)
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author_id = models.CharField(max_length=300)
    author_handle = models.CharField(max_length=300, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(help_text="When the platform says it was posted.")
    conversation_id = models.CharField(max_length=300, blank=True)
    in_reply_to_id = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # A direct (private) message is left out of exports, digests and the API unless asked for explicitly.
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    # Hash of the mutable content: an upsert rewrites a row only when this changes.
    content_hash = models.CharField(max_length=64)
    fetched_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # What a search reads (monitoring.search): the text, the author's name and "@" + handle, one per line,
    # folded (accents and case dropped) once when the row is written, not on every search. A trigram
    # index on it answers searches on PostgreSQL (migration monitoring 0009).
    search_text = models.GeneratedField(
        expression=Fold(
            Concat("text", Value("\n"), "author_name", Value("\n@"), "author_handle", output_field=models.TextField())
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="message_unique_natural_key"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "-created_at"], name="message_account_recent"),
            models.Index(fields=["platform", "conversation_id"], name="message_conversation"),
            models.Index(fields=["platform", "in_reply_to_id"], name="message_in_reply_to"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def is_private(self) -> bool:
        return self.visibility == self.Visibility.DIRECT


class ErrorKind(models.TextChoices):
    """The failure class of a poll (`ConnectorError.kind`), shown on the health page."""

    AUTH = "auth", "Needs reconnecting"
    PERMISSION = "permission", "Missing permission"
    MISSING_CREDENTIALS = "missing_credentials", "Missing credentials"
    RATE_LIMITED = "rate_limited", "Rate limited"
    TRANSIENT = "transient", "Platform unavailable"
    NOT_FOUND = "not_found", "Object missing"
    MALFORMED = "malformed", "Unreadable response"
    ERROR = "error", "Error"


class MessageEdit(models.Model):
    """The text a message had before a poll or a webhook delivery replaced it.

    Platforms let people edit (Meta comments, Mastodon statuses; an X edit is a new post id, listed in
    `edit_history_tweet_ids`); the stored text follows, and what was said before is kept here, so no
    delivery ever rewrites a message without a trace. Written only by the ingest upsert.
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits")
    previous_text = models.TextField(blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["message", "replaced_at", "pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["message", "replaced_at"], name="messageedit_history")
        ]

    def __str__(self) -> str:
        return f"edit of {self.message_id} at {self.replaced_at:%Y-%m-%d %H:%M:%S}"


class MessageAddressee(models.Model):
    """Another org account an inbound message addresses (an @mention, a reply to one of its posts), besides
    the account it is stored under (`Message.account`, whose poll read it first).

    A message belongs to its account and to every addressee: each of them sees it in scope, and each
    of them counts it in its per-account figures. Rows exist only for messages addressing several org
    accounts, so the scoping join stays small. Filled on ingest (the upsert adds, never removes).
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="addressees")
    account = models.ForeignKey(SocialAccount, on_delete=models.PROTECT, related_name="addressed_messages")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "message"], name="message_addressee_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} also addresses {self.account_id}"


def addressed_to(
    accounts: models.QuerySet[SocialAccount] | Collection[int],
    *,
    account_field: str = "account",
    message_field: str = "pk",
) -> Q:
    """The filter "belongs to any of `accounts`" on messages (or on rows that copy a message's account and
    point at it, like triage items): stored under one of them, or addressing one of them. A filter, not a
    join, so a row matches once however many of the accounts it addresses."""
    also = MessageAddressee.objects.filter(account__in=accounts).values("message_id")
    return Q(**{f"{account_field}__in": accounts}) | Q(**{f"{message_field}__in": also})


class PollState(models.Model):
    """Where polling of one account stands. PostgreSQL is the ledger; the task queue is disposable.

    A claim is a lease (`lease_until`): if the task that held it is lost, the account becomes due again
    when the lease expires.
    """

    account = models.OneToOneField(SocialAccount, on_delete=models.CASCADE, primary_key=True, related_name="poll_state")
    cursors = models.JSONField(default=dict, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=20, choices=ErrorKind.choices, blank=True)
    items_skipped = models.PositiveIntegerField(default=0, help_text="Items skipped as unreadable, all time.")
    consecutive_failures = models.PositiveIntegerField(default=0)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"poll state of account {self.account_id}"


class PollRun(models.Model):
    """One poll of one account: what it fetched and how it ended."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        RATE_LIMITED = "rate_limited", "Rate limited"
        UNAUTHORIZED = "unauthorized", "Unauthorized"

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="poll_runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    items_new = models.PositiveIntegerField(default=0)
    items_updated = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["account", "-started_at"], name="pollrun_recent")]

    def __str__(self) -> str:
        return f"poll of {self.account_id} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"


class SkippedItem(models.Model):
    """An item a poll could not read, kept raw for inspection. The rest of its page was stored and the
    cursor advanced past it, so one bad item never blocks an account."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="skipped_items")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    raw = models.JSONField(help_text="The item as the platform sent it.")
    reason = models.TextField()
    skipped_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-skipped_at", "-pk"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["account", "-skipped_at"], name="skippeditem_recent"),
        ]

    def __str__(self) -> str:
        return f"skipped {self.platform} item of account {self.account_id}"


class DailyActivity(models.Model):
    """Per account per day, maintained incrementally as new messages are ingested."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="daily_activity")
    day = models.DateField()
    posts = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0, help_text="Replies the account made.")
    inbound = models.PositiveIntegerField(default=0, help_text="Mentions, replies and comments it received.")
    followers = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["account", "day"], name="daily_activity_unique"),
        ]
        # The roll-ups read one day of every account (today's sums, recomputed as ingest writes them).
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["day"], name="daily_activity_day")]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.day}"


class PlatformUsage(models.Model):
    """Requests and items read per platform per month: the read budget the health page reports."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    month = models.DateField(help_text="First day of the month.")
    requests = models.PositiveBigIntegerField(default=0)
    reads = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["platform", "month"], name="platform_usage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.month:%Y-%m}"


class WebhookEvent(models.Model):
    """A verified webhook delivery, kept to make replays harmless (unique per source and event id)."""

    source = models.CharField(max_length=20)
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["source", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event_id}"


class JobRun(models.Model):
    """Every periodic job writes one: the dashboard monitors itself."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    task = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.task} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class SweepState(models.Model):
    """A combined sweep over many accounts (e.g. X mentions of every swept account through search):
    one row per sweep, holding its cursors and its lease, like PollState does for one account."""

    name = models.CharField(max_length=50, primary_key=True)
    cursors = models.JSONField(default=dict, blank=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
