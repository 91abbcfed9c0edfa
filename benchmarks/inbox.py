"""Scenario: the triage inbox's server time at 20,000 and at 2,000,000 messages.

The demo organization (`seed_demo`: 470 accounts under 63 units) receives generated traffic over the last
180 days, written with psycopg's COPY (not the ORM) at two sizes: 20,000 and 2,000,000 messages. Either
way 65 % are inbound, each with its triage item — a quarter of all messages still waiting (500,000 at
2 M), the rest answered (each by an outbound reply in the same conversation), handled or dismissed — and
the other 35 % outbound (those replies and the accounts' own posts). Traffic is weighted per account: the
corporate accounts are the busiest, then the division accounts, the other unit accounts, and officers'
personal accounts. Priorities 0/1/2 (possible emergency / question / normal) about 1 % / 35 % / 64 %;
residents post from a pool with a few heavy posters; some items are assigned. The load follows
PostgreSQL's recipe for populating a database (secondary indexes and foreign keys dropped, then created
again exactly as they were), then the whole database is vacuumed and analyzed, as autovacuum would have
done by the time anyone opens the inbox.

The two sizes live side by side in two databases: the scratch database (2 M) and a copy of it made
right after seeding (20 k; created from it as a template, dropped at the end). Requests alternate
between them round by round, so both sizes are measured under the same load on the machine and their
ratio means something even while other work runs.

Measured with django.test.Client (logged in with force_login, no template instrumentation) on GET
/inbox/ — the full page: filter form, counts per status, 50 waiting items — for three scopes:

- organization: `comms`, the comms manager of the whole service (every account: the organization-wide
  index path);
- division: a supervisor of 12 Division (29 accounts: more than the inbox's NARROW_ACCOUNTS, so it reads
  the organization-wide index too, filtered to its accounts);
- station: a supervisor of that division's Community Response Unit (14 accounts, each read along its own
  index range).

For each, the first page and a deep page: the "Next page" link followed DEEP_PAGES times (to page 21),
or, when the scope's waiting items run out sooner (a station at 20,000 messages has a page or two), its
deepest full page. Each URL gets WARM_UPS untimed requests and then REPEATS timed ones, round-robin over
variants and sizes. SQL time is summed with `execute_wrapper`; everything else (views, selectors, ORM,
templates, middleware) is reported as rendering. This process's CPU time per request is printed beside
the wall time (a gap between them is time spent waiting for a CPU), and so is the number of queries per
request, which must be the same at both sizes.

Targets: p95 <= 50 ms for every variant at 2 M messages, and a 2 M / 20 k ratio of the medians <= 1.2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import html
import io
import os
import random
import re
import statistics
import time
from typing import TYPE_CHECKING, Any

import psycopg
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from psycopg import sql

from accounts_registry.models import OrgUnit, Role, RoleGrant, SocialAccount
from benchmarks.harness import Figure, ScratchDatabase, report
from benchmarks.world import reset_database
from engagement.models import TriageItem
from monitoring.models import Message
from monitoring.services.ingest import COLUMNS as INGEST_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper

SCENARIO = "inbox"
SIZES = (20_000, 2_000_000)
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
WARM_UPS = 3
REPEATS = 30
DEEP_PAGES = 20
TARGET_P95_MS = 50.0
TARGET_RATIO = 1.2
# The seed is deterministic: 12 Division has 29 accounts (more than the inbox's NARROW_ACCOUNTS, 24), its
# Community Response Unit 14, enough for a full first page of waiting items even at 20,000 messages.
DIVISION = "12 Division"
STATION = "Community Response Unit"  # the one of DIVISION

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
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


def run(workdir: Path) -> list[Figure]:
    reset_database()
    seeded = io.StringIO()
    call_command("seed_demo", "--no-logins", stdout=seeded)
    accounts = _accounts()
    scopes = _scopes()
    report(seeded.getvalue().strip())
    report(
        f"{len(accounts)} accounts with traffic (not those pending); scopes: "
        + ", ".join(f"{scope.label} {scope.accounts} accounts" for scope in scopes)
    )
    small_size, large_size = SIZES
    with _serving(workdir), _copy_of_database("small") as small:
        datasets = [Dataset(small_size, small), Dataset(large_size, connections[DEFAULT_DB_ALIAS])]
        for dataset in datasets:
            with _using(dataset.database):
                generated = _generate(dataset.size, accounts, [scope.user.pk for scope in scopes])
                report(generated.describe())
                dataset.timings = _variants(scopes)
        _measure(datasets)
    for dataset in datasets:
        _describe(dataset)
    return _figures(*datasets)


# --- the organization and who looks at it -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Account:
    pk: int
    platform: str
    handle: str
    weight: int


@dataclasses.dataclass(frozen=True)
class Scope:
    label: str
    user: User
    accounts: int


def _accounts() -> list[Account]:
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


def _scopes() -> list[Scope]:
    """The seed's comms manager, and a supervisor each for DIVISION and for its STATION."""
    user_model = get_user_model()
    division = OrgUnit.objects.get(name=DIVISION)
    station = OrgUnit.objects.get(name=STATION, path__startswith=division.path)
    scopes = [Scope("organization", user_model.objects.get(username="comms"), SocialAccount.objects.count())]
    for label, unit in (("division", division), ("station", station)):
        user = user_model.objects.create_user(username=f"bench-{label}", email=f"{label}@bench.invalid")
        RoleGrant.objects.create(user=user, unit=unit, role=Role.SUPERVISOR)
        count = SocialAccount.objects.filter(unit__path__startswith=unit.path).count()
        scopes.append(Scope(label, user, count))
    return scopes


