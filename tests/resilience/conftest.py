"""Fixtures of the resilience suite. The fast subset: the small world on the test database and a Redis of
its own. The full suite: the 20,000-message world on a PostgreSQL and a Redis of its own — never the
machine's, which other people use — and the table of results printed at the end."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.resilience import cases
from tests.resilience.harness import FAST, prepare
from tests.resilience.harness import FULL as FULL_TIMING
from tests.resilience.services import ThrowawayPostgres, ThrowawayRedis
from tests.resilience.world import FULL, SMALL, World

if TYPE_CHECKING:
    from tests.resilience.load import LoadResult


def database_url() -> str:
    database = connection.settings_dict
    return (
        f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


@pytest.fixture
def small_stack(transactional_db, tmp_path):
    """The small scenario on the test database, with a Redis server of its own (never the machine's)."""
    started = time.monotonic()
    redis = ThrowawayRedis(tmp_path / "redis").start()
    world = World(SMALL)
    stack = None
    try:
        stack = prepare(world, database_url=database_url(), redis=redis, timing=FAST, workdir=tmp_path)
        print(f"\nsmall world: {world.stored_count():,} messages polled, ready in {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        world.stop()
        redis.destroy()


# -- the full suite (make resilience) ---------------------------------------------------------------------------

RESULTS: list[cases.Result] = []
LOAD_RESULTS: list[LoadResult] = []
REPORT = Path(__file__).resolve().parents[2] / "var" / "resilience-report.txt"


@dataclasses.dataclass
class FullRun:
    stack: cases.Stack
    postgres: ThrowawayPostgres

    def record(self, result: cases.Result) -> cases.Result:
        RESULTS.append(result)
        return result

    def record_load(self, result: LoadResult) -> LoadResult:
        LOAD_RESULTS.append(result)
        return result


def point_django_at(postgres: ThrowawayPostgres, name: str) -> None:
    """This process's connection goes to the throwaway server: the settings are changed in place (the
    connection handler reads the same dict) and the wrapper is made anew, for the engine may change too."""
    connections["default"].close()
    connections.settings["default"].update(
        ENGINE="django.db.backends.postgresql",
        NAME=name,
        HOST="127.0.0.1",
        PORT=str(postgres.port),
        USER="postgres",
        PASSWORD="",
        OPTIONS={},
    )
    del connections["default"]
    assert connection.vendor == "postgresql", connection.vendor


@pytest.fixture(scope="session")
def full_run(django_db_blocker, tmp_path_factory):
    """200 accounts and 20,000 messages on a PostgreSQL and a Redis of the suite's own (it restarts them),
    stage A polled and people's decisions taken; the real worker, beat and gunicorn."""
    workdir = tmp_path_factory.mktemp("resilience")
    # The server runs as an unprivileged user when we are root: its directory must be reachable by it.
    postgres = ThrowawayPostgres(Path(tempfile.mkdtemp(prefix="chorus-resilience-pg-")))
    redis = ThrowawayRedis(workdir / "redis")
    world = World(FULL)
    stack = None
    try:
        postgres.start()
        redis.start()
        postgres.execute("CREATE DATABASE chorus_resilience")
        with django_db_blocker.unblock():
            point_django_at(postgres, "chorus_resilience")
            call_command("migrate", verbosity=0)
            started = time.monotonic()
            stack = prepare(
                world, database_url=postgres.url("chorus_resilience"), redis=redis, timing=FULL_TIMING, workdir=workdir
            )
            print(f"\nstage A: {world.stored_count():,} messages polled in {time.monotonic() - started:.0f} s")
            yield FullRun(stack, postgres)
    finally:
        if stack is not None:
            stack.stop()
        world.stop()
        redis.destroy()
        postgres.destroy()


def pytest_terminal_summary(terminalreporter):
    if not RESULTS and not LOAD_RESULTS:
        return
    text = cases.table(RESULTS)
    if LOAD_RESULTS:
        text += "\n\nLoad\n" + LOAD_RESULTS[-1].table()
    terminalreporter.write_sep("=", "resilience")
    terminalreporter.write_line(text)
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text + "\n")
