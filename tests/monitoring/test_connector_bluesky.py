"""The Bluesky connector against the XRPC double, through the real `atproto` client on loopback."""

import datetime
import time

import pytest

from doubles.bluesky import BlueskyDouble, post_uri
from doubles.scenario import Item, Scenario
from doubles.server import Fault
from monitoring.connectors.base import (
    AccountRef,
    AuthError,
    MalformedPayload,
    MissingCredentials,
    RateLimited,
    TransientError,
)
from monitoring.connectors.bluesky import BlueskyConnector

APP_PASSWORD = "abcd-efgh-ijkl-mnop"
ORG_DID = "did:plc:acmecoffee4q7x2k9m3n5p8r"
T0 = datetime.datetime(2026, 8, 20, 9, 0, tzinfo=datetime.UTC)
HOSTILE = "<script>alert(1)</script> @acme.example &amp; <b>bold</b>"


def minutes(count):
    return T0 + datetime.timedelta(minutes=count)


@pytest.fixture
def scenario():
    scenario = Scenario()
    org = scenario.add_account("bluesky", ORG_DID, "acme.example", "Acme Coffee", token=APP_PASSWORD)
    other_org = scenario.add_account("bluesky", "did:plc:otherorg", "other.example", "Other Org", token="zzzz")
    dana = scenario.add_account("bluesky", "did:plc:dana", "dana.bsky.social", "Dana K")
    lee = scenario.add_account("bluesky", "did:plc:lee", "leep.bsky.social", "Lee P")
    sam = scenario.add_account("bluesky", "did:plc:sam", "samroasts.bsky.social", "Sam R")

    def add(author, to, rkey, text, at, **kwargs):
        return scenario.add(Item("bluesky", post_uri(author.id, rkey), author, to, text, minutes(at), **kwargs))

    roast = add(org, org, "roast", "New roast lands Friday. Who's in?", 0, likes=27)
    dana_mention = add(dana, org, "dana1", "@acme.example is the store open Sunday?", 5)
    add(lee, org, "lee1", "@acme.example my mobile order never showed up", 6)  # never answered
    sam_reply = add(sam, org, "sam1", "count me in for Friday!", 7, in_reply_to=roast.id)
    add(org, org, "answer", "Yes! 9-5 on Sundays.", 8, in_reply_to=dana_mention.id)
    add(org, org, "thanks", "See you Friday, Sam!", 9, in_reply_to=sam_reply.id)
    add(lee, org, "lee2", HOSTILE, 10)
    add(dana, org, "dana2", "@acme.example and on Monday?", 11, in_reply_to=dana_mention.id)
    add(sam, org, "sam2", "@acme.example what roast is it?", 12)
    # Noise that is not the org's: another org account and a conversation between members of the public.
    add(other_org, other_org, "other1", "Other org post", 3)
    add(dana, other_org, "dana3", "@other.example hello", 4)
    add(lee, dana, "lee3", "@dana.bsky.social hi", 5)
    return scenario


@pytest.fixture
def double(scenario):
    double = BlueskyDouble(scenario).start()
    double.page_cap = 2  # a server answering 2 items a page: 7 inbound items take 4 pages
    yield double
    double.stop()


@pytest.fixture
def configured(settings, double):
    settings.CHORUS_BLUESKY_API_BASE = double.url
    settings.CHORUS_HTTP_TIMEOUT = 2.0
    return settings


def account(**credentials):
    return AccountRef(
        id=1,
        platform="bluesky",
        handle="acme.example",
        external_id=None,
        credentials=credentials or {"app_password": APP_PASSWORD},
    )


def fetch(account_ref, cursors=None, backfill_since=T0 - datetime.timedelta(days=30)):
    return BlueskyConnector().fetch(account_ref, cursors=cursors or {}, backfill_since=backfill_since)


def test_full_poll_stores_exactly_the_expected_items(configured, double, scenario):
    result = fetch(account())

    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("bluesky", ORG_DID)
    assert len(result.messages) == len(scenario.expected("bluesky", ORG_DID))  # nothing twice
    by_id = {m.external_id: m for m in result.messages}
    for item in scenario.snapshot("bluesky"):
        if item.to.id != ORG_DID:
            continue
        message = by_id[item.id]
        assert message.in_reply_to_id == item.in_reply_to
        assert message.conversation_id == item.conversation_id
        assert message.author_id == item.author.id
        assert message.author_handle == item.author.handle
        assert message.author_name == item.author.name
        assert message.text == item.text
        assert message.created_at == item.created_at
        assert message.url == f"https://bsky.app/profile/{item.author.handle}/post/{item.id.rsplit('/', 1)[1]}"
    kinds = {item_id.rsplit("/", 1)[1]: message.kind for item_id, message in by_id.items()}
    assert kinds == {
        "roast": "post",
        "answer": "reply",
        "thanks": "reply",
        "dana1": "mention",
        "lee1": "mention",  # the unanswered mention
        "lee2": "mention",
        "sam1": "reply",  # a reply under the org's post
        "dana2": "mention",  # a reply under a member's post that mentions the org
        "sam2": "mention",
    }
    assert by_id[post_uri(ORG_DID, "roast")].metrics == {"likes": 27, "reposts": 0, "replies": 1, "quotes": 0}
    assert by_id[post_uri("did:plc:lee", "lee2")].text == HOSTILE  # data, unescaped; templates escape
    assert result.account_updates == {"external_id": ORG_DID}
    assert set(result.cursors) == {"notifications", "feed"}
    assert result.pages == len(double.requests_to("listNotifications")) + len(double.requests_to("getAuthorFeed"))
    assert len(double.requests_to("listNotifications")) >= 3
    assert result.requests == len(double.requests)
    assert double.create_session_calls == 1
    assert result.credential_updates["session"].count(":::") == 4  # atproto's exported session string
    assert result.credential_updates["session_base"] == double.url