# --- two databases side by side ---------------------------------------------------------------------------


@dataclasses.dataclass
class Dataset:
    size: int
    database: BaseDatabaseWrapper
    timings: list[Timing] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def _copy_of_database(suffix: str) -> Iterator[BaseDatabaseWrapper]:
    """A copy of the scratch database as it is now (CREATE DATABASE ... TEMPLATE), behind its own
    connection, dropped at the end. `_using` makes it the default connection for a while."""
    main = connections[DEFAULT_DB_ALIAS]
    template = str(main.settings_dict["NAME"])
    copy = ScratchDatabase.beside(os.environ["DATABASE_URL"], name=f"{template}_{suffix}")
    connections.close_all()  # a template must have no other session
    copy.drop()
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy.name), sql.Identifier(template))
    deadline = time.monotonic() + 30
    with psycopg.connect(copy.maintenance_url, autocommit=True) as maintenance:
        while True:
            try:
                maintenance.execute(statement)
                break
            except psycopg.errors.ObjectInUse:  # a session of an earlier scenario (a worker) still closing
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    database = main.__class__({**main.settings_dict, "NAME": copy.name}, DEFAULT_DB_ALIAS)
    try:
        yield database
    finally:
        database.close()
        copy.drop()


@contextlib.contextmanager
def _using(database: BaseDatabaseWrapper) -> Iterator[None]:
    """Make `database` the default connection (what views, selectors and `connection` use) for a while."""
    previous = connections[DEFAULT_DB_ALIAS]
    connections[DEFAULT_DB_ALIAS] = database
    try:
        yield
    finally:
        connections[DEFAULT_DB_ALIAS] = previous


# --- generating the traffic -------------------------------------------------------------------------------


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


def _generate(size: int, accounts: list[Account], users: list[int]) -> Generated:
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
                    rng.choice(CATEGORIES[priority]),
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


# --- measuring --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sample:
    """One timed request (milliseconds): wall time, SQL time, this process's CPU time, and its queries."""

    total: float
    sql: float
    cpu: float
    queries: list[tuple[str, float]]
    rows: int


