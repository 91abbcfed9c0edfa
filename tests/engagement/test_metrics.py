"""Response metrics and the units leaderboard: numbers on a planted dataset, scoping, query budgets, pages."""

import datetime
import itertools

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from engagement.models import TriageItem
from engagement.selectors import metrics as metrics_module
from engagement.selectors.metrics import (
    Metrics,
    percentile,
    period_days_from,
    response_metrics,
    units_leaderboard,
)
from engagement.views.insights import format_duration
from monitoring.models import Message
from tests.factories import SocialAccountFactory, UserFactory, make_unit

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
HOUR = 3600
_ids = itertools.count(1)


def plant(account, *, days_ago, status="answered", question=False, response_seconds=None):
    """One inbound message and its triage item, `days_ago` before NOW (rows created directly)."""
    created_at = NOW - datetime.timedelta(days=days_ago)
    number = next(_ids)
    message = Message.objects.create(
        platform=account.platform, external_id=f"m{number}", account=account, direction="inbound", kind="mention",
        author_id=f"a{number}", author_handle=f"author{number}", text=f"message {number}", created_at=created_at,
        content_hash="x",
    )  # fmt: skip
    answered_at = created_at + datetime.timedelta(seconds=response_seconds) if response_seconds is not None else None
    return TriageItem.objects.create(
        message=message, account=account, platform=account.platform, created_at=created_at, author_id=f"a{number}",
        status=status, is_question=question, handled_reason="no_reply_needed" if status == "handled" else "",
        answered_at=answered_at, first_response_seconds=response_seconds,
    )  # fmt: skip


@pytest.fixture
def traffic_account(org):
    return SocialAccountFactory.create(handle="MPSTraffic", kind="unit", unit=org["traffic"])


@pytest.fixture
def planted(north_account, traffic_account, south_account):
    """11 Station (north_account), 7-day period:
    answered in 10 min, 1 h, 2 h, 5 h 33 min 20 s; one waiting question; one handled without reply.
    Outside the period: an item waiting for 10 days (the oldest) and one answered 20 days ago.
    """
    plant(north_account, days_ago=1, question=True, response_seconds=600)
    plant(north_account, days_ago=2, response_seconds=HOUR)
    plant(north_account, days_ago=3, question=True, response_seconds=2 * HOUR)
    plant(north_account, days_ago=4, response_seconds=20_000)
    plant(north_account, days_ago=5, status="waiting", question=True)
    plant(north_account, days_ago=6, status="handled")
    plant(north_account, days_ago=10, status="waiting")
    plant(north_account, days_ago=20, response_seconds=100)
    plant(traffic_account, days_ago=1, response_seconds=60)
    plant(traffic_account, days_ago=2, status="waiting", question=True)
    plant(south_account, days_ago=1, response_seconds=30)


# SQLite (the demo) has no percentile_cont: one more query fetches the response times.
PERCENTILES = 0 if connection.vendor == "postgresql" else 1


def fresh(user):
    """The same user as a new object: the scope is memoized per user object, as per request."""
    return User.objects.get(pk=user.pk)


# --- Numbers ------------------------------------------------------------------------------------


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([600, 3600, 7200, 20_000], 0.5) == 5400
    assert percentile([600, 3600, 7200, 20_000], 0.9) == pytest.approx(16_160)


def test_account_metrics_computed_by_hand(planted, north_account, viewer):
    metrics = response_metrics(viewer, account=north_account, period_days=7, now=NOW)
    assert metrics == Metrics(
        inbound=6,
        questions=3,
        answered=4,
        response_rate=4 / 6,
        median_first_response_seconds=5400,  # (1 h + 2 h) / 2
        p90_first_response_seconds=16_160,  # 2 h + 0.7 x (20 000 s - 2 h)
        waiting=1,
        oldest_waiting_created_at=NOW - datetime.timedelta(days=10),  # outside the period, still counted
        within_target_share=0.5,  # 10 min, 1 h, 2 h are within 4 h; 3 of 6
    )


def test_longer_period_takes_older_items(planted, north_account, viewer):
    metrics = response_metrics(viewer, account=north_account, period_days=30, now=NOW)
    assert (metrics.inbound, metrics.answered, metrics.waiting) == (8, 5, 2)
    assert metrics.median_first_response_seconds == HOUR


