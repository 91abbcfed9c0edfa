"""Scenario 2, sweep: wall time of a full sweep of 1,000 accounts against the platform API doubles.

1,000 active accounts (platforms weighted like the demo) with a small history each. From the first beat
tick until the worker has run every task it was given, with a real Celery worker process
(`--concurrency 2`) on Redis and the scratch database. That first sweep backfills every account, one
individual poll each. Then a steady-state sweep (every account due again, a few minutes later in real
life), for information. The worker's memory (scenario 4) is read right after the first sweep. Last, the
first sweep again from scratch, one account after the other in this process (`accounts_poll_now`), for
comparison, with where its time goes.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import time
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone

from accounts_registry.models import SocialAccount
from benchmarks import memory
from benchmarks.harness import (
    Figure,
    Worker,
    clear_rate_limit_gates,
    flush_redis,
    load_average,
    process_cpu_seconds,
    report,
    scheduler_seconds,
)
from benchmarks.memory import children_of
from benchmarks.world import (
    Doubles,
    Stopwatch,
    describe,
    make_all_due,
    platform_mix,
    reset_database,
    reset_polling,
    seed_fleet,
    sweep_with_workers,
)
from monitoring.connectors import connectors_preload
from monitoring.models import Message, PollRun, PollState
from monitoring.services import polling
from monitoring.services.polling import accounts_poll_now

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable
    from pathlib import Path

    from benchmarks.world import Fleet
    from monitoring.connectors.base import AccountRef, Connector, FetchResult

SCENARIO = "2 sweep"
ACCOUNTS = 1_000
# The targets of issue #15, printed beside each figure.
TARGET_SECONDS = 15.0  # first sweep, worker
STEADY_TARGET_SECONDS = 5.0  # steady-state sweep, worker
CPU_TARGET_MS = 15.0  # worker CPU per poll, first sweep
NO_NEWS_SQL_TARGET = 10  # SQL statements of a poll that finds nothing new, every platform
SPEEDUP_TARGET = 1.8  # worker (concurrency 2) over sequential
WORKER_TIMEOUT = 90.0  # seconds to wait for the worker's first sweep; past it, the time is projected
STEADY_TIMEOUT = 60.0
SEQUENTIAL_BUDGET = 20.0  # the in-process comparison stops after this long (accounts are in mixed order)
NO_NEWS_BUDGET = 10.0  # and its no-news pass after this long
CONCURRENCY = 2


def run(workdir: Path) -> list[Figure]:
    reset_database()
    doubles = Doubles.start()
    worker: Worker | None = None
    try:
        fleet = seed_fleet(doubles, platform_mix(ACCOUNTS))
        mix = ", ".join(f"{count} {platform}" for platform, count in fleet.platforms.most_common())
        report(f"{ACCOUNTS:,} accounts ({mix}), {len(doubles.scenario.items):,} items on the doubles")
        credentials = dict(SocialAccount.objects.values_list("pk", "credentials_ciphertext"))
        flush_redis()
        env = {**os.environ, **doubles.settings_env()}
        worker = Worker(env=env, log_path=workdir / "sweep-worker.log", concurrency=CONCURRENCY).start()

        requests_before, cpu_before = _requests(doubles), _tree_cpu(worker.pid)
        main_before = process_cpu_seconds(worker.pid)
        children = children_of(worker.pid)
        scheduled_before = _scheduled(children)
        with Stopwatch() as watch:
            first = sweep_with_workers(fleet, timeout=WORKER_TIMEOUT)
        running, runnable = (
            after - before for after, before in zip(_scheduled(children), scheduled_before, strict=True)
        )
        requests, worker_cpu = _requests(doubles) - requests_before, _tree_cpu(worker.pid) - cpu_before
        main_cpu = process_cpu_seconds(worker.pid) - main_before
        report(f"first sweep, 1 worker with concurrency {CONCURRENCY}: {describe(first)}")
        report(f"{requests:,} API requests served; {Message.objects.count():,} messages stored")
        report(
            f"CPU: worker {worker_cpu:.1f} s ({1000 * worker_cpu / max(first.polled, 1):.0f} ms per poll; its main "
            f"process {main_cpu:.1f} s), this process (the doubles) {watch.cpu_seconds:.1f} s, PostgreSQL "
            f"{first.database_cpu:.1f} s, in {watch.seconds:.1f} s wall; a database session waited on a lock in "
            f"{100 * first.lock_wait_share:.0f}% of samples"
        )
        busy = (worker_cpu + watch.cpu_seconds + first.database_cpu) / max(watch.seconds, 0.001)
        report(
            f"cores busy with this sweep: {busy:.2f} of {os.cpu_count()} (worker + doubles + PostgreSQL CPU over "
            f"wall); load average {load_average()}"
        )
        for statement in first.blocked:
            report(f"  waiting on a lock, often: {statement}")
        _report_pool_time(first.seconds, len(children), running, runnable, fleet)
        rate = first.polls_per_second
        seconds = first.seconds if first.is_complete else (ACCOUNTS / rate if rate else None)
        if not first.is_complete:
            report(
                f"stopped waiting after {WORKER_TIMEOUT:.0f} s with {first.polled:,} of {ACCOUNTS:,} accounts polled; "
                f"at {rate:.1f} polls/s the whole sweep would take ~{seconds or 0:.0f} s"
            )
        is_met = first.is_complete and first.ok == ACCOUNTS and first.seconds <= TARGET_SECONDS
        cpu_per_poll = 1000 * worker_cpu / max(first.polled, 1)
        figures = [
            Figure(
                SCENARIO,
                f"first sweep of {ACCOUNTS:,} accounts, worker" + ("" if first.is_complete else " (projected)"),
                seconds,
                "s",
                target=f"<= {TARGET_SECONDS:.0f} s, all OK",
                met=is_met,
                digits=2,
            ),
            Figure(SCENARIO, "polls OK in that sweep", first.ok, f"of {ACCOUNTS:,}", digits=0),
            Figure(SCENARIO, "polls/second, worker", rate, "polls/s"),
            Figure(
                SCENARIO,
                "worker CPU per poll (first sweep)",
                cpu_per_poll,
                "ms",
                target=f"<= {CPU_TARGET_MS:.0f} ms",
                met=cpu_per_poll <= CPU_TARGET_MS,
                digits=0,
            ),
            Figure(SCENARIO, "cores busy (worker + doubles + PostgreSQL)", busy, f"of {os.cpu_count()}", digits=2),
            Figure(SCENARIO, "API requests, first sweep", requests, "", digits=0),
        ]
        report("worker memory after the first sweep:")
        figures += memory.measure(worker.pid)

        if first.is_complete:
            make_all_due()
            requests_before = _requests(doubles)
            steady = sweep_with_workers(fleet, timeout=STEADY_TIMEOUT)
            steady_requests = _requests(doubles) - requests_before
            report(f"steady-state sweep (nothing new): {describe(steady)}; {steady_requests:,} API requests")
            figures += [
                Figure(
                    SCENARIO,
                    "steady-state sweep, worker",
                    steady.seconds if steady.is_complete else None,
                    "s",
                    target=f"<= {STEADY_TARGET_SECONDS:.0f} s",
                    met=steady.is_complete and steady.seconds <= STEADY_TARGET_SECONDS,
                    digits=2,
                ),
                Figure(SCENARIO, "API requests, steady-state sweep", steady_requests, "", digits=0),
            ]
        else:
            report("steady-state sweep skipped: the first sweep did not finish")
        worker.stop()

        reset_polling(credentials=credentials)
        clear_rate_limit_gates()
        doubles.apply_settings()
        figures += _sequential(fleet, rate)
        return figures
    finally:
        if worker is not None:
            worker.stop()
            flush_redis()  # leave no queued task or gate behind
        doubles.stop()


def _scheduled(pids: list[int]) -> tuple[float, float]:
    """(running, waiting for a CPU) seconds of these processes so far, summed."""
    running = waiting = 0.0
    for pid in pids:
        try:
            on_cpu, queued = scheduler_seconds(pid)
        except OSError:  # exited meanwhile
            continue
        running, waiting = running + on_cpu, waiting + queued
    return running, waiting


def _report_pool_time(seconds: float, children: int, running: float, runnable: float, fleet: Fleet) -> None:
    """Where the pool children's time went during the sweep: the evidence for what limits the speed-up.

    Slots are children x the sweep's wall time. A child is on a CPU, runnable but waiting for a CPU (the
    machine is busy: /proc/<pid>/schedstat), or asleep — waiting on I/O inside a poll (the doubles,
    PostgreSQL, Redis) or for its next task outside one (Celery's delivery, beat ticks)."""
    durations = PollRun.objects.filter(account_id__in=fleet.account_ids, finished_at__isnull=False).aggregate(
        total=Sum(F("finished_at") - F("started_at"))
    )["total"]
    in_polls = durations.total_seconds() if durations else 0.0
    slots = children * seconds
    asleep = max(slots - running - runnable, 0.0)
    report(
        f"pool children ({children} x {seconds:.1f} s = {slots:.0f} s): on a CPU {running:.0f} s, runnable but "
        f"waiting for a CPU {runnable:.0f} s, asleep (I/O, or no task) {asleep:.0f} s; inside polls {in_polls:.0f} s"
    )


def _requests(doubles: Doubles) -> int:
    return sum(len(double.requests) for double in doubles.servers())


def _tree_cpu(pid: int) -> float:
    total = 0.0
    for process in (pid, *children_of(pid)):
        try:
            total += process_cpu_seconds(process)
        except OSError:  # exited meanwhile
            continue
    return total


# -- the sequential comparison ------------------------------------------------------------------------------


@dataclasses.dataclass
class _Costs:
    polls: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    seconds: collections.defaultdict[str, float] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(float)
    )
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    fetches: int = 0
    fetch_seconds: float = 0.0
    queries: int = 0
    query_seconds: float = 0.0


