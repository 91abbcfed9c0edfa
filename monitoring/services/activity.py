"""Rebuilding the per-account daily statistics (DailyActivity) from the stored messages.

Ingest maintains them incrementally (`monitoring.services.ingest.activity_record_new`); this recomputes
them from scratch — after a restore, a retention prune or a change of definition — with the same
definitions: a day is the local date of a message's `created_at`; an inbound message counts for the
account it is stored under and for every other org account it addresses; an outbound reply counts as a
reply, any other outbound message as a post. Idempotent: running it twice leaves the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from monitoring.daily_sums import daily_statistics_reset
from monitoring.models import DailyActivity, Message, MessageAddressee

FIELDS = ("posts", "replies", "inbound")


@dataclasses.dataclass(frozen=True)
class RebuildResult:
    rows: int
    zeroed: int


def _field(direction: str, kind: str) -> str:
    if direction == Message.Direction.INBOUND:
        return "inbound"
    return "replies" if kind == Message.Kind.REPLY else "posts"


@transaction.atomic
def activity_rebuild(*, since: datetime.date | None = None) -> RebuildResult:
    """Recompute posts, replies and inbound of every (account, day) from `since` (default: every day).

    Three grouped queries read the messages (the counting is in SQL); the rows are written with one
    upsert, and days of the range no message backs any more are set to zero (followers are kept)."""
    tz = timezone.get_current_timezone()
    messages = Message.objects.all()
    addressees = MessageAddressee.objects.all()
    existing = DailyActivity.objects.all()
    if since is not None:
        start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min), tz)
        messages = messages.filter(created_at__gte=start)
        addressees = addressees.filter(message__created_at__gte=start)
        existing = existing.filter(day__gte=since)
    counts: Counter[tuple[int, datetime.date, str]] = Counter()
    for account_id, day, direction, kind, number in (
        messages.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values_list("account_id", "day", "direction", "kind")
        .annotate(number=Count("pk"))
        .order_by()
    ):
        counts[(account_id, day, _field(direction, kind))] += number
    for account_id, day, number in (
        addressees.filter(message__direction=Message.Direction.INBOUND)
        .annotate(day=TruncDate("message__created_at", tzinfo=tz))
        .values_list("account_id", "day")
        .annotate(number=Count("pk"))
        .order_by()
    ):
        counts[(account_id, day, "inbound")] += number
    rows: dict[tuple[int, datetime.date], DailyActivity] = {}
    for (account_id, day, field), number in counts.items():
        row = rows.setdefault((account_id, day), DailyActivity(account_id=account_id, day=day))
        setattr(row, field, number)
    DailyActivity.objects.bulk_create(
        list(rows.values()), update_conflicts=True, unique_fields=["account", "day"], update_fields=list(FIELDS)
    )
    stale = [
        pk for pk, account_id, day in existing.values_list("pk", "account_id", "day") if (account_id, day) not in rows
    ]
    zeroed = DailyActivity.objects.filter(pk__in=stale).update(posts=0, replies=0, inbound=0)
    daily_statistics_reset()
    return RebuildResult(rows=len(rows), zeroed=zeroed)
