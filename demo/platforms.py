"""The embedded demo's live platforms: API doubles on loopback, fed by a scenario generator, and a
scheduler thread that polls them through the real connectors.

Only `manage.py demo` (and the demo traffic test) use this module. It imports the doubles from
`doubles` when called, never at import time.

- `start_demo_platforms()` starts the X, Graph (Facebook + Instagram), Bluesky and Mastodon doubles on
  the loopback ports named by the settings (CHORUS_X_API_BASE, CHORUS_FACEBOOK_API_BASE,
  CHORUS_BLUESKY_API_BASE, CHORUS_DEMO_MASTODON_URL), sharing one Scenario. The scenario is built from
  the database: every account, with the credential it stores (the doubles accept exactly those), the
  messages earlier runs stored (so a restarted demo serves the same posts again) and, for accounts
  without any, a backlog of a few days.
- `start_demo_scheduler()` starts a daemon thread that, every few seconds, adds a little traffic and
  runs the beat tick itself (`sweep_due_accounts`, as `monitoring.tasks.poll_due_accounts` does), with
  the work it hands out — polls, the combined X sweep, lost webhook events — done in this process.

Both start once per process; the runserver child (or the only process with --noreload) calls them.
Logs name accounts by id only: never a token.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from accounts_registry.crypto import CredentialsUnavailable, decrypt_credentials
from accounts_registry.models import Platform, SocialAccount
from alerts.services.triggers import alerts_sweep
from demo import data as demo_data
from monitoring.models import Message
from monitoring.services.polling import PollSummary, account_poll
from monitoring.services.sweep import TickWork, sweep_due_accounts
from monitoring.services.x_sweep import x_sweep_run
from monitoring.webhooks.services import webhook_event_process

if TYPE_CHECKING:
    from collections.abc import Mapping

    from doubles.bluesky import BlueskyDouble
    from doubles.facebook import FacebookDouble
    from doubles.generator.traffic import DemoAccount, PastItem, ScenarioGenerator
    from doubles.mastodon import MastodonDouble
    from doubles.scenario import Scenario
    from doubles.server import DoubleServer
    from doubles.x import XDouble

logger = logging.getLogger(__name__)

DOUBLES = ("x", "facebook", "bluesky", "mastodon")
SETTING_NAMES = {
    "x": "CHORUS_X_API_BASE",
    "facebook": "CHORUS_FACEBOOK_API_BASE",
    "bluesky": "CHORUS_BLUESKY_API_BASE",
    "mastodon": "CHORUS_DEMO_MASTODON_URL",
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
SCHEDULER_INTERVAL = 10.0  # seconds between two sweeps of the demo scheduler
ACCOUNT_SYNC_EVERY = 6  # sweeps: accounts onboarded or given credentials meanwhile join the scenario
REQUESTS_KEPT = 500  # per double: the request logs serve tests; a long demo keeps only the latest
HISTORY_DAYS = 30  # stored messages served again after a restart (polls never read further back)
FEATURED_WEIGHT = 4.0  # the corporate accounts and the demo officer's draw more of the traffic
# The doubles count requests per 15-minute window as X does. With one app bearer for every X account, the
# published limits (450 mention reads per window) would throttle a demo polling ~270 X accounts every
# two minutes; the demo shows monitoring, so its X double allows far more.
DEMO_X_LIMITS = dict.fromkeys(("tweets", "mentions", "users", "search"), 1_000_000)


class DemoUnavailable(Exception):
    """The settings do not point the connectors at loopback doubles: polling would reach real platforms."""


@dataclasses.dataclass
class DemoPlatforms:
    scenario: Scenario
    generator: ScenarioGenerator
    x: XDouble
    facebook: FacebookDouble
    bluesky: BlueskyDouble
    mastodon: MastodonDouble
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)  # guards the generator

    @property
    def doubles(self) -> dict[str, DoubleServer]:
        return {"x": self.x, "facebook": self.facebook, "bluesky": self.bluesky, "mastodon": self.mastodon}

    def url(self, name: str) -> str:
        return self.doubles[name].url

    def trim_logs(self) -> None:
        for double in self.doubles.values():
            del double.requests[:-REQUESTS_KEPT]
        del self.facebook.served[:-REQUESTS_KEPT]

    def stop(self) -> None:
        for double in self.doubles.values():
            double.stop()


# --- settings -----------------------------------------------------------------------------------------


def demo_endpoints() -> dict[str, str]:
    """Where the connectors will look for each platform: the doubles must listen exactly there."""
    return {
        "x": settings.CHORUS_X_API_BASE,
        "facebook": settings.CHORUS_FACEBOOK_API_BASE,
        "bluesky": settings.CHORUS_BLUESKY_API_BASE,
        "mastodon": demo_data.mastodon_instance_url(),
    }


def demo_settings_problems() -> list[str]:
    """Why the demo cannot run its platforms here (empty when it can)."""
    problems = []
    for name, url in demo_endpoints().items():
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or not port or parts.path.strip("/"):
            problems.append(f"{SETTING_NAMES[name]} is {url!r}, not http://127.0.0.1:<port>")
    if not settings.CHORUS_X_BEARER_TOKEN:
        problems.append("CHORUS_X_BEARER_TOKEN is empty (the X double needs an app bearer to accept)")
    return problems


# --- the scenario, from the database ----------------------------------------------------------------


def demo_accounts(*, mastodon_url: str) -> list[DemoAccount]:
    """Every account that can receive traffic: not retired, holding the credential its double checks (X
    accounts are read with the app bearer and need none) and, on Mastodon, polled at `mastodon_url`.
    Credentials stay in memory."""
    from doubles.generator.traffic import DemoAccount

    officer_badge = demo_data.DEMO_OFFICER.badge_number
    mastodon_url = mastodon_url.rstrip("/")
    accounts: list[DemoAccount] = []
    rows = (
        SocialAccount.objects.exclude(status=SocialAccount.Status.RETIRED)
        .select_related("unit", "holder")
        .order_by("pk")
    )
    for account in rows:
        if account.platform == Platform.MASTODON and account.instance_url.rstrip("/") != mastodon_url:
            continue  # polled on some other instance: the double cannot serve it
        try:
            credentials = decrypt_credentials(account.credentials_ciphertext)
        except CredentialsUnavailable:
            logger.warning("demo: the credentials of account %s cannot be decrypted; it gets no traffic", account.pk)
            continue
        token = str(credentials.get("app_password" if account.platform == Platform.BLUESKY else "access_token") or "")
        if not token and account.platform != Platform.X:
            continue
        is_featured = account.kind == SocialAccount.Kind.CORPORATE or (
            account.holder is not None and account.holder.badge_number == officer_badge
        )
        accounts.append(
            DemoAccount(
                platform=account.platform,
                handle=account.handle,
                external_id=account.external_id,
                name=_display_name(account),
                token=token,
                weight=FEATURED_WEIGHT if is_featured else 1.0,
            )
        )
    return accounts


def _display_name(account: SocialAccount) -> str:
    if account.holder is not None:
        return account.holder.full_name
    if account.kind == SocialAccount.Kind.CORPORATE:
        return demo_data.ROOT_NAME
    return f"MPS {account.unit.name}"


def demo_history(*, now: datetime.datetime | None = None) -> list[PastItem]:
    """The messages earlier runs stored, to serve again: the connectors' cursors point past them."""
    from doubles.generator.traffic import PastItem

    since = (now or timezone.now()) - datetime.timedelta(days=HISTORY_DAYS)
    rows = Message.objects.filter(created_at__gte=since, account__external_id__isnull=False).values_list(
        "platform",
        "account__external_id",
        "external_id",
        "direction",
        "author_id",
        "author_handle",
        "author_name",
        "text",
        "created_at",
        "in_reply_to_id",
        "conversation_id",
        "metrics",
    )
    return [
        PastItem(
            platform=platform,
            account_id=str(account_id),
            id=external_id,
            is_outbound=direction == Message.Direction.OUTBOUND,
            author_id=author_id,
            author_handle=author_handle,
            author_name=author_name,
            text=text,
            created_at=created_at,
            in_reply_to=in_reply_to,
            conversation_id=conversation_id,
            likes=int((metrics or {}).get("likes") or 0),
        )
        for (
            platform,
            account_id,
            external_id,
            direction,
            author_id,
            author_handle,
            author_name,
            text,
            created_at,
            in_reply_to,
            conversation_id,
            metrics,
        ) in rows.iterator()
    ]