class _TimedConnector:
    """Times a connector's `fetch` (the platform API through its client library, and the double)."""

    def __init__(self, connector: Connector, costs: _Costs) -> None:
        self.platform = connector.platform
        self._connector = connector
        self._costs = costs

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        started = time.perf_counter()
        try:
            return self._connector.fetch(account, cursors=cursors, backfill_since=backfill_since)
        finally:
            self._costs.fetches += 1
            self._costs.fetch_seconds += time.perf_counter() - started


class _Timers:
    """Counts this process's SQL (Django's execute wrapper) and times the connectors' fetches."""

    def __init__(self, costs: _Costs) -> None:
        self.costs = costs
        # The name the polling service calls (it imported the function): wrapped, then put back.
        self._original = polling.connector_for  # type: ignore[attr-defined]  # polling's own reference

    def _connector_for(self, platform: str) -> Connector:
        return _TimedConnector(self._original(platform), self.costs)

    def _execute(self, execute: Callable[..., Any], sql: str, params: Any, many: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.costs.queries += 1
            self.costs.query_seconds += time.perf_counter() - started

    def __enter__(self) -> _Timers:
        polling.connector_for = self._connector_for  # type: ignore[attr-defined]  # see __init__
        self._wrapper = connection.execute_wrapper(self._execute)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wrapper.__exit__(None, None, None)
        polling.connector_for = self._original  # type: ignore[attr-defined]  # see __init__


def _sequential(fleet: Fleet, worker_rate: float) -> list[Figure]:
    """The first sweep again, in this process, one account at a time, for up to SEQUENTIAL_BUDGET s; then the
    same accounts again with nothing new (`_no_news`)."""
    # As the worker does before its pool forks: else the first Bluesky poll here pays for importing atproto's
    # models (seconds on a busy machine), which the per-platform figure then charged to Bluesky's polls.
    connectors_preload()
    costs = _Costs()
    platforms = dict(SocialAccount.objects.filter(pk__in=fleet.account_ids).values_list("pk", "platform"))
    polled_ids: list[int] = []
    started, cpu_started = time.perf_counter(), time.thread_time()
    with _Timers(costs):
        for account_id in fleet.account_ids:
            if time.perf_counter() - started > SEQUENTIAL_BUDGET:
                break
            poll_started = time.perf_counter()
            for summary in accounts_poll_now(account_ids=[account_id]):
                costs.outcomes[summary.outcome] += 1
            polled_ids.append(account_id)
            costs.polls[platforms[account_id]] += 1
            costs.seconds[platforms[account_id]] += time.perf_counter() - poll_started
    seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
    polled = sum(costs.polls.values())
    rate = polled / seconds if seconds else 0.0
    outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(costs.outcomes.items()))
    report(f"sequential in-process (accounts_poll_now): {polled:,} polls in {seconds:.1f} s ({outcomes})")
    per_poll = 1000 * seconds / max(polled, 1)
    fetch = 1000 * costs.fetch_seconds / max(polled, 1) if costs.fetches else None
    database = 1000 * costs.query_seconds / max(polled, 1)
    report(
        f"  per poll: {per_poll:.0f} ms = API via the client library {fetch or 0:.0f} ms "
        f"+ {costs.queries / max(polled, 1):.0f} SQL statements {database:.0f} ms "
        f"+ the rest (ORM, hooks, Python) {per_poll - (fetch or 0) - database:.0f} ms; "
        f"CPU of the polling thread {1000 * cpu / max(polled, 1):.0f} ms (the doubles' threads aside)"
    )
    per_platform = ", ".join(
        f"{platform} {1000 * costs.seconds[platform] / count:.0f} ms" for platform, count in costs.polls.most_common()
    )
    report(f"  per poll by platform: {per_platform}")
    speedup = worker_rate / rate if rate else None
    return [
        Figure(SCENARIO, "polls/second, sequential in-process", rate, "polls/s"),
        Figure(SCENARIO, f"{ACCOUNTS:,} accounts sequentially (projected)", ACCOUNTS / rate if rate else None, "s"),
        Figure(
            SCENARIO,
            "speed-up of the worker over sequential",
            speedup,
            "x",
            target=f">= {SPEEDUP_TARGET} x",
            met=speedup is not None and speedup >= SPEEDUP_TARGET,
            digits=2,
        ),
        Figure(SCENARIO, "SQL statements per first poll (backfill)", costs.queries / max(polled, 1), "", digits=0),
        *_no_news(polled_ids, platforms),
    ]


