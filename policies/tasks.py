"""Celery tasks: thin wrappers over idempotent services. They take ids only."""

from __future__ import annotations

from monitoring.jobs import retrying_task
from policies.services.governance import governance_run
from policies.services.rescan import rescan_run


@retrying_task()
def rescan_history(job_id: int) -> None:
    """One time slice of a rescan; queues the next slice until the job is finished."""
    if not rescan_run(job_id=job_id):
        rescan_history.delay(job_id)


@retrying_task()
def run_governance_checks() -> None:
    governance_run()
