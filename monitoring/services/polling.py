"""Polling: claim due accounts, fetch through the connector, ingest, advance cursors — idempotently.

Invariants:
- PostgreSQL is the ledger. Claiming an account sets a lease (`PollState.lease_until`); a poll whose
  task is lost is simply claimed again when the lease runs out. Nothing depends on the queue.
- Network I/O happens outside any transaction. The messages, the cursor, the refreshed credentials,
  the daily statistics and the finished PollRun are written in ONE transaction: a poll killed at any
  point is repeated from the old cursor, and the upsert absorbs what was already stored.
- Rate limits are shared by every worker through the cache (Redis in production), keyed by platform
  and a fingerprint of the token — never the token itself.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import functools
import hashlib
import logging
import random
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts_registry.crypto import CredentialsUnavailable, decrypt_credentials, encrypt_credentials
from accounts_registry.models import SocialAccount
from accounts_registry.services.accounts import account_set_status
from monitoring.connectors import connector_for
from monitoring.connectors.base import (
    AccountRef,
    AuthError,
    ConnectorError,
    FetchResult,
    MissingCredentials,
    PermissionMissing,
    RateLimited,
    TransientError,
)
from monitoring.models import ErrorKind, PlatformUsage, PollRun, PollState, SkippedItem
from monitoring.services.ingest import activity_record_new, messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from monitoring.connectors.base import SkippedRecord

logger = logging.getLogger(__name__)

Outcome = PollRun.Outcome


# --- Scheduling ----------------------------------------------------------------------------------


def effective_poll_interval(account: SocialAccount) -> datetime.timedelta:
    """How often the account is meant to be polled: corporate accounts every minute, the rest every two
    (configurable), stretched when the platform's monthly read budget would otherwise run out."""
    seconds = (
        settings.CHORUS_POLL_INTERVAL_CORPORATE
        if account.kind == SocialAccount.Kind.CORPORATE
        else settings.CHORUS_POLL_INTERVAL
    )
    return datetime.timedelta(seconds=seconds * budget_stretch(account.platform))


def poll_interval(account: SocialAccount) -> datetime.timedelta:
    """The effective interval, ±10% jitter so polls spread."""
    return effective_poll_interval(account) * random.uniform(0.9, 1.1)  # noqa: S311 — jitter, not a secret


# An account is stale when it has gone this many of its own effective intervals without a successful poll.
STALE_AFTER_INTERVALS = 3


def is_stale(
    account: SocialAccount,
    state: PollState | None,
    *,
    now: datetime.datetime,
    interval: datetime.timedelta | None = None,
) -> bool:
    """The one definition of a stale account (the health page and its roll-ups use it).

    Stale: an active account whose last successful poll (or its activation, if it was never polled) is
    older than STALE_AFTER_INTERVALS of its own effective interval (kind and read-budget stretch), and
    that is not explained otherwise — a failing account is "failing", one waiting for a platform's
    rate-limit reset is waiting, not forgotten. `interval` is the account's `effective_poll_interval`
    when the caller already has it (a list of accounts reads the budget stretch once per platform).
    """
    if account.status != SocialAccount.Status.ACTIVE:
        return False
    if state is not None and state.consecutive_failures > 0:
        return False
    if state is not None and state.rate_limit_reset_at is not None and state.rate_limit_reset_at > now:
        return False
    reference = state.last_success_at if state is not None and state.last_success_at else account.status_changed_at
    return reference < now - STALE_AFTER_INTERVALS * (interval or effective_poll_interval(account))


def failure_backoff(failures: int) -> datetime.timedelta:
    """Exponential backoff with full jitter, capped: 30 s, 60 s, 120 s ... up to 30 minutes
    (the first step is `CHORUS_POLL_BACKOFF_SECONDS`)."""
    ceiling = min(settings.CHORUS_POLL_BACKOFF_SECONDS * 2 ** max(failures - 1, 0), 30 * 60)
    return datetime.timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 — jitter, not a secret


# Poll states of the accounts the combined X sweep covers (services/x_sweep.py): X accounts read with
# the org-wide app token, not corporate, already backfilled by a first individual poll.
SWEPT_STATES = (
    Q(account__platform="x")
    & ~Q(account__kind=SocialAccount.Kind.CORPORATE)
    & Q(account__credentials_ciphertext="")
    & Q(account__external_id__isnull=False)
    & Q(last_success_at__isnull=False)
)

BUDGET_CACHE_SECONDS = 60


