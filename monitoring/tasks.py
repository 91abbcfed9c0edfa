"""Celery tasks: thin wrappers over idempotent services. They take ids only — never tokens or bodies."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from monitoring.services.polling import account_poll
from monitoring.services.sweep import sweep_due_accounts
from monitoring.services.x_sweep import x_sweep_run
from monitoring.webhooks.services import webhook_event_process

# A database outage mid-task: retry with backoff (Celery acknowledges a failed task, so without an
# explicit retry the poll would be gone until its lease expires).
DATABASE_ERRORS = (OperationalError, InterfaceError)


@shared_task(acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_jitter=True, max_retries=5)
def poll_account(account_id: int) -> None:
    account_poll(account_id=account_id)


@shared_task(acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_jitter=True, max_retries=3)
def poll_due_accounts() -> None:
    sweep_due_accounts(
        enqueue=poll_account.delay,
        enqueue_x_sweep=poll_x_sweep.delay,
        enqueue_webhook_event=process_webhook_event.delay,
    )


@shared_task(acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_jitter=True, max_retries=5)
def poll_x_sweep() -> None:
    x_sweep_run()


@shared_task(acks_late=True, autoretry_for=DATABASE_ERRORS, retry_backoff=2, retry_jitter=True, max_retries=5)
def process_webhook_event(event_id: int) -> None:
    webhook_event_process(event_id=event_id)
