"""The periodic sweep: make sure every active account has a poll state, lease the due ones, enqueue."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from monitoring.jobs import job_run
from monitoring.models import PollRun, WebhookEvent
from monitoring.services.polling import poll_claim_due, poll_claims_waiting, poll_states_ensure
from monitoring.services.x_sweep import x_sweep_claim

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)


def poll_runs_abandon_stale(*, now: datetime.datetime | None = None) -> int:
    """Close runs whose worker died mid-poll (older than a lease): their accounts are claimed again anyway."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)
    return PollRun.objects.filter(outcome=PollRun.Outcome.RUNNING, started_at__lt=cutoff).update(
        outcome=PollRun.Outcome.FAILED, finished_at=timezone.now(), error="abandoned: the worker was lost mid-poll"
    )


STALE_WEBHOOK_SECONDS = 300


def webhook_events_stale(*, now: datetime.datetime | None = None) -> list[int]:
    """Stored webhook events still unprocessed after five minutes (their task was lost): process again.
    Processing is idempotent, so a task that was merely slow does no harm."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=STALE_WEBHOOK_SECONDS)
    return list(
        WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:1000]
    )


@dataclasses.dataclass(frozen=True)
class TickWork:
    """Where one beat tick hands the work it claims: Celery's queue in production (`monitoring.tasks`), the
    demo's own process in `make demo`. Every kind of work is required, so no caller can leave one out."""

    poll_account: Callable[[int], object]  # an account id
    x_sweep: Callable[[], object]
    webhook_event: Callable[[int], object]  # a stored webhook event id


def sweep_due_accounts(*, work: TickWork) -> list[int]:
    """One beat tick: poll states for new accounts, stale runs closed, due accounts leased (as many as keep
    `CHORUS_POLL_BATCH` claims waiting for a worker, no more) and handed to `work.poll_account`, the
    combined X sweep (when due) to `work.x_sweep`, lost webhook events to `work.webhook_event`.
    Idempotent: a second sweeper finds the leased accounts locked or not yet due.

    Work is handed over only after the claims commit (at once outside a transaction); if the queue
    loses it, the leases expire and a later tick claims the accounts again.
    """
    with job_run("poll_due_accounts") as job:
        created = poll_states_ensure()
        abandoned = poll_runs_abandon_stale()
        # The queue is a short hand-over, not a buffer: due accounts wait in PostgreSQL, unleased, until the
        # workers have taken what was handed over. A backlog in the queue would outlast the leases of the
        # claims in it (each then claimed again), and a broker restart would lose all of it.
        waiting = poll_claims_waiting()
        claimed = poll_claim_due(limit=max(0, settings.CHORUS_POLL_BATCH - waiting))
        for account_id in claimed:
            transaction.on_commit(functools.partial(work.poll_account, account_id))
        is_x_sweep_due = x_sweep_claim()
        if is_x_sweep_due:
            transaction.on_commit(work.x_sweep)
        requeued = webhook_events_stale()
        for event_id in requeued:
            transaction.on_commit(functools.partial(work.webhook_event, event_id))
        job.detail = {
            "claimed": len(claimed),
            "claims_waiting": waiting,
            "poll_states_created": created,
            "abandoned_runs": abandoned,
            "webhook_events_requeued": len(requeued),
            "x_sweep": is_x_sweep_due,
        }
    return claimed