def budget_stretch(platform: str) -> float:
    """How much to stretch polling intervals so the month's projected reads fit the platform's budget
    (1.0 when there is no budget or it fits). Cached for a minute: it changes slowly."""
    budget = settings.CHORUS_READ_BUDGETS.get(platform)
    if not budget:
        return 1.0
    key = f"chorus:budget-stretch:{platform}"
    cached: float | None = cache.get(key)
    if cached is not None:
        return cached
    today = timezone.localdate()
    reads = (
        PlatformUsage.objects.filter(platform=platform, month=today.replace(day=1))
        .values_list("reads", flat=True)
        .first()
    ) or 0
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    projected = reads * days_in_month / max(today.day, 1)
    stretch = max(1.0, projected / budget)
    cache.set(key, stretch, timeout=BUDGET_CACHE_SECONDS)
    return stretch


def poll_states_ensure() -> int:
    """Give every active account a poll state (due now). Idempotent; returns how many were created."""
    missing = SocialAccount.objects.filter(status=SocialAccount.Status.ACTIVE, poll_state__isnull=True)
    created = PollState.objects.bulk_create(
        [PollState(account_id=pk) for pk in missing.values_list("pk", flat=True)], ignore_conflicts=True
    )
    return len(created)


def poll_claim_due(*, limit: int, now: datetime.datetime | None = None) -> list[int]:
    """Lease up to `limit` due active accounts. Two sweepers never claim the same account
    (`FOR UPDATE SKIP LOCKED`), and an expired lease makes an account claimable again."""
    now = now or timezone.now()
    lease_until = now + datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            PollState.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(account__status=SocialAccount.Status.ACTIVE, next_poll_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .exclude(SWEPT_STATES if settings.CHORUS_X_SEARCH_SWEEP else Q(pk__in=[]))
            .order_by("next_poll_at")
            .values_list("account_id", flat=True)[:limit]
        )
        PollState.objects.filter(account_id__in=ids).update(lease_until=lease_until, last_started_at=now)
    return ids


def poll_claims_waiting(*, now: datetime.datetime | None = None) -> int:
    """Claims handed to the queue whose poll has not started: leased accounts without a running poll.
    The tick tops the queue up to `CHORUS_POLL_BATCH` of them and no further (`sweep_due_accounts`)."""
    now = now or timezone.now()
    lease = datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)
    running = PollRun.objects.filter(
        account_id=OuterRef("account_id"), outcome=Outcome.RUNNING, started_at__gt=now - lease
    )
    return PollState.objects.filter(lease_until__gt=now).exclude(Exists(running)).count()


# --- Shared rate-limit gates ---------------------------------------------------------------------


def _gate_key(platform: str, credential: str) -> str:
    fingerprint = hashlib.sha256(credential.encode()).hexdigest()[:16]
    return f"chorus:ratelimit:{platform}:{fingerprint}"


def _credential_identity(account: AccountRef) -> str:
    """Which budget an account's requests spend: its own token, or the platform's shared app token."""
    for name in ("access_token", "app_password", "session"):
        value = account.credentials.get(name)
        if value:
            return f"{account.id}:{name}" if name != "access_token" else str(value)
    if account.platform == "x":
        return settings.CHORUS_X_BEARER_TOKEN or "x-app"
    return f"account:{account.id}"


def rate_limit_gate(account: AccountRef) -> datetime.datetime | None:
    """When the account's token may be used again, if a worker saw it exhausted."""
    value = cache.get(_gate_key(account.platform, _credential_identity(account)))
    if value is None:
        return None
    reset_at = datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
    return reset_at if reset_at > timezone.now() else None


def rate_limit_close(account: AccountRef, reset_at: datetime.datetime) -> None:
    timeout = max(int((reset_at - timezone.now()).total_seconds()) + 1, 1)
    cache.set(_gate_key(account.platform, _credential_identity(account)), reset_at.timestamp(), timeout=timeout)


# --- One poll ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PollSummary:
    account_id: int
    handle: str
    outcome: str
    items_new: int = 0
    items_updated: int = 0
    pages: int = 0
    error: str = ""
    platform: str = ""
    error_class: str = ""  # the connector's failure class (AuthError, TransientError, ...) when it failed

    @property
    def is_failure(self) -> bool:
        """Anything but a completed poll: refused, failed, or not even tried while rate-limited."""
        return self.outcome != Outcome.OK

    def failure_line(self) -> str:
        reason = " ".join(self.error.split())  # one line per failure
        return f"{self.handle} ({self.account_id}, {self.platform}): {self.outcome}, {self.error_class}: {reason}"

    def line(self) -> str:
        detail = f"{self.items_new} new, {self.items_updated} updated, {self.pages} pages"
        return f"{self.handle} ({self.account_id}): {self.outcome} — {detail}" + (
            f" — {self.error}" if self.error else ""
        )