def test_sqlite_fallback_gives_the_same_numbers(planted, north_account, viewer, monkeypatch):
    in_sql = response_metrics(viewer, account=north_account, period_days=7, now=NOW)
    monkeypatch.setattr(metrics_module, "_database_has_percentiles", lambda: False)
    assert response_metrics(viewer, account=north_account, period_days=7, now=NOW) == in_sql
    board_in_python = units_leaderboard(viewer, period_days=7, now=NOW)
    monkeypatch.undo()
    assert units_leaderboard(viewer, period_days=7, now=NOW) == board_in_python


def test_unit_metrics_roll_up_over_the_subtree(planted, org, viewer):
    metrics = response_metrics(viewer, unit=org["north"], period_days=7, now=NOW)
    assert (metrics.inbound, metrics.questions, metrics.answered, metrics.waiting) == (8, 4, 5, 2)
    assert metrics.response_rate == pytest.approx(5 / 8)
    assert metrics.median_first_response_seconds == HOUR  # 60, 600, 3600, 7200, 20000
    station = response_metrics(viewer, unit=org["11"].pk, period_days=7, now=NOW)  # a pk works too
    assert station.inbound == 6


def test_empty_scope_has_no_rates(org, viewer):
    metrics = response_metrics(viewer, unit=org["north"], period_days=7, now=NOW)
    assert metrics == Metrics(0, 0, 0, None, None, None, 0, None, None)


def test_whole_organization_is_what_the_user_sees(planted, admin_user, outsider):
    assert response_metrics(admin_user, period_days=7, now=NOW).inbound == 9
    south = response_metrics(outsider, period_days=7, now=NOW)
    assert (south.inbound, south.answered, south.median_first_response_seconds) == (1, 1, 30)
    assert south.oldest_waiting_created_at is None  # North's waiting items are not the outsider's


def test_outsider_cannot_ask_for_north(planted, org, north_account, outsider):
    with pytest.raises(Http404):
        response_metrics(outsider, unit=org["north"], period_days=7, now=NOW)
    with pytest.raises(Http404):
        response_metrics(outsider, account=north_account, period_days=7, now=NOW)


def test_member_sees_metrics_of_the_accounts_they_hold(planted, north_account, north_member, org):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    assert response_metrics(user, period_days=7, now=NOW).inbound == 6
    assert response_metrics(user, account=north_account, period_days=7, now=NOW).inbound == 6
    with pytest.raises(Http404):
        response_metrics(user, unit=org["11"], period_days=7, now=NOW)


def test_invalid_period_is_the_default():
    assert period_days_from("7d") == 7
    assert period_days_from("90d") == 90
    assert period_days_from("1000d") == 30
    assert period_days_from(None) == 30


def test_format_duration():
    assert [format_duration(s) for s in (None, 45, 600, 5400, 200_000)] == [
        "—",
        "45 s",
        "10 min",
        "1 h 30 min",
        "2 d 7 h",
    ]


# --- Leaderboard ----------------------------------------------------------------------------------


def test_leaderboard_ranks_divisions_for_the_service_admin(planted, admin_user):
    board = units_leaderboard(admin_user, period_days=7, now=NOW)
    assert [row.unit.name for row in board] == ["South Division", "North Division"]  # 100 % before 62.5 %
    north = board[1]
    assert north.label == "Metro Police Service/North Division"
    assert (north.metrics.inbound, north.metrics.answered, north.metrics.waiting) == (8, 5, 2)
    assert north.metrics.median_first_response_seconds == HOUR
    assert north.metrics.oldest_waiting_created_at == NOW - datetime.timedelta(days=10)


def test_leaderboard_for_a_supervisor_ranks_their_stations(planted, viewer):
    board = units_leaderboard(viewer, period_days=7, now=NOW)
    assert [(row.unit.name, row.metrics.inbound) for row in board] == [("11 Station", 6), ("Traffic Team", 2)]


