"""`make resilience`: every case against 200 accounts and 20,000 messages, in order, on one world (each case
adds its own stage of traffic and breaks something while the sweep reads it). The table is printed at the end
of the run and kept in var/resilience-report.txt."""

import pytest

from tests.resilience import cases, load

pytestmark = pytest.mark.resilience


def assert_green(result: cases.Result) -> None:
    assert result.check.is_green, (result.case, result.check)
    assert not result.problems, (result.case, result.problems)
    assert result.ratio is None or result.ratio <= 1.5, (result.case, result.recovery)


def test_clean_run(full_run):
    assert_green(full_run.record(cases.clean(full_run.stack)))


def test_worker_killed_ten_times(full_run):
    assert_green(full_run.record(cases.worker_kills(full_run.stack, kills=10)))


def test_redis_restarted_without_persistence(full_run):
    assert_green(full_run.record(cases.redis_restart(full_run.stack, persistent=False)))


def test_redis_restarted_with_persistence(full_run):
    assert_green(full_run.record(cases.redis_restart(full_run.stack, persistent=True)))


def test_postgres_restarted(full_run):
    assert_green(full_run.record(cases.postgres_restart(full_run.stack, full_run.postgres)))


def test_platform_faults(full_run):
    assert_green(full_run.record(cases.platform_faults(full_run.stack)))


def test_two_beat_schedulers(full_run):
    assert_green(full_run.record(cases.two_beats(full_run.stack)))


def test_webhook_replayed_while_polled(full_run):
    assert_green(full_run.record(cases.webhook_replay(full_run.stack)))


def test_fifty_users_while_a_sweep_runs(full_run):
    result = full_run.record_load(load.load(full_run.stack, users=50, seconds=60))
    assert result.is_green, result
