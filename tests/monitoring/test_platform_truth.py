"""Polls through the real client libraries against doubles that send the real shapes, into PostgreSQL:
unreadable items are kept and skipped, private messages stay private, failures are classified — and the
health page shows it, scoped."""

import csv
import datetime
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts_registry.crypto import encrypt_credentials
from accounts_registry.models import SocialAccount
from doubles.facebook import FacebookDouble
from doubles.mastodon import MastodonDouble, status_id
from doubles.scenario import Item, Scenario
from doubles.server import Fault
from engagement.models import TriageItem
from engagement.services.tokens import api_token_create
from monitoring.models import Message, PollState, SkippedItem
from monitoring.services.polling import account_poll
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-for-tests"
ORG_ID = "109000000000000011"
HOSTILE = "<script>alert(1)</script>"


def ago(minutes: float) -> datetime.datetime:
    return timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=minutes)


@pytest.fixture
def scenario():
    return Scenario()


@pytest.fixture
def mastodon(scenario, settings):
    settings.CHORUS_HTTP_TIMEOUT = 2.0
    cache.clear()
    server = MastodonDouble(scenario).start()
    yield server
    server.stop()


@pytest.fixture
def station(scenario, mastodon, org):
    """11 Station's Mastodon account: a public mention, a private (direct) one, and one unreadable status."""
    person = scenario.add_account("mastodon", ORG_ID, "mps11", "11 Station", token=TOKEN)
    dana = scenario.add_account("mastodon", "500", "dana@example.social", "Dana K")

    def add(text, minutes, **shape):
        return scenario.add(Item("mastodon", status_id(ago(minutes)), dana, person, text, ago(minutes), **shape))

    items = {
        "public": add("@mps11 is the station open on Sunday?", 30),
        "direct": add("@mps11 my neighbour at 12 Elm St is dealing drugs", 20, visibility="direct"),
        "broken": add(f"@mps11 {HOSTILE}", 10, broken="bad_time"),
        "after": add("@mps11 thanks for the help", 5),
    }
    account = SocialAccountFactory.create(
        platform="mastodon",
        handle="mps11",
        unit=org["11"],
        instance_url=mastodon.url,
        credentials_ciphertext=encrypt_credentials({"access_token": TOKEN}),
    )
    return account, items


def test_an_unreadable_item_is_kept_raw_counted_and_skipped_once(station):
    account, items = station

    summary = account_poll(account_id=account.pk)

    assert summary is not None and summary.outcome == "ok"
    stored = set(Message.objects.filter(account=account).values_list("external_id", flat=True))
    assert stored == {items["public"].id, items["direct"].id, items["after"].id}
    skipped = SkippedItem.objects.get(account=account)
    assert skipped.platform == "mastodon"
    assert skipped.raw["status"]["id"] == items["broken"].id
    assert "created_at" in skipped.reason or "unexpected" in skipped.reason
    state = PollState.objects.get(account=account)
    assert state.items_skipped == 1

    assert account_poll(account_id=account.pk).outcome == "ok"  # type: ignore[union-attr]
    assert SkippedItem.objects.filter(account=account).count() == 1  # the cursor moved past it
    state.refresh_from_db()
    assert state.items_skipped == 1


def test_health_page_links_the_raw_skipped_items_in_scope_only(client, station, viewer, outsider):
    account, _ = station
    account_poll(account_id=account.pk)
    skipped_url = reverse("monitoring:account-skipped", args=[account.pk])

    client.force_login(viewer)
    health = client.get(reverse("monitoring:health"))
    assert health.status_code == 200
    assert f'href="{skipped_url}"' in health.content.decode()
    assert "1 skipped" in health.content.decode()
    raw_page = client.get(skipped_url)
    assert raw_page.status_code == 200
    body = raw_page.content.decode()
    # The raw JSON holds the status's HTML `content`: shown as text, escaped, never as markup.
    assert "&lt;p&gt;" in body and "&amp;lt;script&amp;gt;" in body
    assert 'class="h-card"' not in body and HOSTILE not in body
    assert "&quot;created_at&quot;: null" in body  # Mastodon.py drops a date it cannot parse: shown as missing

    client.force_login(outsider)
    assert client.get(skipped_url).status_code == 404
    assert skipped_url not in client.get(reverse("monitoring:health")).content.decode()


def test_a_direct_message_is_marked_private_and_left_out_of_export_and_api(client, station, viewer, outsider):
    account, items = station
    account_poll(account_id=account.pk)
    direct = Message.objects.get(external_id=items["direct"].id)
    assert direct.visibility == Message.Visibility.DIRECT
    item = TriageItem.objects.get(message=direct)

    client.force_login(viewer)
    inbox = client.get(reverse("inbox:index")).content.decode()
    assert "Private message" in inbox and "12 Elm St" in inbox  # shown, marked, to users in scope

    def exported(**params):
        response = client.get(reverse("inbox:export"), params)
        text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
        return {row[3] for row in list(csv.reader(io.StringIO(text)))[1:]}

    assert items["public"].id in exported() and items["direct"].id not in exported()
    assert items["direct"].id in exported(include_private="1")

    key = api_token_create(user=viewer, name="test")[1]

    def api_ids(**params):
        response = client.get(reverse("api:triage-items"), params, headers={"Authorization": f"Token {key}"})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert item.pk not in api_ids()
    assert item.pk in api_ids(include_private="true")

    client.force_login(outsider)  # the scoping keeps the text from anyone whose scope misses the account
    assert client.get(reverse("inbox:item", args=[item.pk])).status_code == 404
    assert "12 Elm St" not in client.get(reverse("inbox:index")).content.decode()
    assert "12 Elm St" not in client.get(reverse("monitoring:account-messages", args=[account.pk])).content.decode()


PAGE_ID = "104000000000011"
PAGE_TOKEN = "page-token-for-tests"


def test_a_missing_graph_permission_needs_reconnecting_and_the_health_page_says_which(
    client, scenario, org, viewer, settings
):
    page = scenario.add_account("facebook", PAGE_ID, "mps11", "11 Station", token=PAGE_TOKEN)
    scenario.add(Item("facebook", f"{PAGE_ID}_1", page, page, "Station open Sunday", ago(60)))
    server = FacebookDouble(scenario).start()
    try:
        body = server.permission_error(100, "pages_read_engagement")
        server.inject(Fault(kind="status", status=400, path=r"/posts$", body=body))
        settings.CHORUS_FACEBOOK_API_BASE = server.url
        settings.CHORUS_FACEBOOK_APP_SECRET = ""
        account = SocialAccountFactory.create(
            platform="facebook",
            handle="mps11",
            external_id=PAGE_ID,
            unit=org["11"],
            credentials_ciphertext=encrypt_credentials({"access_token": PAGE_TOKEN}),
        )

        summary = account_poll(account_id=account.pk)
    finally:
        server.stop()

    assert summary is not None and summary.outcome == "unauthorized"
    account.refresh_from_db()
    assert account.status == SocialAccount.Status.NEEDS_RECONNECT
    state = PollState.objects.get(account=account)
    assert state.last_error_kind == "permission"
    client.force_login(viewer)
    body = client.get(reverse("monitoring:health")).content.decode()
    assert "Missing permission" in body
    assert "pages_read_engagement" in body