def _no_news(account_ids: list[int], platforms: dict[int, str]) -> list[Figure]:
    """The accounts just polled, due again with nothing new on the platforms: the statements and the CPU
    time (this thread's: the doubles answer on others) of each poll, by platform."""
    PollState.objects.filter(account_id__in=account_ids).update(next_poll_at=timezone.now())
    statements: collections.defaultdict[str, list[int]] = collections.defaultdict(list)
    cpu: collections.defaultdict[str, float] = collections.defaultdict(float)
    counted = [0]

    def count(execute: Callable[..., Any], sql: str, params: Any, many: Any, context: Any) -> Any:
        counted[0] += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(count):
        for account_id in account_ids:
            if time.perf_counter() - started > NO_NEWS_BUDGET:
                break
            counted[0], cpu_started = 0, time.thread_time()
            summaries = accounts_poll_now(account_ids=[account_id])
            platform = platforms[account_id]
            cpu[platform] += time.thread_time() - cpu_started
            if summaries and summaries[0].outcome == PollRun.Outcome.OK and not summaries[0].items_new:
                statements[platform].append(counted[0])
    if not statements:
        report("no-news polls: none completed")
        return [Figure(SCENARIO, "SQL statements per no-news poll (most, any platform)", None, "")]
    polls = sum(len(counts) for counts in statements.values())
    report(
        f"no-news polls in-process: {polls:,}; SQL statements (most) and CPU per poll by platform: "
        + ", ".join(
            f"{platform} {max(counts)} / {1000 * cpu[platform] / len(counts):.1f} ms"
            for platform, counts in sorted(statements.items())
        )
    )
    most = max(max(counts) for counts in statements.values())
    return [
        Figure(
            SCENARIO,
            "SQL statements per no-news poll (most, any platform)",
            most,
            "",
            target=f"<= {NO_NEWS_SQL_TARGET}",
            met=most <= NO_NEWS_SQL_TARGET,
            digits=0,
        ),
        Figure(SCENARIO, "CPU per no-news poll, in-process", 1000 * sum(cpu.values()) / polls, "ms", digits=1),
    ]
