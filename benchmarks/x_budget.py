"""Scenario 3, X read budget: X API requests and post reads per steady-state sweep of 400 X accounts.

A first sweep backfills every account; then a few residents mention a few accounts, every account is
made due, and one more sweep runs through the normal path (beat tick → Celery worker → polling). Its
requests and the posts they returned are counted from the X double's request log. Whatever the sweep
path does (one timeline pair per account, or combined-handle searches) is what gets counted.
"""

from __future__ import annotations

import collections
import os
from typing import TYPE_CHECKING

from django.conf import settings

from benchmarks.harness import Figure, Worker, flush_redis, report, wait_until_quiet
from benchmarks.world import (
    Doubles,
    add_new_mentions,
    describe,
    make_all_due,
    reset_database,
    seed_fleet,
    sweep_with_workers,
)
from doubles.x import XDouble
from doubles.x.server import DEFAULT_LIMITS, WINDOW_SECONDS
from monitoring.models import Message

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.world import XReads

SCENARIO = "3 X read budget"
ACCOUNTS = 400
NEW_MENTIONS = 10
TARGET_REQUESTS = 40
BACKFILL_TIMEOUT = 150.0
SWEEP_TIMEOUT = 60.0
QUIET_SECONDS = 1.5  # the request log must stand still this long before a sweep counts as over


def run(workdir: Path) -> list[Figure]:
    reset_database()
    doubles = Doubles.start()
    worker: Worker | None = None
    try:
        fleet = seed_fleet(doubles, ["x"] * ACCOUNTS)
        flush_redis()
        env = {**os.environ, **doubles.settings_env()}
        worker = Worker(env=env, log_path=workdir / "x-budget-worker.log").start()
        x = doubles.x

        backfill = sweep_with_workers(fleet, timeout=BACKFILL_TIMEOUT)
        wait_until_quiet(lambda: len(x.requests), quiet=QUIET_SECONDS, timeout=SWEEP_TIMEOUT)
        backfill_requests, backfill_reads = len(x.requests), list(x.reads)
        report(
            f"backfill sweep: {describe(backfill)}; {backfill_requests:,} requests, "
            f"{_posts(backfill_reads):,} post reads"
        )
        if not backfill.is_complete:
            report("the steady-state sweep needs a finished backfill: not measured")
            return [
                Figure(
                    SCENARIO,
                    f"X requests per steady sweep of {ACCOUNTS}",
                    None,
                    "",
                    target=f"<= {TARGET_REQUESTS}",
                    met=False,
                )
            ]

        mentions = add_new_mentions(doubles, fleet, count=NEW_MENTIONS)
        make_all_due()
        requests_mark, reads_mark = len(x.requests), len(x.reads)
        steady = sweep_with_workers(fleet, timeout=SWEEP_TIMEOUT)
        wait_until_quiet(lambda: len(x.requests), quiet=QUIET_SECONDS, timeout=SWEEP_TIMEOUT)
        requests = x.requests[requests_mark:]
        reads = x.reads[reads_mark:]
        stored = Message.objects.filter(external_id__in=[item.id for item in mentions]).count()
        report(f"steady sweep: {describe(steady)}; {NEW_MENTIONS} new mentions, {stored} stored")

        per_endpoint = collections.Counter(XDouble._endpoint(request.path) for request in requests)
        sweeps_per_window = WINDOW_SECONDS / settings.CHORUS_POLL_INTERVAL
        report(
            f"requests per endpoint at one sweep every {settings.CHORUS_POLL_INTERVAL} s "
            f"({sweeps_per_window:g} sweeps per 15-minute window):"
        )
        for endpoint, count in per_endpoint.most_common():
            limit = DEFAULT_LIMITS.get(endpoint, DEFAULT_LIMITS["other"])[0]
            per_window = count * sweeps_per_window
            verdict = "within" if per_window <= limit else "OVER"
            report(f"  {endpoint}: {count} per sweep, {per_window:,.0f} per window: {verdict} X's {limit:,} (app)")
        posts = _posts(reads)
        users = sum(read.users for read in reads)
        return [
            Figure(
                SCENARIO,
                f"X requests per steady sweep of {ACCOUNTS}",
                len(requests),
                "",
                target=f"<= {TARGET_REQUESTS}",
                met=steady.is_complete and len(requests) <= TARGET_REQUESTS,
                digits=0,
            ),
            Figure(SCENARIO, "post reads per steady sweep", posts, "", digits=0),
            Figure(SCENARIO, "user reads (expansions) per steady sweep", users, "", digits=0),
            Figure(
                SCENARIO,
                "new mentions stored by it",
                stored,
                f"of {NEW_MENTIONS}",
                target=f"{NEW_MENTIONS}",
                met=stored == NEW_MENTIONS,
                digits=0,
            ),
            Figure(SCENARIO, "X requests, backfill sweep", backfill_requests, "", digits=0),
            Figure(SCENARIO, "post reads, backfill sweep", _posts(backfill_reads), "", digits=0),
        ]
    finally:
        if worker is not None:
            worker.stop()
            flush_redis()  # leave no queued task or gate behind
        doubles.stop()


def _posts(reads: list[XReads]) -> int:
    return sum(read.posts + read.included_posts for read in reads)