def _account_ref(account: SocialAccount) -> AccountRef:
    return AccountRef(
        id=account.pk,
        platform=account.platform,
        handle=account.handle,
        external_id=account.external_id,
        instance_url=account.instance_url,
        credentials=decrypt_credentials(account.credentials_ciphertext),
    )


def _finish(
    run: PollRun,
    state: PollState,
    *,
    outcome: str,
    error: str = "",
    next_poll_at: datetime.datetime,
    success: bool = False,
    error_kind: str = "",
    state_fields: Sequence[str] = (),
    run_fields: Sequence[str] = (),
) -> None:
    """Close the run and release the lease: one UPDATE of each row. `state_fields` and `run_fields` name
    fields the caller already set on them, written in the same statements."""
    now = timezone.now()
    run.outcome, run.error, run.finished_at = outcome, error[:2000], now
    run.save(update_fields=["outcome", "error", "finished_at", *run_fields])
    state.lease_until = None
    state.next_poll_at = next_poll_at
    fields = ["lease_until", "next_poll_at", *state_fields]
    if success:
        state.last_success_at, state.consecutive_failures, state.last_error = now, 0, ""
        fields += ["last_success_at", "consecutive_failures", "last_error"]
    elif outcome != Outcome.RATE_LIMITED:
        state.consecutive_failures += 1
        state.last_error, state.last_error_at = error[:2000], now
        state.last_error_kind = error_kind or ErrorKind.ERROR
        fields += ["consecutive_failures", "last_error", "last_error_at", "last_error_kind"]
    state.save(update_fields=fields)


def _store(account: SocialAccount, state: PollState, run: PollRun, result: FetchResult) -> list[int]:
    """Write everything a successful fetch produced, in one transaction. Returns the new message ids.

    A poll that found nothing new writes two rows here (the run and the poll state, one UPDATE each) and,
    after the commit, adds to the platform's usage (one upsert): nothing else is touched."""
    with transaction.atomic():
        upsert = messages_upsert(account_id=account.pk, messages=result.messages)
        activity_record_new(message_ids=upsert.new_ids, addressees=upsert.addressees_added)
        skipped_items_record(account_id=account.pk, platform=account.platform, records=result.skipped)
        state.cursors = {**state.cursors, **result.cursors}
        state.rate_limit_remaining = result.rate_limit.remaining if result.rate_limit else None
        state.rate_limit_reset_at = result.rate_limit.reset_at if result.rate_limit else None
        if result.account_updates.get("external_id") and not account.external_id:
            account.external_id = result.account_updates["external_id"]
            account.save(update_fields=["external_id", "updated_at"])
        _credentials_store(account, result.credential_updates)
        run.items_new, run.items_updated = upsert.new, upsert.updated
        run.pages, run.requests = result.pages, result.requests
        run.rate_limit_remaining = state.rate_limit_remaining
        # After commit: every poll of a platform updates the same usage row, and holding its lock until the
        # commit serialized the workers (measured in benchmarks/sweep.py).
        transaction.on_commit(
            functools.partial(
                usage_record, platform=account.platform, requests=result.requests, reads=len(result.messages)
            )
        )
        _finish(
            run,
            state,
            outcome=Outcome.OK,
            next_poll_at=timezone.now() + poll_interval(account),
            success=True,
            state_fields=("cursors", "rate_limit_remaining", "rate_limit_reset_at"),
            run_fields=("items_new", "items_updated", "pages", "requests", "rate_limit_remaining"),
        )
        run_ingest_hooks(upsert.new_ids)
    return upsert.new_ids


def skipped_items_record(*, account_id: int, platform: str, records: Sequence[SkippedRecord]) -> None:
    """Keep the items a read could not parse (raw, with the reason) and count them on the poll state.
    Call inside the transaction that advances the cursor past them, so they are recorded exactly once."""
    if not records:
        return
    SkippedItem.objects.bulk_create(
        [
            SkippedItem(account_id=account_id, platform=platform, raw=record.raw, reason=record.reason[:2000])
            for record in records
        ]
    )
    for record in records:
        logger.warning("read of account %s skipped an unreadable item: %s", account_id, record.reason)
    PollState.objects.filter(account_id=account_id).update(items_skipped=F("items_skipped") + len(records))


