"""The cached daily sums of the roll-ups (monitoring/daily_sums.py): always the sums of the rows, whatever
was written since (ingest, triage, rebuilds, transfers, unit moves), and read without SQL when nothing was."""

import datetime

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts_registry.services.lifecycle import member_transfer
from accounts_registry.services.units import unit_move
from engagement.models import TriageItem
from engagement.services.daily_response import responses_rebuild, responses_refresh
from monitoring.daily_sums import (
    ACTIVITY_FIELDS,
    activity_by_day,
    grouped_daily_sums,
    membership_token,
    subtree_activity,
)
from monitoring.models import DailyActivity
from monitoring.services.activity import activity_rebuild
from monitoring.services.ingest import activity_record_new
from overview.periods import Period
from overview.selectors.rollup import rollup
from tests.factories import FROZEN_NOW, MemberFactory, SocialAccountFactory, UserFactory, ingest, make_unit
from tests.overview.conftest import plant_item

pytestmark = pytest.mark.django_db

TODAY = FROZEN_NOW.date()
WEEK = Period(start=TODAY - datetime.timedelta(days=6), end=TODAY)


def sql_sums(path, key_length, first, last):
    """What the cache must equal: the rows summed one by one, per prefix and day."""
    sums: dict[str, dict[datetime.date, tuple[int, int, int]]] = {}
    for row in DailyActivity.objects.filter(
        account__unit__path__startswith=path, day__gte=first, day__lte=last
    ).select_related("account__unit"):
        days = sums.setdefault(row.account.unit.path[:key_length], {})
        seen = days.get(row.day, (0, 0, 0))
        days[row.day] = (seen[0] + row.posts, seen[1] + row.replies, seen[2] + row.inbound)
    return sums


@pytest.fixture
def history(org, frozen_now):
    accounts = {
        name: SocialAccountFactory.create(handle=f"acct_{name}", unit=org[name], kind="unit")
        for name in ("root", "11", "traffic", "51")
    }
    DailyActivity.objects.bulk_create(
        DailyActivity(account=account, day=day, posts=number + 1, replies=1, inbound=2)
        for number, account in enumerate(accounts.values())
        for day in WEEK.day_list()
    )
    return accounts


def key_length(unit):
    return len(unit.path) + 4


def test_cached_sums_are_the_sql_sums_and_a_second_read_runs_no_query(org, history):
    root = org["root"]
    first = activity_by_day(root.path, key_length(root), WEEK.start, WEEK.end)
    assert first == sql_sums(root.path, key_length(root), WEEK.start, WEEK.end)
    token = membership_token(root.path, key_length(root))
    with CaptureQueriesContext(connection) as queries:
        again = activity_by_day(root.path, key_length(root), WEEK.start, WEEK.end, membership=token)
    assert again == first
    assert len(queries) == 0  # every day read from the cache


def test_new_activity_today_is_summed_at_the_next_read(org, history):
    """Ingest maintains the account rows and bumps the day's version: only that day is read from SQL again."""
    north = org["north"]
    before = subtree_activity(north.path, WEEK.start, WEEK.end)
    message = ingest(history["11"], "A new post", minutes=-5)
    activity_record_new(message_ids=[message.pk])
    token = membership_token(north.path, key_length(north))
    with CaptureQueriesContext(connection) as queries:
        after = activity_by_day(north.path, key_length(north), WEEK.start, WEEK.end, membership=token)
    assert len(queries) == 1 and "IN (" in queries[0]["sql"]  # the changed day only
    assert subtree_activity(north.path, WEEK.start, WEEK.end) == (before[0] + 1, before[1], before[2])
    assert after == sql_sums(north.path, key_length(north), WEEK.start, WEEK.end)


def test_a_late_answer_updates_the_cached_response_figures(org, history):
    """Triage rewrites the response row of the day the item was opened (a past day), and bumps that day."""
    item = plant_item(history["11"], days_ago=3)  # waiting
    responses_rebuild()
    before = rollup(org["root"], WEEK).root.figures.response
    assert (before.inbound, before.answered) == (1, 0)
    TriageItem.objects.filter(pk=item.pk).update(
        status=TriageItem.Status.ANSWERED,
        answered_at=item.created_at + datetime.timedelta(minutes=30),
        first_response_seconds=1800,
    )
    responses_refresh([item.pk])
    after = rollup(org["root"], WEEK).root.figures.response
    assert (after.inbound, after.answered) == (1, 1)
    assert after.median_first_response_seconds is not None