def test_listnotifications_asks_for_mentions_replies_and_quotes_only(configured, double):
    fetch(account())

    request = double.requests_to("listNotifications")[0]
    assert sorted(request.query["reasons"]) == ["mention", "quote", "reply"]
    assert request.headers["authorization"].startswith("Bearer ")


def test_second_poll_with_cursors_reads_one_page_per_stream_and_reuses_the_session(configured, double, scenario):
    first = fetch(account())
    requests_before = len(double.requests)

    second = fetch(account(app_password=APP_PASSWORD, **first.credential_updates), cursors=first.cursors)

    assert second.messages == []
    assert second.cursors == {}  # nothing advanced
    assert second.credential_updates == {}  # the stored session was still good and is unchanged
    assert double.create_session_calls == 1
    paths = [request.path for request in double.requests[requests_before:]]
    assert paths == ["/xrpc/app.bsky.notification.listNotifications", "/xrpc/app.bsky.feed.getAuthorFeed"]

    lee = scenario.accounts[("bluesky", "did:plc:lee")]
    org = scenario.accounts[("bluesky", ORG_DID)]
    scenario.add(Item("bluesky", post_uri(lee.id, "lee9"), lee, org, "@acme.example still waiting", minutes(30)))
    third = fetch(account(app_password=APP_PASSWORD, **first.credential_updates), cursors=first.cursors)
    assert [(m.external_id, m.kind) for m in third.messages] == [(post_uri(lee.id, "lee9"), "mention")]
    assert set(third.cursors) == {"notifications"}
    assert third.cursors["notifications"] > first.cursors["notifications"]


def test_first_poll_stops_at_backfill_since(configured, double):
    result = fetch(account(), backfill_since=minutes(8))

    assert sorted(m.external_id.rsplit("/", 1)[1] for m in result.messages) == [
        "answer",
        "dana2",
        "lee2",
        "sam2",
        "thanks",
    ]


def test_near_expiry_session_is_refreshed_not_recreated(configured, scenario):
    short = BlueskyDouble(scenario, access_ttl=60).start()  # within atproto's 15-minute refresh margin
    try:
        configured.CHORUS_BLUESKY_API_BASE = short.url
        first = fetch(account())
        session = first.credential_updates["session"]
        second = fetch(account(app_password=APP_PASSWORD, **first.credential_updates), cursors=first.cursors)
    finally:
        short.stop()

    assert short.create_session_calls == 1
    assert short.refresh_session_calls >= 1
    assert second.credential_updates["session"] != session


def test_session_rejected_by_server_logs_in_again_once(configured, double):
    stored = fetch(account()).credential_updates
    double.expire_access_tokens()

    result = fetch(account(app_password=APP_PASSWORD, **stored))

    assert double.create_session_calls == 2
    assert result.credential_updates["session"] != stored["session"]
    assert len(result.messages) == 9


def test_unreadable_stored_session_falls_back_to_the_app_password(configured, double):
    result = fetch(account(app_password=APP_PASSWORD, session="not a session", session_base=double.url))

    assert double.create_session_calls == 1
    assert "session" in result.credential_updates


def test_session_made_against_another_base_url_is_not_reused(configured, double, scenario):
    first = fetch(account())
    moved = BlueskyDouble(scenario).start()
    moved_url = moved.url
    try:
        configured.CHORUS_BLUESKY_API_BASE = moved_url
        result = fetch(account(app_password=APP_PASSWORD, **first.credential_updates))
    finally:
        moved.stop()

    assert moved.create_session_calls == 1
    assert result.credential_updates["session_base"] == moved_url
    assert len(result.messages) == 9


def test_login_rate_limit_is_rate_limited(configured, double):
    double.inject(Fault(kind="rate_limit", path="createSession", reset_in=300))

    with pytest.raises(RateLimited) as caught:
        fetch(account())
    assert caught.value.reset_at > datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=290)


def test_revoked_session_and_password_is_an_auth_error(configured, double, scenario):
    stored = fetch(account()).credential_updates
    double.revoke_sessions(ORG_DID)
    scenario.tokens[("bluesky", ORG_DID)] = "changed-password"

    with pytest.raises(AuthError):
        fetch(account(app_password=APP_PASSWORD, **stored))
    assert double.create_session_calls == 2  # one re-login attempt, no more


