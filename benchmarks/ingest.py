"""Scenario 1, ingest: messages per second through `messages_upsert`, against a raw COPY of the same rows.

200,000 realistic normalized messages in batches of 1,000 (one account's poll each) across 300 accounts,
each batch one transaction as in a poll. Both paths are timed from the same list of `NormalizedMessage`s
(building it is the connector's job, not timed) to the commit: `messages_upsert` whole (hashing, COPY into
its temporary table, the merge), and the raw COPY converting each message to the same row (the columns of
`ingest.COLUMNS`, content hash included) and writing it with psycopg's COPY straight into the message
table. The two paths take turns batch by batch, on the same messages under two ranges of ids, so both
write the same table as it grows and share whatever else the machine is doing. A re-ingest of the
upserted messages (a repeated poll) must write nothing. For reference, one COPY of every row into the
empty table (truncated before and after)."""

from __future__ import annotations

import datetime
import random
import time
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from accounts_registry.models import OrgUnit, SocialAccount
from benchmarks.harness import Figure, report
from benchmarks.world import platform_mix, reset_database
from monitoring.connectors.base import Direction, Kind, NormalizedMessage
from monitoring.models import Message
from monitoring.services.ingest import COLUMNS, UpsertResult, message_row, messages_upsert

if TYPE_CHECKING:
    from pathlib import Path

SCENARIO = "1 ingest"
ROWS = 200_000
BATCH = 1_000
ACCOUNTS = 300
WARM_UP_BATCHES = 5
# The same messages under two ranges of ids: one written by raw COPY, the other by messages_upsert.
COPY_IDS = 1_850_000_000_000_000_000
UPSERT_IDS = 1_860_000_000_000_000_000
TARGET_RATIO = 0.6
PHRASES = [
    "the road is closed near the school again tonight",
    "thanks for the update",
    "when will it reopen?",
    "is anyone hurt?",
    "please send an officer to main street",
    "there was a crash at the bridge",
    "great job everyone",
    "community meeting this weekend",
    "the parade detour moved the bus route",
    "traffic lights are out at king and queen",
    "lost dog found downtown",
]
PREFIXES = {"x": "x.com", "facebook": "facebook.com", "instagram": "instagram.com", "bluesky": "bsky.app"}


def run(workdir: Path) -> list[Figure]:
    reset_database()
    accounts = _accounts()
    batches = ROWS // BATCH
    report(f"{ROWS:,} messages in batches of {BATCH:,} across {len(accounts)} accounts, written by each path")
    # Warm both paths up (catalog caches, the temporary table, buffers) before anything is timed.
    for batch in range(WARM_UP_BATCHES):
        account_id, platform = accounts[batch % len(accounts)]
        _copy_batch(account_id, _messages(batch, platform, ids=COPY_IDS))
        _upsert_batch(account_id, _messages(batch, platform, ids=UPSERT_IDS))
    _truncate()

    single_seconds = _single_copy(accounts, range(batches))
    _truncate()

    # Batch by batch, alternately first, both paths write the same table: both see the same table size and
    # whatever else the machine is doing at that moment, so their ratio holds even on a busy machine.
    _checkpoint()
    copy_seconds = ingest_seconds = 0.0
    new = updated = 0
    for batch in range(batches):
        account_id, platform = accounts[batch % len(accounts)]
        to_copy = _messages(batch, platform, ids=COPY_IDS)
        to_upsert = _messages(batch, platform, ids=UPSERT_IDS)
        if batch % 2:
            copy_seconds += _copy_batch(account_id, to_copy)
        seconds, result = _upsert_batch(account_id, to_upsert)
        ingest_seconds += seconds
        new, updated = new + result.new, updated + result.updated
        if not batch % 2:
            copy_seconds += _copy_batch(account_id, to_copy)
    stored = Message.objects.count()

    reingest_seconds, renew, reupdated = 0.0, 0, 0
    for batch in range(batches):
        account_id, platform = accounts[batch % len(accounts)]
        seconds, result = _upsert_batch(account_id, _messages(batch, platform, ids=UPSERT_IDS))
        reingest_seconds += seconds
        renew, reupdated = renew + result.new, reupdated + result.updated

    ingest_rate, copy_rate, single_rate = ROWS / ingest_seconds, ROWS / copy_seconds, ROWS / single_seconds
    reingest_rate = ROWS / reingest_seconds
    ratio = ingest_rate / copy_rate
    report(f"raw COPY, {batches} batches of {BATCH:,}: {copy_seconds:.2f} s = {copy_rate:,.0f} rows/s")
    report(f"messages_upsert, the same: {ingest_seconds:.2f} s = {ingest_rate:,.0f} rows/s ({new:,} new)")
    report(f"raw COPY, one stream of {ROWS:,} into the empty table: {single_seconds:.2f} s = {single_rate:,.0f} rows/s")
    report(f"re-ingest: {reingest_seconds:.2f} s = {reingest_rate:,.0f} rows/s ({renew} new, {reupdated} updated)")
    is_clean = renew + reupdated == 0 and new == ROWS and updated == 0 and stored == 2 * ROWS
    return [
        Figure(SCENARIO, "messages_upsert", ingest_rate, "rows/s", digits=0),
        Figure(SCENARIO, "raw COPY, same batches", copy_rate, "rows/s", digits=0),
        Figure(
            SCENARIO, "upsert / raw COPY", ratio, "x", target=f">= {TARGET_RATIO}x", met=ratio >= TARGET_RATIO, digits=2
        ),
        Figure(SCENARIO, "raw COPY, one stream", single_rate, "rows/s", digits=0),
        Figure(SCENARIO, "upsert / one-stream COPY", ingest_rate / single_rate, "x", digits=2),
        Figure(SCENARIO, "re-ingest of the same rows", reingest_rate, "rows/s", digits=0),
        Figure(SCENARIO, "rows written by the re-ingest", renew + reupdated, "", target="0", met=is_clean, digits=0),
    ]


