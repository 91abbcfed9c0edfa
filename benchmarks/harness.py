"""What every scenario shares: figures, the scratch database, the environment, Celery worker processes.

Nothing here imports Django models: `prepare_environment` must run before `django.setup()`, so that the
settings read the scratch database's URL and a freshly generated Fernet key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
# Scratch databases are named chorus_bench_<pid of the run>: runs at the same time never share one, and a
# run can tell which leftovers belong to runs that are gone (see ScratchDatabase.drop_abandoned).
SCRATCH_PREFIX = "chorus_bench"
ABANDONED = re.compile(rf"{SCRATCH_PREFIX}_(?P<pid>\d+)(_\w+)?")
# The databases of `make demo`/`make test`: never created, dropped or written by a benchmark.
PROTECTED_DATABASES = frozenset({"chorus", "test_chorus", "postgres", "template0", "template1"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BenchmarkError(Exception):
    """The benchmark could not run (not a missed target: those are reported, not raised)."""


# -- figures ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured number. `target` is human-readable; `met` is None for figures without a target."""

    scenario: str
    name: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    digits: int = 1

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        number = f"{self.value:,.{self.digits}f}"
        return f"{number} {self.unit}".rstrip()

    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "met" if self.met else "MISSED"


def print_table(figures: list[Figure]) -> None:
    headers = ("Scenario", "Figure", "Value", "Target", "Result")
    rows = [(f.scenario, f.name, f.shown(), f.target, f.verdict()) for f in figures]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            str(cell).rjust(width) if index == 2 else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line(row))


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 96 - len(text)), flush=True)


def report(text: str) -> None:
    print(f"   {text}", flush=True)


# -- the scratch database and the environment ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ScratchDatabase:
    """A PostgreSQL database on the same loopback server as DATABASE_URL, owned by the benchmark run."""

    url: str
    maintenance_url: str
    name: str

    @classmethod
    def beside(cls, database_url: str, name: str = "") -> ScratchDatabase:
        name = name or f"{SCRATCH_PREFIX}_{os.getpid()}"
        parts = urlsplit(database_url)
        if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
            raise BenchmarkError(f"benchmarks need PostgreSQL; DATABASE_URL is {parts.scheme!r}")
        if parts.hostname not in LOOPBACK_HOSTS:
            raise BenchmarkError(
                f"benchmarks create and drop databases: only on a loopback server, not {parts.hostname}"
            )
        if name in PROTECTED_DATABASES:
            raise BenchmarkError(f"refusing to use {name!r} as a scratch database")
        return cls(
            url=urlunsplit(parts._replace(path=f"/{name}")),
            maintenance_url=urlunsplit(parts._replace(path="/postgres")),
            name=name,
        )

    def _execute(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.maintenance_url, autocommit=True) as connection:
            connection.execute(statement)

    def create(self) -> None:
        self.drop_abandoned()
        self.drop()
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop_abandoned(self) -> list[str]:
        """Drop the scratch databases of benchmark runs that no longer exist (killed before cleaning up)."""
        with psycopg.connect(self.maintenance_url, autocommit=True) as connection:
            names = [str(name) for (name,) in connection.execute("SELECT datname FROM pg_database").fetchall()]
        abandoned = [
            name
            for name in names
            if (match := ABANDONED.fullmatch(name)) and not _is_running(int(match["pid"])) and name != self.name
        ]
        for name in abandoned:
            self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        return abandoned

    def drop(self) -> None:
        self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def redis_url_checked() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        raise BenchmarkError("REDIS_URL is not set: the sweep benchmarks need Redis and real Celery workers")
    if urlsplit(url).hostname not in LOOPBACK_HOSTS:
        raise BenchmarkError("benchmarks flush their Redis database: only on a loopback server")
    return url


def prepare_environment(scratch: ScratchDatabase) -> None:
    """Point this process (and every worker it starts) at the scratch database, before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = scratch.url
    for name in ("SECRET_KEY_FILE", "CHORUS_FERNET_KEYS_FILE", "REDIS_URL_FILE", "CHORUS_X_BEARER_TOKEN_FILE"):
        os.environ.pop(name, None)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    # A key of this run only: the scratch database's credentials are unreadable once it is gone anyway.
    os.environ["CHORUS_FERNET_KEYS"] = Fernet.generate_key().decode()
    os.environ["LOG_LEVEL"] = "WARNING"
    # The seeded demo organization's Mastodon account lives on the loopback double (as in the tests), and
    # mail sent while seeding stays in memory.
    os.environ.setdefault("CHORUS_OUTBOUND_ALLOWLIST", "http://127.0.0.1")
    os.environ.setdefault("CHORUS_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    os.environ["PYTHONUNBUFFERED"] = "1"


def flush_redis() -> None:
    """Empty the benchmark's Redis database (queue, rate-limit gates). Only while no worker runs."""
    import redis

    redis.Redis.from_url(redis_url_checked()).flushdb()


def broker_backlog() -> int:
    """Tasks queued or delivered but not yet acknowledged (tasks are acknowledged late, once done)."""
    import redis

    client = redis.Redis.from_url(redis_url_checked())
    queued = sum(int(client.llen(key)) for key in client.scan_iter(match="celery*") if client.type(key) == b"list")
    return queued + int(client.hlen("unacked"))


def wait_for_idle_broker(*, timeout: float, settle: float = 0.5) -> bool:
    """Wait until no task is queued or running, and has stayed so for `settle` seconds."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while time.monotonic() < deadline:
        if broker_backlog() == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return True
        else:
            idle_since = None
        time.sleep(0.1)
    return False


def clear_rate_limit_gates() -> int:
    """Forget every shared rate-limit gate (cache keys), leaving the broker's keys alone."""
    import redis

    client = redis.Redis.from_url(redis_url_checked())
    keys = list(client.scan_iter(match="*chorus:ratelimit:*", count=1000))
    if keys:
        client.delete(*keys)
    return len(keys)


# -- Celery workers -----------------------------------------------------------------------------------------


class Worker:
    """`python -m celery -A config worker --concurrency N` in its own process group, logging to a file."""

    def __init__(self, *, env: dict[str, str], log_path: Path, concurrency: int = 2) -> None:
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() the worker first"
        return self.process.pid

    def start(self, *, timeout: float = 60) -> Worker:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--concurrency",
                    str(self.concurrency),
                    "--loglevel",
                    "INFO",
                    "--hostname",
                    f"bench-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopping it reaches the pool children
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in self.log_path.read_bytes():
                return self
            if self.process.poll() is not None:
                raise BenchmarkError(f"the Celery worker exited early:\n{self.log_tail()}")
            time.sleep(0.2)
        self.stop()
        raise BenchmarkError(f"the Celery worker was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # after "pid (comm)", which may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scheduler_seconds(pid: int) -> tuple[float, float]:
    """(seconds running on a CPU, seconds runnable but waiting for one) of a process's main thread so far,
    from /proc/<pid>/schedstat. The second is what a loaded machine costs it."""
    running, waiting, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(running) / 1e9, int(waiting) / 1e9


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# -- waiting ------------------------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_until_quiet(count: Callable[[], int], *, quiet: float, timeout: float) -> bool:
    """Wait until `count()` has not changed for `quiet` seconds (e.g. a double's request log)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        current = count()
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False
