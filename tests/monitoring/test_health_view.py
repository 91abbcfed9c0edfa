"""The polling health page: who may see it, what they see, pages of accounts, a fixed query count."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from monitoring.models import PollState
from monitoring.views import HEALTH_PAGE_SIZE
from tests.factories import SocialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("monitoring:health")
HX = {"HX-Request": "true"}
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_user_without_a_role_is_refused(client, org, north_account):
    client.force_login(UserFactory.create(username="no-role"))
    response = client.get(URL)
    assert response.status_code == 403
    assertNotContains(response, "TPS11Alex", status_code=403)


def test_each_supervisor_sees_only_their_subtree(client, org, viewer, outsider, north_account, south_account):
    PollState.objects.create(account=south_account, last_error=HOSTILE, consecutive_failures=2)
    client.force_login(viewer)
    response = client.get(URL)
    assertContains(response, "TPS11Alex")
    assertContains(response, "Metro Police Service/North Division/11 Station")
    assertNotContains(response, "TPS51Sam")
    assertNotContains(response, "South Division")
    client.force_login(outsider)
    response = client.get(URL)
    assertContains(response, "TPS51Sam")
    assertNotContains(response, "TPS11Alex")
    assertNotContains(response, "11 Station")
    body = response.content.decode()
    assert "<script>alert(1)" not in body  # the platform's error text is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_problem_filter_and_htmx_fragment(client, org, viewer, north_account):
    broken = SocialAccountFactory.create(unit=org["11"], handle="BrokenOne", status="needs_reconnect")
    PollState.objects.create(account=north_account, last_success_at=datetime.datetime.now(datetime.UTC))
    client.force_login(viewer)
    response = client.get(URL, {"problem": "needs_reconnect"}, headers=HX)
    body = response.content.decode()
    assert "<html" not in body
    assert broken.handle in body
    assert north_account.handle not in body
    assert response["Vary"].count("HX-Request") == 1


def test_accounts_are_paginated(client, org, viewer, frozen_now):
    for number in range(HEALTH_PAGE_SIZE + 5):
        SocialAccountFactory.create(unit=org["11"], handle=f"acct{number:03d}")
    client.force_login(viewer)
    first = client.get(URL)
    assertContains(first, f"{HEALTH_PAGE_SIZE + 5} accounts · page 1 of 2")
    assertContains(first, "acct000")
    assertNotContains(first, f"acct{HEALTH_PAGE_SIZE + 4:03d}")
    assertContains(first, 'rel="next"')
    second = client.get(URL, {"page": 2}, headers=HX)
    assertContains(second, f"acct{HEALTH_PAGE_SIZE + 4:03d}")
    assertNotContains(second, "acct000")
    assertContains(second, 'rel="prev"')
    assert client.get(URL, {"page": "nonsense"}).status_code == 200  # a bad page number shows the first


def test_query_count_stays_constant_as_accounts_grow(client, org, viewer, django_assert_num_queries):
    def add_accounts(prefix, count):
        for number in range(count):
            account = SocialAccountFactory.create(unit=org["11"], handle=f"{prefix}{number}")
            PollState.objects.create(account=account, consecutive_failures=number % 2, last_error="HTTP 500")

    add_accounts("few", 2)
    client.force_login(viewer)
    client.get(URL)  # warm up what is cached once per process
    with CaptureQueriesContext(connection) as context:
        assert client.get(URL).status_code == 200
    small = len(context)
    add_accounts("many", 60)
    with django_assert_num_queries(small):
        response = client.get(URL)
    assertContains(response, "62 accounts")
