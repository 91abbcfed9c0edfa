"""Polling through a real Celery worker process, Redis and PostgreSQL — including a worker killed mid-poll."""

import datetime
import time

import pytest
from django.utils import timezone

from doubles.scenario import Item, Person, Scenario
from doubles.server import Fault
from doubles.x import XDouble, snowflake
from monitoring.models import Message, PollRun
from monitoring.services.sweep import sweep_due_accounts
from monitoring.tasks import QUEUED
from tests.factories import SocialAccountFactory, make_unit

APP_BEARER = "worker-test-bearer"
CITIZEN = Person("x", "1600000000000000099", "citizen", "A Citizen")


def wait_for(condition, *, timeout: float, interval: float = 0.2, tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        if condition():
            return True
        time.sleep(interval)
    return False


@pytest.fixture
def world(transactional_db, settings):
    settings.CHORUS_POLL_LEASE_SECONDS = 3  # the sweep (in this process) leases for 3 s
    scenario = Scenario()
    double = XDouble(scenario, app_bearer=APP_BEARER).start()
    person = scenario.add_account("x", "1500000000000000077", "MPSTraffic", "Traffic Services")
    now = timezone.now().replace(microsecond=0)
    for number in range(40):
        created_at = now - datetime.timedelta(minutes=200 - number)
        author = person if number % 3 == 0 else CITIZEN
        text = f"update {number}" if author is person else f"@MPSTraffic question {number}?"
        scenario.add(Item("x", snowflake(created_at, scenario.next_number()), author, person, text, created_at))
    unit = make_unit("Metro Police Service", kind="service")
    account = SocialAccountFactory.create(platform="x", handle="MPSTraffic", unit=unit, kind="unit")
    yield scenario, double, person, account
    double.stop()


def worker_settings(double) -> dict[str, str]:
    return {
        "CHORUS_X_API_BASE": double.url,
        "CHORUS_X_BEARER_TOKEN": APP_BEARER,
        "CHORUS_HTTP_TIMEOUT": "20",
        "CHORUS_POLL_LEASE_SECONDS": "3",
    }


def stored(account):
    return set(Message.objects.filter(account=account).values_list("external_id", "direction"))


def test_a_worker_polls_what_the_sweep_enqueues(world, start_worker):
    scenario, double, person, account = world
    start_worker(**worker_settings(double))
    assert sweep_due_accounts(work=QUEUED) == [account.pk]
    assert wait_for(lambda: PollRun.objects.filter(outcome="ok").exists(), timeout=30)
    assert stored(account) == scenario.expected("x", person.id)
    assert Message.objects.count() == 40


def test_worker_killed_mid_poll_loses_and_duplicates_nothing(world, start_worker):
    scenario, double, person, account = world
    worker = start_worker(**worker_settings(double))
    double.inject(Fault("slow", path="/mentions", delay=4))
    sweep_due_accounts(work=QUEUED)
    assert wait_for(lambda: double.requests_to("/mentions"), timeout=30), "the poll never reached the API"
    worker.kill()  # SIGKILL mid-request: the ingest transaction never started
    assert not Message.objects.exists()

    start_worker(**worker_settings(double))
    # The queue may or may not give the task back; the lease guarantees the account is claimed again.
    assert wait_for(
        lambda: stored(account) == scenario.expected("x", person.id),
        timeout=60,
        interval=0.5,
        tick=lambda: sweep_due_accounts(work=QUEUED),
    ), f"stored {len(stored(account))} of {len(scenario.expected('x', person.id))}"
    assert Message.objects.count() == 40  # nothing duplicated
    assert PollRun.objects.filter(outcome="ok").exists()
