"""Scenario: the organization overview (`/`) for 1,000 accounts in 300 units with 90 days of statistics.

The tree: one service, 6 divisions, 48 stations (8 per division) and 245 teams under the stations —
300 units. 1,000 accounts: 2 corporate on the service, 2 per division, 3 per station, the rest personal
accounts spread over the teams. 90 days of history for every account: one DailyActivity row per account
per day (90,000 rows), and the inbound messages behind them with their triage items — about 1.3 a day
per account on average, the corporate and division accounts the busiest — 85 % answered (first response
from minutes to a day and more), some handled, the rest of the last days still waiting, their daily
response rows rebuilt from them; a few hundred
policy flags of each severity; poll states with a few failing and stale accounts. Written with
bulk_create, then the database is vacuumed and analyzed.

Measured with django.test.Client (force_login) as the comms manager of the service, on GET / — the
needs-attention counts, the service's totals with the previous period, its six divisions rolled up —
for the last 7, 30 and 90 days, on the htmx branch of one division (its eight stations), and on that
division's printable report (its roll-up, charts, lists of accounts and members) for 30 days. The daily
sums are cached per day (monitoring/daily_sums.py), so the 30-day overview is also measured as it is
after new activity today (today's sums recomputed: what a page sees while polls run) and with nothing
cached (every day summed again: after a rebuild, or the first view of a subtree). WARM_UPS untimed
requests, then REPEATS timed ones per variant, round-robin. Printed: server time median and p95 beside
the target, the request's CPU time in this process and its SQL time (both less sensitive to the other
work on the machine than the wall clock), the number of queries (which must not depend on the size),
and the load average.

Targets: p95 <= 100 ms for the 30-day overview, p95 <= 300 ms for the division's printable report.
"""

from __future__ import annotations

import datetime
import random
import statistics
import time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, Role, RoleGrant, SocialAccount
from benchmarks.harness import Figure, load_average, report
from benchmarks.world import reset_database, signed_in_client
from engagement.models import DailyResponse, TriageItem
from engagement.services.daily_response import responses_rebuild
from monitoring.daily_sums import daily_statistics_changed, daily_statistics_reset
from monitoring.models import DailyActivity, Message, PollState
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SCENARIO = "overview"
DAYS = 90
ACCOUNTS = 1000
UNITS = 300
WARM_UPS = 3
REPEATS = 30
TARGET_VARIANT = "overview, 30 days"
REPORT_VARIANT = "printable report of a division, 30 days"
TARGETS_P95_MS = {TARGET_VARIANT: 100.0, REPORT_VARIANT: 300.0}
SEED = 13


def _tree() -> tuple[OrgUnit, list[OrgUnit], list[OrgUnit], list[OrgUnit]]:
    def child(parent: OrgUnit, name: str, kind: str) -> OrgUnit:
        parent.refresh_from_db()  # treebeard numbers a child from the parent's stored child count
        return OrgUnit.objects.add_child(parent, create_kwargs={"name": name, "kind": kind})

    service = OrgUnit.objects.add_root(create_kwargs={"name": "Bench Police Service", "kind": OrgUnit.Kind.SERVICE})
    divisions = [child(service, f"{number} Division", OrgUnit.Kind.DIVISION) for number in range(1, 7)]
    stations = [
        child(division, f"{division_number}{number} Station", OrgUnit.Kind.STATION)
        for division_number, division in enumerate(divisions, start=1)
        for number in range(1, 9)
    ]
    teams = [
        child(stations[index % len(stations)], f"Team {index + 1}", OrgUnit.Kind.TEAM)
        for index in range(UNITS - 1 - len(divisions) - len(stations))
    ]
    for unit in (service, *divisions, *stations):
        unit.refresh_from_db()
    return service, divisions, stations, teams


