"""The resilience cases: each starts the real worker(s) and beat on its own Redis and the world's database,
does its damage mid-sweep, waits until the sweep converges, and checks the world. `Stack` owns the processes.

Time to recover: from the moment the broken part is back (or the platform's fault is spent) until every
account whose poll was in flight at the fault has completed a successful poll again — the work a lost task
held is re-claimed from its PostgreSQL lease, so the figure is bounded by the configured lease.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import os
import random
import time
import urllib.request
from typing import TYPE_CHECKING

from django.db import close_old_connections, connection
from django.utils import timezone

from doubles.server import Fault
from doubles.x import iso
from monitoring.models import JobRun, PollRun, PollState, SweepState, WebhookEvent
from tests.monitoring.webhook_payloads import encode, x_sign, xaa_event
from tests.resilience.services import Beat, Gunicorn, Process, Worker, healthz_status, wait_until
from tests.resilience.world import overlapping_polls

if TYPE_CHECKING:
    from pathlib import Path

    from tests.resilience.services import ThrowawayPostgres, ThrowawayRedis
    from tests.resilience.world import Check, World

X_SWEEP = -1  # stands for the combined X sweep in a set of in-flight account ids
X_CONSUMER_SECRET = "resilience-consumer-secret"


@dataclasses.dataclass(frozen=True)
class Timing:
    """How fast things move: the lease and the beat are scaled down from production (360 s, 30 s)."""

    lease: int
    interval: int  # seconds between polls of an account
    backoff: float  # first retry after a transient failure
    http_timeout: float
    converge_timeout: float
    batch: int  # CHORUS_POLL_BATCH: claims waiting for the worker at most
    # The combined X search sweep. Off for the full world: the X double evaluates a 130-handle search query
    # over 20,000 items in Python, in this process, slower than the client time-out on a busy machine.
    x_search_sweep: bool = True


@dataclasses.dataclass
class Result:
    case: str
    check: Check
    recovery: float | None  # seconds; None: nothing was in flight
    lease: int
    problems: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def ratio(self) -> float | None:
        return None if self.recovery is None else self.recovery / self.lease

    @property
    def is_green(self) -> bool:
        return self.check.is_green and not self.problems and (self.ratio is None or self.ratio <= 1.5)


class Stack:
    def __init__(
        self, world: World, *, database_url: str, redis: ThrowawayRedis, timing: Timing, workdir: Path
    ) -> None:
        self.world = world
        self.database_url = database_url
        self.redis = redis
        self.timing = timing
        self.workdir = workdir
        self.workers: list[Worker] = []
        self.beats: list[Beat] = []
        self.web: Gunicorn | None = None

    def env(self) -> dict[str, str]:
        timing = self.timing
        # Bytecode caching on, even where the environment turns it off: every worker the suite (re)starts
        # would otherwise compile the project and the platform libraries again, seconds of CPU per boot.
        inherited = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        return {
            **inherited,
            **self.world.doubles.settings_env(),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "PYTHONUNBUFFERED": "1",
            "CHORUS_POLL_LEASE_SECONDS": str(timing.lease),
            "CHORUS_SWEEP_SECONDS": "2",
            "CHORUS_POLL_INTERVAL": str(timing.interval),
            "CHORUS_POLL_INTERVAL_CORPORATE": str(timing.interval),
            "CHORUS_POLL_BACKOFF_SECONDS": str(timing.backoff),
            "CHORUS_POLL_BATCH": str(timing.batch),
            "CHORUS_HTTP_TIMEOUT": str(timing.http_timeout),
            # A task may not outlive its lease (settings.py): limits scaled with it.
            "CELERY_TASK_SOFT_TIME_LIMIT": str(int(timing.lease * 0.6)),
            "CELERY_TASK_TIME_LIMIT": str(int(timing.lease * 0.8)),
            "CHORUS_X_CONSUMER_SECRET": X_CONSUMER_SECRET,
            "CHORUS_X_SEARCH_SWEEP": str(timing.x_search_sweep).lower(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }

    def ensure(self, *, workers: int = 1, beats: int = 1, web: bool = False) -> None:
        """Exactly `workers` workers and `beats` beat schedulers running (and gunicorn if `web`)."""
        env = self.env()
        self.workers = [worker for worker in self.workers if worker.is_running]
        booting: list[Process] = []
        while len(self.workers) < workers:
            self.workers.append(Worker(env, self.workdir / f"worker-{len(self.workers)}.log"))
            booting.append(self.workers[-1].launch())
        while len(self.beats) < beats:
            self.beats.append(Beat(env, self.workdir / f"beat-{len(self.beats)}.log"))
            booting.append(self.beats[-1].launch())
        while len(self.beats) > beats:
            self.beats.pop().stop()
        if web and self.web is None:
            self.web = Gunicorn(env, self.workdir / "gunicorn.log")
            booting.append(self.web.launch())
        for process in booting:  # they boot at once: a worker and beat each take seconds to start
            process.wait_ready()

    def restart_worker(self, index: int = 0) -> None:
        self.workers[index] = Worker(self.env(), self.workers[index].log_path)
        self.workers[index].start()

    def stop(self) -> None:
        processes = [*self.beats, *self.workers, *([self.web] if self.web else [])]
        for process in processes:  # all at once: each warm shutdown takes seconds
            process.terminate()
        for process in processes:
            process.wait_stopped()
        self.workers, self.beats, self.web = [], [], None


# -- measuring ------------------------------------------------------------------------------------------------


def db(query):
    """Run `query` (a callable) on this process's connection, reconnecting after a database restart."""
    for attempt in range(3):
        try:
            return query()
        except Exception:
            if attempt == 2:
                raise
            connection.close()
            time.sleep(0.5)
    return None