def poll_begin(account: SocialAccount, *, only_if_due: bool = False) -> tuple[PollState, PollRun] | None:
    """Start a poll: its run (running) and its lease renewed from now, so the time a task waited in the
    queue does not count against the lease and no tick claims the account while it is being polled.

    `only_if_due` (the work a tick claimed): start only if the account is still due and no poll of it is
    running — a task the queue delivers late (re-claimed when its lease ran out while it waited, or
    redelivered by the broker after its worker was lost) then costs one locked update instead of a poll,
    so a backlog drains instead of growing. Returns None when it does not start."""
    now = timezone.now()
    lease = datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)
    with transaction.atomic():
        state = _lease_renewed(account.pk, now=now, lease=lease, only_if_due=only_if_due)
        if state is None:  # no poll state yet, or (only_if_due) not due or being polled
            state, created = PollState.objects.select_for_update(of=("self",)).get_or_create(account=account)
            if only_if_due and not created:
                logger.info("poll: account %s was polled since it was queued, or is being polled; skipped", account.pk)
                return None
            state.lease_until = now + lease
            state.save(update_fields=["lease_until"])
        return state, PollRun.objects.create(account=account, started_at=now)


def _lease_renewed(
    account_id: int, *, now: datetime.datetime, lease: datetime.timedelta, only_if_due: bool
) -> PollState | None:
    """The account's poll state with its lease renewed from `now`, in one locking UPDATE ... RETURNING (the
    row stays locked until the caller's transaction ends); None when it has no poll state or, `only_if_due`,
    when it is not due or a poll of it started less than a lease ago is still running."""
    state_table, run_table = PollState._meta.db_table, PollRun._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    condition, params = "", []
    if only_if_due:
        condition = (
            f" AND next_poll_at <= %s AND NOT EXISTS (SELECT 1 FROM {run_table} r WHERE r.account_id = %s"  # noqa: S608 — table name from model metadata
            " AND r.outcome = %s AND r.started_at > %s)"
        )
        params = [adapt(now), account_id, Outcome.RUNNING, adapt(now - lease)]
    renewed = PollState.objects.raw(
        f"UPDATE {state_table} SET lease_until = %s WHERE account_id = %s{condition} RETURNING *",  # noqa: S608 — table name from model metadata, values as parameters
        [adapt(now + lease), account_id, *params],
    )
    return next(iter(renewed), None)


def account_poll(*, account_id: int, only_if_due: bool = False) -> PollSummary | None:
    """Poll one account once. Safe to run twice or concurrently with a stale copy of itself: the upsert
    and the cursor merge are idempotent. Missing or inactive accounts are logged and skipped, and so is
    an account no longer due when `only_if_due` (see `poll_begin`)."""
    account = SocialAccount.objects.filter(pk=account_id).first()
    if account is None or account.status != SocialAccount.Status.ACTIVE:
        logger.info("poll: account %s is missing or not active; skipped", account_id)
        PollState.objects.filter(account_id=account_id).update(lease_until=None)
        return None
    begun = poll_begin(account, only_if_due=only_if_due)
    if begun is None:
        return None
    state, run = begun
    try:
        ref = _account_ref(account)
    except CredentialsUnavailable:
        _mark_needs_reconnect(account, "Stored credentials cannot be decrypted; enter them again.")
        _finish(
            run,
            state,
            outcome=Outcome.UNAUTHORIZED,
            error="credentials unreadable",
            next_poll_at=timezone.now(),
            error_kind=ErrorKind.MISSING_CREDENTIALS,
        )
        return PollSummary(
            account.pk,
            account.handle,
            Outcome.UNAUTHORIZED,
            error="credentials unreadable",
            platform=account.platform,
            error_class=CredentialsUnavailable.__name__,
        )

    gate = rate_limit_gate(ref)
    if gate is not None:
        _finish(run, state, outcome=Outcome.RATE_LIMITED, error="waiting for rate-limit reset", next_poll_at=gate)
        return PollSummary(
            account.pk,
            account.handle,
            Outcome.RATE_LIMITED,
            error=f"waiting for the rate-limit reset at {gate:%H:%M:%S}",
            platform=account.platform,
            error_class=RateLimited.__name__,
        )

    backfill_since = timezone.now() - datetime.timedelta(days=settings.CHORUS_BACKFILL_DAYS)
    try:
        result = connector_for(account.platform).fetch(ref, cursors=dict(state.cursors), backfill_since=backfill_since)
    except ConnectorError as error:
        _credentials_store(account, error.credential_updates)
        return _failed(account, state, run, ref, error)
    if result.rate_limit and result.rate_limit.remaining == 0 and result.rate_limit.reset_at:
        rate_limit_close(ref, result.rate_limit.reset_at)
    new_ids = _store(account, state, run, result)
    return PollSummary(
        account.pk, account.handle, Outcome.OK, len(new_ids), run.items_updated, result.pages, platform=account.platform
    )


