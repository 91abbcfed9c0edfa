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

Measured with django.test.Client (signed in with a second factor, as a comms manager must be; no template
instrumentation) on GET
/inbox/ — the full page: filter form, counts per status, 50 waiting items — for three scopes:

- organization: `comms`, the comms manager of the whole service (every account: the organization-wide
  index path);
- command: a supervisor of Central Field Command (123 accounts: the size of a field command);
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

In the same rounds, at 2 M only: the inbox's search for a word (benchmarks/inbox_search.py), p95 <= 100 ms.
The rows' own cost, which the load on the machine hardly moves: the CPU time (time.process_time) of
rendering each first page's rows (engagement/jinja2/engagement/inbox_rows.html, as the view renders them),
divided by the rows, best of ROW_REPEATS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import io
import os
import re
import statistics
import time
from typing import TYPE_CHECKING, Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from psycopg import sql

from accounts_registry.models import OrgUnit, Role, RoleGrant, SocialAccount
from benchmarks.harness import Figure, ScratchDatabase, load_average, report
from benchmarks.inbox_search import SCOPES as SEARCH_SCOPES
from benchmarks.inbox_search import search_figures, search_urls
from benchmarks.inbox_traffic import generate, weighted_accounts
from benchmarks.world import reset_database, signed_in_client
from engagement.forms import InboxFilterForm
from engagement.selectors import inbox as inbox_selectors
from engagement.views.inbox_rows import rows_html

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from django.contrib.auth.models import User
    from django.db.backends.base.base import BaseDatabaseWrapper

SCENARIO = "inbox"
SIZES = (20_000, 2_000_000)
WARM_UPS = 3
REPEATS = 30
ROW_REPEATS = 20
DEEP_PAGES = 20
TARGET_P95_MS = 50.0
TARGET_RATIO = 1.2
# The seed is deterministic: 12 Division has 29 accounts (more than the inbox's NARROW_ACCOUNTS, 24), its
# Community Response Unit 14, enough for a full first page of waiting items even at 20,000 messages.
COMMAND = "Central Field Command"  # 123 accounts: the command-sized scope (100-130 accounts)
DIVISION = "12 Division"
STATION = "Community Response Unit"  # the one of DIVISION

NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
# A session's last-seen stamp is written at most once a minute (accounts_registry.middleware): the request that
# carries it has one statement more, whatever the size. Timed with the rest, left out of the query count.
SESSION_REFRESH = 'UPDATE "django_session"'


def run(workdir: Path) -> list[Figure]:
    reset_database()
    seeded = io.StringIO()
    # The seed onboards a Mastodon account on the demo's loopback instance and mails invitations.
    seeding = override_settings(
        CHORUS_OUTBOUND_ALLOWLIST=[settings.CHORUS_DEMO_MASTODON_URL],
        MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}},
    )
    with seeding:
        call_command("seed_demo", "--no-logins", stdout=seeded)
    accounts = weighted_accounts()
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
                generated = generate(dataset.size, accounts, [scope.user.pk for scope in scopes])
                report(generated.describe())
                dataset.timings = _variants(scopes)
                if dataset.size == large_size:
                    dataset.searches = _search_variants(scopes)
        _measure(datasets)
        report(f"load average after measuring: {load_average()}")
        with _using(datasets[-1].database):
            row_cpu = _row_cpu(scopes)
    for dataset in datasets:
        _describe(dataset)
    return [*_figures(*datasets), row_cpu, *search_figures(datasets[-1].searches)]


# --- who looks at the inbox ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Scope:
    label: str
    user: User
    accounts: int


def _scopes() -> list[Scope]:
    """The seed's comms manager, and a supervisor each for COMMAND, DIVISION and the division's STATION."""
    user_model = get_user_model()
    command = OrgUnit.objects.get(name=COMMAND)
    division = OrgUnit.objects.get(name=DIVISION)
    station = OrgUnit.objects.get(name=STATION, path__startswith=division.path)
    scopes = [Scope("organization", user_model.objects.get(username="comms"), SocialAccount.objects.count())]
    for label, unit in (("command", command), ("division", division), ("station", station)):
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
    searches: list[Timing] = dataclasses.field(default_factory=list)  # at 2M only (benchmarks/inbox_search.py)


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
        counts = sorted(
            {sum(not sql.startswith(SESSION_REFRESH) for sql, _ms in sample.queries) for sample in self.samples}
        )
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
        client = signed_in_client(scope.user)
        deep, page = _deep_url(client, first)
        timings.append(Timing(f"{scope.label}, first page", client, first, 1))
        timings.append(Timing(f"{scope.label}, deep page", client, deep, page))
    return timings


def _search_variants(scopes: list[Scope]) -> list[Timing]:
    """For the search scopes, a client logged in to the current database and a search per word."""
    first = reverse("inbox:index")
    timings = []
    for scope in scopes:
        if scope.label in SEARCH_SCOPES:
            client = signed_in_client(scope.user)
            timings += [Timing(f"search, {scope.label}, {label}", client, url, 1) for label, url in search_urls(first)]
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
                for timing in [*dataset.timings, *dataset.searches]:
                    sample = _timed(timing.client, timing.url)
                    if round_number >= WARM_UPS:
                        timing.samples.append(sample)


def _row_cpu(scopes: list[Scope]) -> Figure:
    """CPU time per row of rendering each scope's first page of rows as the view does (best of ROW_REPEATS);
    the figure is the most expensive scope's."""
    per_row = {}
    for scope in scopes:
        request = RequestFactory().get(reverse("inbox:index"), secure=True)
        request.user = scope.user
        filters, _cursor = InboxFilterForm({}, user=scope.user).page_filters()
        rows = inbox_selectors.inbox_page(scope.user, filters).rows
        best = float("inf")
        for _ in range(ROW_REPEATS):
            began = time.process_time()
            rows_html(request, rows, query="")
            best = min(best, time.process_time() - began)
        per_row[scope.label] = best * 1000 / max(len(rows), 1)
    report("rows' rendering, CPU per row (ms): " + ", ".join(f"{label} {ms:.3f}" for label, ms in per_row.items()))
    return Figure(
        SCENARIO, "rows' rendering: CPU per row (first page, any scope)", max(per_row.values()), "ms", digits=3
    )


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
        f"{'variant':<26} {'median 20k':>10} {'median 2M':>10} {'p95 2M':>7} {'target':>7} {'ratio':>6} {'target':>7}  "
        "SQL / rendering / CPU at 2M (ms)"
    )
    for before, after in zip(small.timings, large.timings, strict=True):
        label = after.label
        ratio = after.median / before.median
        report(
            f"{label:<26} {before.median:>10.1f} {after.median:>10.1f} {after.p95:>7.1f} "
            f"{'<= ' + format(TARGET_P95_MS, '.0f'):>7} {ratio:>6.2f} {'<= ' + str(TARGET_RATIO):>7}  "
            f"{after.sql_median:.1f} / {after.rendering_median:.1f} / {after.cpu_median:.1f}"
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