def in_flight() -> set[int]:
    now = timezone.now()
    accounts = set(PollState.objects.filter(lease_until__gt=now).values_list("account_id", flat=True))
    if SweepState.objects.filter(lease_until__gt=now).exists():
        accounts.add(X_SWEEP)
    return accounts


def recovery(flight: set[int], *, fault_at: datetime.datetime, back_at: datetime.datetime) -> float | None:
    """Seconds from `back_at` until every in-flight account (and the X sweep) finished a successful poll
    after the fault; None when nothing was in flight."""
    if not flight:
        return None
    finishes = []
    for account_id in flight:
        if account_id == X_SWEEP:
            sweeps = JobRun.objects.filter(task="x_search_sweep", status=JobRun.Status.OK, finished_at__gt=fault_at)
            first = sweeps.order_by("finished_at").values_list("finished_at", flat=True).first()
        else:
            polls = PollRun.objects.filter(account_id=account_id, outcome=PollRun.Outcome.OK, finished_at__gt=fault_at)
            first = polls.order_by("finished_at").values_list("finished_at", flat=True).first()
        if first is None:
            return float("inf")
        finishes.append(first)
    return max(0.0, (max(finishes) - back_at).total_seconds())


def settled_recovery(
    flight: set[int], *, fault_at: datetime.datetime, back_at: datetime.datetime, timing: Timing
) -> float | None:
    """`recovery`, once every in-flight account has been polled again: the messages may all be stored before
    then (polls that finished during the outage), and a claim the outage lost comes back only with its lease."""
    wait_until(
        lambda: db(lambda: recovery(flight, fault_at=fault_at, back_at=back_at)) != float("inf"),
        timeout=timing.converge_timeout,
        interval=0.5,
    )
    return recovery(flight, fault_at=fault_at, back_at=back_at)


def wait_for_share(world: World, share: float, *, baseline: int, timeout: float = 300) -> None:
    """Until `share` of the messages still to read have been stored (the sweep is under way)."""
    target = baseline + share * (len(world.expected()) - baseline)
    wait_until(lambda: db(world.stored_count) >= target, timeout=timeout, interval=0.05)


def converge(world: World, timing: Timing) -> bool:
    done = wait_until(lambda: db(world.is_complete), timeout=timing.converge_timeout, interval=0.5)
    # Let the polls in flight finish, so the check sees a settled database.
    wait_until(lambda: not PollRun.objects.filter(outcome=PollRun.Outcome.RUNNING).exists(), timeout=10)
    close_old_connections()
    return done


def _finish(name: str, stack: Stack, started: float, rec: float | None, problems: list[str]) -> Result:
    if not converge(stack.world, stack.timing):
        problems.append("did not converge")
    return Result(name, stack.world.check(), rec, stack.timing.lease, problems, seconds=time.monotonic() - started)


# -- the cases ------------------------------------------------------------------------------------------------


def clean(stack: Stack) -> Result:
    started = time.monotonic()
    stack.world.add_stage()
    stack.ensure()
    return _finish("clean run (reference)", stack, started, None, [])


