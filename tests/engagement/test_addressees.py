"""A message belongs to every org account it addresses: a tweet mentioning two stations of different
divisions, read through the real X connector from the X double, is in both supervisors' scope (inbox,
item page, export, API, counts), is answered once either station replies, counts once per addressed
account and once in the organization's total — and stays invisible to a third unit."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import Role
from doubles.scenario import Item, Person
from doubles.scenario import Scenario as DoubleScenario
from doubles.x import XDouble, snowflake
from engagement.models import TriageItem
from engagement.selectors.metrics import response_metrics, units_leaderboard
from engagement.selectors.triage_item import assignable_users
from engagement.services.tokens import api_token_create
from monitoring.models import DailyActivity, Message, MessageAddressee
from monitoring.services.polling import account_poll
from tests.factories import SocialAccountFactory, UserFactory, grant, make_unit

pytestmark = pytest.mark.django_db

APP_BEARER = "addressees-app-bearer"
NORTH_ID, SOUTH_ID = "1500000000000000011", "1500000000000000051"
CITIZEN = Person("x", "1600000000000000099", "dana_k", "Dana K")
QUESTION = "@MPS11Div @MPS51Div is the bridge closed tonight?"


@pytest.fixture
def world(settings, org):
    settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    settings.CHORUS_HTTP_TIMEOUT = 5.0
    settings.CHORUS_X_SEARCH_SWEEP = False
    cache.clear()  # rate-limit gates of earlier tests
    scenario = DoubleScenario()
    double = XDouble(scenario, app_bearer=APP_BEARER).start()
    settings.CHORUS_X_API_BASE = double.url
    north = scenario.add_account("x", NORTH_ID, "MPS11Div", "11 Station")
    south = scenario.add_account("x", SOUTH_ID, "MPS51Div", "51 Station")
    posted = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=30)
    question = scenario.add(Item("x", snowflake(posted, scenario.next_number()), CITIZEN, north, QUESTION, posted))
    accounts = {
        "north": SocialAccountFactory.create(platform="x", handle="MPS11Div", external_id=NORTH_ID, unit=org["11"]),
        "south": SocialAccountFactory.create(platform="x", handle="MPS51Div", external_id=SOUTH_ID, unit=org["51"]),
    }
    yield scenario, question, south, accounts
    double.stop()


@pytest.fixture
def east_supervisor(org):
    east = make_unit("East Division", org["root"], kind="division")
    user = UserFactory.create(username="east-supervisor")
    grant(user, Role.SUPERVISOR, east)
    return user


def poll(account):
    summary = account_poll(account_id=account.pk)
    assert summary is not None and summary.outcome == "ok", summary


def test_a_tweet_to_two_divisions_is_in_both_scopes_answered_once_and_counted_per_account(
    client, world, viewer, outsider, east_supervisor, admin_user
):
    scenario, question, south_person, accounts = world
    poll(accounts["north"])
    poll(accounts["south"])

    message = Message.objects.get(external_id=question.id)  # stored once
    assert message.account == accounts["north"]
    assert set(MessageAddressee.objects.values_list("message_id", "account_id")) == {(message.pk, accounts["south"].pk)}
    item = TriageItem.objects.get(message=message)  # one item: one decision for every addressed scope
    item_url = reverse("inbox:item", args=[item.pk])
    for supervisor in (viewer, outsider):  # North's and South's supervisors
        client.force_login(supervisor)
        assert "bridge closed tonight" in client.get(reverse("inbox:index")).content.decode()
        assert client.get(item_url).status_code == 200
        assert "bridge closed tonight" in b"".join(client.get(reverse("inbox:export")).streaming_content).decode()
        key = api_token_create(user=supervisor, name="script")[1]
        listed = client.get(reverse("api:triage-items"), headers={"Authorization": f"Token {key}"}).json()
        assert [row["id"] for row in listed["results"]] == [item.pk]
    assignable = assignable_users(item)
    assert viewer in assignable and outsider in assignable and east_supervisor not in assignable
    client.force_login(east_supervisor)
    assert client.get(item_url).status_code == 404
    assert "bridge closed tonight" not in client.get(reverse("inbox:index")).content.decode()

    # South answers; North's supervisor sees it answered too.
    replied = timezone.now().replace(microsecond=0) - datetime.timedelta(minutes=5)
    scenario.add(
        Item(
            "x",
            snowflake(replied, scenario.next_number()),
            south_person,
            south_person,
            "@dana_k yes, until 6am",
            replied,
            in_reply_to=question.id,
        )
    )
    poll(accounts["south"])
    item.refresh_from_db()
    assert item.status == TriageItem.Status.ANSWERED
    assert item.answer is not None and item.answer.account == accounts["south"]
    client.force_login(viewer)
    assert "bridge closed tonight" in client.get(reverse("inbox:index"), {"status": "answered"}).content.decode()

    # Counted once per addressed account, once per division, once in the organization's total.
    for account in accounts.values():
        metrics = response_metrics(admin_user, account=account, period_days=7)
        assert (metrics.inbound, metrics.answered) == (1, 1)
        assert DailyActivity.objects.get(account=account, day=timezone.localdate(message.created_at)).inbound == 1
    assert response_metrics(admin_user, period_days=7).inbound == 1
    assert response_metrics(viewer, period_days=7).inbound == 1
    assert response_metrics(outsider, period_days=7).inbound == 1
    board = {row.label: row.metrics.inbound for row in units_leaderboard(admin_user, period_days=7, depth=2)}
    assert board["Metro Police Service/North Division"] == 1
    assert board["Metro Police Service/South Division"] == 1
    assert board["Metro Police Service/East Division"] == 0
    assert response_metrics(east_supervisor, period_days=7).inbound == 0


def test_polling_again_adds_nothing(world):
    accounts = world[3]
    for _ in range(2):
        poll(accounts["north"])
        poll(accounts["south"])
    assert MessageAddressee.objects.count() == 1
    assert sum(DailyActivity.objects.values_list("inbound", flat=True)) == 2