def _accounts(
    service: OrgUnit, divisions: list[OrgUnit], stations: list[OrgUnit], teams: list[OrgUnit]
) -> list[tuple[SocialAccount, float]]:
    """Accounts with their traffic weight (inbound messages a day on average)."""
    rng = random.Random(SEED)
    members = Member.objects.bulk_create(
        Member(full_name=f"Officer {number}", badge_number=f"B{number:05d}", unit=teams[number % len(teams)])
        for number in range(ACCOUNTS)
    )
    specs: list[tuple[OrgUnit, str, Member | None, float]] = [(service, "corporate", None, 12.0)] * 2
    specs += [(division, "unit", None, 4.0) for division in divisions for _ in range(2)]
    specs += [(station, "unit", None, 1.5) for station in stations for _ in range(3)]
    personal = ACCOUNTS - len(specs)
    specs += [(teams[number % len(teams)], "personal", members[number], 0.8) for number in range(personal)]
    now = timezone.now()
    accounts = SocialAccount.objects.bulk_create(
        SocialAccount(
            platform=rng.choice(["x", "facebook", "instagram", "bluesky", "mastodon"]),
            external_id=f"bench-{number}",
            handle=f"bench_{number}",
            kind=kind,
            unit=unit,
            holder=holder,
            status=SocialAccount.Status.NEEDS_RECONNECT if number % 97 == 0 else SocialAccount.Status.ACTIVE,
            onboarded_at=now - datetime.timedelta(days=400),
            status_changed_at=now - datetime.timedelta(days=400),
        )
        for number, (unit, kind, holder, _) in enumerate(specs)
    )
    PollState.objects.bulk_create(
        PollState(
            account=account,
            last_success_at=now - datetime.timedelta(minutes=1 if number % 53 else 600),
            consecutive_failures=3 if number % 71 == 0 else 0,
        )
        for number, account in enumerate(accounts)
    )
    return [(account, weight) for account, (_, _, _, weight) in zip(accounts, specs, strict=True)]


def _history(accounts: list[tuple[SocialAccount, float]]) -> int:
    rng = random.Random(SEED + 1)
    now = timezone.now()
    today = timezone.localdate(now)
    activity: list[DailyActivity] = []
    messages: list[Message] = []
    answers: list[tuple[int | None, str]] = []
    number = 0
    for account, weight in accounts:
        for offset in range(DAYS):
            day = today - datetime.timedelta(days=offset)
            inbound = int(rng.expovariate(1 / weight) + 0.5)
            posts = int(rng.expovariate(1 / max(weight / 3, 0.2)) + 0.3)
            activity.append(
                DailyActivity(account=account, day=day, posts=posts, replies=int(inbound * 0.8), inbound=inbound)
            )
            for _ in range(inbound):
                number += 1
                created = now - datetime.timedelta(days=offset, seconds=rng.randint(0, 86_000))
                messages.append(
                    Message(
                        platform=account.platform,
                        external_id=f"bench-in-{number}",
                        account=account,
                        direction=Message.Direction.INBOUND,
                        kind=Message.Kind.MENTION,
                        author_id=f"resident-{rng.randint(1, 20000)}",
                        text="Is the station open on Sunday?",
                        created_at=created,
                        content_hash=f"h{number}",
                    )
                )
                roll = rng.random()
                seconds = int(rng.lognormvariate(8.2, 1.3)) if roll < 0.85 else None
                status = "answered" if seconds is not None else ("handled" if roll < 0.9 or offset > 3 else "waiting")
                answers.append((seconds, status))
    DailyActivity.objects.bulk_create(activity, batch_size=5000)
    Message.objects.bulk_create(messages, batch_size=5000)
    categories = ["question"] * 35 + ["other"] * 50 + ["complaint"] * 10 + ["crime"] * 4 + ["emergency"]
    TriageItem.objects.bulk_create(
        (
            TriageItem(
                message=message,
                account_id=message.account_id,
                platform=message.platform,
                created_at=message.created_at,
                author_id=message.author_id,
                status=status,
                category=(category := rng.choice(categories)),
                is_question=category == "question",
                answered_at=message.created_at + datetime.timedelta(seconds=seconds) if seconds is not None else None,
                first_response_seconds=seconds,
                handled_reason="no_reply_needed" if status == "handled" else "",
            )
            for message, (seconds, status) in zip(messages, answers, strict=True)
        ),
        batch_size=5000,
    )
    rules = [
        PolicyRule.objects.create(name=f"Bench {severity}", explanation="Bench.", severity=severity, kind="keywords")
        for severity in PolicyRule.Severity.values
    ]
    PolicyFlag.objects.bulk_create(
        PolicyFlag(
            rule=rules[index % len(rules)],
            account=accounts[(index * 7) % len(accounts)][
                0
            ],  # one flag per account: an account flag is unique while open
            status="open" if index % 3 else "resolved",
            excerpt="bench",
        )
        for index in range(900)
    )
    return len(messages)


