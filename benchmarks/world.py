"""The world the sweep benchmarks poll: the platform API doubles, a fleet of accounts, and the sweep driver.

The doubles (doubles) run in this process on loopback; the Celery workers reach them over HTTP
through the real connectors and client libraries, exactly as in the integration tests. Every account gets
a small history (two own posts, a question, the org's answer, an unanswered reply or comment).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import importlib
import random
import time
from typing import TYPE_CHECKING, Any

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max
from django.test import Client
from django.utils import timezone

from accounts_registry.crypto import encrypt_credentials
from accounts_registry.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from accounts_registry.models import OrgUnit, SocialAccount
from benchmarks.harness import broker_backlog, process_cpu_seconds, wait_for, wait_for_idle_broker
from doubles.bluesky import BlueskyDouble, post_uri
from doubles.facebook import FacebookDouble
from doubles.mastodon import MastodonDouble, status_id
from doubles.scenario import Item, Person, Scenario
from doubles.x import XDouble, snowflake
from doubles.x.server import DEFAULT_LIMITS
from monitoring.models import DailyActivity, JobRun, Message, PlatformUsage, PollRun, PollState
from monitoring.tasks import poll_due_accounts

if TYPE_CHECKING:
    from doubles.server import Request, Response

X_APP_BEARER = "bench-x-app-bearer"
FACEBOOK_APP_SECRET = "bench-facebook-app-secret"
# Accounts per platform, roughly the demo organization's mix: mostly X, then Instagram, Facebook, Bluesky,
# Mastodon.
PLATFORM_MIX = (("x", 65), ("instagram", 14), ("facebook", 10), ("bluesky", 7), ("mastodon", 4))
COMMENT_PLATFORMS = frozenset({"facebook", "instagram"})  # inbound items are comments under the page's posts
CITIZENS_PER_PLATFORM = 40
# The double enforces X's published per-15-minute windows; a fleet of hundreds of accounts polled every
# minute or two exceeds them by design, which the X budget scenario reports from the request counts.
UNLIMITED = 10**9


# -- faster views of a scenario -----------------------------------------------------------------------------


@dataclasses.dataclass
class IndexedScenario(Scenario):
    """A Scenario whose lookups stay cheap with thousands of items: the doubles call `snapshot` and `find`
    on every request (and per rendered item), which is linear in the whole scenario otherwise."""

    version: int = 0
    _sorted: dict[str, list[Item]] = dataclasses.field(default_factory=dict, repr=False)
    _by_id: dict[tuple[str, str], Item] = dataclasses.field(default_factory=dict, repr=False)

    def add(self, item: Item) -> Item:
        with self._lock:
            super().add(item)
            self._by_id[(item.platform, item.id)] = item
            self._sorted.pop(item.platform, None)
            self.version += 1
        return item

    def find(self, platform: str, item_id: str) -> Item | None:
        with self._lock:
            return self._by_id.get((platform, item_id))

    def snapshot(self, platform: str) -> list[Item]:
        with self._lock:
            cached = self._sorted.get(platform)
            if cached is None:
                cached = self._sorted[platform] = super().snapshot(platform)
            return list(cached)


@dataclasses.dataclass(frozen=True)
class XReads:
    """What one X response returned: posts in `data`, referenced posts in `includes`, expanded users."""

    path: str
    posts: int
    included_posts: int
    users: int


class BenchXDouble(XDouble):
    """The X double, plus a tally of the posts and users each response carried (X bills per resource)."""

    def __init__(self, scenario: IndexedScenario, **kwargs: Any) -> None:
        super().__init__(scenario, **kwargs)
        self.indexed = scenario
        self.reads: list[XReads] = []
        self._items_cache: tuple[int, list[Item]] | None = None

    def _items(self) -> list[Item]:
        cached = self._items_cache
        if cached is None or cached[0] != self.indexed.version:
            cached = self._items_cache = (self.indexed.version, super()._items())
        return list(cached[1])

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        body = response.body if isinstance(response.body, dict) else {}
        data = body.get("data")
        includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
        assert isinstance(includes, dict)
        if isinstance(data, list):
            posts, users = len(data), len(includes.get("users") or [])
        else:  # a user lookup answers one user object
            posts, users = 0, int(isinstance(data, dict))
        included = len(includes.get("tweets") or includes.get("posts") or [])
        with self._lock:
            self.reads.append(XReads(request.path, posts, included, users))
        return response


# -- the doubles --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Doubles:
    scenario: IndexedScenario
    x: BenchXDouble
    facebook: FacebookDouble
    bluesky: BlueskyDouble
    mastodon: MastodonDouble

    @classmethod
    def start(cls) -> Doubles:
        scenario = IndexedScenario()
        doubles = cls(
            scenario=scenario,
            x=BenchXDouble(scenario, app_bearer=X_APP_BEARER, limits=dict.fromkeys(DEFAULT_LIMITS, UNLIMITED)),
            facebook=FacebookDouble(scenario, app_secret=FACEBOOK_APP_SECRET),
            bluesky=BlueskyDouble(scenario),
            mastodon=MastodonDouble(scenario),
        )
        for double in doubles.servers():
            double.start()
        return doubles

    def servers(self) -> tuple[XDouble, FacebookDouble, BlueskyDouble, MastodonDouble]:
        return (self.x, self.facebook, self.bluesky, self.mastodon)

    def stop(self) -> None:
        for double in self.servers():
            double.stop()

    def settings_env(self) -> dict[str, str]:
        """Settings for a worker process: where the platform APIs are (Mastodon's is per account)."""
        return {
            "CHORUS_X_API_BASE": self.x.url,
            "CHORUS_X_BEARER_TOKEN": X_APP_BEARER,
            "CHORUS_FACEBOOK_API_BASE": self.facebook.url,
            "CHORUS_FACEBOOK_APP_SECRET": FACEBOOK_APP_SECRET,
            "CHORUS_BLUESKY_API_BASE": self.bluesky.url,
            # Mastodon instance URLs are user input, checked by the outbound guard: the loopback double is
            # allowed by name, as in the demo.
            "CHORUS_OUTBOUND_ALLOWLIST": self.mastodon.url,
        }

    def apply_settings(self) -> None:
        """The same settings for polls run in this process."""
        for name, value in self.settings_env().items():
            setattr(settings, name, [value] if name == "CHORUS_OUTBOUND_ALLOWLIST" else value)


# -- the fleet ----------------------------------------------------------------------------------------------


def platform_mix(count: int, *, seed: int = 7) -> list[str]:
    """`count` platforms in PLATFORM_MIX proportions (largest remainder), in a fixed shuffled order."""
    total = sum(weight for _, weight in PLATFORM_MIX)
    shares = {platform: count * weight / total for platform, weight in PLATFORM_MIX}
    numbers = {platform: int(share) for platform, share in shares.items()}
    by_remainder = sorted(shares, key=lambda platform: shares[platform] - numbers[platform], reverse=True)
    for platform in by_remainder[: count - sum(numbers.values())]:
        numbers[platform] += 1
    platforms = [platform for platform, _ in PLATFORM_MIX for _ in range(numbers[platform])]
    random.Random(seed).shuffle(platforms)
    return platforms


@dataclasses.dataclass
class Fleet:
    account_ids: list[int]
    people: dict[int, Person]  # account pk -> its platform identity in the scenario
    platforms: collections.Counter[str]


class History:
    """Writes each org account's small history into the scenario, with ids in each platform's format."""

    def __init__(self, scenario: IndexedScenario, now: datetime.datetime) -> None:
        self.scenario = scenario
        self.now = now
        self.citizens = {
            platform: [self._citizen(platform, number) for number in range(1, CITIZENS_PER_PLATFORM + 1)]
            for platform, _ in PLATFORM_MIX
        }

    def _citizen(self, platform: str, number: int) -> Person:
        if platform == "x":
            return Person("x", f"{1_600_000_000_000_000_000 + number}", f"resident{number:03d}", f"Resident {number}")
        if platform == "facebook":
            return Person("facebook", f"{7_100_000_000_000_000 + number}", "", f"Resident {number}")
        if platform == "instagram":
            return Person("instagram", f"{17_840_000_000_000_000 + number}", f"resident.{number:03d}", "")
        if platform == "bluesky":
            person = Person("bluesky", f"did:plc:resident{number:03d}", f"resident{number:03d}.bsky.social", "")
            return self.scenario.add_account(person.platform, person.id, person.handle, f"Resident {number}")
        return Person("mastodon", f"{500 + number}", f"resident{number:03d}@example.social", f"Resident {number}")

    def _item_id(self, platform: str, author: Person, created_at: datetime.datetime, post: Item | None) -> str:
        sequence = self.scenario.next_number()
        if platform == "x":
            return snowflake(created_at, sequence)
        if platform == "mastodon":
            return status_id(created_at, sequence % 65_536)
        if platform == "bluesky":
            return post_uri(author.id, f"3lbench{sequence:07d}")
        if platform == "facebook":
            # Posts are "{page}_{post}", comments "{post}_{comment}" as on Graph.
            return f"{post.id.split('_')[1]}_{sequence}" if post else f"{author.id}_{9_000_000_000 + sequence}"
        return f"{17_900_000_000_000_000 + sequence}"

    def add(
        self, author: Person, org: Person, text: str, created_at: datetime.datetime, *, reply_to: Item | None = None
    ) -> Item:
        post = None
        if org.platform in COMMENT_PLATFORMS and reply_to is not None:
            post = reply_to if not reply_to.post_id else self.scenario.find(org.platform, reply_to.post_id)
        item = Item(
            org.platform,
            self._item_id(org.platform, author, created_at, post),
            author,
            org,
            text,
            created_at,
            in_reply_to=reply_to.id if reply_to else "",
            post_id=post.id if post else "",
            likes=len(text) % 17,
        )
        return self.scenario.add(item)

    def write(self, org: Person, number: int) -> None:
        """Two own posts; a resident's question and the org's answer; an unanswered reply or comment."""
        citizens = self.citizens[org.platform]
        asking, replying = citizens[number % len(citizens)], citizens[(number * 7 + 3) % len(citizens)]

        def hours_ago(hours: float) -> datetime.datetime:
            return self.now - datetime.timedelta(hours=hours, seconds=number)

        at = f"@{org.handle} " if org.platform not in COMMENT_PLATFORMS else ""
        first = self.add(
            org, org, f"Road closures downtown this weekend for the parade (update {number}).", hours_ago(40)
        )
        question = self.add(
            asking,
            org,
            f"{at}Is the bridge open to cyclists during the closure? Asking for the school run.",
            hours_ago(30),
            reply_to=first if org.platform in COMMENT_PLATFORMS else None,
        )
        thanks = f"@{asking.handle} " if asking.handle and org.platform not in COMMENT_PLATFORMS else ""
        self.add(
            org, org, f"{thanks}Yes, the bike lane stays open. Thanks for asking!", hours_ago(29), reply_to=question
        )
        second = self.add(org, org, f"Community meeting on Thursday at 7 pm, all welcome ({number}).", hours_ago(6))
        self.add(replying, org, f"{at}Will it be streamed? I work evenings.", hours_ago(5), reply_to=second)

    def mention(self, org: Person, number: int, created_at: datetime.datetime) -> Item:
        """A new inbound item for the org (a mention on X-like platforms, a comment elsewhere)."""
        citizens = self.citizens[org.platform]
        author = citizens[number % len(citizens)]
        if org.platform in COMMENT_PLATFORMS:
            latest = next(
                item
                for item in self.scenario.snapshot(org.platform)
                if item.to == org and item.is_outbound and not item.post_id and not item.in_reply_to
            )
            return self.add(author, org, f"New question #{number}", created_at, reply_to=latest)
        return self.add(author, org, f"@{org.handle} new question #{number} about the closure", created_at)


def _org_account(platform: str, number: int, doubles: Doubles) -> tuple[Person, str, dict[str, str], str]:
    """(scenario identity, registry handle, credentials, instance URL) of the fleet's account `number`."""
    scenario = doubles.scenario
    token = f"bench-{platform}-token-{number:04d}"
    if platform == "x":
        handle = f"MPSBench{number:04d}"
        person = scenario.add_account("x", f"{1_500_000_000_000_000_000 + number}", handle, f"Bench {number}")
        return person, handle, {}, ""  # read with the organization-wide app bearer, as in the demo
    if platform == "facebook":
        handle = f"MetroPoliceBench{number:04d}"
        person = scenario.add_account("facebook", f"{104_000_000_000_000 + number}", handle, handle, token=token)
        return person, handle, {"access_token": token}, ""
    if platform == "instagram":
        handle = f"mps_bench{number:04d}"
        person = scenario.add_account("instagram", f"{17_841_400_000_000_000 + number}", handle, handle, token=token)
        return person, handle, {"access_token": token}, ""
    if platform == "bluesky":
        handle = f"bench{number:04d}.bsky.social"
        person = scenario.add_account("bluesky", f"did:plc:bench{number:04d}", handle, f"Bench {number}", token=token)
        return person, handle, {"app_password": token}, ""
    username = f"bench{number:04d}"
    person = scenario.add_account("mastodon", f"{109_000_000_000_000_000 + number}", username, username, token=token)
    return person, f"{username}@police.social", {"access_token": token}, doubles.mastodon.url


def seed_fleet(doubles: Doubles, platforms: list[str], *, now: datetime.datetime | None = None) -> Fleet:
    """Register one active account per entry of `platforms` (credentials encrypted) and its history."""
    now = now or timezone.now().replace(microsecond=0)
    unit = OrgUnit.objects.filter(depth=1).first() or OrgUnit.objects.add_root(
        create_kwargs={"name": "Metro Police Service", "kind": OrgUnit.Kind.SERVICE}
    )
    history = History(doubles.scenario, now - datetime.timedelta(minutes=10))
    rows, people = [], []
    for number, platform in enumerate(platforms, start=1):
        person, handle, credentials, instance_url = _org_account(platform, number, doubles)
        history.write(person, number)
        people.append(person)
        rows.append(
            SocialAccount(
                platform=platform,
                handle=handle,
                external_id=person.id,
                instance_url=instance_url,
                kind=SocialAccount.Kind.UNIT,
                unit=unit,
                status=SocialAccount.Status.ACTIVE,
                credentials_ciphertext=encrypt_credentials(credentials) if credentials else "",
            )
        )
    accounts = SocialAccount.objects.bulk_create(rows, batch_size=500)
    return Fleet(
        account_ids=[account.pk for account in accounts],
        people={account.pk: person for account, person in zip(accounts, people, strict=True)},
        platforms=collections.Counter(platforms),
    )


def add_new_mentions(doubles: Doubles, fleet: Fleet, *, count: int, seed: int = 11) -> list[Item]:
    """`count` new inbound items for as many distinct accounts, two minutes old (older than any search
    end-time margin, newer than every since-cursor)."""
    history = History(doubles.scenario, timezone.now())
    chosen = random.Random(seed).sample(fleet.account_ids, count)
    created_at = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=2)
    return [
        history.mention(fleet.people[account_id], number, created_at + datetime.timedelta(seconds=number))
        for number, account_id in enumerate(chosen, start=1)
    ]


