"""The demo's live platforms: a scenario generated for the registered accounts, served by the four API
doubles and polled through the real connectors by `manage.py poll --all --sync`, into PostgreSQL.

A small slice of the demo organization (two accounts per platform), not the full seed.
"""

import datetime
import io
import logging
import re
from collections import Counter

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from accounts_registry.crypto import encrypt_credentials
from accounts_registry.models import SocialAccount
from demo.platforms import (
    DOUBLES,
    FEATURED_WEIGHT,
    build_demo_platforms,
    demo_accounts,
    demo_settings_problems,
    demo_sweep,
    first_poll_done,
)
from doubles.generator.traffic import DemoAccount, ScenarioGenerator
from doubles.scenario import Item, Person, Scenario
from doubles.x import snowflake
from monitoring.models import Message, PollState
from tests.factories import SocialAccountFactory

APP_BEARER = "demo-traffic-app-bearer"
SUMMARY = re.compile(r"^Polled (?P<accounts>\d+) account\(s\): (?P<new>\d+) new message\(s\); (?P<outcomes>.*)$")
# (platform, handle, credential name) of the slice: a corporate account and a division's, per platform.
SLICE = (
    ("x", "MetroPolice", None),
    ("x", "MPS11Div", None),
    ("facebook", "MetroPolicePage", "access_token"),
    ("facebook", "MetroPolice11Division", "access_token"),
    ("instagram", "metropolice", "access_token"),
    ("instagram", "mps11div", "access_token"),
    ("bluesky", "metropolice.bsky.social", "app_password"),
    ("bluesky", "mps11div.bsky.social", "app_password"),
    ("mastodon", "MetroPolice@police.social", "access_token"),
    ("mastodon", "MPS11Div@police.social", "access_token"),
)


def token_of(platform, handle):
    return f"demo-{platform}-{handle.lower()}-token"


@pytest.fixture
def accounts(db, org):
    made = []
    for platform, handle, credential in SLICE:
        is_corporate = handle.lower().startswith("metropolice") and "11" not in handle
        made.append(
            SocialAccountFactory.create(
                platform=platform,
                handle=handle,
                kind="corporate" if is_corporate else "unit",
                unit=org["root"] if is_corporate else org["north"],
                instance_url="https://police.social" if platform == "mastodon" else "",
                credentials_ciphertext=encrypt_credentials({credential: token_of(platform, handle)})
                if credential
                else "",
            )
        )
    # Neither gets traffic: one is retired, the other waits for its credentials.
    SocialAccountFactory.create(platform="x", handle="MPSRetired", unit=org["north"], status="retired")
    SocialAccountFactory.create(platform="facebook", handle="MetroPoliceWaiting", unit=org["north"], status="pending")
    return made


def start(settings, *, seed=11):
    platforms = build_demo_platforms(ports=dict.fromkeys(DOUBLES, 0), seed=seed)
    settings.CHORUS_X_API_BASE = platforms.url("x")
    settings.CHORUS_FACEBOOK_API_BASE = platforms.url("facebook")
    settings.CHORUS_BLUESKY_API_BASE = platforms.url("bluesky")
    return platforms


@pytest.fixture
def platforms(settings, accounts):
    settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    settings.CHORUS_FACEBOOK_APP_SECRET = ""
    settings.CHORUS_HTTP_TIMEOUT = 5.0
    cache.clear()  # rate-limit gates of earlier tests
    platforms = start(settings)
    yield platforms
    platforms.stop()


def poll_all():
    out = io.StringIO()
    call_command("poll", "--all", "--sync", stdout=out)
    lines = out.getvalue().splitlines()
    match = SUMMARY.match(lines[-1])
    assert match, lines[-1]
    return int(match["accounts"]), int(match["new"]), match["outcomes"]


def storable(items):
    """What a poll stores of new items: not reposts, not items the double sends unreadable."""
    return [item for item in items if not item.repost_of and not item.broken]


def stored(account):
    return set(Message.objects.filter(account=account).values_list("external_id", "direction"))


def assert_stored_is_the_scenario(platforms, accounts):
    for account in accounts:
        account.refresh_from_db()
        assert account.external_id, f"{account} was not resolved"
        expected = platforms.scenario.expected(account.platform, account.external_id)
        assert expected, f"{account} got no traffic"
        assert stored(account) == expected, account


