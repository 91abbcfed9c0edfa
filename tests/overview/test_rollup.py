"""Roll-up arithmetic on a known tree, the same numbers as the metrics API, periods and their comparison."""

import dataclasses
import datetime
import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagement.models import RESPONSE_BUCKET_BOUNDS, DailyResponse
from engagement.selectors.metrics import response_metrics_between
from monitoring.daily_sums import daily_statistics_changed
from monitoring.models import DailyActivity
from overview.periods import Period, period_from
from overview.selectors.rollup import rollup
from tests.factories import SocialAccountFactory, make_unit
from tests.overview.conftest import PERIOD

pytestmark = pytest.mark.django_db

ADDITIVE = ("accounts", "active_accounts", "problem_accounts", "posts", "replies", "messages_received")


def by_unit(result):
    return {row.unit.pk: row for row in result.children}


def test_every_child_sums_into_every_ancestor_exactly_once(org, planted):
    days = PERIOD.days
    service = rollup(org["root"], PERIOD)
    assert service.root.figures.counts.posts == 111111 * days
    children = by_unit(service)
    assert children[org["north"].pk].figures.counts.posts == 1110 * days
    assert children[org["south"].pk].figures.counts.posts == 110000 * days
    assert service.own is not None and service.own.figures.counts.posts == 1 * days
    for field in ADDITIVE:
        parts = getattr(service.own.figures.counts, field) + sum(
            getattr(row.figures.counts, field) for row in service.children
        )
        assert getattr(service.root.figures.counts, field) == parts, field
    # One level down: the division's total is what the service showed for it, and sums its children.
    north = rollup(org["north"], PERIOD)
    assert north.root.figures.counts == children[org["north"].pk].figures.counts
    assert north.root.figures.response == children[org["north"].pk].figures.response
    assert {row.unit.name: row.figures.counts.posts for row in north.children} == {
        "11 Station": 100 * days,
        "Traffic Team": 1000 * days,
    }
    assert north.own is not None and north.own.figures.counts.posts == 10 * days


def test_inbound_waiting_and_flags_roll_up(org, planted):
    service = rollup(org["root"], PERIOD)
    response = service.root.figures.response
    assert response.inbound == 6 * 4 + 1  # three answered and one waiting per account, one emergency
    assert response.waiting == 6 + 1
    assert response.answered == 18
    # No message addresses two accounts here, so the children's items and the service's own 4 make the total.
    assert sum(row.figures.response.inbound for row in service.children) + 4 == response.inbound
    assert service.root.figures.counts.flags == {"info": 0, "warning": 2, "critical": 1}
    north = by_unit(service)[org["north"].pk]
    assert north.figures.counts.flags == {"info": 0, "warning": 1, "critical": 1}


def _bucket(seconds):
    """(low, high] of the DailyResponse bucket holding `seconds`."""
    bounds = (0, *RESPONSE_BUCKET_BOUNDS, 2 * RESPONSE_BUCKET_BOUNDS[-1])
    return next((low, high) for low, high in itertools.pairwise(bounds) if seconds <= high)


def test_response_figures_equal_the_metrics_api(org, planted, admin_user):
    """Counts and shares are the API's exactly; percentiles, read from the daily buckets, fall in the bucket
    of the API's exact figure."""
    start, end = PERIOD.bounds()
    service = rollup(org["root"], PERIOD)
    percentiles = ("median_first_response_seconds", "p90_first_response_seconds")
    for row in [service.root, *service.children]:
        exact = response_metrics_between(admin_user, unit=row.unit, start=start, end=end)
        ours = row.figures.response
        unset: dict[str, Any] = dict.fromkeys(percentiles)
        assert dataclasses.replace(ours, **unset) == dataclasses.replace(exact, **unset)
        for name in percentiles:
            low, high = _bucket(getattr(exact, name))
            assert low <= getattr(ours, name) <= high, name
    # The planted medians differ by unit: the root's is over every answered item, not an average.
    assert service.root.figures.response.median_first_response_seconds is not None


