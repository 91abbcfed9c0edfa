"""Bulk upsert of normalized messages on their natural key (platform, external_id).

On PostgreSQL the rows are streamed with COPY into a temporary table and merged with one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE content changed`: measured ~0.66x the rate of a
raw COPY, against ~0.14x for `bulk_create(update_conflicts=True)`. Other databases (the SQLite demo) use
bulk_create. Either way: a batch is de-duplicated first (one statement cannot touch a row twice), a
row is rewritten only when its content changed, so a repeated poll writes nothing, and a changed text
keeps the previous one as a MessageEdit row (whether a poll or a webhook delivery brought the change).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.models import SocialAccount
from monitoring.daily_sums import daily_statistics_changed
from monitoring.models import DailyActivity, Message, MessageAddressee, MessageEdit

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from monitoring.connectors.base import NormalizedMessage

# Columns written by the upsert, in COPY order.
COLUMNS = (
    "platform",
    "external_id",
    "account_id",
    "direction",
    "kind",
    "author_id",
    "author_handle",
    "author_name",
    "text",
    "created_at",
    "conversation_id",
    "in_reply_to_id",
    "url",
    "metrics",
    "visibility",
    "content_hash",
    "fetched_at",
    "updated_at",
)
# Columns an update may change (identity, account and first-fetch time stay as first seen).
MUTABLE = ("author_handle", "author_name", "text", "metrics", "url", "content_hash", "updated_at")


@dataclasses.dataclass(frozen=True)
class UpsertResult:
    new_ids: list[int]
    updated: int
    # (message id, account id): org accounts this upsert found an inbound message also addresses.
    addressees_added: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    @property
    def new(self) -> int:
        return len(self.new_ids)


def content_hash(message: NormalizedMessage) -> str:
    payload = json.dumps(
        [message.author_handle, message.author_name, message.text, message.url, message.metrics],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _dedupe(messages: Iterable[NormalizedMessage]) -> list[NormalizedMessage]:
    """Last one wins per natural key: `ON CONFLICT` cannot affect a row twice in one statement."""
    unique: dict[tuple[str, str], NormalizedMessage] = {}
    for message in messages:
        unique[(message.platform, message.external_id)] = message
    return list(unique.values())


def message_row(message: NormalizedMessage, account_id: int, now: datetime.datetime) -> tuple[object, ...]:
    """The message as the upsert writes it: the values of `COLUMNS`, in order (content hash included)."""
    return (
        message.platform,
        message.external_id,
        account_id,
        message.direction,
        message.kind,
        message.author_id,
        message.author_handle[:300],
        message.author_name[:300],
        message.text,
        message.created_at,
        message.conversation_id,
        message.in_reply_to_id,
        message.url[:500],
        json.dumps(message.metrics),
        message.visibility,
        content_hash(message),
        now,
        now,
    )


def _record_edits(previous: Iterable[tuple[int, str]], now: datetime.datetime) -> None:
    MessageEdit.objects.bulk_create(
        [MessageEdit(message_id=message_id, previous_text=text, replaced_at=now) for message_id, text in previous]
    )


def _upsert_postgresql(rows: list[tuple[object, ...]], now: datetime.datetime) -> UpsertResult:
    table = Message._meta.db_table
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in MUTABLE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS chorus_ingest AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608 — identifiers from model metadata, no input
        )
        cursor.execute("TRUNCATE chorus_ingest")
        with cursor.cursor.copy(f"COPY chorus_ingest ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # The texts about to be replaced, locked until the transaction ends: the upsert below rewrites
        # exactly these rows (a changed text changes the content hash).
        cursor.execute(
            f"SELECT m.id, m.text FROM {table} m JOIN chorus_ingest i "  # noqa: S608 — table name from model metadata
            "ON m.platform = i.platform AND m.external_id = i.external_id "
            "WHERE m.text IS DISTINCT FROM i.text ORDER BY m.id FOR UPDATE OF m"
        )
        replaced = cursor.fetchall()
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM chorus_ingest "  # noqa: S608 — identifiers from model metadata; rows go through COPY
            f"ON CONFLICT (platform, external_id) DO UPDATE SET {updates} "
            f"WHERE {table}.content_hash IS DISTINCT FROM EXCLUDED.content_hash "
            "RETURNING id, (xmax = 0) AS inserted"
        )
        returned = cursor.fetchall()
        cursor.execute("TRUNCATE chorus_ingest")
    _record_edits(replaced, now)
    new_ids = [row_id for row_id, inserted in returned if inserted]
    return UpsertResult(new_ids=new_ids, updated=len(returned) - len(new_ids))


def _upsert_portable(messages: list[NormalizedMessage], account_id: int, now: datetime.datetime) -> UpsertResult:
    """bulk_create-based upsert for databases without COPY (the SQLite demo)."""
    hashes = {(m.platform, m.external_id): content_hash(m) for m in messages}
    existing = {
        (platform, external_id): (stored_hash, message_id, text)
        for platform, external_id, stored_hash, message_id, text in Message.objects.filter(
            external_id__in=[external_id for _, external_id in hashes]
        ).values_list("platform", "external_id", "content_hash", "pk", "text")
    }
    fresh = [m for m in messages if (m.platform, m.external_id) not in existing]
    changed = [
        m
        for m in messages
        if (m.platform, m.external_id) in existing
        and existing[(m.platform, m.external_id)][0] != hashes[(m.platform, m.external_id)]
    ]
    _record_edits(
        [
            (existing[(m.platform, m.external_id)][1], existing[(m.platform, m.external_id)][2])
            for m in changed
            if existing[(m.platform, m.external_id)][2] != m.text
        ],
        now,
    )
    objects = [
        Message(**dict(zip(COLUMNS, message_row(m, account_id, now), strict=True)) | {"metrics": m.metrics})
        for m in fresh + changed
    ]
    if objects:
        Message.objects.bulk_create(
            objects, update_conflicts=True, unique_fields=["platform", "external_id"], update_fields=list(MUTABLE)
        )
    new_ids = (
        list(Message.objects.filter(external_id__in=[m.external_id for m in fresh]).values_list("pk", flat=True))
        if fresh
        else []
    )
    return UpsertResult(new_ids=new_ids, updated=len(changed))


def messages_upsert(*, account_id: int, messages: Iterable[NormalizedMessage]) -> UpsertResult:
    """Insert new messages and update changed ones for one account, and record every other org account an
    inbound message addresses (see `addressees_add`). Idempotent. Call inside a transaction (the poll
    advances its cursor in the same one)."""
    now = timezone.now()
    unique = _dedupe(messages)
    if not unique:
        return UpsertResult(new_ids=[], updated=0)
    if connection.vendor == "postgresql":
        result = _upsert_postgresql([message_row(message, account_id, now) for message in unique], now)
    else:
        result = _upsert_portable(unique, account_id, now)
    added = addressees_add(account_id=account_id, messages=unique)
    return dataclasses.replace(result, addressees_added=added)


def _handle_key(platform: str, handle: str) -> tuple[str, str]:
    """Handles compare case-insensitively on every platform, without a leading @."""
    return platform, handle.strip().lstrip("@").lower()


def addressees_add(*, account_id: int, messages: list[NormalizedMessage]) -> list[tuple[int, int]]:
    """Record which org accounts the stored inbound messages among `messages` address, besides the account
    each is stored under: the polled account itself (a message another account's poll stored first), the
    org accounts it @mentions (matched by platform user id, or by handle case-insensitively) and the
    account whose post it replies to. Only adds (a later poll never removes an addressee); outbound
    messages belong to their author alone. At most four queries, whatever the batch size.

    Returns the (message id, account id) pairs added."""
    inbound = [message for message in messages if message.direction == Message.Direction.INBOUND]
    if not inbound:
        return []
    stored = {
        (platform, external_id): (pk, home)
        for pk, platform, external_id, home in Message.objects.filter(
            platform__in={message.platform for message in inbound},
            external_id__in=[message.external_id for message in inbound],
            direction=Message.Direction.INBOUND,
        ).values_list("pk", "platform", "external_id", "account_id")
    }
    by_id, by_handle = _org_accounts(inbound)
    parents = _parent_owners(inbound)
    wanted: set[tuple[int, int]] = set()
    for message in inbound:
        found = stored.get((message.platform, message.external_id))
        if found is None:
            continue
        message_id, home = found
        accounts = {account_id}
        accounts |= {
            by_id[(message.platform, user_id)]
            for user_id in message.addressed_ids
            if (message.platform, user_id) in by_id
        }
        accounts |= {
            by_handle[key]
            for key in (_handle_key(message.platform, handle) for handle in message.addressed_handles)
            if key in by_handle
        }
        if message.in_reply_to_id and (message.platform, message.in_reply_to_id) in parents:
            accounts.add(parents[(message.platform, message.in_reply_to_id)])
        wanted |= {(message_id, account) for account in accounts if account != home}
    if not wanted:
        return []
    existing = set(
        MessageAddressee.objects.filter(message_id__in={message_id for message_id, _ in wanted}).values_list(
            "message_id", "account_id"
        )
    )
    added = sorted(wanted - existing)
    MessageAddressee.objects.bulk_create(
        [MessageAddressee(message_id=message_id, account_id=account) for message_id, account in added],
        ignore_conflicts=True,
    )
    return added


def _org_accounts(messages: list[NormalizedMessage]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """The registered (not retired) org accounts the messages name, by (platform, user id) and by
    (platform, lower-cased handle). One query, none when nothing is named."""
    ids = {user_id for message in messages for user_id in message.addressed_ids}
    handles = {_handle_key("", handle)[1] for message in messages for handle in message.addressed_handles}
    if not ids and not handles:
        return {}, {}
    accounts = (
        SocialAccount.objects.exclude(status=SocialAccount.Status.RETIRED)
        .filter(platform__in={message.platform for message in messages})
        .annotate(handle_key=Lower("handle"))
        .filter(Q(external_id__in=ids) | Q(handle_key__in=handles))
        .values_list("pk", "platform", "external_id", "handle_key")
    )
    by_id: dict[tuple[str, str], int] = {}
    by_handle: dict[tuple[str, str], int] = {}
    for pk, platform, external_id, handle_key in accounts:
        if external_id:
            by_id[(platform, external_id)] = pk
        by_handle[(platform, handle_key)] = pk
    return by_id, by_handle


def _parent_owners(messages: list[NormalizedMessage]) -> dict[tuple[str, str], int]:
    """(platform, external id) -> org account, for the org posts the messages reply to. One query at most."""
    parent_ids = {message.in_reply_to_id for message in messages if message.in_reply_to_id}
    if not parent_ids:
        return {}
    return {
        (platform, external_id): account_id
        for platform, external_id, account_id in Message.objects.filter(
            platform__in={message.platform for message in messages},
            external_id__in=parent_ids,
            direction=Message.Direction.OUTBOUND,
        ).values_list("platform", "external_id", "account_id")
    }


def activity_record_new(*, message_ids: list[int], addressees: Iterable[tuple[int, int]] = ()) -> None:
    """Add newly ingested messages to the per-account daily statistics (incremental): one query reads the
    messages, one upsert adds to every (account, day) row they touch, whatever the batch.

    `addressees` are the (message id, account id) pairs an upsert added (`UpsertResult.addressees_added`):
    each counts as inbound for that account too, so a message addressing two accounts counts once for each.
    """
    addressees = list(addressees)
    if not message_ids and not addressees:
        return
    counts: Counter[tuple[int, datetime.date, str]] = Counter()
    wanted = {*message_ids, *(message_id for message_id, _ in addressees)}
    rows = {
        pk: (account_id, created_at, direction, kind)
        for pk, account_id, created_at, direction, kind in Message.objects.filter(pk__in=wanted).values_list(
            "pk", "account_id", "created_at", "direction", "kind"
        )
    }
    for message_id in message_ids:
        account_id, created_at, direction, kind = rows[message_id]
        day = timezone.localdate(created_at)
        if direction == Message.Direction.INBOUND:
            counts[(account_id, day, "inbound")] += 1
        elif kind == Message.Kind.REPLY:
            counts[(account_id, day, "replies")] += 1
        else:
            counts[(account_id, day, "posts")] += 1
    for message_id, account_id in addressees:
        counts[(account_id, timezone.localdate(rows[message_id][1]), "inbound")] += 1
    days: dict[tuple[int, datetime.date], dict[str, int]] = {}
    for (account_id, day, field), number in counts.items():
        days.setdefault((account_id, day), dict.fromkeys(ACTIVITY_FIELDS, 0))[field] += number
    _activity_add(days)
    daily_statistics_changed(DailyActivity, {day for _, day in days})


ACTIVITY_FIELDS = ("posts", "replies", "inbound")


def _activity_add(days: dict[tuple[int, datetime.date], dict[str, int]]) -> None:
    """Add the counts to the DailyActivity rows, creating the missing ones: one INSERT ... ON CONFLICT DO
    UPDATE (PostgreSQL and SQLite), rows in key order so concurrent polls lock them in the same order."""
    table = DailyActivity._meta.db_table
    columns = ", ".join(ACTIVITY_FIELDS)
    placeholders = ", ".join(["(%s, %s, " + ", ".join(["%s"] * len(ACTIVITY_FIELDS)) + ")"] * len(days))
    additions = ", ".join(f"{field} = {table}.{field} + EXCLUDED.{field}" for field in ACTIVITY_FIELDS)
    params: list[int | datetime.date] = []
    for (account_id, day), figures in sorted(days.items()):
        params += [account_id, day, *(figures[field] for field in ACTIVITY_FIELDS)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (account_id, day, {columns}) VALUES {placeholders} "  # noqa: S608 — identifiers from model metadata, values as parameters
            f"ON CONFLICT (account_id, day) DO UPDATE SET {additions}",
            params,
        )
