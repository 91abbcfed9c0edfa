"""Polling through the real X connector and tweepy against the X double, into PostgreSQL."""

import datetime

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts_registry.models import AuditEvent, SocialAccount
from doubles.scenario import Item, Person, Scenario
from doubles.server import Fault
from doubles.x import XDouble, snowflake
from monitoring.models import DailyActivity, Message, PlatformUsage, PollRun, PollState
from monitoring.services.polling import PollSummary, account_poll, poll_claim_due, poll_states_ensure
from monitoring.services.sweep import TickWork, sweep_due_accounts
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

APP_BEARER = "app-bearer-for-tests"
CITIZEN = Person("x", "1600000000000000011", "dana_k", "Dana <K>")


@pytest.fixture
def scenario():
    return Scenario()


@pytest.fixture
def double(scenario):
    server = XDouble(scenario, app_bearer=APP_BEARER).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def x_settings(settings, double):
    settings.CHORUS_X_API_BASE = double.url
    settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    settings.CHORUS_HTTP_TIMEOUT = 0.5
    cache.clear()
    return settings


def poll(*, account_id: int) -> PollSummary:
    summary = account_poll(account_id=account_id)
    assert summary is not None
    return summary


def add(scenario, author, to, text, *, minutes_ago, in_reply_to=""):
    created_at = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=minutes_ago)
    item_id = snowflake(created_at, scenario.next_number())
    return scenario.add(Item("x", item_id, author, to, text, created_at, in_reply_to=in_reply_to))


@pytest.fixture
def station(scenario, org):
    """11 Station's X account, 25 items of history (several pages), and its registry row."""
    person = scenario.add_account("x", "1500000000000000011", "MPS11Div", "11 Division")
    for number in range(12):
        post = add(scenario, person, person, f"Community update #{number}", minutes_ago=300 - number * 10)
        add(scenario, CITIZEN, person, f"@MPS11Div question {number}?", minutes_ago=295 - number * 10)
    add(scenario, person, person, "@dana_k thanks!", minutes_ago=5, in_reply_to=post.id)
    account = SocialAccountFactory.create(platform="x", handle="MPS11Div", unit=org["11"], kind="unit")
    return person, account


def stored(account):
    return set(Message.objects.filter(account=account).values_list("external_id", "direction"))


def test_full_poll_stores_exactly_the_scenario_and_a_second_poll_writes_nothing(scenario, double, station):
    person, account = station
    summary = poll(account_id=account.pk)
    assert summary.outcome == "ok" and summary.items_new == 25
    assert stored(account) == scenario.expected("x", person.id)
    account.refresh_from_db()
    assert account.external_id == person.id  # resolved from the handle on the first poll
    run = PollRun.objects.get()
    assert (run.outcome, run.items_new, run.items_updated) == ("ok", 25, 0)
    assert run.rate_limit_remaining is not None

    before = dict(Message.objects.values_list("external_id", "updated_at"))
    requests_before = len(double.requests)
    again = poll(account_id=account.pk)
    assert (again.outcome, again.items_new, again.items_updated) == ("ok", 0, 0)
    assert dict(Message.objects.values_list("external_id", "updated_at")) == before
    # Since-cursors: the second poll asked for nothing older than what it had.
    for request in double.requests[requests_before:]:
        if request.path.endswith(("/tweets", "/mentions")):
            assert request.arg("since_id"), request.path


def test_new_items_after_a_poll_are_picked_up_once(scenario, station):
    person, account = station
    poll(account_id=account.pk)
    add(scenario, CITIZEN, person, "@MPS11Div hello again", minutes_ago=1)
    assert poll(account_id=account.pk).items_new == 1
    assert stored(account) == scenario.expected("x", person.id)


def test_daily_activity_and_usage_follow_ingest(station, django_capture_on_commit_callbacks):
    _, account = station
    with django_capture_on_commit_callbacks(execute=True):  # usage is counted once the poll committed
        poll(account_id=account.pk)
    totals = DailyActivity.objects.filter(account=account)
    assert sum(day.inbound for day in totals) == 12
    assert sum(day.posts + day.replies for day in totals) == 13
    usage = PlatformUsage.objects.get(platform="x")
    assert usage.reads == 25 and usage.requests >= 2


def test_rate_limited_poll_waits_until_reset_then_succeeds(scenario, double, station):
    person, account = station
    double.inject(Fault("rate_limit", path="/mentions", reset_in=30))
    summary = poll(account_id=account.pk)
    assert summary.outcome == "rate_limited"
    state = PollState.objects.get(account=account)
    assert state.next_poll_at > timezone.now() + datetime.timedelta(seconds=20)
    assert state.lease_until is None
    # The shared gate holds every worker back until the reset, without calling the API.
    requests_before = len(double.requests)
    assert poll(account_id=account.pk).outcome == "rate_limited"
    assert len(double.requests) == requests_before
    cache.clear()  # the reset time has come
    assert poll(account_id=account.pk).outcome == "ok"
    assert stored(account) == scenario.expected("x", person.id)