def test_dead_session_without_app_password_is_an_auth_error(configured, double):
    stored = fetch(account()).credential_updates
    double.revoke_sessions(ORG_DID)

    with pytest.raises(AuthError):
        fetch(account(**stored))
    assert double.create_session_calls == 1


def test_wrong_app_password_is_an_auth_error(configured, double):
    with pytest.raises(AuthError):
        fetch(account(app_password="wrong-pass-word-here"))


def test_no_credentials_is_missing_credentials(configured, double):
    with pytest.raises(MissingCredentials):
        fetch(AccountRef(id=1, platform="bluesky", handle="acme.example", external_id=None, credentials={}))
    assert double.requests == []


def test_rate_limit_raises_with_reset_and_does_not_wait(configured, double):
    double.inject(Fault(kind="rate_limit", path="listNotifications", reset_in=120))

    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        fetch(account())

    assert time.monotonic() - started < 1.5
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=120)
    assert abs((caught.value.reset_at - expected).total_seconds()) < 3
    assert len(double.requests_to("listNotifications")) == 1


def test_server_error_is_transient(configured, double):
    double.inject(Fault(kind="status", path="getAuthorFeed", status=500))

    with pytest.raises(TransientError):
        fetch(account())


def test_bad_gateway_is_transient(configured, double):
    double.inject(Fault(kind="status", path="listNotifications", status=502))

    with pytest.raises(TransientError):
        fetch(account())


def test_slow_response_beyond_the_timeout_is_transient(configured, double):
    configured.CHORUS_HTTP_TIMEOUT = 0.5
    double.inject(Fault(kind="slow", path="listNotifications", delay=1.5))

    started = time.monotonic()
    with pytest.raises(TransientError):
        fetch(account())
    assert time.monotonic() - started < 1.4


def test_malformed_json_is_malformed_payload(configured, double):
    double.inject(Fault(kind="malformed", path="listNotifications"))

    with pytest.raises(MalformedPayload):
        fetch(account())


def test_response_off_the_lexicon_is_malformed_payload(configured, double):
    double.inject(Fault(kind="status", path="getAuthorFeed", status=200, body={"feed": [{"post": {"uri": 3}}]}))

    with pytest.raises(MalformedPayload):
        fetch(account())


def test_rate_limit_headers_of_successful_responses_are_reported(configured, double):
    before = datetime.datetime.now(datetime.UTC)
    result = fetch(account())

    assert result.rate_limit is not None
    assert result.rate_limit.limit == 3000
    assert result.rate_limit.remaining == 3000 - len(double.requests_to("listNotifications|getAuthorFeed"))
    assert result.rate_limit.reset_at is not None
    assert before < result.rate_limit.reset_at <= before + datetime.timedelta(seconds=301)


# -- platform truth: quotes, reposts, embeds, unreadable records -------------------------------------------------
def test_a_quote_of_an_org_post_is_inbound_and_reposts_are_not_own_posts(configured, double, scenario):
    org = scenario.accounts[("bluesky", ORG_DID)]
    dana = scenario.accounts[("bluesky", "did:plc:dana")]
    roast = scenario.find("bluesky", post_uri(ORG_DID, "roast"))
    dana_post = scenario.add(
        Item("bluesky", post_uri(dana.id, "dana9"), dana, dana, "Road closed on Main St", minutes(13))
    )
    quote = scenario.add(
        Item("bluesky", post_uri(dana.id, "quote1"), dana, org, "Is this still on?", minutes(14), quote_of=roast.id)
    )
    repost = scenario.add(
        Item("bluesky", post_uri(ORG_DID, "repost1"), org, org, "", minutes(15), repost_of=dana_post.id)
    )

    result = fetch(account())

    by_id = {m.external_id: m for m in result.messages}
    assert (by_id[quote.id].direction, by_id[quote.id].kind) == ("inbound", "mention")
    assert repost.id not in by_id and dana_post.id not in by_id  # the repost entry carries Dana's post
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("bluesky", ORG_DID)
    assert result.skipped == []


def test_a_record_with_a_malformed_created_at_is_skipped_and_the_cursor_advances(configured, double, scenario):
    org = scenario.accounts[("bluesky", ORG_DID)]
    lee = scenario.accounts[("bluesky", "did:plc:lee")]
    broken = scenario.add(
        Item("bluesky", post_uri(lee.id, "lee9"), lee, org, "@acme.example lowercase z", minutes(20), broken="bad_time")
    )

    result = fetch(account())

    assert [record.raw["uri"] for record in result.skipped] == [broken.id]
    assert result.skipped[0].raw["record"]["createdAt"].endswith("z")
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("bluesky", ORG_DID)
    assert datetime.datetime.fromisoformat(result.cursors["notifications"]) > broken.created_at

    again = fetch(account(), cursors=result.cursors)
    assert again.skipped == [] and again.messages == []  # recorded once, never read again