def test_leaderboard_ties_on_rate_are_broken_by_median(planted, org, admin_user, traffic_account):
    board = units_leaderboard(admin_user, period_days=7, now=NOW, depth=3)
    # 51 Station 100 %, 11 Station 67 %, Traffic Team 50 %
    assert [row.unit.name for row in board] == ["51 Station", "11 Station", "Traffic Team"]
    plant(traffic_account, days_ago=3, response_seconds=30)
    plant(traffic_account, days_ago=3, response_seconds=30)
    plant(traffic_account, days_ago=3, response_seconds=30)
    plant(traffic_account, days_ago=3, status="waiting")
    # Traffic Team now answers 4 of 6 like 11 Station, with a faster median (30 s against 1 h 30 min).
    board = units_leaderboard(admin_user, period_days=7, now=NOW, depth=3)
    assert [row.unit.name for row in board] == ["51 Station", "Traffic Team", "11 Station"]
    assert board[1].metrics.response_rate == board[2].metrics.response_rate


def test_leaderboard_outsider_sees_nothing_of_north(planted, outsider):
    board = units_leaderboard(outsider, period_days=7, now=NOW)
    assert [row.unit.name for row in board] == ["51 Station"]
    assert units_leaderboard(outsider, period_days=7, now=NOW, depth=2)[0].metrics.inbound == 1


def test_leaderboard_is_empty_for_a_member(planted, north_member):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    assert units_leaderboard(user, period_days=7, now=NOW) == []


# --- Query budgets --------------------------------------------------------------------------------


def grow(org, accounts, *, units=3, items=40):
    """More units, accounts and items everywhere: nothing above may cost more queries."""
    for index in range(units):
        unit = make_unit(f"Growth Station {index}", org["north"], kind="station")
        account = SocialAccountFactory.create(unit=unit)
        accounts.append(account)
    for index in range(items):
        account = accounts[index % len(accounts)]
        plant(account, days_ago=index % 9, status="waiting" if index % 3 else "answered",
              response_seconds=None if index % 3 else 60 * index, question=bool(index % 2))  # fmt: skip


def test_metrics_query_count_is_constant(planted, org, admin_user, north_account, django_assert_num_queries):
    user = fresh(admin_user)
    # scope (grants, member), the unit, the aggregate
    with django_assert_num_queries(4 + PERCENTILES):
        response_metrics(user, unit=org["north"], period_days=30, now=NOW)
    grow(org, [north_account])
    user = fresh(admin_user)
    with django_assert_num_queries(4 + PERCENTILES):
        grown = response_metrics(user, unit=org["north"], period_days=30, now=NOW)
    assert grown.inbound == 50
    with django_assert_num_queries(1 + PERCENTILES):  # the scope is memoized on the user; no unit or account to check
        response_metrics(user, period_days=30, now=NOW)


def test_leaderboard_query_count_is_constant(planted, org, admin_user, north_account, django_assert_num_queries):
    user = fresh(admin_user)
    # scope (grants, member), levels, units, unit labels, the grouped aggregate
    with django_assert_num_queries(6 + PERCENTILES):
        units_leaderboard(user, period_days=30, now=NOW, depth=None)
    grow(org, [north_account], units=6, items=80)
    user = fresh(admin_user)
    with django_assert_num_queries(6 + PERCENTILES):
        board = units_leaderboard(user, period_days=30, now=NOW, depth=None)
    assert {row.unit.name: row.metrics.inbound for row in board} == {"North Division": 90, "South Division": 1}
    with django_assert_num_queries(3 + PERCENTILES):  # the level is given; the scope is memoized
        stations = units_leaderboard(user, period_days=30, now=NOW, depth=3)
    assert len(stations) == 9


