from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from monitoring.services.retention import records_prune


class Command(BaseCommand):
    help = (
        "Delete poll runs, job runs and processed webhook events older than their retention "
        "(CHORUS_RETAIN_*_DAYS). Messages, triage items, flags and audit events are kept. Runs daily from beat."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = records_prune()
        self.stdout.write(
            f"Pruned {result.poll_runs} poll runs, {result.job_runs} job runs, {result.webhook_events} webhook events."
        )