def _credentials_store(account: SocialAccount, updates: dict[str, Any]) -> None:
    """Merge refreshed tokens into the stored credentials, re-encrypted. Never logged."""
    if updates:
        merged = {**decrypt_credentials(account.credentials_ciphertext), **updates}
        account.credentials_ciphertext = encrypt_credentials(merged)
        account.save(update_fields=["credentials_ciphertext", "updated_at"])


def _failed(
    account: SocialAccount, state: PollState, run: PollRun, ref: AccountRef, error: ConnectorError
) -> PollSummary:
    """Record a failed poll by failure class: wait for a rate-limit reset, stop on refused credentials,
    back off on transient errors, and carry on at the normal interval after a malformed payload."""
    failed = functools.partial(
        PollSummary, account.pk, account.handle, platform=account.platform, error_class=_failure_class(error)
    )
    if isinstance(error, RateLimited):
        rate_limit_close(ref, error.reset_at)
        _finish(run, state, outcome=Outcome.RATE_LIMITED, error=str(error), next_poll_at=error.reset_at)
        return failed(Outcome.RATE_LIMITED, error=str(error))
    if isinstance(error, AuthError | MissingCredentials):
        reason = f"The platform refused the credentials: {error}"
        if isinstance(error, PermissionMissing):
            reason = f"Reconnect granting the {error.permission or 'missing'} permission: {error}"
        _mark_needs_reconnect(account, reason)
        _finish(
            run,
            state,
            outcome=Outcome.UNAUTHORIZED,
            error=str(error),
            next_poll_at=timezone.now(),
            error_kind=error.kind,
        )
        return failed(Outcome.UNAUTHORIZED, error=str(error))
    kind = error.kind
    message = f"{kind}: {error}"
    logger.warning("poll of account %s failed: %s", account.pk, message)
    retry_at = timezone.now() + (
        failure_backoff(state.consecutive_failures + 1) if isinstance(error, TransientError) else poll_interval(account)
    )
    _finish(run, state, outcome=Outcome.FAILED, error=message, next_poll_at=retry_at, error_kind=error.kind)
    return failed(Outcome.FAILED, error=message)


def _failure_class(error: ConnectorError) -> str:
    """The connector interface's class of a failure (AuthError, TransientError, ...), not a connector's own
    subclass of it."""
    return next(kind.__name__ for kind in type(error).__mro__ if kind.__module__ == ConnectorError.__module__)


def _mark_needs_reconnect(account: SocialAccount, reason: str) -> None:
    if account.status == SocialAccount.Status.ACTIVE:
        account_set_status(account=account, status=SocialAccount.Status.NEEDS_RECONNECT, actor=None, reason=reason)


def usage_record(*, platform: str, requests: int, reads: int) -> None:
    """Add to the platform's usage of the month: one upsert (PostgreSQL and SQLite both have ON CONFLICT)."""
    table = PlatformUsage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (platform, month, requests, reads) VALUES (%s, %s, %s, %s) "  # noqa: S608 — table name from model metadata
            f"ON CONFLICT (platform, month) DO UPDATE SET requests = {table}.requests + EXCLUDED.requests, "
            f"reads = {table}.reads + EXCLUDED.reads",
            [platform, timezone.localdate().replace(day=1), requests, reads],
        )


def accounts_poll_now(*, account_ids: Sequence[int]) -> list[PollSummary]:
    """Poll the given accounts in this process, one after the other (the `poll --sync` command)."""
    summaries = []
    for account_id in account_ids:
        summary = account_poll(account_id=account_id)
        if summary is not None:
            summaries.append(summary)
    return summaries


def poll_sweep_status() -> dict[str, Any]:
    return {"due": PollState.objects.filter(next_poll_at__lte=timezone.now()).count()}