def _seed() -> None:
    reset_database()
    service, divisions, stations, teams = _tree()
    accounts = _accounts(service, divisions, stations, teams)
    started = time.perf_counter()
    items = _history(accounts)
    responses_rebuild()  # the items were bulk-created, not triaged: their daily response rows
    user = get_user_model().objects.create_user("bench-comms", password="unused-bench-password")  # noqa: S106
    RoleGrant.objects.create(user=user, role=Role.COMMS_MANAGER, unit=service)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    report(
        f"seeded {OrgUnit.objects.count()} units, {SocialAccount.objects.count():,} accounts, "
        f"{DailyActivity.objects.count():,} daily rows, {items:,} inbound messages with triage items "
        f"in {time.perf_counter() - started:.0f} s"
    )


def _today_written() -> None:
    """What ingest and triage do to the cache when they write today's rows."""
    today = timezone.localdate()
    daily_statistics_changed(DailyActivity, [today])
    daily_statistics_changed(DailyResponse, [today])


def _timed(
    client: Client, url: str, headers: dict[str, str], before: Callable[[], None] | None = None
) -> tuple[float, float, int, float]:
    sql_ms: list[float] = []

    def wrapper(execute: Callable[..., Any], statement: str, params: Any, many: bool, context: dict[str, Any]) -> Any:  # noqa: FBT001
        began = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            sql_ms.append((time.perf_counter() - began) * 1000)

    if before is not None:
        before()
    with connection.execute_wrapper(wrapper):
        began, cpu = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True, headers=headers)
        total, cpu = (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return total, sum(sql_ms), len(sql_ms), cpu


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run(workdir: Path) -> list[Figure]:
    _seed()
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=workdir / "overview-static", STORAGES=storages, ALLOWED_HOSTS=["testserver"]):
        call_command("collectstatic", interactive=False, verbosity=0)
        client = signed_in_client(get_user_model().objects.get(username="bench-comms"))
        division = OrgUnit.objects.get(name="1 Division")
        home = reverse("home")
        variants: dict[str, tuple[str, dict[str, str], Callable[[], None] | None]] = {
            "overview, 7 days": (home + "?period=7", {}, None),
            TARGET_VARIANT: (home + "?period=30", {}, None),
            "overview, 90 days": (home + "?period=90", {}, None),
            "division branch (htmx), 30 days": (
                reverse("overview:children", args=[division.pk]) + "?period=30",
                {"HX-Request": "true"},
                None,
            ),
            REPORT_VARIANT: (
                reverse("overview:report", args=[division.pk]) + "?period=30",
                {},
                None,
            ),
            "overview, 30 days, after new activity today": (home + "?period=30", {}, _today_written),
            "overview, 30 days, nothing cached": (home + "?period=30", {}, daily_statistics_reset),
        }
        samples: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in variants}
        # The cached variants round-robin first, then each variant that invalidates the cache on its own
        # (a reset would make the next request of another variant cold too).
        phases = [[name for name, (_, _, before) in variants.items() if before is None]]
        phases += [[name] for name, (_, _, before) in variants.items() if before is not None]
        for phase in phases:
            for round_number in range(WARM_UPS + REPEATS):
                for name in phase:
                    url, headers, before = variants[name]
                    sample = _timed(client, url, headers, before)
                    if round_number >= WARM_UPS:
                        samples[name].append(sample)
    figures = []
    report(f"load average {load_average()}")
    for name, rows in samples.items():
        totals = [total for total, _, _, _ in rows]
        sql = [ms for _, ms, _, _ in rows]
        cpu = [ms for _, _, _, ms in rows]
        queries = sorted({count for _, _, count, _ in rows})
        median, p95 = statistics.median(totals), _p95(totals)
        limit = TARGETS_P95_MS.get(name)
        target = "" if limit is None else f" (target p95 <= {limit:.0f} ms: {'met' if p95 <= limit else 'MISSED'})"
        report(
            f"{name}: median {median:.1f} ms, p95 {p95:.1f} ms{target}; "
            f"CPU median {statistics.median(cpu):.1f} ms, SQL median {statistics.median(sql):.1f} ms, "
            f"{'/'.join(map(str, queries))} queries"
        )
        figures.append(Figure(SCENARIO, f"{name}: median", median, "ms"))
        figures.append(
            Figure(
                SCENARIO,
                f"{name}: p95",
                p95,
                "ms",
                target="" if limit is None else f"<= {limit:.0f} ms",
                met=None if limit is None else p95 <= limit,
            )
        )
        figures.append(Figure(SCENARIO, f"{name}: CPU median", statistics.median(cpu), "ms"))
        figures.append(Figure(SCENARIO, f"{name}: SQL median", statistics.median(sql), "ms"))
    return figures
