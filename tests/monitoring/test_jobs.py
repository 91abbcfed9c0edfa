"""The one JobRun context manager and the one task decorator."""

import pytest
from django.db import OperationalError

from monitoring import tasks as monitoring_tasks
from monitoring.jobs import DATABASE_ERRORS, job_run
from monitoring.models import JobRun
from policies import tasks as policies_tasks

pytestmark = pytest.mark.django_db


def test_a_job_that_finishes_is_recorded_ok_with_its_figures():
    with job_run("example") as job:
        assert JobRun.objects.get().status == JobRun.Status.RUNNING
        job.detail = {"done": 3}
    run = JobRun.objects.get()
    assert (run.task, run.status, run.detail, run.error) == ("example", "ok", {"done": 3}, "")
    assert run.finished_at is not None


def test_a_job_that_raises_is_recorded_failed_and_the_error_propagates():
    with pytest.raises(ValueError, match="boom"), job_run("example"):
        raise ValueError("boom")
    run = JobRun.objects.get()
    assert (run.status, run.error) == ("failed", "ValueError('boom')")
    assert run.finished_at is not None


def test_a_job_can_report_a_handled_failure():
    with job_run("example") as job:
        job.error = "rate limited until 12:00"
    assert JobRun.objects.values_list("status", "error").get() == ("failed", "rate limited until 12:00")


@pytest.mark.parametrize(
    ("task", "max_retries"),
    [
        (monitoring_tasks.poll_account, 5),
        (monitoring_tasks.poll_due_accounts, 3),
        (monitoring_tasks.poll_x_sweep, 5),
        (monitoring_tasks.process_webhook_event, 5),
        (policies_tasks.rescan_history, 5),
        (policies_tasks.run_governance_checks, 5),
    ],
)
def test_every_retrying_task_retries_database_errors_with_backoff(task, max_retries):
    assert task.autoretry_for == DATABASE_ERRORS
    assert OperationalError in task.autoretry_for
    assert (task.acks_late, task.retry_backoff, task.retry_jitter, task.max_retries) == (True, 2, True, max_retries)


def test_a_late_ack_through_a_torn_down_broker_channel_is_skipped_not_raised(caplog):
    """kombu 5.7 raised AttributeError from it after a Redis restart, and the worker exited."""
    from kombu.transport import redis as kombu_redis

    import config.celery  # noqa: F401 — the app module guards the Redis QoS

    class TornDownChannel:
        connection = None

    qos = kombu_redis.QoS.__new__(kombu_redis.QoS)
    qos.channel = TornDownChannel()  # type: ignore[assignment]
    for call in (lambda: qos.ack("tag"), lambda: qos.reject("tag", requeue=True), qos.restore_unacked):
        assert call() is None
    assert caplog.text.count("broker connection gone") == 3