def test_poll_all_stores_exactly_the_scenario_then_exactly_the_new_items(platforms, accounts):
    for account in accounts:
        if account.platform == "mastodon":
            account.refresh_from_db()
            assert account.instance_url == platforms.url("mastodon")  # police.social is the double

    polled, new, outcomes = poll_all()
    assert (polled, outcomes) == (len(accounts), f"{len(accounts)} ok")
    assert new == sum(len(platforms.scenario.expected(a.platform, a.external_id)) for a in SocialAccount.objects.all())
    assert_stored_is_the_scenario(platforms, accounts)

    before = set(Message.objects.values_list("external_id", flat=True))
    added = storable(platforms.generator.tick(count=8))
    polled, new, outcomes = poll_all()
    assert (polled, new, outcomes) == (len(accounts), len(added), f"{len(accounts)} ok")
    assert set(Message.objects.values_list("external_id", flat=True)) - before == {item.id for item in added}
    assert_stored_is_the_scenario(platforms, accounts)


def test_a_restarted_demo_serves_what_the_database_holds(settings, platforms, accounts):
    poll_all()
    platforms.generator.tick(count=5)
    poll_all()
    platforms.stop()

    restarted = start(settings)
    try:
        assert_stored_is_the_scenario(restarted, accounts)  # restored, no second backlog
        polled, new, outcomes = poll_all()
        assert (polled, new, outcomes) == (len(accounts), 0, f"{len(accounts)} ok")
        added = storable(restarted.generator.tick(count=6))
        polled, new, outcomes = poll_all()
        assert (new, outcomes) == (len(added), f"{len(accounts)} ok")
        assert_stored_is_the_scenario(restarted, accounts)
    finally:
        restarted.stop()


@pytest.mark.django_db(transaction=True)  # as in the demo: each tick's claims commit, then its work runs
def test_from_an_empty_database_the_demo_delivers_every_platform_minute_after_minute(platforms, accounts, settings):
    """The demo runs beat's own tick: polls, and the combined X sweep once the X accounts are backfilled."""
    settings.CHORUS_X_SEARCH_SWEEP = True
    settings.CHORUS_POLL_INTERVAL = settings.CHORUS_POLL_INTERVAL_CORPORATE = 60  # every account, every minute
    swept = SocialAccount.objects.get(platform="x", handle="MPS11Div")  # read by the X sweep after its backfill
    assert not Message.objects.exists()
    per_minute: list[Counter[str]] = []
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        demo_sweep(platforms)  # the backfill: every account's first poll
        assert {platform for platform, _, _ in SLICE} == set(Message.objects.values_list("platform", flat=True))
        # The generator picks a platform at random (seeded) for each new item, a few items a minute: keep
        # ticking until every platform has delivered, within a bound.
        every_platform = {"x", "facebook", "instagram", "bluesky", "mastodon"}
        for _ in range(30):
            traveller.shift(datetime.timedelta(seconds=70))  # a minute, and the ±10% of jitter
            before = set(Message.objects.values_list("pk", flat=True))
            sweep = demo_sweep(platforms)
            assert len(sweep.x_sweeps) == 1  # the combined X sweep ran, every minute
            per_minute.append(Counter(Message.objects.exclude(pk__in=before).values_list("platform", flat=True)))
            if len(per_minute) >= 8 and set(sum(per_minute, Counter[str]())) == every_platform:
                break
        # And a mention of the account read only through the combined X sweep arrives through it (the
        # random traffic may not have addressed that account in these minutes).
        person = platforms.scenario.account_by_handle("x", swept.handle)
        assert person is not None
        mention = platforms.scenario.add(
            Item(
                platform="x",
                id=snowflake(timezone.now(), 77),
                author=Person("x", "1700000000000000077", "sweep_reader", "Sweep Reader"),
                to=person,
                text=f"@{swept.handle} is the front desk open on Sunday?",
                created_at=timezone.now(),
            )
        )
        traveller.shift(datetime.timedelta(seconds=70))
        assert len(demo_sweep(platforms).x_sweeps) == 1
    assert all(per_minute), per_minute  # something new every minute
    assert set(sum(per_minute, Counter[str]())) == every_platform, per_minute
    assert Message.objects.filter(account=swept, platform="x", external_id=mention.id).exists()  # through the sweep
    assert not PollState.objects.filter(
        account=swept, last_success_at__lt=timezone.now() - datetime.timedelta(minutes=3)
    )


@pytest.mark.django_db(transaction=True)  # as in the demo: the sweep's claim commits, then the polls run
def test_demo_sweep_polls_the_due_accounts_and_logs_one_line_without_tokens(platforms, accounts, caplog):
    with caplog.at_level(logging.DEBUG, logger="demo.platforms"):
        sweep = demo_sweep(platforms)
    assert [summary.outcome for summary in sweep.summaries] == ["ok"] * len(accounts)
    lines = [record for record in caplog.records if record.name == "demo.platforms"]
    assert len(lines) == 1 and lines[0].getMessage().startswith("demo sweep:")
    assert f"{len(accounts)} ok" in lines[0].getMessage()
    # Quiet at the default level: the sweep line every ten seconds is DEBUG, not INFO.
    assert lines[0].levelno == logging.DEBUG
    assert first_poll_done()
    assert not any(token_of(platform, handle) in caplog.text for platform, handle, _ in SLICE)
    assert APP_BEARER not in caplog.text
    assert demo_sweep(platforms).summaries == []  # polled just now: none due


