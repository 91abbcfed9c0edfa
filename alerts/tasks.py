"""Celery tasks: thin wrappers over idempotent services. They take ids only."""

from __future__ import annotations

from celery import shared_task

from alerts.services.deliveries import alert_deliveries_send, daily_summaries_send
from alerts.services.reports import monthly_reports_send, weekly_digests_send
from alerts.services.triggers import alerts_sweep
from monitoring.jobs import retrying_task


# No retry: a failed delivery is recorded on its row; a claimed row is never sent twice by a retry.
@shared_task(acks_late=True)
def send_alerts(delivery_ids: list[int]) -> None:
    alert_deliveries_send(delivery_ids=delivery_ids)


@retrying_task()
def sweep_alerts() -> None:
    alerts_sweep()


@retrying_task()
def send_daily_summaries() -> None:
    daily_summaries_send()


@retrying_task()
def send_weekly_digests() -> None:
    weekly_digests_send()


@retrying_task()
def send_monthly_reports() -> None:
    monthly_reports_send()