# -- sweeping -----------------------------------------------------------------------------------------------

MAX_TICKS = 20


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """One sweep of a fleet: from the first beat tick until the workers have no task left."""

    accounts: int
    polled: int  # accounts with a finished individual poll
    outcomes: dict[str, int]  # of those polls
    jobs: dict[str, int]  # other jobs run meanwhile (JobRun tasks), e.g. a combined X sweep
    ticks: int
    seconds: float  # first tick to the last poll's or job's finish (database timestamps)
    is_complete: bool
    lock_wait_share: float  # share of samples (while sessions were active) in which one waited on a lock
    blocked: list[str]  # the statements seen waiting most often, most frequent first
    database_cpu: float = 0.0  # CPU seconds the PostgreSQL sessions of the scratch database used meanwhile
    ticks_seconds: float = 0.0  # how long the beat ticks took to hand every due account to the queue

    @property
    def ok(self) -> int:
        return self.outcomes.get(PollRun.Outcome.OK, 0)

    @property
    def polls_per_second(self) -> float:
        return self.polled / self.seconds if self.seconds else 0.0


def make_all_due() -> None:
    """Everything the scheduler tracks due now (polls would otherwise be a minute or two away)."""
    now = timezone.now()
    PollState.objects.update(next_poll_at=now, lease_until=None)
    try:  # combined sweeps (the X search sweep) keep their own schedule, where the model exists
        sweep_state = apps.get_model("monitoring", "SweepState")
    except LookupError:
        return
    sweep_state.objects.update(next_run_at=now, lease_until=None)


