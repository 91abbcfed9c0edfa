"""Bookkeeping shared by every background job: the Celery task options and the JobRun row.

`periodic_task` is the one definition of how a task is declared (late ack, retried with backoff on a
database outage); `job_run` writes the JobRun row every periodic job keeps, so the dashboard monitors
itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from monitoring.models import JobRun

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# A database outage mid-task: retry with backoff. Celery acknowledges a failed task, so without an
# explicit retry the work would wait for its lease to expire; the services are idempotent.
DATABASE_ERRORS = (OperationalError, InterfaceError)


def retrying_task(*, max_retries: int = 5) -> Callable[[Callable[..., Any]], Any]:
    """The task decorator of every Chorus task that may be retried (ids in, one service call)."""
    decorator: Callable[[Callable[..., Any]], Any] = shared_task(
        acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_jitter=True, max_retries=max_retries
    )
    return decorator


@dataclasses.dataclass
class JobRecord:
    """What the job reports: figures for `detail`, and an error when it failed without raising."""

    job: JobRun
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)
    error: str = ""


@contextlib.contextmanager
def job_run(task: str) -> Iterator[JobRecord]:
    """Write a JobRun row around a job: running, then ok, or failed with the error (raised or reported).

    The row is created before the job starts and finished by a plain UPDATE, outside any transaction
    the job opened, so a rolled-back job still leaves its failed row behind.
    """
    record = JobRecord(job=JobRun.objects.create(task=task))
    try:
        yield record
    except Exception as error:
        JobRun.objects.filter(pk=record.job.pk).update(
            status=JobRun.Status.FAILED, finished_at=timezone.now(), detail=record.detail, error=repr(error)[:2000]
        )
        raise
    JobRun.objects.filter(pk=record.job.pk).update(
        status=JobRun.Status.FAILED if record.error else JobRun.Status.OK,
        finished_at=timezone.now(),
        detail=record.detail,
        error=record.error[:2000],
    )