def test_only_accounts_the_doubles_can_serve_get_traffic(accounts, settings):
    found = {
        (account.platform, account.handle): account for account in demo_accounts(mastodon_url="https://police.social")
    }
    assert set(found) == {(platform, handle) for platform, handle, _ in SLICE}  # not the retired, not the waiting
    assert found[("x", "MetroPolice")].token == ""  # read with the app bearer
    assert found[("bluesky", "mps11div.bsky.social")].token == token_of("bluesky", "mps11div.bsky.social")
    assert found[("facebook", "MetroPolicePage")].weight == FEATURED_WEIGHT
    assert found[("facebook", "MetroPolice11Division")].weight == 1.0
    assert ("mastodon", "MPS11Div@police.social") not in {
        (account.platform, account.handle) for account in demo_accounts(mastodon_url="http://127.0.0.1:1")
    }


def test_demo_refuses_settings_that_point_at_real_platforms(settings):
    settings.CHORUS_X_API_BASE = "https://api.twitter.com"
    settings.CHORUS_FACEBOOK_API_BASE = "http://127.0.0.1:8102"
    settings.CHORUS_BLUESKY_API_BASE = "http://127.0.0.1:8103"
    settings.CHORUS_DEMO_MASTODON_URL = "http://127.0.0.1:8104"
    settings.CHORUS_X_BEARER_TOKEN = ""
    problems = demo_settings_problems()
    assert len(problems) == 2
    assert "CHORUS_X_API_BASE" in problems[0] and "CHORUS_X_BEARER_TOKEN" in problems[1]
    settings.CHORUS_X_API_BASE = "http://127.0.0.1:8101"
    settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    assert demo_settings_problems() == []


def test_generator_is_deterministic_realistic_and_sometimes_hostile():
    now = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
    accounts = [
        DemoAccount("x", f"MPS{number}Div", None, f"{number} Division") for number in (11, 12, 13, 14, 22, 23)
    ] + [DemoAccount("facebook", "MetroPolicePage", None, "Metro Police", "page-token")]

    def generate():
        scenario = Scenario()
        generator = ScenarioGenerator(scenario, accounts, seed=5, now=now)
        backlog = [(item.id, item.text, item.author.id, item.created_at) for item in scenario.items]
        ticks = [
            [(item.id, item.text) for item in generator.tick(now=now + datetime.timedelta(seconds=10 * number))]
            for number in range(1, 6)
        ]
        return scenario, generator, backlog, ticks

    scenario, generator, backlog, ticks = generate()
    assert (backlog, ticks) == generate()[2:]
    assert 3 <= len(backlog) / len(accounts) <= 6
    assert all(now - datetime.timedelta(days=4) <= created_at < now for *_, created_at in backlog)
    assert all(1 <= len(tick) <= 5 for tick in ticks)
    inbound = [item for item in scenario.items if not item.is_outbound]
    answered = {item.in_reply_to for item in scenario.items if item.is_outbound and item.in_reply_to}
    assert inbound and answered and any(item.id not in answered for item in inbound)  # some left unanswered
    assert scenario.tokens[("facebook", generator.account("facebook", "MetroPolicePage").id)] == "page-token"
    assert any("<" in person.name for person in generator.public["x"])  # the UI must escape these


def test_generator_sends_the_shapes_the_real_platforms_send():
    now = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
    accounts = [
        DemoAccount("x", "MPS11Div", None, "11 Division"),
        DemoAccount("facebook", "MetroPolicePage", None, "Metro Police", "page-token"),
        DemoAccount("bluesky", "mps11.bsky.social", None, "11 Division", "app-pass"),
        DemoAccount("mastodon", "mps11", None, "11 Division", "token"),
    ]
    scenario = Scenario()
    generator = ScenarioGenerator(scenario, accounts, seed=7, now=now)
    for number in range(1, 400):
        generator.tick(now=now + datetime.timedelta(minutes=number))

    items = scenario.items
    assert {item.platform for item in items if item.repost_of} >= {"x", "bluesky", "mastodon"}
    assert {item.platform for item in items if item.quote_of} >= {"x", "bluesky", "mastodon"}
    assert any(item.platform == "mastodon" and item.visibility == "direct" for item in items)
    assert any(item.platform == "x" and len(item.text) > 280 for item in items)  # a note tweet
    assert any(item.platform == "facebook" and item.is_outbound and not item.text for item in items)
    assert any(item.broken for item in items)
