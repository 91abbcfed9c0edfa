"""The outbound-URL guard (common/outbound.py) and every destination that uses it.

These failed before the guard: an admin could onboard a Mastodon account with
`instance_url=http://127.0.0.1:<port>` (or a handle whose domain resolves to loopback), and the poll sent
`GET /api/v1/accounts/verify_credentials` with the account's bearer token there; the alert webhook was
posted to any URL. Each test below runs a loopback server and checks that it received nothing.
"""

from __future__ import annotations

import datetime
import ipaddress
import json

import pytest
import requests
from django.core.exceptions import ValidationError

from accounts_registry.crypto import encrypt_credentials
from accounts_registry.services.accounts import OnboardingRequest, account_onboard, onboarding_errors
from alerts.services.deliveries import _webhook_post
from common.outbound import UnsafeDestination, destination_check, is_public_address, outbound_session
from doubles.server import DoubleServer, Response
from monitoring.connectors.base import AccountRef, RefusedDestination
from monitoring.connectors.mastodon import MastodonConnector
from monitoring.models import PollRun
from monitoring.services.polling import account_poll
from tests.factories import SocialAccountFactory

REFUSED = [
    "http://example.org/",  # not https
    "https://127.0.0.1/",
    "https://127.8.9.10:8443/",
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata service
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "https://0.0.0.0/",
    "https://224.0.0.1/",  # multicast
    "https://240.0.0.1/",  # reserved
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://localhost/",  # a name that resolves to loopback
    "https://user:secret@93.184.215.14/",  # credentials in the URL
    "https:///no-host",
    "ftp://93.184.215.14/",
]


@pytest.fixture
def no_allowlist(settings):
    """Production: nothing is exempt (the test settings allow the loopback doubles)."""
    settings.CHORUS_OUTBOUND_ALLOWLIST = []
    return settings


@pytest.fixture
def server():
    server = DoubleServer()
    server.route("GET", r"/.*", lambda request: Response(200, {"id": "1", "username": "acme"}))
    server.route("POST", r"/.*", lambda request: Response(200, {"ok": True}))
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("url", REFUSED)
def test_the_guard_refuses_non_https_and_non_public_destinations(no_allowlist, url):
    with pytest.raises(UnsafeDestination):
        destination_check(url)


def test_a_public_https_destination_passes():
    assert destination_check("https://93.184.215.14/api") == "https://93.184.215.14/api"  # a literal: no DNS
    assert is_public_address(ipaddress.ip_address("2606:4700::6810:85e5"))


def test_the_allowlist_names_exact_origins(settings):
    settings.CHORUS_OUTBOUND_ALLOWLIST = ["http://127.0.0.1:8104"]
    assert destination_check("http://127.0.0.1:8104/api") == "http://127.0.0.1:8104/api"
    for url in ("http://127.0.0.1:8105/", "https://127.0.0.1:8104/", "http://127.0.0.10:8104/"):
        with pytest.raises(UnsafeDestination):
            destination_check(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_session_refuses_loopback_at_connect_time_and_sends_nothing(no_allowlist, server, host):
    port = server.url.rsplit(":", 1)[1]
    with outbound_session() as session:
        for url in (f"https://{host}:{port}/", f"http://{host}:{port}/"):
            with pytest.raises(requests.RequestException):
                session.get(url)
    assert server.requests == []


def test_the_session_never_follows_a_redirect(settings):
    server = DoubleServer()
    server.route("GET", "/hop", lambda request: Response(302, None, {"Location": "http://169.254.169.254/"}))
    server.start()
    try:
        settings.CHORUS_OUTBOUND_ALLOWLIST = [server.url]  # the loopback server itself is allowed...
        with outbound_session() as session:
            response = session.get(f"{server.url}/hop")
    finally:
        server.stop()
    assert response.status_code == 302  # ...but its redirect is not followed
    assert [request.path for request in server.requests] == ["/hop"]


# --- Mastodon: at save time (onboarding, CSV import) and at connect time ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("handle", "instance_url"),
    [
        ("acme@police.example", "http://127.0.0.1:{port}"),
        ("acme@police.example", "https://127.0.0.1:{port}"),
        ("acme@police.example", "https://169.254.169.254"),
        ("acme@police.example", "https://10.0.0.8"),
        ("acme@police.example", "https://[::1]:{port}"),
        ("acme@localhost.localdomain", ""),  # derived from the handle, as a CSV import does
    ],
)
def test_onboarding_refuses_an_instance_url_that_is_not_public(org, owner, no_allowlist, server, handle, instance_url):
    port = server.url.rsplit(":", 1)[1]
    request = OnboardingRequest(
        platform="mastodon",
        handle=handle,
        kind="unit",
        unit=org["11"],
        instance_url=instance_url.format(port=port),
        credentials={"access_token": "token"},
    )
    assert any("instance URL" in error and "cannot be used" in error for error in onboarding_errors(request))
    with pytest.raises(ValidationError):
        account_onboard(request=request, actor=owner)
    assert server.requests == []


@pytest.mark.django_db
def test_an_account_saved_before_is_refused_at_connect_time_without_a_request(org, settings, server):
    """DNS or the allowlist may change after the save: the poll checks again and sends nothing."""
    account = SocialAccountFactory.create(platform="mastodon", handle="acme@police.example", unit=org["11"])
    account.instance_url = server.url
    account.save(update_fields=["instance_url"])
    settings.CHORUS_OUTBOUND_ALLOWLIST = []
    ref = AccountRef(
        id=account.pk,
        platform="mastodon",
        handle="acme",
        external_id=None,
        instance_url=server.url,
        credentials={"access_token": "bearer-secret"},
    )
    with pytest.raises(RefusedDestination):
        MastodonConnector().fetch(ref, cursors={}, backfill_since=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert server.requests == []


@pytest.mark.django_db
def test_a_poll_of_a_refused_instance_is_recorded_as_failed_with_the_reason(org, settings, server):
    account = SocialAccountFactory.create(
        platform="mastodon",
        handle="acme@police.example",
        unit=org["11"],
        instance_url="http://169.254.169.254",
        credentials_ciphertext=encrypt_credentials({"access_token": "bearer-secret"}),
    )
    settings.CHORUS_OUTBOUND_ALLOWLIST = []
    account_poll(account_id=account.pk)
    run = PollRun.objects.get(account=account)
    assert run.outcome == PollRun.Outcome.FAILED
    assert "instance URL cannot be used" in run.error


# --- The alert webhook --------------------------------------------------------------------------------------


def test_the_alert_webhook_is_posted_through_the_guard(no_allowlist, server, caplog):
    no_allowlist.CHORUS_POLICY_WEBHOOK_URL = f"{server.url}/hook"
    assert _webhook_post("Chorus: possible emergency") == "webhook failed: UnsafeDestination"
    assert server.requests == []


def test_an_allowlisted_alert_webhook_is_posted(settings, server):
    settings.CHORUS_POLICY_WEBHOOK_URL = f"{server.url}/hook"
    assert _webhook_post("Chorus: possible emergency") == ""
    [request] = server.requests
    assert json.loads(request.body) == {"text": "Chorus: possible emergency"}
