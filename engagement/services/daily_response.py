"""The per-account daily response statistics (DailyResponse): maintained on triage, rebuildable.

Definitions (those of `engagement.selectors.metrics`, per account and local day): a row of (account, day)
counts the triage items whose inbound message was posted that day and belongs to the account — stored
under it or addressing it — so a message addressing two accounts counts once for each:
- inbound, questions: the items, those detected as questions;
- answered: items with a public reply recorded (`answered_at`);
- within_target: answered within settings.CHORUS_RESPONSE_TARGET_HOURS (a change of target needs a
  rebuild);
- response_seconds: the sum of their first-response seconds; bucket_NN: how many first responses fall in
  each bucket of RESPONSE_BUCKET_BOUNDS, for approximate percentiles of any sum of rows.

Maintenance recomputes the rows of the accounts and days a batch of items touches from the items
themselves — the same code as the rebuild — so the two cannot disagree, and running either twice
leaves the same rows. Waiting items are not counted here: waiting changes with people's decisions and
the overview counts it live (few rows, indexed by status).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from engagement.models import RESPONSE_BUCKET_BOUNDS, RESPONSE_BUCKETS, DailyResponse, TriageItem, bucket_field
from monitoring.daily_sums import daily_statistics_changed, daily_statistics_reset
from monitoring.models import MessageAddressee

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet

FIGURES = ("inbound", "questions", "answered", "within_target", "response_seconds")
FIELDS = (*FIGURES, *(bucket_field(index) for index in range(RESPONSE_BUCKETS)))


@dataclasses.dataclass(frozen=True)
class RebuildResult:
    rows: int
    zeroed: int


def _aggregates_sql() -> tuple[str, list[int]]:
    """The figures of one (account, day) group as SQL aggregates over the rows of `_group_rows`, in FIELDS
    order, with their parameters. Written as SQL text once rather than as 27 ORM aggregates: Django resolved
    those (each with its Q filter) on every call, about 20 ms of CPU per refresh, per poll that stored news.

    A bucket holds the first responses in (bound before, its bound]; the last has no upper bound."""
    seconds = "first_response_seconds"
    answered = f"{seconds} IS NOT NULL"
    parts = [
        "COUNT(*)",  # inbound
        "COUNT(*) FILTER (WHERE is_question)",
        "COUNT(*) FILTER (WHERE answered_at IS NOT NULL)",
        f"COUNT(*) FILTER (WHERE {answered} AND {seconds} <= %s)",  # within_target
        f"SUM({seconds})",
    ]
    params = [round(settings.CHORUS_RESPONSE_TARGET_HOURS * 3600)]
    for index in range(RESPONSE_BUCKETS):
        conditions = [answered]
        if index > 0:
            conditions.append(f"{seconds} > %s")
            params.append(RESPONSE_BUCKET_BOUNDS[index - 1])
        if index < len(RESPONSE_BUCKET_BOUNDS):
            conditions.append(f"{seconds} <= %s")
            params.append(RESPONSE_BUCKET_BOUNDS[index])
        parts.append(f"COUNT(*) FILTER (WHERE {' AND '.join(conditions)})")
    return ", ".join(parts), params


def _group_rows(items: QuerySet[TriageItem]) -> list[tuple[Any, ...]]:
    """(owner, day, *FIELDS) per group of `items` (annotated with `owner` and `day`): the ORM query of the
    rows, aggregated around it in SQL."""
    rows_sql, rows_params = (
        items.values("owner", "day", "is_question", "answered_at", "first_response_seconds")  # type: ignore[misc]  # owner and day are annotations
        .order_by()
        .query.sql_with_params()
    )
    aggregates, aggregate_params = _aggregates_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT owner, day, {aggregates} FROM ({rows_sql}) AS items GROUP BY owner, day",  # noqa: S608 — the ORM's SQL and fixed text; values as parameters
            [*aggregate_params, *rows_params],
        )
        rows = cursor.fetchall()
    # SQLite (the demo) answers the day as text.
    return [(owner, _date(day), *figures) for owner, day, *figures in rows]


def _date(value: datetime.date | str) -> datetime.date:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def _recompute(items: QuerySet[TriageItem], existing: QuerySet[DailyResponse], keep: Any = None) -> RebuildResult:
    """Recompute the rows of `items` (grouped by account and by addressed account, per local day), upsert
    them, and zero the `existing` rows no item backs any more. `keep(account_id, day)` narrows which
    groups are written (maintenance: only the touched accounts' days)."""
    tz = timezone.get_current_timezone()
    totals: dict[tuple[int, datetime.date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    grouped = [
        items.annotate(day=TruncDate("created_at", tzinfo=tz), owner=F("account_id")),
        items.filter(message__addressees__isnull=False).annotate(
            day=TruncDate("created_at", tzinfo=tz), owner=F("message__addressees__account_id")
        ),
    ]
    for query in grouped:
        for owner, day, *figures in _group_rows(query):
            key = (owner, day)
            if keep is not None and not keep(*key):
                continue
            for field, figure in zip(FIELDS, figures, strict=True):
                totals[key][field] += figure or 0
    written = [
        DailyResponse(account_id=account_id, day=day, **figures) for (account_id, day), figures in totals.items()
    ]
    DailyResponse.objects.bulk_create(
        written, batch_size=1000, update_conflicts=True, unique_fields=["account", "day"], update_fields=list(FIELDS)
    )
    stale = [
        pk for pk, account_id, day in existing.values_list("pk", "account_id", "day") if (account_id, day) not in totals
    ]
    # Maintenance passes no existing rows: nothing to zero, and building the UPDATE of 27 fields costs CPU.
    zeroed = DailyResponse.objects.filter(pk__in=stale).update(**dict.fromkeys(FIELDS, 0)) if stale else 0
    return RebuildResult(rows=len(written), zeroed=zeroed)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), timezone.get_current_timezone())


@transaction.atomic
def responses_rebuild(*, since: datetime.date | None = None) -> RebuildResult:
    """Recompute every (account, day) row from `since` (default: every day) from the triage items."""
    items = TriageItem.objects.all()
    existing = DailyResponse.objects.all()
    if since is not None:
        items = items.filter(created_at__gte=_day_start(since))
        existing = existing.filter(day__gte=since)
    result = _recompute(items, existing)
    daily_statistics_reset()
    return result


def responses_refresh(item_ids: Iterable[int]) -> RebuildResult:
    """Maintenance after triage opened or answered these items: recompute the rows of every account they
    belong to, for the days they were opened. Queries: a constant handful whatever the batch."""
    item_ids = list(item_ids)
    if not item_ids:
        return RebuildResult(rows=0, zeroed=0)
    tz = timezone.get_current_timezone()
    touched = list(
        TriageItem.objects.filter(pk__in=item_ids)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values_list("account_id", "message__addressees__account_id", "day")
    )
    pairs = {(home, day) for home, _, day in touched} | {(also, day) for _, also, day in touched if also is not None}
    accounts = {account_id for account_id, _ in pairs}
    days = {day for _, day in pairs}
    first, last = min(days), max(days)
    window = Q(created_at__gte=_day_start(first), created_at__lt=_day_start(last + datetime.timedelta(days=1)))
    # Every item of the touched accounts on those days (the addressees by a subquery: a join would repeat
    # an item once per addressee in its own account's counts); only the touched pairs are written, and
    # each of them is backed by at least one item, so nothing needs zeroing.
    addressing = MessageAddressee.objects.filter(account_id__in=accounts).values("message_id")
    items = TriageItem.objects.filter(window & (Q(account_id__in=accounts) | Q(message_id__in=addressing)))

    def keep(account_id: int, day: datetime.date) -> bool:
        return (account_id, day) in pairs

    # Without a savepoint inside the caller's transaction (ingest): two statements less per poll with news.
    with transaction.atomic(savepoint=False):
        result = _recompute(items, DailyResponse.objects.none(), keep)
        daily_statistics_changed(DailyResponse, days)
        return result
