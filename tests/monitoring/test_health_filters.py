"""The health page's filters (state, platform, unit within scope) and the one definition of "stale"."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from monitoring.models import PlatformUsage, PollState
from monitoring.services.polling import STALE_AFTER_INTERVALS, effective_poll_interval, is_stale
from monitoring.views import HEALTH_PAGE_SIZE
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("monitoring:health")
HX = {"HX-Request": "true"}


def account_with_state(org, handle, *, unit="11", platform="x", kind="unit", since_success=None, **state):
    account = SocialAccountFactory.create(unit=org[unit], handle=handle, platform=platform, kind=kind)
    account.status_changed_at = timezone.now() - datetime.timedelta(days=1)
    account.save(update_fields=["status_changed_at"])
    last_success = None if since_success is None else timezone.now() - since_success
    PollState.objects.create(account=account, last_success_at=last_success, **state)
    return account


@pytest.fixture
def accounts(org):
    cache.clear()
    interval = datetime.timedelta(seconds=120)
    return {
        "fresh": account_with_state(org, "FreshOne", since_success=interval),
        "stale": account_with_state(org, "StaleOne", since_success=4 * interval),
        "failing": account_with_state(org, "FailingOne", since_success=4 * interval, consecutive_failures=2),
        "bluesky": account_with_state(org, "SkyOne", platform="bluesky", unit="traffic", since_success=interval),
    }


def handles(response):
    body = response.content.decode()
    return {handle for handle in ("FreshOne", "StaleOne", "FailingOne", "SkyOne") if handle in body}


def test_filter_by_state(client, viewer, accounts):
    client.force_login(viewer)
    assert handles(client.get(URL, {"problem": "stale"}, headers=HX)) == {"StaleOne"}
    assert handles(client.get(URL, {"problem": "failing"}, headers=HX)) == {"FailingOne"}
    assert handles(client.get(URL, {"problem": "ok"}, headers=HX)) == {"FreshOne", "SkyOne"}
    assert handles(client.get(URL, {"problem": "nonsense"}, headers=HX)) == set(
        ["FreshOne", "StaleOne", "FailingOne", "SkyOne"]
    )


def test_filter_by_platform_and_unit(client, viewer, org, accounts):
    client.force_login(viewer)
    assert handles(client.get(URL, {"platform": "bluesky"}, headers=HX)) == {"SkyOne"}
    assert handles(client.get(URL, {"unit": org["traffic"].pk}, headers=HX)) == {"SkyOne"}
    assert handles(client.get(URL, {"unit": org["north"].pk, "problem": "ok"}, headers=HX)) == {"FreshOne", "SkyOne"}


def test_an_outsider_filtering_by_a_unit_of_another_subtree_gets_404(client, outsider, org, accounts):
    client.force_login(outsider)
    response = client.get(URL, {"unit": org["11"].pk})
    assert response.status_code == 404
    assertNotContains(response, "FreshOne", status_code=404)
    assert client.get(URL, {"unit": org["11"].pk}, headers=HX).status_code == 404


def test_filters_survive_paging(client, viewer, org):
    for number in range(HEALTH_PAGE_SIZE + 2):
        account_with_state(org, f"sky{number:03d}", platform="bluesky", since_success=datetime.timedelta(seconds=1))
    client.force_login(viewer)
    response = client.get(URL, {"platform": "bluesky"})
    assertContains(response, 'href="?platform=bluesky&amp;page=2"')
    second = client.get(URL, {"platform": "bluesky", "page": 2}, headers=HX)
    assertContains(second, f"sky{HEALTH_PAGE_SIZE + 1:03d}")


def test_unit_names_are_shown_with_the_full_path_as_a_title(client, viewer, accounts):
    client.force_login(viewer)
    response = client.get(URL)
    assertContains(
        response, '<span title="Metro Police Service/North Division/11 Station">11 Station</span>', html=False
    )


def test_stale_is_measured_in_the_accounts_own_interval(org, settings):
    cache.clear()
    now = timezone.now()
    corporate = account_with_state(org, "Corp", kind="corporate", since_success=datetime.timedelta(minutes=4))
    unit = account_with_state(org, "Unit", since_success=datetime.timedelta(minutes=4))
    # Corporate accounts poll every minute: four minutes is more than three intervals; a unit account's
    # interval is two minutes: four minutes is not.
    assert effective_poll_interval(corporate) == datetime.timedelta(seconds=settings.CHORUS_POLL_INTERVAL_CORPORATE)
    assert is_stale(corporate, corporate.poll_state, now=now)
    assert not is_stale(unit, unit.poll_state, now=now)
    assert STALE_AFTER_INTERVALS == 3


def test_a_budget_stretched_interval_is_not_stale_early(org, settings):
    """Polls slowed down to fit the month's read budget are on schedule, not stale."""
    cache.clear()
    settings.CHORUS_READ_BUDGETS = {"x": 10}
    today = timezone.localdate()
    PlatformUsage.objects.create(platform="x", month=today.replace(day=1), reads=10_000)
    account = account_with_state(org, "Stretched", since_success=datetime.timedelta(minutes=10))
    assert effective_poll_interval(account) > datetime.timedelta(minutes=10)
    assert not is_stale(account, account.poll_state, now=timezone.now())
    cache.clear()


def test_waiting_for_a_rate_limit_reset_or_failing_is_not_stale(org):
    cache.clear()
    now = timezone.now()
    waiting = account_with_state(
        org,
        "Waiting",
        since_success=datetime.timedelta(hours=1),
        rate_limit_remaining=0,
        rate_limit_reset_at=now + datetime.timedelta(minutes=5),
    )
    failing = account_with_state(org, "Failing", since_success=datetime.timedelta(hours=1), consecutive_failures=1)
    never = account_with_state(org, "Never")  # activated a day ago, never polled: stale
    assert not is_stale(waiting, waiting.poll_state, now=now)
    assert not is_stale(failing, failing.poll_state, now=now)
    assert is_stale(never, never.poll_state, now=now)


def test_filtered_query_count_stays_constant_as_accounts_grow(client, viewer, org, django_assert_max_num_queries):
    cache.clear()
    account_with_state(org, "first", since_success=datetime.timedelta(seconds=1))
    client.force_login(viewer)
    params = {"unit": org["north"].pk, "problem": "stale", "platform": "x"}
    client.get(URL, params)  # warm what is cached once per process (the budget stretch)
    with CaptureQueriesContext(connection) as context:
        assert client.get(URL, params).status_code == 200
    for number in range(40):
        account_with_state(org, f"more{number}", unit="traffic", since_success=datetime.timedelta(hours=number))
    with django_assert_max_num_queries(len(context)):
        assert client.get(URL, params).status_code == 200


def test_the_export_link_keeps_every_filter_of_the_page(client, viewer, org, accounts):
    client.force_login(viewer)
    response = client.get(URL, {"platform": "bluesky", "unit": org["traffic"].pk, "page": "1"})
    export = reverse("monitoring:health-export")
    assertContains(response, f'href="{export}?platform=bluesky&amp;unit={org["traffic"].pk}"')
    assert handles(client.get(URL, {"platform": "bluesky", "unit": org["traffic"].pk})) == {"SkyOne"}