def worker_kills(stack: Stack, *, kills: int = 10, seed: int = 3) -> Result:
    """SIGKILL the worker (its pool children too) at random moments of the sweep; a supervisor restarts it."""
    started, rng = time.monotonic(), random.Random(seed)
    baseline = stack.world.stored_count()
    stack.world.add_stage()
    stack.ensure()
    wait_for_share(stack.world, 0.05, baseline=baseline)
    faults = []
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 2.5))
        wait_until(lambda: bool(db(in_flight)), timeout=10, interval=0.05)  # a poll under way
        flight, fault_at = in_flight(), timezone.now()
        stack.workers[0].kill()
        stack.restart_worker()
        faults.append((flight, fault_at, timezone.now()))
    problems: list[str] = []
    if not converge(stack.world, stack.timing):
        problems.append("did not converge")
    measured = []
    for flight, at, back in faults:
        value = settled_recovery(flight, fault_at=at, back_at=back, timing=stack.timing)
        if value is not None:
            # The kills follow each other within seconds: the time the worker was down again, for a later
            # kill, is not time the system had to recover in.
            if value != float("inf"):
                done = back + datetime.timedelta(seconds=value)
                value -= sum((b - a).total_seconds() for _, a, b in faults if back <= a < done)
            measured.append(max(0.0, value))
    return Result(
        f"worker SIGKILL x{kills}",
        stack.world.check(),
        max(measured) if measured else None,
        stack.timing.lease,
        problems,
        seconds=time.monotonic() - started,
    )


def redis_restart(stack: Stack, *, persistent: bool, outage: float = 2.0) -> Result:
    """Restart Redis mid-sweep. Without persistence every queued task is gone: the leases bring it back."""
    started = time.monotonic()
    stack.ensure()
    if persistent:
        stack.redis.persist()
    baseline = stack.world.stored_count()
    stack.world.add_stage()
    wait_for_share(stack.world, 0.2, baseline=baseline)
    wait_until(lambda: bool(db(in_flight)), timeout=10, interval=0.05)
    flight, fault_at = in_flight(), timezone.now()
    stack.redis.stop()
    time.sleep(outage)
    stack.redis.start()
    back_at = timezone.now()
    problems: list[str] = []
    if not converge(stack.world, stack.timing):
        problems.append("did not converge")
    name = f"Redis restart, {'with' if persistent else 'without'} persistence"
    result = Result(
        name,
        stack.world.check(),
        settled_recovery(flight, fault_at=fault_at, back_at=back_at, timing=stack.timing),
        stack.timing.lease,
        problems,
        seconds=time.monotonic() - started,
    )
    if persistent:
        stack.redis.persist(enabled=False)
    return result


def postgres_restart(stack: Stack, postgres: ThrowawayPostgres, *, outage: float = 4.0) -> Result:
    """Restart PostgreSQL mid-sweep: workers and beat reconnect; /healthz says 503 meanwhile, then 200."""
    started = time.monotonic()
    stack.ensure(web=True)
    assert stack.web is not None
    baseline = stack.world.stored_count()
    stack.world.add_stage()
    problems: list[str] = []
    if healthz_status(stack.web.url) != 200:
        problems.append("healthz not 200 before the outage")
    wait_for_share(stack.world, 0.2, baseline=baseline)
    flight, fault_at = in_flight(), timezone.now()
    connection.close()
    postgres.stop("fast")
    statuses = set()
    deadline = time.monotonic() + outage
    while time.monotonic() < deadline:
        statuses.add(healthz_status(stack.web.url))
        time.sleep(0.3)
    if statuses != {503}:
        problems.append(f"healthz during the outage answered {sorted(map(str, statuses))}, not only 503")
    postgres.start()
    back_at = timezone.now()
    if not wait_until(lambda: healthz_status(stack.web.url) == 200, timeout=30, interval=0.3):
        problems.append("healthz did not recover to 200")
    if not converge(stack.world, stack.timing):
        problems.append("did not converge")
    dead = [process for process in [*stack.workers, *stack.beats] if not process.is_running]
    if dead:
        problems.append(f"{len(dead)} process(es) died with the database")
    return Result(
        "PostgreSQL restart (healthz 503 -> 200)",
        stack.world.check(),
        settled_recovery(flight, fault_at=fault_at, back_at=back_at, timing=stack.timing),
        stack.timing.lease,
        problems,
        seconds=time.monotonic() - started,
    )


