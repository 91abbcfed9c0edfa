"""Celery tasks: thin wrappers over idempotent services. They take ids only — never tokens or bodies."""

from __future__ import annotations

import functools

from monitoring.jobs import retrying_task
from monitoring.services.polling import account_poll
from monitoring.services.retention import records_prune
from monitoring.services.sweep import TickWork, sweep_due_accounts
from monitoring.services.x_sweep import x_sweep_run
from monitoring.webhooks.services import webhook_event_process


@retrying_task()
def poll_account(account_id: int, *, only_if_due: bool = False) -> None:
    account_poll(account_id=account_id, only_if_due=only_if_due)


@retrying_task(max_retries=3)
def poll_due_accounts() -> None:
    sweep_due_accounts(work=QUEUED)


@retrying_task()
def poll_x_sweep() -> None:
    x_sweep_run()


@retrying_task()
def process_webhook_event(event_id: int) -> None:
    webhook_event_process(event_id=event_id)


@retrying_task()
def prune_records() -> None:
    records_prune()


# The beat tick's work, through the queue. The demo hands the same tick its in-process equivalent. A claimed
# poll runs only if its account is still due when the task starts (a late duplicate skips: `poll_begin`).
QUEUED = TickWork(
    poll_account=functools.partial(poll_account.delay, only_if_due=True),
    x_sweep=poll_x_sweep.delay,
    webhook_event=process_webhook_event.delay,
)
