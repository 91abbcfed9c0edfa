"""The "first poll in progress" notice: counts the user's never-polled accounts only, polls while any wait."""

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from monitoring.models import PollState
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("monitoring:first-poll")
HX = {"HX-Request": "true"}


def test_the_notice_counts_only_the_users_never_polled_accounts(client, org, viewer, outsider, north_account):
    SocialAccountFactory.create(unit=org["11"], handle="NeverPolled")
    polled = SocialAccountFactory.create(unit=org["11"], handle="Polled")
    PollState.objects.create(account=polled, last_success_at=timezone.now())
    SocialAccountFactory.create(unit=org["51"], handle="SouthNever")
    SocialAccountFactory.create(unit=org["11"], handle="Paused", status="paused")  # not polled on purpose
    client.force_login(viewer)
    response = client.get(URL, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assertContains(response, "First poll in progress")
    assertContains(response, "2 accounts have not been polled yet")  # north_account and NeverPolled
    assertContains(response, 'hx-trigger="every 10s"')
    client.force_login(outsider)
    assertContains(client.get(URL, headers=HX), "1 account has not been polled yet")  # South's own


def test_the_notice_goes_blank_and_stops_polling_once_every_account_was_polled(client, org, viewer, north_account):
    PollState.objects.create(account=north_account, last_success_at=timezone.now())
    client.force_login(viewer)
    response = client.get(URL, headers=HX)
    assertNotContains(response, "First poll in progress")
    assertNotContains(response, "hx-trigger")
    assertContains(response, '<div id="first-poll"></div>')


def test_every_page_loads_the_notice(client, viewer, north_account):
    client.force_login(viewer)
    page = client.get(reverse("monitoring:health"))
    assertContains(page, f'hx-get="{URL}" hx-trigger="load" hx-select="#first-poll"')
