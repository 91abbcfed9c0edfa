"""The inbox benchmark's traffic: the weighted accounts, and `size` messages with the triage items of the
inbound ones over the last DAYS days, written with psycopg's COPY under PostgreSQL's recipe for populating a
database (see benchmarks/inbox.py for the shares, and what is measured on them)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import random
import time
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from accounts_registry.models import OrgUnit, SocialAccount
from engagement.models import TriageItem
from monitoring.models import Message
from monitoring.services.ingest import COLUMNS as INGEST_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Iterator

DAYS = 180
# Shares of all messages: inbound ones (each with a triage item) and, among them, by status.
INBOUND_SHARE = 0.65
STATUS_SHARES = (
    (TriageItem.Status.WAITING, 0.25),
    (TriageItem.Status.ANSWERED, 0.30),
    (TriageItem.Status.HANDLED, 0.075),
    (TriageItem.Status.DISMISSED, 0.025),
)
PRIORITY_WEIGHTS = ((TriageItem.Priority.URGENT, 1), (TriageItem.Priority.HIGH, 35), (TriageItem.Priority.NORMAL, 64))
ASSIGNED_SHARE = 0.1
# Messages per account, relative to each other: 400 per corporate account for 8 per officer's account.
ACCOUNT_WEIGHTS = {"corporate": 400, "division": 60, "unit": 20, "personal": 8}
CHUNK = 50_000  # threads generated and written per pair of COPYs
# The columns the ingest path writes, plus the id (generated here so triage rows can point at messages).
MESSAGE_COLUMNS = ("id", *INGEST_COLUMNS)
TRIAGE_COLUMNS = (
    "message_id",
    "account_id",
    "platform",
    "created_at",
    "conversation_id",
    "author_id",
    "status",
    "category",
    "category_reason",
    "is_question",
    "priority",
    "assignee_id",
    "handled_reason",
    "closed_by_id",
    "closed_at",
    "answer_id",
    "answered_at",
    "first_response_seconds",
    "updated_at",
)
EXTERNAL_IDS = 7_000_000_000
RESIDENT_IDS = 2_000_000_000
PREFIXES = {
    "x": "x.com",
    "facebook": "facebook.com",
    "instagram": "instagram.com",
    "bluesky": "bsky.app",
    "mastodon": "police.social",
}
COMMENT_PLATFORMS = frozenset({"facebook", "instagram"})
STREETS = ["King St", "Queen St W", "Dundas", "Main Street", "Bloor", "rue Sainte-Catherine", "Lakeshore Blvd"]
TEXTS: dict[int, list[str]] = {
    TriageItem.Priority.URGENT: [
        "help, someone is breaking in next door on {street} right now",
        "I want to report a stolen car, it was parked on {street} last night",
        "there is a man with a knife near {street}, please send someone",
        "au secours, quelqu'un essaie d'entrer chez moi sur {street}",
    ],
    TriageItem.Priority.HIGH: [
        "when will {street} reopen after the crash?",
        "is the road closed at {street} tonight?",
        "how do I get a copy of my collision report?",
        "who do I call about a noise complaint on {street}?",
        "est-ce que la rue {street} est encore fermée?",
        "quand est-ce que le bureau de quartier ouvre?",
    ],
    TriageItem.Priority.NORMAL: [
        "thanks for the update on {street}",
        "great job everyone at the parade today",
        "the traffic lights are out again at {street}, this is ridiculous",
        "merci pour votre aide hier soir",
        "the bike lane on {street} is always blocked by delivery trucks",
        "lost dog found near {street}, shared with the neighbourhood group",
    ],
}
CATEGORIES: dict[int, list[str]] = {
    TriageItem.Priority.URGENT: [TriageItem.Category.EMERGENCY],
    TriageItem.Priority.HIGH: [TriageItem.Category.QUESTION],
    TriageItem.Priority.NORMAL: [
        TriageItem.Category.GREETING,
        TriageItem.Category.COMPLAINT,
        TriageItem.Category.OTHER,
    ],
}
POSTS = [
    "Road closure on {street} until 6 pm: plan another route.",
    "Join us at the community barbecue this Saturday near {street}.",
    "Thank you to everyone who came out to the town hall.",
    "Rappel : la collecte de vélos volés a lieu dimanche.",
]
REPLIES = [
    "Thanks for reaching out. {street} reopens at 6 pm.",
    "Please call 911 if you are in danger right now.",
    "Thank you! We passed this on to the team.",
    "You can request the report online on our website.",
    "Merci, nous avons transmis votre message à l'équipe.",
]
HANDLED_REASONS = [reason.value for reason in TriageItem.HandledReason]


@dataclasses.dataclass(frozen=True)
class Account:
    pk: int
    platform: str
    handle: str
    weight: int


def weighted_accounts() -> list[Account]:
    """Every account that has been polled (not those still waiting for credentials), weighted."""
    accounts = []
    for pk, platform, handle, kind, unit_kind in (
        SocialAccount.objects.exclude(status=SocialAccount.Status.PENDING)
        .order_by("pk")
        .values_list("pk", "platform", "handle", "kind", "unit__kind")
    ):
        if kind == SocialAccount.Kind.UNIT:
            weight = ACCOUNT_WEIGHTS["division" if unit_kind == OrgUnit.Kind.DIVISION else "unit"]
        else:
            weight = ACCOUNT_WEIGHTS[kind]
        accounts.append(Account(pk, platform, handle, weight))
    return accounts


@dataclasses.dataclass
class Generated:
    size: int
    messages: int = 0
    items: int = 0
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)
    building: float = 0.0
    copying: float = 0.0
    indexing: float = 0.0
    vacuuming: float = 0.0

    def describe(self) -> str:
        statuses = ", ".join(f"{count:,} {status}" for status, count in self.statuses.items())
        total = self.building + self.copying + self.indexing + self.vacuuming
        return (
            f"{self.messages:,} messages, {self.items:,} triage items ({statuses}) in {total:.1f} s: rows built "
            f"{self.building:.1f} s, COPY {self.copying:.1f} s, indexes and foreign keys {self.indexing:.1f} s, "
            f"VACUUM ANALYZE {self.vacuuming:.1f} s"
        )


def generate(size: int, accounts: list[Account], users: list[int]) -> Generated:
    """`size` messages and the triage items of the inbound ones, in time order, in one transaction."""
    _truncate()
    result = Generated(size)
    message_sql = f"COPY {Message._meta.db_table} ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN"
    triage_sql = f"COPY {TriageItem._meta.db_table} ({', '.join(TRIAGE_COLUMNS)}) FROM STDIN"
    with _bulk_load([Message._meta.db_table, TriageItem._meta.db_table], result):
        with transaction.atomic(), connection.cursor() as cursor:
            last_id = 0
            mark = time.perf_counter()
            for messages, items in _chunks(size, accounts, users, result):
                result.building += time.perf_counter() - mark
                mark = time.perf_counter()
                with cursor.cursor.copy(message_sql) as copy:
                    for row in messages:
                        copy.write_row(row)
                with cursor.cursor.copy(triage_sql) as copy:
                    for row in items:
                        copy.write_row(row)
                last_id = messages[-1][0] if messages else last_id
                result.messages += len(messages)
                result.items += len(items)
                result.copying += time.perf_counter() - mark
                mark = time.perf_counter()
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Message._meta.db_table, last_id])
        result.copying += time.perf_counter() - mark  # the commit
    mark = time.perf_counter()
    with connection.cursor() as cursor:
        # Every table, the registry's too: autovacuum would have analyzed the freshly seeded accounts and
        # units long ago, and the inbox's plans depend on their statistics (without them the planner
        # expects one account in scope and reads every account's waiting items).
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
    result.vacuuming = time.perf_counter() - mark
    return result


def _chunks(
    size: int, accounts: list[Account], users: list[int], result: Generated
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(message rows, triage rows) of CHUNK threads at a time, oldest first, `size` messages in all.

    A thread is an account's own post, or an inbound message with its triage item (and, when answered,
    the account's reply). Message ids follow time order, as ingest would assign them."""
    answered_share = dict(STATUS_SHARES)[TriageItem.Status.ANSWERED]
    post_share = (1 - INBOUND_SHARE - answered_share) / (1 - answered_share)
    threads = round(size * (1 - answered_share))
    now = timezone.now().timestamp()
    start = now - DAYS * 86_400
    step = (now - 300 - start) / threads
    statuses, status_weights = zip(*((status, share / INBOUND_SHARE) for status, share in STATUS_SHARES), strict=True)
    priorities, priority_weights = zip(*PRIORITY_WEIGHTS, strict=True)
    account_weights = [account.weight for account in accounts]
    residents = max(1_000, size // 8)
    result.statuses = dict.fromkeys(statuses, 0)
    utc = datetime.UTC
    written = thread = 0
    next_id = 1
    while written < size:
        rng = random.Random(f"{size}:{thread}")
        messages: list[tuple[Any, ...]] = []
        items: list[tuple[Any, ...]] = []
        for account in rng.choices(accounts, weights=account_weights, k=CHUNK):
            if written + len(messages) >= size:
                break
            posted = min(start + step * (thread + rng.random()), now - 60)
            created_at = datetime.datetime.fromtimestamp(posted, tz=utc)
            thread += 1
            street = rng.choice(STREETS)
            if rng.random() < post_share:
                text = rng.choice(POSTS).format(street=street)
                messages.append(_outbound(next_id, account, created_at, text, f"{EXTERNAL_IDS + next_id}", ""))
                next_id += 1
                continue
            status = rng.choices(statuses, weights=status_weights)[0]
            if status == TriageItem.Status.ANSWERED and written + len(messages) + 2 > size:
                status = TriageItem.Status.WAITING  # no room left for the answer
            priority = rng.choices(priorities, weights=priority_weights)[0]
            resident = int(residents * rng.random() ** 2)  # a few residents post a lot
            author_id, handle = f"{RESIDENT_IDS + resident}", f"resident{resident}"
            message_id, next_id = next_id, next_id + 1
            external_id = f"{EXTERNAL_IDS + message_id}"
            is_mention = message_id < 100 or rng.random() < 0.4
            # A mention starts its own conversation; a reply joins an earlier one.
            conversation = external_id if is_mention else f"{EXTERNAL_IDS + rng.randrange(1, message_id)}"
            if account.platform in COMMENT_PLATFORMS:
                kind = Message.Kind.COMMENT
            else:
                kind = Message.Kind.MENTION if is_mention else Message.Kind.REPLY
            messages.append(
                (
                    message_id,
                    account.platform,
                    external_id,
                    account.pk,
                    Message.Direction.INBOUND,
                    kind,
                    author_id,
                    handle,
                    f"Resident {resident}",
                    f"@{account.handle} " + rng.choice(TEXTS[priority]).format(street=street),
                    created_at,
                    conversation,
                    "" if is_mention else conversation,
                    f"https://{PREFIXES[account.platform]}/{handle}/status/{external_id}",
                    "{}",
                    Message.Visibility.PUBLIC,
                    f"{message_id:064x}",
                    created_at,
                    created_at,
                )
            )
            answer_id = answered_at = closed_at = closed_by = delay = None
            reason = ""
            if status == TriageItem.Status.ANSWERED:
                delay = min(int(rng.expovariate(1 / 10_800)) + 60, int(now - posted))
                answered_at = created_at + datetime.timedelta(seconds=delay)
                answer_id, next_id = next_id, next_id + 1
                reply = f"@{handle} " + rng.choice(REPLIES).format(street=street)
                messages.append(_outbound(answer_id, account, answered_at, reply, conversation, external_id))
            elif status != TriageItem.Status.WAITING:
                closed_at = datetime.datetime.fromtimestamp(min(posted + rng.uniform(600, 100_000), now), tz=utc)
                closed_by = rng.choice(users)
                reason = rng.choice(HANDLED_REASONS) if status == TriageItem.Status.HANDLED else ""
            items.append(
                (
                    message_id,
                    account.pk,
                    account.platform,
                    created_at,
                    conversation,
                    author_id,
                    status,
                    category := rng.choice(CATEGORIES[priority]),
                    f"rule: {category}",  # the classifier's why (a rule name)
                    priority == TriageItem.Priority.HIGH,
                    priority,
                    rng.choice(users) if rng.random() < ASSIGNED_SHARE else None,
                    reason,
                    closed_by,
                    closed_at,
                    answer_id,
                    answered_at,
                    delay,
                    answered_at or closed_at or created_at,
                )
            )
            result.statuses[status] += 1
        written += len(messages)
        yield messages, items


def _outbound(
    pk: int, account: Account, created_at: datetime.datetime, text: str, conversation: str, in_reply_to: str
) -> tuple[Any, ...]:
    external_id = f"{EXTERNAL_IDS + pk}"
    return (
        pk,
        account.platform,
        external_id,
        account.pk,
        Message.Direction.OUTBOUND,
        Message.Kind.REPLY if in_reply_to else Message.Kind.POST,
        f"{9_000_000 + account.pk}",
        account.handle,
        account.handle,
        text,
        created_at,
        conversation,
        in_reply_to,
        f"https://{PREFIXES[account.platform]}/{account.handle}/status/{external_id}",
        '{"like_count": 3, "reply_count": 1}',
        Message.Visibility.PUBLIC,
        f"{pk:064x}",
        created_at,
        created_at,
    )


def _truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Message._meta.db_table}, {TriageItem._meta.db_table} RESTART IDENTITY CASCADE")


@contextlib.contextmanager
def _bulk_load(tables: list[str], result: Generated) -> Iterator[None]:
    """PostgreSQL's recipe for populating a table: drop its secondary indexes and foreign keys, load, then
    create them again exactly as they were (one sort per index, one join per foreign key). Indexes that
    back a constraint (primary keys, unique constraints) stay."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [tables],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND indexrelid NOT IN (SELECT conindid FROM pg_constraint) "
            "ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for index, _definition in indexes:
            cursor.execute(f"DROP INDEX {index}")
    try:
        yield
    finally:
        mark = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _index, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
            cursor.execute("RESET maintenance_work_mem")
        result.indexing = time.perf_counter() - mark
