"""What a poll costs in SQL statements, per platform, through the real connectors against the doubles.

A poll that finds nothing new touches almost nothing: the account (one SELECT), its poll state locked with
whether a poll of it is running (one SELECT), its lease renewed (UPDATE), the run (INSERT, then UPDATE), the
poll state (UPDATE) and the platform's usage (one upsert after the commit).
Issue #15 sets the bound at ten statements; timings live in the sweep benchmark, not here.
"""

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks.world import Doubles, seed_fleet
from monitoring.connectors.base import per_process
from monitoring.models import DailyActivity, Message, PlatformUsage, PollRun, PollState
from monitoring.services.ingest import activity_record_new
from monitoring.services.polling import account_poll

pytestmark = pytest.mark.django_db

NO_NEWS_STATEMENTS = 10


@pytest.fixture
def doubles(settings):
    doubles = Doubles.start()
    for name, value in doubles.settings_env().items():
        setattr(settings, name, [value] if name == "CHORUS_OUTBOUND_ALLOWLIST" else value)
    settings.CHORUS_HTTP_TIMEOUT = 5.0
    yield doubles
    doubles.stop()


@pytest.mark.parametrize("platform", ["x", "facebook", "instagram", "bluesky", "mastodon"])
def test_a_poll_that_finds_nothing_new_costs_at_most_ten_statements(
    platform, doubles, org, django_capture_on_commit_callbacks
):
    (account_id,) = seed_fleet(doubles, [platform]).account_ids
    with django_capture_on_commit_callbacks(execute=True):
        first = account_poll(account_id=account_id)
    assert first is not None and first.outcome == "ok" and first.items_new == 5  # the account's small history
    activity = list(DailyActivity.objects.filter(account_id=account_id).values_list("day", "posts", "inbound"))
    PollState.objects.filter(account_id=account_id).update(next_poll_at=timezone.now())

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        again = account_poll(account_id=account_id, only_if_due=True)  # as a beat tick's claim runs it

    assert again is not None and again.outcome == "ok"
    assert (again.items_new, again.items_updated) == (0, 0)
    # Inside the test's transaction each of the poll's own transactions is a savepoint: two statements here
    # that are a BEGIN and a COMMIT (not statements) in production.
    statements = [query["sql"] for query in queries.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert len(statements) <= NO_NEWS_STATEMENTS, "\n".join(statements)
    # ... and it still recorded everything a poll records.
    run = PollRun.objects.filter(account_id=account_id).order_by("-pk").first()
    assert run is not None and run.outcome == "ok" and run.finished_at is not None and run.requests >= 2
    state = PollState.objects.get(account_id=account_id)
    assert state.lease_until is None and state.next_poll_at > timezone.now() and state.last_success_at is not None
    assert Message.objects.filter(account_id=account_id).count() == 5
    assert list(DailyActivity.objects.filter(account_id=account_id).values_list("day", "posts", "inbound")) == activity
    usage = PlatformUsage.objects.get(platform=platform)
    assert usage.requests == sum(PollRun.objects.filter(account_id=account_id).values_list("requests", flat=True))
    assert usage.reads == 5  # the first poll's five items; the second read none


def test_daily_activity_adds_up_per_account_and_day(doubles, org, django_capture_on_commit_callbacks):
    """Two accounts' first polls add to their own rows; counting again adds to the same rows."""
    fleet = seed_fleet(doubles, ["x", "x"])
    with django_capture_on_commit_callbacks(execute=True):
        for account_id in fleet.account_ids:
            account_poll(account_id=account_id)
    totals = {account_id: [0, 0, 0] for account_id in fleet.account_ids}
    for account_id, *figures in DailyActivity.objects.values_list("account_id", "posts", "replies", "inbound"):
        totals[account_id] = [total + figure for total, figure in zip(totals[account_id], figures, strict=True)]
    # Each history: two posts and one reply of the org's, a question and a reply from residents.
    assert totals == {account_id: [2, 1, 2] for account_id in fleet.account_ids}
    before = DailyActivity.objects.count()

    # The same messages counted again (as a second batch would add to them): the rows add up, none is new.
    ids = list(Message.objects.filter(account_id=fleet.account_ids[0]).values_list("pk", flat=True))
    activity_record_new(message_ids=ids)
    again = [0, 0, 0]
    for row in DailyActivity.objects.filter(account_id=fleet.account_ids[0]).values_list("posts", "replies", "inbound"):
        again = [total + figure for total, figure in zip(again, row, strict=True)]
    assert again == [4, 2, 4] and DailyActivity.objects.count() == before


def test_per_process_objects_are_built_once_and_again_after_a_fork(monkeypatch):
    built = []

    def build():
        built.append(object())
        return built[-1]

    first = per_process(("test", "key"), build)
    assert per_process(("test", "key"), build) is first and len(built) == 1
    child = os.getpid() + 1
    monkeypatch.setattr(os, "getpid", lambda: child)  # as in a forked pool child
    assert per_process(("test", "key"), build) is not first and len(built) == 2
