"""Response figures of whole subtrees from the per-account daily statistics (DailyResponse), for roll-ups.

`grouped_responses` reads at most one row per account per day, grouped in SQL by a prefix of the
accounts' unit paths and by day, for two ranges of days at once (a period and the one before it); the
sums of each day are cached (`monitoring.daily_sums`: recomputed when triage writes that day's rows, or
the tree changes), and the ranges summed from them. The figures are
`engagement.selectors.metrics`' definitions summed over accounts:
- inbound, questions, answered, response rate, within-target share: exact sums of the accounts' rows. A
  message addressing two accounts of one subtree counts for each of them here (the API's unit metrics
  count it once); for one account, or a subtree where no message addresses two of its accounts, the
  figures equal the API's;
- median / p90 first response: approximate — interpolated inside the DailyResponse buckets (5-minute
  steps up to an hour, then 2, 3, 4, 6, 8, 12, 24, 48, 72 hours), so off by less than a bucket's width;
- waiting (of the period) and the oldest wait (any age): counted live over the waiting items, which are
  few and indexed by status.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, Q
from django.db.models.functions import Substr
from django.utils import timezone

from engagement.models import RESPONSE_BUCKET_BOUNDS, RESPONSE_BUCKETS, DailyResponse, TriageItem, bucket_field
from engagement.selectors.metrics import Metrics
from monitoring.daily_sums import grouped_daily_sums
from monitoring.models import MessageAddressee

if TYPE_CHECKING:
    from django.db.models import Aggregate

FIGURES = ("inbound", "questions", "answered", "within_target", "response_seconds")
DAILY_FIELDS = (*FIGURES, *(bucket_field(index) for index in range(RESPONSE_BUCKETS)))
PERIODS = ("current", "previous")


@dataclasses.dataclass(frozen=True)
class ResponseTotals:
    """Additive response figures of a set of accounts over a range of days."""

    inbound: int = 0
    questions: int = 0
    answered: int = 0
    within_target: int = 0
    response_seconds: int = 0
    buckets: tuple[int, ...] = (0,) * RESPONSE_BUCKETS
    waiting: int = 0
    oldest_waiting_created_at: datetime.datetime | None = None

    def __add__(self, other: ResponseTotals) -> ResponseTotals:
        oldest = [when for when in (self.oldest_waiting_created_at, other.oldest_waiting_created_at) if when]
        return ResponseTotals(
            inbound=self.inbound + other.inbound,
            questions=self.questions + other.questions,
            answered=self.answered + other.answered,
            within_target=self.within_target + other.within_target,
            response_seconds=self.response_seconds + other.response_seconds,
            buckets=tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)),
            waiting=self.waiting + other.waiting,
            oldest_waiting_created_at=min(oldest) if oldest else None,
        )

    def metrics(self) -> Metrics:
        return Metrics(
            inbound=self.inbound,
            questions=self.questions,
            answered=self.answered,
            response_rate=self.answered / self.inbound if self.inbound else None,
            median_first_response_seconds=bucket_percentile(self.buckets, 0.5),
            p90_first_response_seconds=bucket_percentile(self.buckets, 0.9),
            waiting=self.waiting,
            oldest_waiting_created_at=self.oldest_waiting_created_at,
            within_target_share=self.within_target / self.inbound if self.inbound else None,
        )


def bucket_percentile(buckets: tuple[int, ...], fraction: float) -> int | None:
    """The `fraction` percentile of first-response times counted in buckets, interpolated linearly inside
    the bucket it falls in (the open last bucket is read as [72 h, 144 h]). None without responses."""
    total = sum(buckets)
    if not total:
        return None
    rank = fraction * total
    seen = 0
    for index, number in enumerate(buckets):
        if number and seen + number >= rank:
            low = RESPONSE_BUCKET_BOUNDS[index - 1] if index > 0 else 0
            high = RESPONSE_BUCKET_BOUNDS[index] if index < len(RESPONSE_BUCKET_BOUNDS) else 2 * low
            return round(low + (high - low) * (rank - seen) / number)
        seen += number
    return RESPONSE_BUCKET_BOUNDS[-1]  # pragma: no cover - the loop always reaches the rank


def _window(first: datetime.date, last: datetime.date, now: datetime.datetime) -> Q:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min), tz)
    after = timezone.make_aware(datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min), tz)
    return Q(created_at__gte=start, created_at__lt=after, created_at__lte=now)


def grouped_responses(
    path: str,
    key_length: int,
    *,
    current: tuple[datetime.date, datetime.date],
    previous: tuple[datetime.date, datetime.date],
    now: datetime.datetime | None = None,
    membership: str | None = None,
) -> dict[str, dict[str, ResponseTotals]]:
    """{path prefix of `key_length`: {"current": totals, "previous": totals}} over the accounts whose unit
    path starts with `path` (a subtree the caller has authorized). `membership` is the subtree's
    `monitoring.daily_sums.membership_token` when the caller has it. Three queries at most, whatever the
    size: the daily rows' sums are cached per day (`monitoring.daily_sums`), the waiting items read live."""
    now = now or timezone.now()
    ranges = {"current": current, "previous": previous}
    days = sorted(
        {
            first + datetime.timedelta(days=offset)
            for first, last in ranges.values()
            for offset in range((last - first).days + 1)
        }
    )
    sums = grouped_daily_sums(DailyResponse, DAILY_FIELDS, path, key_length, days, membership=membership)
    rows: dict[str, dict[str, list[tuple[int, ...]]]] = defaultdict(lambda: {name: [] for name in PERIODS})
    for name, (first, last) in ranges.items():
        for day, groups in sums.items():
            if first <= day <= last:
                for key, figures in groups.items():
                    rows[key][name].append(figures)
    zero = [0] * len(DAILY_FIELDS)
    values = {
        key: {
            name: [sum(column) for column in zip(*found, strict=True)] if found else zero
            for name, found in periods.items()
        }
        for key, periods in rows.items()
    }
    waiting_aggregates: dict[str, Aggregate] = {
        "oldest": Min("created_at"),
        **{name: Count("pk", filter=_window(*ranges[name], now)) for name in PERIODS},
    }
    waiting = TriageItem.objects.filter(status=TriageItem.Status.WAITING)
    home = (
        waiting.filter(account__unit__path__startswith=path)
        .annotate(key=Substr("account__unit__path", 1, key_length))
        .values("key")
        .annotate(**waiting_aggregates)
        .order_by()
    )
    also_aggregates: dict[str, Aggregate] = {
        "oldest": Min("message__triage__created_at"),
        **{name: Count("pk", filter=_prefixed(_window(*ranges[name], now), "message__triage__")) for name in PERIODS},
    }
    also = (
        MessageAddressee.objects.filter(
            account__unit__path__startswith=path, message__triage__status=TriageItem.Status.WAITING
        )
        .annotate(key=Substr("account__unit__path", 1, key_length))
        .values("key")
        .annotate(**also_aggregates)
        .order_by()
    )
    oldest: dict[str, list[datetime.datetime]] = defaultdict(list)
    waiting_counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PERIODS, 0))
    waiting_rows: list[Any] = [*home, *also]
    for found in waiting_rows:
        oldest[found["key"]].append(found["oldest"])
        for name in PERIODS:
            waiting_counts[found["key"]][name] += found[name]
    result: dict[str, dict[str, ResponseTotals]] = {}
    for key in {*values, *waiting_counts}:
        result[key] = {}
        for name in PERIODS:
            summed = dict(zip(DAILY_FIELDS, values.get(key, {}).get(name, zero), strict=True))
            result[key][name] = ResponseTotals(
                **{field: summed[field] for field in FIGURES},
                buckets=tuple(summed[bucket_field(index)] for index in range(RESPONSE_BUCKETS)),
                waiting=waiting_counts[key][name] if key in waiting_counts else 0,
                oldest_waiting_created_at=min(oldest[key]) if oldest.get(key) else None,
            )
    return result


def _prefixed(condition: Q, prefix: str) -> Q:
    return Q(*((f"{prefix}{name}", value) for name, value in condition.children))  # type: ignore[misc]