def beat_tick() -> None:
    """One beat tick, run in this process: the body of the `poll_due_accounts` task beat schedules, so
    whatever the sweep enqueues (account polls, combined sweeps) goes to the workers as in production."""
    poll_due_accounts()


def _lock_waits() -> tuple[list[str], int]:
    """(the statements of the sessions waiting on a lock, how many sessions are active) on the scratch
    database, this session aside."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wait_event_type = 'Lock', left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'active'"
        )
        rows = cursor.fetchall()
    return [str(query) for is_waiting, query in rows if is_waiting], len(rows)


class BackendCpu:
    """CPU time of the PostgreSQL server processes serving the scratch database (this session aside), read
    from /proc: the server runs on this machine (loopback). Sampled; a session seen first mid-sweep counts
    from zero, one that existed before counts from its first sample."""

    def __init__(self) -> None:
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self.sample()
        self._before = set(self._first)

    def sample(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            pids = [int(pid) for (pid,) in cursor.fetchall()]
        for pid in pids:
            try:
                seconds = process_cpu_seconds(pid)
            except OSError:  # gone, or another machine's process table
                continue
            self._first.setdefault(pid, seconds)
            self._last[pid] = seconds

    @property
    def seconds(self) -> float:
        return sum(last - (self._first[pid] if pid in self._before else 0.0) for pid, last in self._last.items())


def sweep_with_workers(fleet: Fleet, *, timeout: float) -> SweepResult:
    """Beat ticks until a tick claims nothing more, then wait until the workers have run every task
    (queue empty, nothing unacknowledged, and a further tick hands out nothing) or `timeout` passes."""
    started = timezone.now()
    backends = BackendCpu()
    ticks_started = time.perf_counter()
    ticks = claimed = 0
    states = PollState.objects.filter(account_id__in=fleet.account_ids)
    while ticks < MAX_TICKS:
        beat_tick()
        ticks += 1
        now_claimed = states.filter(last_started_at__gte=started).count()
        if now_claimed == claimed:
            break
        claimed = now_claimed
    ticks_seconds = time.perf_counter() - ticks_started
    samples = waiting = 0
    blocked: collections.Counter[str] = collections.Counter()

    def is_idle() -> bool:
        nonlocal samples, waiting, ticks, ticks_seconds
        statements, active = _lock_waits()
        backends.sample()
        samples += int(active > 0)
        waiting += int(bool(statements))
        blocked.update(statements)
        if broker_backlog() > 0:
            return False
        # The queue holds at most CHORUS_POLL_BATCH claims (the rest stay due in PostgreSQL): beat keeps
        # ticking, so once the queue has drained, tick again; idle only when a tick hands out nothing more.
        tick_started = time.perf_counter()
        beat_tick()
        ticks += 1
        ticks_seconds += time.perf_counter() - tick_started
        return broker_backlog() == 0

    deadline = time.monotonic() + timeout
    is_complete = False
    while not is_complete and time.monotonic() < deadline:
        is_complete = wait_for(is_idle, timeout=deadline - time.monotonic(), interval=0.1) and wait_for_idle_broker(
            timeout=2, settle=0.5
        )
    return _result(
        fleet,
        started,
        ticks=ticks,
        is_complete=is_complete,
        lock_wait_share=waiting / max(samples, 1),
        blocked=[statement for statement, _ in blocked.most_common(3)],
        database_cpu=backends.seconds,
        ticks_seconds=ticks_seconds,
    )


def _result(
    fleet: Fleet,
    started: datetime.datetime,
    *,
    ticks: int,
    is_complete: bool,
    lock_wait_share: float,
    blocked: list[str],
    database_cpu: float,
    ticks_seconds: float,
) -> SweepResult:
    runs = PollRun.objects.filter(account_id__in=fleet.account_ids, started_at__gte=started).exclude(
        outcome=PollRun.Outcome.RUNNING
    )
    outcomes = dict(runs.values_list("outcome").annotate(count=Count("id")).order_by())
    jobs = JobRun.objects.filter(started_at__gte=started).exclude(task="poll_due_accounts")
    job_counts = dict(jobs.values_list("task").annotate(count=Count("id")).order_by())
    lasts = [
        runs.aggregate(last=Max("finished_at"))["last"],
        jobs.aggregate(last=Max("finished_at"))["last"],
    ]
    last = max((moment for moment in lasts if moment is not None), default=None)
    return SweepResult(
        accounts=len(fleet.account_ids),
        polled=runs.values("account_id").distinct().count(),
        outcomes={str(outcome): int(count) for outcome, count in outcomes.items()},
        jobs={str(task): int(count) for task, count in job_counts.items()},
        ticks=ticks,
        seconds=(last - started).total_seconds() if last else 0.0,
        is_complete=is_complete,
        lock_wait_share=lock_wait_share,
        blocked=blocked,
        database_cpu=database_cpu,
        ticks_seconds=ticks_seconds,
    )


def describe(result: SweepResult) -> str:
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(result.outcomes.items())) or "none"
    jobs = "".join(f", {count} {task} job(s)" for task, count in sorted(result.jobs.items()))
    state = "" if result.is_complete else " — INCOMPLETE: the workers still had tasks at the time-out"
    return (
        f"{result.seconds:.2f} s, {result.ticks} beat tick(s) in {result.ticks_seconds:.1f} s, "
        f"polls: {outcomes}{jobs}{state}"
    )


class Stopwatch:
    """Wall time and this process's CPU time (the doubles run here) over a block."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self._wall = self._cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


