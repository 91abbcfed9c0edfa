"""Retention: operational rows are pruned after their time (frozen), records are kept."""

import datetime

import pytest
import time_machine
from django.core.management import call_command

from accounts_registry.models import AuditEvent
from engagement.models import TriageItem
from monitoring import tasks
from monitoring.models import JobRun, Message, PollRun, WebhookEvent
from monitoring.services.retention import records_prune
from policies.models import PolicyFlag
from tests.factories import FROZEN_NOW, MessageFactory, PolicyFlagFactory, TriageItemFactory

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(FROZEN_NOW, tick=False):
        yield


def poll_run(account, *, age, outcome=PollRun.Outcome.OK):
    return PollRun.objects.create(account=account, started_at=FROZEN_NOW - age, outcome=outcome)


def webhook_event(name, *, age, processed=True):
    received = FROZEN_NOW - age
    return WebhookEvent.objects.create(
        source="x", event_id=name, received_at=received, payload={}, processed_at=received if processed else None
    )


def test_prune_deletes_what_is_past_its_retention_and_nothing_else(north_account, settings):
    settings.CHORUS_RETAIN_POLL_RUNS_DAYS = 14
    settings.CHORUS_RETAIN_JOB_RUNS_DAYS = 90
    settings.CHORUS_RETAIN_WEBHOOK_EVENTS_DAYS = 30
    old_run = poll_run(north_account, age=15 * DAY)
    recent_run = poll_run(north_account, age=13 * DAY)
    stuck_run = poll_run(north_account, age=40 * DAY, outcome=PollRun.Outcome.RUNNING)  # the sweeper closes it
    JobRun.objects.create(task="old", started_at=FROZEN_NOW - 91 * DAY, status=JobRun.Status.OK)
    JobRun.objects.create(task="recent", started_at=FROZEN_NOW - 89 * DAY, status=JobRun.Status.FAILED)
    webhook_event("old", age=31 * DAY)
    webhook_event("recent", age=29 * DAY)
    webhook_event("unprocessed", age=31 * DAY, processed=False)  # still to be requeued
    # Records, however old, are kept.
    item = TriageItemFactory.create(account=north_account, message__created_at=FROZEN_NOW - 3650 * DAY)
    PolicyFlagFactory.create(message=item.message, created_at=FROZEN_NOW - 3650 * DAY)
    AuditEvent.objects.create(
        verb=AuditEvent.Verb.UNIT_RENAME, target_type="x", target_id="1", created_at=FROZEN_NOW - 3650 * DAY
    )

    result = records_prune()

    assert (result.poll_runs, result.job_runs, result.webhook_events) == (1, 1, 1)
    assert set(PollRun.objects.values_list("pk", flat=True)) == {recent_run.pk, stuck_run.pk}
    assert not PollRun.objects.filter(pk=old_run.pk).exists()
    assert set(JobRun.objects.values_list("task", flat=True)) == {"recent", "prune_records"}
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {"recent", "unprocessed"}
    assert (Message.objects.count(), TriageItem.objects.count(), PolicyFlag.objects.count()) == (1, 1, 1)
    assert AuditEvent.objects.count() == 1
    job = JobRun.objects.get(task="prune_records")
    assert (job.status, job.detail) == ("ok", {"poll_runs": 1, "job_runs": 1, "webhook_events": 1})


def test_prune_deletes_in_batches_and_a_second_run_finds_nothing(north_account, settings):
    settings.CHORUS_PRUNE_BATCH = 2
    for _ in range(5):
        poll_run(north_account, age=30 * DAY)
    assert records_prune().poll_runs == 5
    assert not PollRun.objects.exists()
    assert records_prune().poll_runs == 0


def test_retention_follows_the_settings(north_account, settings):
    poll_run(north_account, age=5 * DAY)
    settings.CHORUS_RETAIN_POLL_RUNS_DAYS = 7
    assert records_prune().poll_runs == 0
    settings.CHORUS_RETAIN_POLL_RUNS_DAYS = 3
    assert records_prune().poll_runs == 1


def test_prune_command_and_daily_task(north_account, capsys, settings):
    poll_run(north_account, age=60 * DAY)
    call_command("prune")
    assert capsys.readouterr().out.strip() == "Pruned 1 poll runs, 0 job runs, 0 webhook events."
    poll_run(north_account, age=60 * DAY)
    tasks.prune_records.run()  # the beat task delegates to the service
    assert not PollRun.objects.exists()
    assert settings.CELERY_BEAT_SCHEDULE["prune-records-daily"]["task"] == "monitoring.tasks.prune_records"


def test_records_older_than_any_retention_are_kept(north_account):
    MessageFactory.create(account=north_account, created_at=FROZEN_NOW - 4000 * DAY)
    records_prune()
    assert Message.objects.count() == 1
