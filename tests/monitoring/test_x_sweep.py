"""The combined X sweep: many accounts' mentions and posts through a few recent-search requests."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from doubles.scenario import Item, Person, Scenario
from doubles.server import Fault
from doubles.x import XDouble, snowflake
from monitoring.models import JobRun, Message, PollState, SweepState
from monitoring.services.polling import account_poll, poll_claim_due, poll_states_ensure
from monitoring.services.sweep import TickWork, sweep_due_accounts
from monitoring.services.x_sweep import SWEEP_NAME, x_sweep_claim, x_sweep_run
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

APP_BEARER = "sweep-app-bearer"
PUBLIC = Person("x", "1600000000000000123", "neighbour", "A Neighbour")


@pytest.fixture
def scenario():
    return Scenario()


@pytest.fixture
def double(scenario, settings):
    server = XDouble(scenario, app_bearer=APP_BEARER).start()
    settings.CHORUS_X_API_BASE = server.url
    settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    settings.CHORUS_X_SEARCH_SWEEP = True
    cache.clear()
    yield server
    server.stop()


def add(scenario, author, to, text, *, minutes_ago, in_reply_to=""):
    created_at = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=minutes_ago)
    return scenario.add(
        Item("x", snowflake(created_at, scenario.next_number()), author, to, text, created_at, in_reply_to=in_reply_to)
    )


@pytest.fixture
def stations(scenario, double, org):
    """40 station accounts with a little history each, backfilled by one individual poll apiece."""
    people, accounts = [], []
    for number in range(40):
        person = scenario.add_account("x", f"15000000000000{number:05d}", f"MPSStation{number}", f"Station {number}")
        add(scenario, person, person, f"Station {number} open house", minutes_ago=120 - number)
        add(scenario, PUBLIC, person, f"@MPSStation{number} hello!", minutes_ago=100 - number)
        people.append(person)
        accounts.append(SocialAccountFactory.create(platform="x", handle=person.handle, unit=org["11"], kind="unit"))
    poll_states_ensure()
    for account in accounts:
        assert getattr(account_poll(account_id=account.pk), "outcome", None) == "ok"
    return people, accounts


def stored(account):
    return set(Message.objects.filter(account=account).values_list("external_id", "direction"))


def test_backfilled_app_token_accounts_leave_individual_polling(stations):
    far = timezone.now() + datetime.timedelta(hours=1)
    assert poll_claim_due(limit=100, now=far) == []


def test_sweep_reads_new_mentions_and_posts_of_every_account_in_few_requests(scenario, double, stations):
    people, accounts = stations
    for person in people[::3]:
        add(scenario, PUBLIC, person, f"@{person.handle} is the front desk open tonight?", minutes_ago=2)
    reply = add(scenario, people[1], people[1], "@neighbour yes, until 9", minutes_ago=1)
    before = len(double.requests)
    assert x_sweep_claim()
    figures = x_sweep_run()
    requests = len(double.requests) - before
    assert requests == figures["requests"] <= 4  # 40 handles fit in one query per stream
    for person, account in zip(people, accounts, strict=True):
        assert stored(account) == scenario.expected("x", person.id)
    assert Message.objects.get(external_id=reply.id).direction == "outbound"
    assert JobRun.objects.get(task="x_search_sweep").status == "ok"

    # A second sweep with nothing new reads nothing and writes nothing.
    SweepState.objects.filter(name=SWEEP_NAME).update(next_run_at=timezone.now())
    assert x_sweep_claim()
    again = x_sweep_run()
    assert (again["reads"], again["new"]) == (0, 0)


def test_the_sweep_lease_is_taken_once(stations):
    assert x_sweep_claim()
    assert not x_sweep_claim()  # leased, and not due again yet


def test_sweep_due_accounts_enqueues_the_x_sweep_after_commit(stations, django_capture_on_commit_callbacks):
    calls: list[object] = []
    with django_capture_on_commit_callbacks(execute=True):
        work = TickWork(poll_account=calls.append, x_sweep=lambda: calls.append("x-sweep"), webhook_event=calls.append)
        assert sweep_due_accounts(work=work) == []
    assert calls == ["x-sweep"]


def test_rate_limited_sweep_waits_for_the_reset_and_keeps_its_cursors(scenario, double, stations):
    people, _ = stations
    add(scenario, PUBLIC, people[0], f"@{people[0].handle} hi", minutes_ago=2)
    double.inject(Fault("rate_limit", path="/search/recent", reset_in=120))
    assert x_sweep_claim()
    x_sweep_run()
    state = SweepState.objects.get(name=SWEEP_NAME)
    assert state.next_run_at > timezone.now() + datetime.timedelta(seconds=60)
    assert state.cursors == {} and state.lease_until is None
    assert JobRun.objects.get(task="x_search_sweep").status == "failed"


def test_corporate_and_user_token_accounts_stay_individually_polled(scenario, double, org, stations):
    corporate_person = scenario.add_account("x", "1500000000000099999", "MetroPolice", "Metro Police")
    corporate = SocialAccountFactory.create(platform="x", handle="MetroPolice", unit=org["root"], kind="corporate")
    poll_states_ensure()
    assert getattr(account_poll(account_id=corporate.pk), "outcome", None) == "ok"
    PollState.objects.filter(account=corporate).update(next_poll_at=timezone.now())
    assert corporate.pk in poll_claim_due(limit=100)
    assert corporate_person.handle == "MetroPolice"


def test_switching_the_sweep_off_returns_accounts_to_individual_polling(stations, settings):
    settings.CHORUS_X_SEARCH_SWEEP = False
    _, accounts = stations
    far = timezone.now() + datetime.timedelta(hours=1)
    assert set(poll_claim_due(limit=100, now=far)) == {account.pk for account in accounts}
    assert not x_sweep_claim()