# -- resetting between scenarios ----------------------------------------------------------------------------


def reset_database() -> None:
    """Empty every table of the scratch database (the schema stays migrated), then put back the rows the
    migrations install (the default classifier rules), which `flush` also removes: a scenario run after
    another must see the database a fresh migrate gives."""
    call_command("flush", interactive=False, verbosity=0)
    rules = importlib.import_module("engagement.migrations.0005_crime_reports_and_context_rules")
    rules.install_rules(apps, None)


def reset_polling(*, credentials: dict[int, str]) -> None:
    """Forget every poll (messages, runs, cursors, statistics) and restore the accounts' credentials as
    they were before polling (Bluesky sessions), so a second sweep repeats exactly the same work."""
    tables = [model._meta.db_table for model in (Message, PollRun, PollState, DailyActivity, PlatformUsage)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    accounts = list(SocialAccount.objects.filter(pk__in=credentials))
    for account in accounts:
        account.credentials_ciphertext = credentials[account.pk]
    SocialAccount.objects.bulk_update(accounts, ["credentials_ciphertext"], batch_size=500)


def signed_in_client(user: Any) -> Client:
    """A client signed in with password and second factor (a comms manager must have a second factor:
    without it every page redirects to the enrolment)."""
    client = Client()
    client.force_login(user)
    mark_fully_signed_in(client, user)
    return client


def mark_fully_signed_in(client: Client, user: Any) -> None:
    """Record the client's session as a complete sign-in, the way allauth records one: a password and a
    second factor just now, stamped as the first request after a sign-in would (the tests' SignedInClient
    and the benchmarks' clients)."""
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "username": user.get_username()},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now
    session.save()