def platform_faults(stack: Stack) -> Result:
    """429 with reset headers on X, 500s on Facebook, answers slower than the client time-out on Mastodon,
    truncated JSON on Bluesky, and one Instagram account's token revoked (401): backoff honoured, the
    revoked account isolated (needs reconnecting), every other account polled."""
    started = time.monotonic()
    world, timing = stack.world, stack.timing
    doubles = world.doubles
    revoked = world.revoke_one_token("instagram")
    doubles.x.inject(Fault("rate_limit", path="/2/", times=2, reset_in=3))
    doubles.facebook.inject(Fault("status", status=500, times=6))
    doubles.mastodon.inject(Fault("slow", delay=timing.http_timeout + 1.5, times=2))
    doubles.bluesky.inject(Fault("malformed", path="listNotifications", times=2))
    fault_at = timezone.now()
    stack.world.add_stage()
    stack.ensure()
    spent = wait_until(lambda: not any(double.faults for double in doubles.servers()), timeout=120)
    back_at = timezone.now()
    left = [f"{double.platform}: {fault.kind}" for double in doubles.servers() for fault in double.faults]
    problems = [] if spent else [f"faults never reached: {', '.join(left)}"]
    if not converge(world, timing):
        problems.append("did not converge")
    if not world.isolated_ok():
        problems.append(f"account {revoked} with the revoked token is not marked needs-reconnecting")
    problems += _backoff_violations(timing)
    everyone = {pk for pk in world.fleet.people if pk not in world.isolated} if world.fleet else set()
    flight = everyone
    if timing.x_search_sweep:  # the X accounts are read together by the sweep: it stands for them
        swept = PollState.objects.filter(account__platform="x", last_success_at__isnull=False)
        flight = (everyone - set(swept.values_list("account_id", flat=True))) | {X_SWEEP}
    result = Result(
        "platform faults: 429/500/slow/truncated/401",
        world.check(),
        settled_recovery(flight, fault_at=fault_at, back_at=back_at, timing=stack.timing),
        timing.lease,
        problems,
        seconds=time.monotonic() - started,
    )
    return result


def _backoff_violations(timing: Timing) -> list[str]:
    """A transient failure's retry must not come before half the configured backoff (full jitter)."""
    problems = []
    failed = PollRun.objects.filter(outcome=PollRun.Outcome.FAILED, error__startswith="transient").order_by("pk")
    for run in failed:
        retry = PollRun.objects.filter(account_id=run.account_id, pk__gt=run.pk).order_by("pk").first()
        if retry and run.finished_at and (retry.started_at - run.finished_at).total_seconds() < timing.backoff / 2 - 1:
            problems.append(f"account {run.account_id} retried before its backoff")
    return problems


def two_beats(stack: Stack) -> Result:
    started = time.monotonic()
    since = timezone.now()
    stack.ensure(beats=2)
    stack.world.add_stage()
    result = _finish("two beat schedulers", stack, started, None, [])
    stack.ensure(beats=1)
    overlaps = overlapping_polls(since=since)
    if overlaps:
        result.problems.append(f"{overlaps} pair(s) of polls of one account overlapped")
    return result


def webhook_replay(stack: Stack, *, times: int = 100) -> Result:
    """One X mention delivered by webhook 100 times (10 at once) while the sweep polls the same items."""
    started = time.monotonic()
    world = stack.world
    assert world.fleet is not None
    stack.ensure(web=True)
    assert stack.web is not None
    baseline = world.stored_count()
    world.add_stage()
    person = next(p for pk, p in sorted(world.fleet.people.items()) if p.platform == "x" and pk not in world.isolated)
    # The newest inbound item of the account: part of the stage the sweep is reading now.
    item = next(i for i in world.doubles.scenario.snapshot("x") if i.to.id == person.id and not i.is_outbound)
    body = encode(
        {
            "data": xaa_event(
                uuid=f"resilience-{item.id}",
                post_id=item.id,
                author=item.author,
                text=item.text,
                created_at=iso(item.created_at),
                user_id=person.id,
                conversation_id=item.conversation_id,
            )
        }
    )
    signature = x_sign(body, X_CONSUMER_SECRET)
    url = f"{stack.web.url}/hooks/x"

    def deliver(_: int) -> int:
        request = urllib.request.Request(  # noqa: S310 — loopback
            url,
            data=body,
            headers={"Content-Type": "application/json", "x-twitter-webhooks-signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 — loopback
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    wait_for_share(world, 0.1, baseline=baseline)
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(deliver, range(times)))
    problems = [] if set(statuses) == {200} else [f"webhook answers {sorted(set(statuses))}"]
    result = _finish(f"webhook replayed x{times} while polled", stack, started, None, problems)
    events = WebhookEvent.objects.filter(event_id__contains=item.id).count()
    if events != 1:
        result.problems.append(f"{events} webhook events stored for one delivery")
    return result


# -- the table ------------------------------------------------------------------------------------------------

HEADERS = (
    "case",
    "expected",
    "found",
    "dupes",
    "lost",
    "human chg",
    "waiting diff",
    "recover s",
    "/ lease",
    "run s",
    "result",
)


def table(results: list[Result]) -> str:
    rows = [
        (
            result.case,
            f"{result.check.expected:,}",
            f"{result.check.found:,}",
            str(result.check.duplicates),
            str(result.check.lost),
            str(result.check.human_changed),
            str(result.check.waiting_diff),
            "-" if result.recovery is None else f"{result.recovery:.1f}",
            "-" if result.ratio is None else f"{result.ratio:.2f}",
            f"{result.seconds:.0f}",
            "green" if result.is_green else "RED: " + "; ".join(result.problems or ["see figures"]),
        )
        for result in results
    ]
    widths = [max(len(row[i]) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(HEADERS, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)