# --- Pages ----------------------------------------------------------------------------------------


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_unit_metrics_fragment(client, planted, org, viewer, frozen):
    client.force_login(viewer)
    url = reverse("insights:unit-metrics", args=[org["north"].pk])
    response = client.get(url, {"period": "7d"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="response-metrics"' in body
    assert "<dt>Inbound</dt><dd>8</dd>" in body
    assert "<dt>Response rate</dt><dd>62%</dd>" in body  # 5 of 8
    assert "<dt>Median first response</dt><dd>1 h 00 min</dd>" in body
    assert "HX-Request" in response["Vary"]
    assert f'hx-get="{url}?period=30d"' in body


def test_unit_metrics_full_page_and_invalid_period(client, planted, org, viewer, frozen):
    client.force_login(viewer)
    response = client.get(reverse("insights:unit-metrics", args=[org["north"].pk]), {"period": "forever"})
    assertContains(response, "<html")
    assertContains(response, "North Division")
    assertContains(response, '<strong aria-current="true">Last 30 days</strong>', html=True)
    assertContains(response, "<dt>Inbound</dt><dd>10</dd>")  # 30 days: all of North


def test_unit_metrics_outsider_gets_404(client, planted, org, outsider):
    client.force_login(outsider)
    assert client.get(reverse("insights:unit-metrics", args=[org["north"].pk])).status_code == 404
    response = client.get(reverse("insights:unit-metrics", args=[org["south"].pk]), headers={"HX-Request": "true"})
    assertContains(response, "<dt>Inbound</dt><dd>1</dd>")


def test_account_metrics_fragment_and_scoping(client, planted, north_account, north_member, viewer, outsider, frozen):
    url = reverse("insights:account-metrics", args=[north_account.pk])
    client.force_login(viewer)
    response = client.get(url, {"period": "7d"}, headers={"HX-Request": "true"})
    assertContains(response, "<dt>Inbound</dt><dd>6</dd>")
    assertContains(response, "<dt>Answered within 4 h</dt><dd>50%</dd>")
    assertNotContains(response, "<html")
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    holder = UserFactory.create(username="alex")
    north_member.user = holder
    north_member.save(update_fields=["user"])
    client.force_login(holder)
    assertContains(client.get(url), "TPS11Alex")


def test_metrics_pages_need_login(client, org):
    response = client.get(reverse("insights:unit-metrics", args=[org["north"].pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_leaderboard_page(client, planted, viewer, frozen):
    client.force_login(viewer)
    response = client.get(reverse("insights:leaderboard"), {"period": "7d"})
    assertContains(response, "<html")
    assertContains(response, "11 Station")
    assertContains(response, "Traffic Team")
    assertNotContains(response, "51 Station")
    assertNotContains(response, "South Division")
    body = response.content.decode()
    assert body.index("11 Station") < body.index("Traffic Team")


def test_leaderboard_fragment_level_and_bad_parameters(client, planted, admin_user, frozen):
    client.force_login(admin_user)
    url = reverse("insights:leaderboard")
    response = client.get(url, {"period": "bogus", "level": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert '<option value="30d" selected>' in body
    assert "North Division" in body
    assert "11 Station" not in body
    response = client.get(url, {"period": "90d", "level": "3"})
    assertContains(response, "11 Station")
    assertContains(response, "51 Station")
    # A history restore (back button) gets the whole page.
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assertContains(restore, "<html")


def test_leaderboard_outsider_sees_only_south(client, planted, outsider, frozen):
    client.force_login(outsider)
    response = client.get(reverse("insights:leaderboard"), {"level": "2"})
    assertContains(response, "South Division")
    assertNotContains(response, "North")
    assertNotContains(response, "11 Station")


def test_leaderboard_forbidden_to_members(client, planted, north_member):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    client.force_login(user)
    assert client.get(reverse("insights:leaderboard")).status_code == 403


def test_leaderboard_escapes_unit_names(client, org, admin_user):
    hostile = make_unit('"><img src=x onerror=alert(1)>', org["root"], kind="division")
    account = SocialAccountFactory.create(unit=hostile)
    plant(account, days_ago=1, response_seconds=5)
    client.force_login(admin_user)
    response = client.get(reverse("insights:leaderboard"))
    assertContains(response, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
    assertNotContains(response, "<img src=x")


def test_pages_query_count_does_not_grow(client, planted, org, admin_user, north_account, frozen):
    client.force_login(admin_user)
    urls = [
        reverse("insights:leaderboard"),
        reverse("insights:leaderboard") + "?level=3",
        reverse("insights:unit-metrics", args=[org["north"].pk]),
        reverse("insights:account-metrics", args=[north_account.pk]),
    ]

    def counts():
        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            result.append(len(queries))
        return result

    before = counts()
    grow(org, [north_account], units=5, items=60)
    assert counts() == before
