"""The tasks are thin wrappers: each runs its service (here in-process with `apply`, no broker)."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from accounts_registry.models import SocialAccount
from alerts.models import AlertDelivery
from alerts.tasks import send_alerts, send_daily_summaries, sweep_alerts
from monitoring.models import JobRun

pytestmark = pytest.mark.django_db


def test_sweep_then_send_tasks_deliver_once(frozen_now, north_account, owner, django_capture_on_commit_callbacks):
    north_account.status = SocialAccount.Status.NEEDS_RECONNECT
    north_account.save()
    with django_capture_on_commit_callbacks() as callbacks:
        sweep_alerts.apply()
    assert len(callbacks) == 1  # sending is queued after the sweep commits
    assert JobRun.objects.get(task="alerts_sweep").detail == {"deliveries": 1, "resent": 0}
    ids = list(AlertDelivery.objects.values_list("pk", flat=True))
    send_alerts.apply(args=(ids,))
    send_alerts.apply(args=(ids,))  # a task delivered twice sends nothing more
    assert [email.to for email in mail.outbox] == [[owner.email]]
    assert AlertDelivery.objects.get().state == AlertDelivery.State.SENT


def test_the_daily_summary_task_records_its_run(frozen_now):
    send_daily_summaries.apply()
    assert JobRun.objects.get(task="alerts_daily_summaries").detail == {"emails": 0}


def test_a_delivery_left_sending_by_a_killed_worker_is_sent_again(frozen_now, north_account, owner):
    north_account.status = SocialAccount.Status.NEEDS_RECONNECT
    north_account.save()
    sweep_alerts.apply()
    AlertDelivery.objects.update(
        state=AlertDelivery.State.SENDING, claimed_at=timezone.now() - datetime.timedelta(hours=1)
    )
    sweep_alerts.apply()
    assert AlertDelivery.objects.get().state == AlertDelivery.State.PENDING