def _accounts() -> list[tuple[int, str]]:
    unit = OrgUnit.objects.add_root(create_kwargs={"name": "Ingest Service", "kind": OrgUnit.Kind.SERVICE})
    accounts = SocialAccount.objects.bulk_create(
        SocialAccount(
            platform=platform,
            handle=f"ingest{number:04d}",
            external_id=f"{9_000_000 + number}",
            kind=SocialAccount.Kind.UNIT,
            unit=unit,
            status=SocialAccount.Status.ACTIVE,
        )
        for number, platform in enumerate(platform_mix(ACCOUNTS), start=1)
    )
    return [(account.pk, account.platform) for account in accounts]


def _messages(batch: int, platform: str, *, ids: int) -> list[NormalizedMessage]:
    """One poll's worth of messages, the same for the same batch number (seeded)."""
    rng = random.Random(batch)
    base = datetime.datetime(2026, 8, 20, 12, 0, tzinfo=datetime.UTC)
    messages = []
    for offset in range(BATCH):
        number = batch * BATCH + offset
        external_id = f"{ids + number}"
        is_inbound = rng.random() < 0.7
        is_reply = rng.random() < 0.5
        author = rng.randrange(50_000) if is_inbound else batch
        handle = f"resident{author}" if is_inbound else f"org{batch}"
        text = " ".join(rng.choices(PHRASES, k=rng.randint(2, 9)))
        messages.append(
            NormalizedMessage(
                platform=platform,
                external_id=external_id,
                direction=Direction.INBOUND if is_inbound else Direction.OUTBOUND,
                kind=Kind.REPLY if is_reply else (Kind.MENTION if is_inbound else Kind.POST),
                author_id=f"{1_600_000_000_000 + author}",
                author_handle=handle,
                author_name=f"Resident {author}" if is_inbound else f"Org account {batch}",
                text=f"@org{batch} {text}" if is_inbound else text,
                created_at=base - datetime.timedelta(seconds=number * 3),
                conversation_id=f"{ids + number - rng.randrange(50)}",
                in_reply_to_id=f"{ids + number - 1 - rng.randrange(20)}" if is_reply else "",
                url=f"https://{PREFIXES.get(platform, 'example.social')}/{handle}/status/{external_id}",
                metrics={
                    "like_count": rng.randrange(200),
                    "reply_count": rng.randrange(20),
                    "retweet_count": rng.randrange(30),
                    "quote_count": rng.randrange(5),
                    "impression_count": rng.randrange(20_000),
                },
            )
        )
    return messages


def _copy_statement() -> str:
    return f"COPY {Message._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"


def _checkpoint() -> None:
    """Start each timed pass with clean shared buffers, so no pass pays for the previous one's writes."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _copy_batch(account_id: int, messages: list[NormalizedMessage]) -> float:
    """One poll's rows by raw COPY, in one transaction. Returns the seconds it took."""
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(_copy_statement()) as copy:
        for message in messages:
            copy.write_row(message_row(message, account_id, now))
    return time.perf_counter() - started


def _single_copy(accounts: list[tuple[int, str]], batches: range) -> float:
    """Every row in one COPY and one transaction, into the empty table: the fastest way in."""
    _checkpoint()
    elapsed = 0.0
    mark = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(_copy_statement()) as copy:
        for batch in batches:
            elapsed += time.perf_counter() - mark  # the previous batch's rows (or opening the COPY)
            account_id, platform = accounts[batch % len(accounts)]
            messages = _messages(batch, platform, ids=COPY_IDS)
            mark = time.perf_counter()
            now = timezone.now()
            for message in messages:
                copy.write_row(message_row(message, account_id, now))
    return elapsed + time.perf_counter() - mark  # the last rows, the end of the COPY and the commit


def _upsert_batch(account_id: int, messages: list[NormalizedMessage]) -> tuple[float, UpsertResult]:
    """One poll's messages through the ingest service, in one transaction as a poll does."""
    started = time.perf_counter()
    with transaction.atomic():
        result = messages_upsert(account_id=account_id, messages=messages)
    return time.perf_counter() - started, result


def _truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Message._meta.db_table} CASCADE")