def test_the_daily_series_covers_every_day_of_the_period(org, planted):
    days = rollup(org["north"], PERIOD).root.figures.daily
    assert [day.day for day in days] == PERIOD.day_list()
    assert all(day.posts == 1110 and day.replies == 1110 and day.inbound == 1110 for day in days)


def test_the_previous_period_is_compared(org, planted):
    north = rollup(org["north"], PERIOD).root
    assert north.previous.counts.posts == 2 * 1110 * PERIOD.days  # planted twice as many posts before
    assert north.previous.response.inbound == 3  # one item 15 days ago per account of the division
    # Every previous response took a minute: inside the first bucket, (0, 5 min].
    median = north.previous.response.median_first_response_seconds
    assert median is not None
    assert 0 < median <= RESPONSE_BUCKET_BOUNDS[0]


def test_period_parsing_and_previous():
    today = datetime.date(2026, 11, 20)
    assert period_from({}, today=today) == Period(datetime.date(2026, 10, 22), today)
    assert period_from({"period": "7"}, today=today) == Period(datetime.date(2026, 11, 14), today)
    assert period_from({"period": "12"}, today=today).days == 30
    custom = period_from({"start": "2026-11-01", "end": "2026-11-10"}, today=today)
    assert custom == Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 10))
    assert custom.previous == Period(datetime.date(2026, 10, 22), datetime.date(2026, 10, 31))
    # Invalid or future ranges fall back to the default, never an error.
    assert period_from({"start": "2026-11-10", "end": "2026-11-01"}, today=today).days == 30
    assert period_from({"start": "2026-11-10", "end": "2026-12-01"}, today=today).days == 30
    assert period_from({"start": "nope", "end": "2026-11-01"}, today=today).days == 30
    assert period_from({"start": "2024-01-01", "end": "2026-11-01"}, today=today).days == 30


def test_a_day_is_a_local_day(settings, frozen_now):
    start, end = Period(datetime.date(2026, 11, 20), datetime.date(2026, 11, 20)).bounds()
    assert start.isoformat() == "2026-11-20T00:00:00-05:00"
    assert end == frozen_now  # today's window stops now


def test_query_count_does_not_grow_with_the_tree_or_the_history(org, planted):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            rollup(org["root"], PERIOD)
        return len(queries)

    before = count()
    for number in range(8):
        unit = make_unit(f"Extra {number}", org["south"])
        account = SocialAccountFactory.create(unit=unit)
        DailyActivity.objects.bulk_create(DailyActivity(account=account, day=day, posts=1) for day in PERIOD.day_list())
        DailyResponse.objects.bulk_create(
            DailyResponse(account=account, day=day, inbound=2, answered=1) for day in PERIOD.day_list()
        )
    assert count() == before <= 7


def test_a_second_roll_up_reads_no_daily_row_until_a_day_is_written(org, planted):
    """The daily sums come from the cache (monitoring/daily_sums.py) while nothing was written; the figures
    are the same, and a day written through maintenance is read again."""

    def run():
        with CaptureQueriesContext(connection) as queries:
            result = rollup(org["root"], PERIOD)
        return result, [query["sql"] for query in queries]

    first, cold = run()
    second, warm = run()
    assert second == first
    assert any("daily" in sql for sql in cold)
    assert not any("daily" in sql for sql in warm) and len(warm) == len(cold) - 2
    daily_statistics_changed(DailyActivity, [PERIOD.end])
    third, queries = run()
    assert third == first and sum("dailyactivity" in sql for sql in queries) == 1


def test_counts_add_up(org, planted):
    service = rollup(org["root"], PERIOD)
    assert service.own is not None
    total = sum((row.figures.counts for row in service.children), service.own.figures.counts)
    assert dataclasses.asdict(total) == dataclasses.asdict(service.root.figures.counts)