@dataclasses.dataclass
class Timing:
    """One URL's timed requests, the client (logged in) that makes them, and the page number it shows."""

    label: str
    client: Client
    url: str
    page: int
    samples: list[Sample] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(sample.total for sample in self.samples)

    @property
    def p95(self) -> float:
        return _percentile([sample.total for sample in self.samples], 0.95)

    @property
    def sql_median(self) -> float:
        return statistics.median(sample.sql for sample in self.samples)

    @property
    def rendering_median(self) -> float:
        """Everything but SQL: views, selectors, ORM, templates, middleware."""
        return statistics.median(sample.total - sample.sql for sample in self.samples)

    @property
    def cpu_median(self) -> float:
        return statistics.median(sample.cpu for sample in self.samples)

    @property
    def queries(self) -> str:
        counts = sorted({len(sample.queries) for sample in self.samples})
        return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"

    @property
    def rows(self) -> int:
        return self.samples[-1].rows

    def slowest_query(self) -> tuple[str, float]:
        """The query (by its place in the request) with the highest median time."""
        places = min(len(sample.queries) for sample in self.samples)
        medians = [
            (
                " ".join(self.samples[0].queries[place][0].split())[:80],
                statistics.median(sample.queries[place][1] for sample in self.samples),
            )
            for place in range(places)
        ]
        return max(medians, key=lambda pair: pair[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@contextlib.contextmanager
def _serving(workdir: Path) -> Iterator[None]:
    """Settings for serving pages in this process: the manifest static storage as in production (collected
    into the work directory, so no `make static` is needed) and the test client's host name. The client
    sends every request as HTTPS, so the HTTPS redirect of the default settings stays out of the way."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=workdir / "inbox-static", STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield


def _get(client: Client, url: str) -> str:
    response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return response.content.decode()


def _deep_url(client: Client, first: str) -> tuple[str, int]:
    """Follow the "Next page" link DEEP_PAGES times; if the pages run out sooner, the last full page (one
    that has a next page). Returns its URL and page number."""
    url, page = first, 1
    full = (first, 1)
    while page <= DEEP_PAGES:
        match = NEXT_LINK.search(_get(client, url))
        if match is None:
            return full
        full = (url, page)
        url, page = html.unescape(match.group(1)), page + 1
    return url, page


def _variants(scopes: list[Scope]) -> list[Timing]:
    """For each scope, a client logged in to the current database, its first page and its deep page."""
    first = reverse("inbox:index")
    timings = []
    for scope in scopes:
        client = Client()
        client.force_login(scope.user)
        deep, page = _deep_url(client, first)
        timings.append(Timing(f"{scope.label}, first page", client, first, 1))
        timings.append(Timing(f"{scope.label}, deep page", client, deep, page))
    return timings


def _timed(client: Client, url: str) -> Sample:
    queries: list[tuple[str, float]] = []

    def wrapper(execute: Callable[..., Any], statement: str, params: Any, many: bool, context: dict[str, Any]) -> Any:  # noqa: FBT001
        began = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            queries.append((statement, (time.perf_counter() - began) * 1000))

    with connection.execute_wrapper(wrapper):
        began, cpu = time.perf_counter(), time.process_time()
        body = _get(client, url)
        total, cpu = time.perf_counter() - began, time.process_time() - cpu
    return Sample(
        total=total * 1000,
        sql=sum(ms for _sql, ms in queries),
        cpu=cpu * 1000,
        queries=queries,
        rows=body.count('class="card inbox-row '),
    )


def _measure(datasets: list[Dataset]) -> None:
    """WARM_UPS + REPEATS rounds; each round requests every variant of both sizes (which size goes first
    alternates), so both sizes share whatever else the machine is doing."""
    report(f"{WARM_UPS} warm-up rounds, then {REPEATS} timed rounds, alternating between the sizes")
    for round_number in range(WARM_UPS + REPEATS):
        for dataset in datasets if round_number % 2 else reversed(datasets):
            with _using(dataset.database):
                for timing in dataset.timings:
                    sample = _timed(timing.client, timing.url)
                    if round_number >= WARM_UPS:
                        timing.samples.append(sample)


def _describe(dataset: Dataset) -> None:
    report(f"at {dataset.size:,} messages (ms; CPU is this process's, per request):")
    report(
        f"  {'variant':<26} {'page':>4} {'rows':>4} {'median':>7} {'p95':>7} {'SQL':>6} {'render':>7} {'CPU':>6} "
        f"{'queries':>7}  slowest query (median)"
    )
    for timing in dataset.timings:
        slowest, ms = timing.slowest_query()
        report(
            f"  {timing.label:<26} {timing.page:>4} {timing.rows:>4} {timing.median:>7.1f} {timing.p95:>7.1f} "
            f"{timing.sql_median:>6.1f} {timing.rendering_median:>7.1f} {timing.cpu_median:>6.1f} "
            f"{timing.queries:>7}  {ms:.1f} ms: {slowest}"
        )


# --- the figures ------------------------------------------------------------------------------------------


def _figures(small: Dataset, large: Dataset) -> list[Figure]:
    figures: list[Figure] = []
    report(
        f"{'variant':<26} {'median 20k':>10} {'median 2M':>10} {'p95 2M':>7} {'ratio':>6}  SQL / rendering at 2M (ms)"
    )
    for before, after in zip(small.timings, large.timings, strict=True):
        label = after.label
        ratio = after.median / before.median
        report(
            f"{label:<26} {before.median:>10.1f} {after.median:>10.1f} {after.p95:>7.1f} {ratio:>6.2f}  "
            f"{after.sql_median:.1f} / {after.rendering_median:.1f}"
        )
        figures += [
            Figure(SCENARIO, f"{label}: median at 2M", after.median, "ms"),
            Figure(
                SCENARIO,
                f"{label}: p95 at 2M",
                after.p95,
                "ms",
                target=f"<= {TARGET_P95_MS:.0f} ms",
                met=after.p95 <= TARGET_P95_MS,
            ),
            Figure(
                SCENARIO,
                f"{label}: median 2M / 20k",
                ratio,
                "x",
                target=f"<= {TARGET_RATIO}x",
                met=ratio <= TARGET_RATIO,
                digits=2,
            ),
            Figure(SCENARIO, f"{label}: SQL at 2M (median)", after.sql_median, "ms"),
            Figure(SCENARIO, f"{label}: rendering at 2M (median)", after.rendering_median, "ms"),
        ]
    counts = [(before.queries, after.queries) for before, after in zip(small.timings, large.timings, strict=True)]
    most = max(int(count.split("-")[-1]) for pair in counts for count in pair)
    figures.append(
        Figure(
            SCENARIO,
            "queries per request (most, any variant)",
            most,
            "",
            target="same at 20k and 2M",
            met=all(before == after and "-" not in after for before, after in counts),
            digits=0,
        )
    )
    return figures