def test_revoked_token_sends_the_account_to_needs_reconnect(double, station, settings):
    _, account = station
    settings.CHORUS_X_BEARER_TOKEN = "revoked-token"
    summary = poll(account_id=account.pk)
    assert summary.outcome == "unauthorized"
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.NEEDS_RECONNECT
    assert AuditEvent.objects.filter(verb="account.status", target_id=str(account.pk)).exists()
    # No more polls until reconnected: it is no longer claimable.
    poll_states_ensure()
    assert account.pk not in poll_claim_due(limit=10, now=timezone.now() + datetime.timedelta(hours=1))


def test_server_error_and_timeout_fail_the_run_and_back_off(double, station):
    _, account = station
    double.inject(Fault("status", path="/tweets", status=503))
    summary = poll(account_id=account.pk)
    assert summary.outcome == "failed" and summary.error.startswith("transient")
    state = PollState.objects.get(account=account)
    assert state.consecutive_failures == 1 and state.next_poll_at > timezone.now()
    double.inject(Fault("slow", path="/tweets", delay=1.5))
    assert poll(account_id=account.pk).outcome == "failed"
    assert PollState.objects.get(account=account).consecutive_failures == 2
    assert not Message.objects.exists()  # nothing half-written


def test_malformed_payload_fails_the_run_and_the_next_account_is_still_polled(scenario, double, station, org):
    person, account = station
    other_person = scenario.add_account("x", "1500000000000000051", "MPS51Div", "51 Division")
    add(scenario, CITIZEN, other_person, "@MPS51Div hi", minutes_ago=3)
    other = SocialAccountFactory.create(platform="x", handle="MPS51Div", unit=org["51"], kind="unit")
    double.inject(Fault("malformed", path=f"/users/{person.id}/"))
    account.external_id = person.id
    account.save()
    summaries = {s.account_id: s for s in (poll(account_id=pk) for pk in (account.pk, other.pk))}
    assert summaries[account.pk].outcome == "failed" and "malformed" in summaries[account.pk].error
    assert summaries[other.pk].outcome == "ok"
    assert stored(other) == scenario.expected("x", other_person.id)


def test_sweep_claims_each_due_account_once_and_leases_it(station, org, django_capture_on_commit_callbacks):
    _, account = station
    enqueued: list[int] = []
    work = TickWork(poll_account=enqueued.append, x_sweep=lambda: None, webhook_event=lambda pk: None)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_due_accounts(work=work) == [account.pk]
        assert enqueued == []  # handed over only once the claim committed
    assert enqueued == [account.pk]
    assert sweep_due_accounts(work=work) == []  # leased
    lease_until = PollState.objects.get(account=account).lease_until
    assert lease_until is not None and lease_until > timezone.now()
    # A lost task: once the lease expires, the account is claimed again.
    later = lease_until + datetime.timedelta(seconds=1)
    assert poll_claim_due(limit=10, now=later) == [account.pk]


def test_paused_and_pending_accounts_are_not_polled(station):
    _, account = station
    account.status = SocialAccount.Status.PAUSED
    account.save()
    assert (
        sweep_due_accounts(
            work=TickWork(poll_account=lambda pk: None, x_sweep=lambda: None, webhook_event=lambda pk: None)
        )
        == []
    )
    assert account_poll(account_id=account.pk) is None
    assert not PollRun.objects.exists()


def test_poll_command_sync_prints_a_summary_per_account(scenario, station, capsys):
    person, account = station
    call_command("poll", "--all", "--sync")
    out = capsys.readouterr().out
    assert f"MPS11Div ({account.pk}): ok — 25 new" in out
    assert "Polled 1 account(s): 25 new message(s); 1 ok" in out
    assert stored(account) == scenario.expected("x", person.id)


def test_poll_command_sync_fails_naming_each_failed_account(scenario, station, org, settings, capsys):
    _, account = station
    other = SocialAccountFactory.create(platform="x", handle="MPSTraffic", unit=org["traffic"], kind="unit")
    settings.CHORUS_X_BEARER_TOKEN = "a-revoked-bearer"  # every X request gets a 401
    with pytest.raises(CommandError) as raised:
        call_command("poll", "--all", "--sync")
    assert raised.value.returncode == 1  # what `manage.py poll --sync` exits with
    assert str(raised.value).startswith("2 of 2 poll(s) failed:")
    for failed in (account, other):
        assert f"{failed.handle} ({failed.pk}, x): unauthorized, AuthError: " in str(raised.value)
    assert "Polled 2 account(s): 0 new message(s); 2 unauthorized" in capsys.readouterr().out


def test_poll_command_sync_names_only_the_failures_of_a_partly_failed_run(scenario, station, org, double):
    _, account = station
    other = SocialAccountFactory.create(platform="x", handle="MPSGone", unit=org["traffic"], kind="unit")
    with pytest.raises(CommandError) as raised:
        call_command("poll", "--account", str(account.pk), str(other.pk), "--sync")
    assert str(raised.value).splitlines()[0] == "1 of 2 poll(s) failed:"
    assert f"MPSGone ({other.pk}, x): unauthorized, AuthError: X knows no user @MPSGone" in str(raised.value)
    assert "MPS11Div" not in str(raised.value)