def test_a_rebuild_invalidates_every_day(org, history):
    root = org["root"]
    assert subtree_activity(root.path, WEEK.start, WEEK.end) != (0, 0, 0)
    activity_rebuild()  # no message backs the planted rows: all zeroed, and every cached day dropped
    assert subtree_activity(root.path, WEEK.start, WEEK.end) == (0, 0, 0)
    assert rollup(root, WEEK).root.figures.response.inbound == 0
    plant_item(history["51"], days_ago=2, response_seconds=600)
    # Written directly, without the maintenance that bumps the day: the cached sums do not know yet.
    assert rollup(root, WEEK).root.figures.response.inbound == 0
    responses_rebuild()
    assert rollup(root, WEEK).root.figures.response.inbound == 1


def test_a_transferred_account_takes_its_history_to_its_new_unit(org, history):
    """A unit's past figures are those of the accounts it holds now, as in the inbox and the API: the
    transfer saves the accounts it moves, which changes the subtree's membership token."""
    member = MemberFactory.create(unit=org["traffic"])
    personal = SocialAccountFactory.create(handle="moving", unit=org["traffic"], holder=member, kind="personal")
    DailyActivity.objects.create(account=personal, day=TODAY, posts=1000)
    root = org["root"]
    before = {row.unit.name: row.figures.counts.posts for row in rollup(root, WEEK).children}
    member_transfer(member=member, unit=org["51"], actor=UserFactory.create())
    after = {row.unit.name: row.figures.counts.posts for row in rollup(root, WEEK).children}
    assert after["North Division"] == before["North Division"] - 1000
    assert after["South Division"] == before["South Division"] + 1000
    assert sum(after.values()) == sum(before.values())
    # One level down, the same: the history left Traffic Team for 51 Station.
    north = {row.unit.name: row.figures.counts.posts for row in rollup(org["north"], WEEK).children}
    assert north["Traffic Team"] == 7 * 3  # the unit account's own posts only


def test_a_moved_unit_takes_its_accounts_history_with_it(org, history):
    root = org["root"]
    before = {row.unit.name: row.figures.counts.posts for row in rollup(root, WEEK).children}
    unit_move(unit=org["traffic"], new_parent=org["south"], actor=None)
    org["root"].refresh_from_db()
    after = {row.unit.name: row.figures.counts.posts for row in rollup(org["root"], WEEK).children}
    assert after["North Division"] == before["North Division"] - 7 * 3
    assert after["South Division"] == before["South Division"] + 7 * 3


def test_the_membership_token_follows_the_accounts_of_each_prefix(org, history):
    north = org["north"]
    token = membership_token(north.path, key_length(north))
    SocialAccountFactory.create(handle="new_one", unit=make_unit("New Team", north))
    assert membership_token(north.path, key_length(north)) != token
    token = membership_token(north.path, key_length(north))
    history["11"].unit = org["traffic"]
    history["11"].save(update_fields=["unit"])  # another child of North: another prefix
    assert membership_token(north.path, key_length(north)) != token


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
)
def test_an_unreachable_cache_reads_the_sums_from_sql(org, history, caplog):
    root = org["root"]
    sums = grouped_daily_sums(DailyActivity, ACTIVITY_FIELDS, root.path, key_length(root), WEEK.day_list())
    expected = sql_sums(root.path, key_length(root), WEEK.start, WEEK.end)
    assert {key: {day: sums[day][key] for day in days} for key, days in expected.items()} == expected
    assert "cache unreachable" in caplog.text
    message = ingest(history["11"], "Posted while the cache is down", minutes=-5)
    activity_record_new(message_ids=[message.pk])  # the version bump fails quietly: ingest goes on
    assert DailyActivity.objects.get(account=history["11"], day=TODAY).posts == 3
