"""The load case: 50 simultaneous comms managers and supervisors (locust, bounded in users and time) browse
the inbox, open items and write notes against gunicorn on loopback while a sweep runs. Figures: requests,
failures (any 5xx or other error), notes the server confirmed but the database lacks, inbox p95 under load
beside the idle figure."""

from __future__ import annotations

import csv
import dataclasses
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from accounts_registry.models import OrgUnit, Role, RoleGrant
from engagement.models import TriageItem, TriageNote
from tests.clients import SignedInClient
from tests.factories import UserFactory
from tests.resilience.cases import converge

if TYPE_CHECKING:
    from tests.resilience.cases import Stack

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclasses.dataclass(frozen=True)
class LoadResult:
    users: int
    seconds: int
    requests: int
    failures: int
    server_errors: int
    notes_confirmed: int
    notes_lost: int
    idle_p95_ms: float
    load_p95_ms: float
    sweep_converged: bool

    @property
    def is_green(self) -> bool:
        return self.failures == 0 and self.server_errors == 0 and self.notes_lost == 0 and self.sweep_converged

    def table(self) -> str:
        rows = [
            ("simultaneous users", str(self.users)),
            ("duration", f"{self.seconds} s"),
            ("requests", f"{self.requests:,}"),
            ("failures (any non-2xx/3xx)", str(self.failures)),
            ("5xx", str(self.server_errors)),
            ("notes confirmed / lost", f"{self.notes_confirmed} / {self.notes_lost}"),
            ("inbox p95 idle", f"{self.idle_p95_ms:.0f} ms"),
            ("inbox p95 under load, sweep running", f"{self.load_p95_ms:.0f} ms"),
            ("sweep converged meanwhile", "yes" if self.sweep_converged else "NO"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _sessions(count: int) -> list[str]:
    """Half comms managers, half supervisors, over the whole organization; a signed-in session each."""
    unit = OrgUnit.objects.filter(depth=1).first()
    assert unit is not None
    sessions = []
    for number in range(count):
        user = UserFactory.create(username=f"load-user-{number:02d}")
        role = Role.COMMS_MANAGER if number % 2 else Role.SUPERVISOR
        RoleGrant.objects.create(user=user, unit=unit, role=role)
        client = SignedInClient()
        client.force_login(user)
        sessions.append(client.cookies["sessionid"].value)
    return sessions


def _idle_p95(base_url: str, session: str, *, samples: int = 30) -> float:
    times = []
    for _ in range(samples):
        request = urllib.request.Request(f"{base_url}/inbox/", headers={"Cookie": f"sessionid={session}"})  # noqa: S310
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 — loopback
            response.read()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.quantiles(times, n=20)[-1]


def load(stack: Stack, *, users: int = 50, seconds: int = 60) -> LoadResult:
    stack.ensure(web=True)
    assert stack.web is not None
    workdir = stack.workdir
    sessions = _sessions(users)
    items = list(TriageItem.objects.order_by("-created_at").values_list("pk", flat=True)[:300])
    plan, done = workdir / "load-plan.json", workdir / "load-done.json"
    plan.write_text(json.dumps({"sessions": sessions, "items": items}))
    idle = _idle_p95(stack.web.url, sessions[0])
    stack.world.add_stage()  # a sweep runs while the users work
    prefix = workdir / "locust"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            "10",
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            stack.web.url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--exit-code-on-error",
            "0",
        ],
        env={**stack.env(), "CHORUS_LOAD_PLAN": str(plan), "CHORUS_LOAD_DONE": str(done)},
        check=True,
        timeout=seconds + 120,
        capture_output=True,
    )
    with Path(f"{prefix}_stats.csv").open() as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    with Path(f"{prefix}_failures.csv").open() as failures:
        server_errors = sum(
            int(row["Occurrences"]) for row in csv.DictReader(failures) if " 5" in row["Error"] or "50" in row["Error"]
        )
    confirmed = json.loads(done.read_text())
    stored = set(TriageNote.objects.filter(text__in=confirmed).values_list("text", flat=True))
    aggregated = rows["Aggregated"]
    return LoadResult(
        users=users,
        seconds=seconds,
        requests=int(aggregated["Request Count"]),
        failures=int(aggregated["Failure Count"]),
        server_errors=server_errors,
        notes_confirmed=len(confirmed),
        notes_lost=len(set(confirmed) - stored),
        idle_p95_ms=idle,
        load_p95_ms=float(rows["inbox"]["95%"]),
        sweep_converged=converge(stack.world, stack.timing),
    )