def test_sweep_requeues_webhook_events_whose_task_was_lost(django_capture_on_commit_callbacks):
    from monitoring.models import WebhookEvent

    old = timezone.now() - datetime.timedelta(minutes=10)
    lost = WebhookEvent.objects.create(source="x", event_id="lost", payload={}, received_at=old)
    WebhookEvent.objects.create(source="x", event_id="fresh", payload={})
    WebhookEvent.objects.create(source="x", event_id="done", payload={}, received_at=old, processed_at=old)
    requeued: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        sweep_due_accounts(
            work=TickWork(poll_account=lambda pk: None, x_sweep=lambda: None, webhook_event=requeued.append)
        )
    assert requeued == [lost.pk]


# --- Late and duplicate tasks (the queue is at-least-once; PostgreSQL decides what runs) -----------------


def lease() -> datetime.timedelta:
    from django.conf import settings

    return datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)


def test_a_claimed_poll_delivered_again_after_its_account_was_polled_does_nothing(station, monkeypatch):
    from config.celery import app
    from monitoring.tasks import QUEUED

    _, account = station
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the tick's own hand-over, run in this process
    poll_states_ensure()
    assert poll_claim_due(limit=10) == [account.pk]
    QUEUED.poll_account(account.pk)
    # The same claim delivered again (re-claimed while it waited, or redelivered after a lost worker).
    QUEUED.poll_account(account.pk)
    assert list(PollRun.objects.filter(account=account).values_list("outcome", flat=True)) == ["ok"]
    assert PollState.objects.get(account=account).lease_until is None
    # A poll asked for by hand (`manage.py poll`) is not a claim: it runs although the account is not due.
    assert poll(account_id=account.pk).outcome == "ok"
    assert PollRun.objects.filter(account=account).count() == 2


def test_a_claimed_poll_does_not_start_while_its_account_is_being_polled(station):
    _, account = station
    poll_states_ensure()
    running = PollRun.objects.create(account=account)  # another worker is polling the account
    assert account_poll(account_id=account.pk, only_if_due=True) is None
    assert PollRun.objects.filter(account=account).count() == 1
    # That worker was lost mid-poll: once its run is older than a lease, the claimed poll runs.
    PollRun.objects.filter(pk=running.pk).update(started_at=timezone.now() - lease() - datetime.timedelta(seconds=1))
    assert poll(account_id=account.pk).outcome == "ok"
    assert account_poll(account_id=account.pk, only_if_due=True) is None  # polled: no longer due


def test_a_poll_renews_its_lease_when_it_starts_so_no_tick_claims_it_while_it_runs(station):
    from monitoring.services.polling import poll_begin

    _, account = station
    poll_states_ensure()
    claimed_at = timezone.now() - lease() + datetime.timedelta(seconds=5)  # it waited in the queue
    PollState.objects.filter(account=account).update(next_poll_at=claimed_at)
    assert poll_claim_due(limit=10, now=claimed_at) == [account.pk]
    begun = poll_begin(account, only_if_due=True)
    assert begun is not None
    state, run = begun
    assert PollState.objects.get(account=account).lease_until == run.started_at + lease() == state.lease_until
    assert poll_claim_due(limit=10, now=timezone.now() + datetime.timedelta(seconds=10)) == []


def test_a_tick_keeps_at_most_a_batch_of_claims_waiting_for_a_worker(station, org, settings):
    from monitoring.services.polling import poll_begin

    _, first = station
    others = [SocialAccountFactory.create(platform="x", handle=f"MPSUnit{n}", unit=org["11"]) for n in range(2)]
    settings.CHORUS_POLL_BATCH = 2
    work = TickWork(poll_account=lambda pk: None, x_sweep=lambda: None, webhook_event=lambda pk: None)
    claimed = sweep_due_accounts(work=work)
    assert len(claimed) == 2
    assert sweep_due_accounts(work=work) == []  # two claims wait in the queue: the third account waits here
    assert poll_begin(SocialAccount.objects.get(pk=claimed[0]), only_if_due=True) is not None  # a worker took one
    (third,) = {first.pk, *(account.pk for account in others)} - set(claimed)
    assert sweep_due_accounts(work=work) == [third]


def test_a_poll_begins_on_its_stored_state_or_creates_the_missing_one(station):
    from monitoring.services.polling import poll_begin

    _, account = station
    begun = poll_begin(account, only_if_due=True)  # no poll state yet (no tick ran): created, and the poll starts
    assert begun is not None
    assert PollState.objects.get(account=account).lease_until == begun[1].started_at + lease()
    cursors = {"mentions": "42"}
    PollState.objects.filter(account=account).update(cursors=cursors, lease_until=None, consecutive_failures=2)
    PollRun.objects.update(outcome=PollRun.Outcome.OK)
    again = poll_begin(account)  # the stored state, renewed and read back in one statement
    assert again is not None
    state, run = again
    assert (state.cursors, state.consecutive_failures) == (cursors, 2)
    assert state.lease_until == run.started_at + lease() == PollState.objects.get(account=account).lease_until