def demo_instances_align(*, url: str) -> int:
    """Point the accounts of the demo's Mastodon instance at its double (databases seeded before the
    double existed, or with another port). Demo data only: no audit row. Returns how many changed."""
    return (
        SocialAccount.objects.filter(platform=Platform.MASTODON, handle__iendswith=f"@{demo_data.MASTODON_DOMAIN}")
        .exclude(instance_url=url)
        .update(instance_url=url)
    )


def build_demo_platforms(
    *, ports: Mapping[str, int], seed: int = demo_data.RANDOM_SEED, now: datetime.datetime | None = None
) -> DemoPlatforms:
    """Build the scenario from the database and start the four doubles on `ports` (0: any free port).

    The Mastodon accounts of the demo instance are pointed at the Mastodon double's URL.
    """
    from doubles.bluesky import BlueskyDouble
    from doubles.facebook import FacebookDouble
    from doubles.generator.traffic import ScenarioGenerator
    from doubles.mastodon import MastodonDouble
    from doubles.scenario import Scenario
    from doubles.x import XDouble

    scenario = Scenario()
    x = XDouble(scenario, app_bearer=settings.CHORUS_X_BEARER_TOKEN, limits=DEMO_X_LIMITS)
    facebook = FacebookDouble(scenario, app_secret=settings.CHORUS_FACEBOOK_APP_SECRET)
    bluesky = BlueskyDouble(scenario)
    mastodon = MastodonDouble(scenario)
    # Notification ids are instance-local and only grow; the connector resumes above the newest it saw.
    # The double counts from a fixed number in each process, so a restarted demo would hand out ids below
    # the stored cursors: count from the clock (microseconds) instead.
    mastodon._next_notification = itertools.count(time.time_ns() // 1000)
    started: list[DoubleServer] = []
    try:
        for name, double in (("x", x), ("facebook", facebook), ("bluesky", bluesky), ("mastodon", mastodon)):
            double.start(ports[name])
            started.append(double)
    except OSError:
        for running in started:
            running.stop()
        raise
    demo_instances_align(url=mastodon.url)
    accounts = demo_accounts(mastodon_url=mastodon.url)
    generator = ScenarioGenerator(scenario, accounts, seed=seed, history=demo_history(now=now), now=now)
    return DemoPlatforms(scenario, generator, x=x, facebook=facebook, bluesky=bluesky, mastodon=mastodon)


# --- once per process: the platforms and the scheduler ----------------------------------------------


@dataclasses.dataclass
class _Running:
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    platforms: DemoPlatforms | None = None
    scheduler: threading.Thread | None = None


_running = _Running()


def start_demo_platforms(*, seed: int = demo_data.RANDOM_SEED) -> DemoPlatforms:
    """Start the doubles where the settings say the platforms are (once per process; later calls return
    the running ones). Raises DemoUnavailable if that is not loopback, OSError if a port is taken."""
    with _running.lock:
        if _running.platforms is None:
            problems = demo_settings_problems()
            if problems:
                raise DemoUnavailable("; ".join(problems))
            ports = {name: urlsplit(url).port or 0 for name, url in demo_endpoints().items()}
            _running.platforms = build_demo_platforms(ports=ports, seed=seed)
        return _running.platforms


def start_demo_scheduler(*, interval: float = SCHEDULER_INTERVAL) -> threading.Thread:
    """Start the daemon thread that ticks the generator and sweeps every `interval` seconds (once per
    process; the platforms must be running)."""
    with _running.lock:
        platforms = _running.platforms
        if platforms is None:
            raise DemoUnavailable("start_demo_platforms() first")
        if _running.scheduler is None:
            # httpx (atproto's client) logs every request at INFO: thousands of lines a minute here, which
            # would bury the one line per sweep. The demo process only.
            logging.getLogger("httpx").setLevel(logging.WARNING)
            _running.scheduler = threading.Thread(
                target=_schedule, args=(platforms, interval), name="demo-scheduler", daemon=True
            )
            _running.scheduler.start()
        return _running.scheduler


def _schedule(platforms: DemoPlatforms, interval: float) -> None:
    is_backfill_reported = False
    for number in itertools.count():
        try:
            demo_sweep(platforms, is_account_sync=number > 0 and number % ACCOUNT_SYNC_EVERY == 0)
            if not is_backfill_reported and first_poll_done():
                is_backfill_reported = True
                logger.info("demo: the first poll of every account is done; new traffic is polled as it comes")
        except Exception:  # the demo keeps going; the next sweep starts from the database again
            logger.exception("demo sweep failed")
        finally:
            close_old_connections()
        time.sleep(interval)


@dataclasses.dataclass
class DemoSweep:
    items_added: int
    summaries: list[PollSummary] = dataclasses.field(default_factory=list)
    x_sweeps: list[dict[str, int]] = dataclasses.field(default_factory=list)
    webhook_events: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        outcomes = Counter(summary.outcome for summary in self.summaries)
        by_outcome = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "none due"
        new = sum(summary.items_new for summary in self.summaries)
        swept = "".join(
            f"; X sweep over {figures.get('accounts', 0)} account(s): {figures.get('new', 0)} new message(s)"
            for figures in self.x_sweeps
        )
        return (
            f"demo sweep: {self.items_added} new platform item(s); polled {len(self.summaries)} account(s) "
            f"({by_outcome}): {new} new message(s){swept} in {self.seconds:.1f}s"
        )

    def work(self) -> TickWork:
        """The beat tick's work, done here and now (the demo has no queue), each result kept for the log."""
        return TickWork(poll_account=self._poll, x_sweep=self._x_sweep, webhook_event=self._webhook_event)

    def _poll(self, account_id: int) -> None:
        try:
            summary = account_poll(account_id=account_id)
        except Exception:  # one broken poll must not starve the others; its lease lets a later tick retry
            logger.exception("demo poll of account %s failed", account_id)
            return
        if summary is not None:
            self.summaries.append(summary)

    def _x_sweep(self) -> None:
        try:
            self.x_sweeps.append(x_sweep_run())
        except Exception:  # its lease lets a later tick retry
            logger.exception("demo X sweep failed")

    def _webhook_event(self, event_id: int) -> None:
        try:
            webhook_event_process(event_id=event_id)
        except Exception:
            logger.exception("demo processing of webhook event %s failed", event_id)
            return
        self.webhook_events += 1


def demo_sweep(platforms: DemoPlatforms, *, is_account_sync: bool = False) -> DemoSweep:
    """One scheduler beat: new traffic, then the very tick beat runs in production (`sweep_due_accounts`),
    its work done in this process through the real connectors. Logs one line."""
    started = time.monotonic()
    with platforms.lock:
        if is_account_sync:
            platforms.generator.sync(demo_accounts(mastodon_url=platforms.url("mastodon")))
        added = platforms.generator.tick()
    sweep = DemoSweep(items_added=len(added))
    sweep_due_accounts(work=sweep.work())  # outside a transaction: the work runs as each claim commits
    if is_account_sync:  # beat's alerts sweep, every minute here (emergencies are alerted by the polls)
        alerts_sweep()
    platforms.trim_logs()
    sweep.seconds = time.monotonic() - started
    # Every ten seconds: at DEBUG, so the console keeps the logins and what matters (LOG_LEVEL=DEBUG shows it).
    logger.debug("%s", sweep.line())
    return sweep


def first_poll_done() -> bool:
    """Every active account has been polled successfully at least once (the backfill is over)."""
    return (
        not SocialAccount.objects.filter(status=SocialAccount.Status.ACTIVE)
        .filter(Q(poll_state__isnull=True) | Q(poll_state__last_success_at__isnull=True))
        .exists()
    )
