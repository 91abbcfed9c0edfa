"""Retention: operational rows are pruned after a while; records are kept.

Pruned (age from settings, env-driven): PollRun (one per poll: hundreds of thousands a day at 500
accounts) after CHORUS_RETAIN_POLL_RUNS_DAYS, JobRun after CHORUS_RETAIN_JOB_RUNS_DAYS, processed
WebhookEvents after CHORUS_RETAIN_WEBHOOK_EVENTS_DAYS. A poll or webhook event still in progress is never
pruned (the sweeper closes or requeues those). Presence markers live in the cache with a timeout and
need no pruning.
Kept for good: messages, triage items, notes, policy flags and audit events — they are the record.

Deletes run in batches of CHORUS_PRUNE_BATCH rows, each its own short transaction, so a prune never
holds long locks and an interrupted one has simply done part of the work. Idempotent.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from monitoring.jobs import job_run
from monitoring.models import JobRun, PollRun, WebhookEvent

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet


@dataclasses.dataclass(frozen=True)
class PruneResult:
    poll_runs: int
    job_runs: int
    webhook_events: int


def _delete_in_batches(queryset: QuerySet[Model], *, batch_size: int) -> int:
    deleted = 0
    model = queryset.model
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = model._default_manager.filter(pk__in=ids).delete()
        deleted += count


def _cutoff(now: datetime.datetime, days: int) -> datetime.datetime:
    return now - datetime.timedelta(days=days)


def records_prune(*, now: datetime.datetime | None = None) -> PruneResult:
    """Delete the operational rows older than their retention. Run daily (monitoring.tasks.prune_records)
    and by `manage.py prune`; writes a JobRun row (itself pruned like the others)."""
    now = now or timezone.now()
    batch_size = settings.CHORUS_PRUNE_BATCH
    with job_run("prune_records") as job:
        result = PruneResult(
            poll_runs=_delete_in_batches(
                PollRun.objects.filter(started_at__lt=_cutoff(now, settings.CHORUS_RETAIN_POLL_RUNS_DAYS)).exclude(
                    outcome=PollRun.Outcome.RUNNING
                ),
                batch_size=batch_size,
            ),
            job_runs=_delete_in_batches(
                JobRun.objects.filter(started_at__lt=_cutoff(now, settings.CHORUS_RETAIN_JOB_RUNS_DAYS)).exclude(
                    status=JobRun.Status.RUNNING
                ),
                batch_size=batch_size,
            ),
            webhook_events=_delete_in_batches(
                WebhookEvent.objects.filter(
                    processed_at__isnull=False,
                    received_at__lt=_cutoff(now, settings.CHORUS_RETAIN_WEBHOOK_EVENTS_DAYS),
                ),
                batch_size=batch_size,
            ),
        )
        job.detail = dataclasses.asdict(result)
    return result
