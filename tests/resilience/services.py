"""The moving parts the resilience suite kills and restarts: its OWN PostgreSQL and Redis servers (never the
machine's), Celery workers and beat, and gunicorn — every one a child process on loopback and a free port.

PostgreSQL is initialised into a temporary directory (`initdb`, fsync off: durability across a machine crash
is not what is tested, a server restart is); Redis runs with or without persistence as a case needs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import redis

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parents[2]
SERVER_OWNER = "postgres"  # PostgreSQL refuses to run as root: as root, its tools run as this user


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition, *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return True
        time.sleep(interval)
    return False


def _postgres_bin(name: str) -> str:
    """`name` from the newest /usr/lib/postgresql/*/bin, else from PATH (e.g. /usr/local/bin)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda path: int(path.parts[4]))
    found = str(candidates[-1]) if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server package")
    return found


class ThrowawayPostgres:
    """A PostgreSQL server of its own in `directory`, on a free loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "pgdata"
        self.port = free_port()
        self.log = directory / "postgres.log"
        self._as_owner: list[str] = ["runuser", "-u", SERVER_OWNER, "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_owner, *command], check=True, capture_output=True, cwd=self.directory)

    def start(self) -> ThrowawayPostgres:
        if not self.data.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            if self._as_owner:
                shutil.chown(self.directory, user=SERVER_OWNER)
            self._run(_postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every session and shuts down cleanly; `immediate` is a crash."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str) -> None:
        with psycopg.connect(self.url("postgres").replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(statement.encode())  # our own fixed statements (no parameters)

    def clone(self, source: str, target: str) -> None:
        """`target` as a copy of `source` (a template copy: a file copy, seconds for a large database)."""
        self.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of its own, on a free loopback port; `persistent` turns on the append-only file
    (every write fsynced), which keeps the queue across a restart."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        self.persistent = persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                *persistence,
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        if not wait_until(client.ping, timeout=20):
            raise RuntimeError("the throwaway redis-server did not answer")
        return self

    def stop(self) -> None:
        """SIGTERM, as a package update's restart does (without persistence, everything queued is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def restart(self, *, persistent: bool | None = None) -> None:
        self.stop()
        if persistent is not None:
            self.persistent = persistent
        self.start()

    def persist(self, *, enabled: bool = True) -> None:
        """Turn the append-only file on (every write fsynced) or off, live; a restart keeps the setting."""
        client = redis.Redis.from_url(self.url)
        client.config_set("appendfsync", "always")
        client.config_set("appendonly", "yes" if enabled else "no")
        self.persistent = enabled
        wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0, timeout=30)

    def flush(self) -> None:
        redis.Redis.from_url(self.url).flushall()

    def destroy(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for name in ("appendonlydir", "dump.rdb"):
            shutil.rmtree(self.directory / name, ignore_errors=True)


class Process:
    """A child process in its own process group (SIGKILL reaches its children too), logging to a file."""

    ready_marker: bytes = b""

    def __init__(self, command: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.command = list(command)
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._offset = 0

    def start(self, *, timeout: float = 120) -> Process:
        return self.launch().wait_ready(timeout=timeout)

    def launch(self) -> Process:
        """Start the process without waiting (several boot at once; `wait_ready` then)."""
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, *, timeout: float = 120) -> Process:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.is_ready(self._offset):
                    return self
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.command[:4]} exited early:\n{self.log_path.read_text()[-3000:]}")
                time.sleep(0.1)
        except BaseException:
            self.kill()
            raise
        self.kill()
        raise RuntimeError(f"{self.command[:4]} did not become ready:\n{self.log_path.read_text()[-3000:]}")

    def is_ready(self, offset: int) -> bool:
        return self.ready_marker in self.log_path.read_bytes()[offset:]

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.is_running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.terminate()
        self.wait_stopped()

    def terminate(self) -> None:
        """SIGTERM (a warm shutdown) without waiting: several processes stop at once (`wait_stopped` then)."""
        if self.is_running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_stopped(self, *, timeout: float = 15) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


CELERY = [sys.executable, "-m", "celery", "-A", "config"]


class Worker(Process):
    ready_marker = b"ready."

    def __init__(self, env: dict[str, str], log_path: Path, *, concurrency: int = 2) -> None:
        super().__init__(
            [
                *CELERY,
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env,
            log_path,
        )


class Beat(Process):
    """celery beat with the production scheduler (django-celery-beat's, reading the schedule from the DB)."""

    ready_marker = b"beat: Starting"

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        schedule = log_path.with_suffix(".schedule")
        super().__init__(
            [*CELERY, "beat", "--loglevel", "INFO", "--max-interval", "1", "--schedule", str(schedule)], env, log_path
        )


class Gunicorn(Process):
    """The WSGI app as deployed (gunicorn, several workers), on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 3) -> None:
        self.port = free_port()
        super().__init__(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
                "--access-logfile",
                "-",
            ],
            env,
            log_path,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def is_ready(self, offset: int) -> bool:
        return healthz_status(self.url) in {200, 503}


def healthz_status(base_url: str) -> int | None:
    """The status of GET /healthz, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:  # noqa: S310 — loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None
