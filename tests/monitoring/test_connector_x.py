"""The X connector against the X double, over loopback, through tweepy."""

import base64
import datetime
import logging
import math
import time
from urllib.parse import parse_qs

import pytest
import requests

from doubles.scenario import Item, Person, Scenario
from doubles.server import Fault
from doubles.x import XDouble, snowflake
from monitoring.connectors.base import (
    AccountRef,
    AuthError,
    MalformedPayload,
    MissingCredentials,
    RateLimited,
    TransientError,
)
from monitoring.connectors.x.connector import XConnector
from monitoring.connectors.x.sweep import MAX_QUERY_LENGTH, mention_queries

BASE = datetime.datetime(2026, 8, 20, 9, 0, tzinfo=datetime.UTC)
BACKFILL_SINCE = BASE - datetime.timedelta(days=1)
ACME_ID = "1500000000000000001"
TEA_ID = "1500000000000000002"
ACME_TOKEN = "acme-user-token"
APP_BEARER = "test-app-bearer"
HOSTILE = "@AcmeCoffee <script>alert(1)</script> & \"quotes\" 'too'"

DANA = Person("x", "1600000000000000011", "dana_k", "Dana K")
LEE = Person("x", "1600000000000000022", "leep", "Lee P")
SAM = Person("x", "1600000000000000033", "samroasts", "Sam R")
MALLORY = Person("x", "1600000000000000044", "mallory", "<b>Mallory</b>")


class Builder:
    """Adds items to a scenario with snowflake ids that follow their timestamps."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def add(self, author, to, text, *, minutes, in_reply_to="", likes=0, **shape) -> Item:
        created_at = BASE + datetime.timedelta(minutes=minutes)
        item_id = snowflake(created_at, self.scenario.next_number())
        return self.scenario.add(
            Item("x", item_id, author, to, text, created_at, in_reply_to=in_reply_to, likes=likes, **shape)
        )


@pytest.fixture
def scenario():
    return Scenario()


@pytest.fixture
def acme(scenario):
    return scenario.add_account("x", ACME_ID, "AcmeCoffee", "Acme Coffee", token=ACME_TOKEN)


@pytest.fixture
def tea(scenario):
    return scenario.add_account("x", TEA_ID, "AcmeTea", "Acme Tea", token="tea-user-token")


@pytest.fixture
def story(scenario, acme, tea):
    """Own posts, an answered mention, an unanswered one, a reply under an own post, hostile text, a neighbour."""
    build = Builder(scenario)
    items = {}
    items["roast"] = build.add(acme, acme, "New single-origin roast lands Friday. Who's in?", minutes=0, likes=31)
    items["question"] = build.add(DANA, acme, "@AcmeCoffee is the store open on Sunday?", minutes=10)
    items["unanswered"] = build.add(LEE, acme, "@AcmeCoffee my mobile order never showed up", minutes=15, likes=5)
    items["answer"] = build.add(
        acme, acme, "@dana_k Yes! We're open 9-5 on Sundays ☕", minutes=20, in_reply_to=items["question"].id, likes=3
    )
    items["under_roast"] = build.add(SAM, acme, "count me in for Friday!", minutes=25, in_reply_to=items["roast"].id)
    items["hostile"] = build.add(MALLORY, acme, HOSTILE, minutes=30)
    items["tea_post"] = build.add(tea, tea, "Oolong is back", minutes=5)
    items["tea_mention"] = build.add(DANA, tea, "@AcmeTea any oolong left?", minutes=12)
    for number in range(6):  # enough for several pages at page_size=5
        items[f"daily{number}"] = build.add(acme, acme, f"Daily special #{number}", minutes=40 + number)
        items[f"fan{number}"] = build.add(SAM, acme, f"@AcmeCoffee love special #{number}", minutes=41 + number)
    return items


@pytest.fixture
def double(scenario, acme):
    server = XDouble(scenario, app_bearer=APP_BEARER).start()
    yield server
    server.stop()


@pytest.fixture
def x_settings(settings, double):
    settings.CHORUS_X_API_BASE = double.url
    settings.CHORUS_X_BEARER_TOKEN = ""
    settings.CHORUS_X_CLIENT_ID = "test-client-id"
    settings.CHORUS_X_CLIENT_SECRET = "test-client-secret"
    settings.CHORUS_HTTP_TIMEOUT = 5.0
    return settings


def account(*, external_id=ACME_ID, **credentials):
    credentials = credentials or {"access_token": ACME_TOKEN}
    return AccountRef(id=7, platform="x", handle="AcmeCoffee", external_id=external_id, credentials=credentials)


def fetch(connector=None, ref=None, cursors=None):
    connector = connector or XConnector()
    return connector.fetch(ref or account(), cursors=cursors or {}, backfill_since=BACKFILL_SINCE)


# -- full poll, cursors, paging ----------------------------------------------------------------------------------
def test_full_poll_stores_exactly_the_scenario(scenario, story, double, x_settings):
    result = fetch(XConnector(page_size=5), account(external_id=None))

    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("x", ACME_ID)
    assert len(result.messages) == len({m.external_id for m in result.messages})
    by_id = {m.external_id: m for m in result.messages}
    roast, question, answer = by_id[story["roast"].id], by_id[story["question"].id], by_id[story["answer"].id]
    assert (roast.direction, roast.kind, roast.in_reply_to_id) == ("outbound", "post", "")
    assert roast.metrics["like_count"] == 31
    assert roast.url == f"https://x.com/AcmeCoffee/status/{roast.external_id}"
    assert (question.direction, question.kind, question.author_handle) == ("inbound", "mention", "dana_k")
    assert question.author_name == "Dana K"
    assert question.created_at == story["question"].created_at
    assert question.url == f"https://x.com/dana_k/status/{question.external_id}"
    assert (answer.direction, answer.kind, answer.in_reply_to_id) == ("outbound", "reply", question.external_id)
    assert answer.conversation_id == question.external_id
    unanswered = by_id[story["unanswered"].id]
    assert (unanswered.kind, unanswered.in_reply_to_id, unanswered.author_handle) == ("mention", "", "leep")
    under_roast = by_id[story["under_roast"].id]
    assert (under_roast.direction, under_roast.kind) == ("inbound", "reply")
    assert (under_roast.in_reply_to_id, under_roast.conversation_id) == (roast.external_id, roast.external_id)
    assert {m.author_id for m in result.messages if m.direction == "outbound"} == {ACME_ID}

    assert result.account_updates == {"external_id": ACME_ID}
    assert result.cursors == {"tweets": story["daily5"].id, "mentions": story["fan5"].id}
    timeline_requests = double.requests_to(r"/2/users/\d+/(tweets|mentions)")
    assert result.pages == len(timeline_requests) == 4  # 8 own posts and 10 mentions, 5 a page
    assert result.requests == result.pages + 1  # plus the handle lookup
    first = double.requests_with_params(r"/2/users/\d+/tweets")[0]
    assert first["start_time"] == "2026-08-19T09:00:00Z"
    assert "since_id" not in first and "exclude" not in first
    assert "edit_history_tweet_ids" in first["tweet.fields"].split(",")
    assert set(first["expansions"].split(",")) == {"author_id", "referenced_tweets.id", "in_reply_to_user_id"}
    assert all(r.headers["authorization"] == f"Bearer {ACME_TOKEN}" for r in double.requests)


def test_hostile_text_passes_through_unchanged(story, x_settings):
    messages = {m.external_id: m for m in fetch().messages}
    hostile = messages[story["hostile"].id]
    assert hostile.text == HOSTILE
    assert hostile.author_name == "<b>Mallory</b>"


def test_second_poll_with_the_cursors_reads_nothing_again(scenario, story, acme, double, x_settings):
    first = fetch()
    double.requests.clear()

    second = fetch(cursors=first.cursors)

    assert second.messages == []
    assert second.cursors == {}  # nothing advanced: the stored cursors stay
    params = {r.path.rsplit("/", 1)[1]: parse_qs_first(r) for r in double.requests}
    assert len(double.requests) == 2
    assert params["tweets"]["since_id"] == first.cursors["tweets"]
    assert params["mentions"]["since_id"] == first.cursors["mentions"]
    assert "start_time" not in params["tweets"] and "start_time" not in params["mentions"]

    late = Builder(scenario).add(LEE, acme, "@AcmeCoffee still waiting", minutes=90)
    third = fetch(cursors={**first.cursors, **second.cursors})
    assert [(m.external_id, m.kind) for m in third.messages] == [(late.id, "mention")]
    assert third.cursors == {"mentions": late.id}


def parse_qs_first(request):
    return {key: values[0] for key, values in request.query.items() if not key.startswith("_")}


def test_paging_follows_every_page_and_keeps_the_first_pages_newest_id(scenario, acme, double, x_settings):
    build = Builder(scenario)
    own = [build.add(acme, acme, f"post {n}", minutes=n) for n in range(13)]
    mentions = [build.add(DANA, acme, f"@AcmeCoffee hi {n}", minutes=n) for n in range(13)]

    result = fetch(XConnector(page_size=5))

    assert sorted(m.external_id for m in result.messages) == sorted(i.id for i in own + mentions)
    tweets_requests = double.requests_with_params(r"/tweets")
    assert len(tweets_requests) == 3
    assert "pagination_token" not in tweets_requests[0]
    assert tweets_requests[1]["pagination_token"] != tweets_requests[2]["pagination_token"]
    assert len(double.requests_to(r"/mentions")) == 3
    assert result.pages == 6
    assert result.cursors == {"tweets": own[-1].id, "mentions": mentions[-1].id}


def test_backfill_since_bounds_the_first_poll(scenario, acme, x_settings):
    build = Builder(scenario)
    build.add(DANA, acme, "@AcmeCoffee ancient history", minutes=-3 * 24 * 60)
    recent = build.add(DANA, acme, "@AcmeCoffee hello", minutes=0)

    assert [m.external_id for m in fetch().messages] == [recent.id]


def test_post_named_shape_is_understood(scenario, story, x_settings):
    double = XDouble(scenario, post_names=True).start()
    try:
        x_settings.CHORUS_X_API_BASE = double.url
        raw = requests.get(
            f"{double.url}/2/users/{ACME_ID}/tweets",
            params={"post.fields": "referenced_posts", "max_results": "100"},
            headers={"Authorization": f"Bearer {ACME_TOKEN}"},
            timeout=5,
        ).json()
        result = fetch(XConnector(page_size=5))
    finally:
        double.stop()
    answer = next(post for post in raw["data"] if post["id"] == story["answer"].id)
    assert "referenced_posts" in answer and "edit_history_post_ids" in answer and "referenced_tweets" not in answer
    by_id = {m.external_id: m for m in result.messages}
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("x", ACME_ID)
    assert by_id[story["answer"].id].in_reply_to_id == story["question"].id
    assert by_id[story["under_roast"].id].kind == "reply"


# -- credentials ---------------------------------------------------------------------------------------------
def test_app_bearer_is_used_without_a_user_token(story, double, x_settings):
    x_settings.CHORUS_X_BEARER_TOKEN = APP_BEARER

    result = fetch(ref=account(external_id=ACME_ID, refresh_token=""))

    assert result.messages
    assert {r.headers["authorization"] for r in double.requests} == {f"Bearer {APP_BEARER}"}


def test_no_token_at_all_is_missing_credentials(double, x_settings):
    with pytest.raises(MissingCredentials):
        fetch(ref=account(refresh_token=""))
    assert double.requests == []


def test_unknown_token_is_an_auth_error(double, x_settings):
    with pytest.raises(AuthError):
        fetch(ref=account(access_token="revoked-token"))
    assert len(double.requests) == 1


def test_forbidden_is_an_auth_error_without_a_refresh(double, x_settings):
    double.add_refresh_token(ACME_ID, "acme-refresh-1")
    double.inject(Fault("status", path="/tweets", status=403))

    with pytest.raises(AuthError):
        fetch(ref=account(access_token=ACME_TOKEN, refresh_token="acme-refresh-1"))
    assert double.requests_to("/oauth2/token") == []


def test_unknown_handle_is_an_auth_error(double, x_settings):
    ref = AccountRef(
        id=7, platform="x", handle="@nobody_here", external_id=None, credentials={"access_token": ACME_TOKEN}
    )
    with pytest.raises(AuthError, match="nobody_here"):
        XConnector().fetch(ref, cursors={}, backfill_since=BACKFILL_SINCE)


def test_rejected_user_token_is_refreshed_once(scenario, story, double, x_settings):
    double.add_refresh_token(ACME_ID, "acme-refresh-1")
    stale = account(access_token="expired-token", refresh_token="acme-refresh-1")

    result = fetch(ref=stale)

    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("x", ACME_ID)
    new_access = scenario.tokens[("x", ACME_ID)]
    assert new_access != ACME_TOKEN  # the old access token stopped working
    assert result.credential_updates["access_token"] == new_access
    assert result.credential_updates["refresh_token"] not in ("", "acme-refresh-1")
    assert result.credential_updates["expires_at"] > time.time() + 3600
    (token_request,) = double.requests_to("/oauth2/token")
    basic = base64.b64encode(b"test-client-id:test-client-secret").decode()
    assert token_request.headers["authorization"] == f"Basic {basic}"
    assert parse_qs(token_request.body.decode())["grant_type"] == ["refresh_token"]
    assert result.requests == 1 + 1 + 2  # rejected call, refresh, both streams

    with pytest.raises(AuthError):  # the old refresh token was rotated away
        fetch(ref=stale)
    refreshed = account(**result.credential_updates)
    assert fetch(ref=refreshed).messages


def test_tokens_never_reach_the_logs(caplog, story, double, x_settings):
    double.add_refresh_token(ACME_ID, "acme-refresh-1")
    caplog.set_level(logging.DEBUG)

    result = fetch(ref=account(access_token="expired-token", refresh_token="acme-refresh-1"))

    assert result.credential_updates
    secrets = ["expired-token", "acme-refresh-1", *result.credential_updates.values()]
    assert caplog.records  # urllib3 and the connector still log
    assert not [secret for secret in secrets if str(secret) in caplog.text]


def test_failed_refresh_is_an_auth_error(double, x_settings):
    with pytest.raises(AuthError, match="refresh"):
        fetch(ref=account(access_token="expired-token", refresh_token="unknown-refresh"))
    assert len(double.requests_to("/oauth2/token")) == 1


def test_token_endpoint_server_error_is_transient(double, x_settings):
    double.add_refresh_token(ACME_ID, "acme-refresh-1")
    double.inject(Fault("status", path="/oauth2/token", status=503))
    with pytest.raises(TransientError):
        fetch(ref=account(access_token="expired-token", refresh_token="acme-refresh-1"))


# -- rate limits -----------------------------------------------------------------------------------------------
def test_rate_limit_headers_are_read_from_successful_responses(story, double, x_settings):
    result = fetch()

    assert result.rate_limit is not None
    assert (result.rate_limit.limit, result.rate_limit.remaining) == (300, 299)  # mentions: 300/15 min per user
    assert result.rate_limit.reset_at is not None
    seconds_ahead = (result.rate_limit.reset_at - datetime.datetime.now(tz=datetime.UTC)).total_seconds()
    assert 800 < seconds_ahead <= 900


def test_429_with_reset_is_rate_limited_until_the_reset(double, x_settings):
    double.inject(Fault("rate_limit", path="/mentions", reset_in=120))
    started = time.monotonic()

    with pytest.raises(RateLimited) as caught:
        fetch()

    assert time.monotonic() - started < 2  # tweepy did not sleep
    assert len(double.requests_to("/mentions")) == 1  # nor retry
    expected = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=120)
    assert abs((caught.value.reset_at - expected).total_seconds()) <= 2


def test_429_without_reset_header_waits_a_minute_and_never_spins(double, x_settings):
    double.send_rate_limit_headers = False
    double.inject(Fault("rate_limit", path="/tweets"))
    started = time.monotonic()

    with pytest.raises(RateLimited) as caught:
        fetch()

    assert time.monotonic() - started < 2
    assert len(double.requests) == 1
    expected = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=60)
    assert abs((caught.value.reset_at - expected).total_seconds()) <= 2


def test_exhausted_window_is_rate_limited_until_the_windows_reset(story, double, x_settings):
    double.limits["mentions"] = 1
    first = fetch()
    assert first.rate_limit is not None and first.rate_limit.remaining == 0

    with pytest.raises(RateLimited) as caught:
        fetch(cursors=first.cursors)

    assert caught.value.reset_at == first.rate_limit.reset_at


# -- failures ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_transient(status, double, x_settings):
    double.inject(Fault("status", path="/tweets", status=status))
    with pytest.raises(TransientError):
        fetch()


def test_slow_response_beyond_the_timeout_is_transient(double, x_settings):
    x_settings.CHORUS_HTTP_TIMEOUT = 0.5
    double.inject(Fault("slow", path="/tweets", delay=1.5))
    started = time.monotonic()

    with pytest.raises(TransientError):
        fetch()

    assert time.monotonic() - started < 1.4


def test_unreachable_host_is_transient(x_settings, double):
    url = double.url
    double.stop()
    x_settings.CHORUS_X_API_BASE = url
    with pytest.raises(TransientError):
        fetch()


def test_malformed_json_is_a_malformed_payload(double, x_settings):
    double.inject(Fault("malformed", path="/mentions"))
    with pytest.raises(MalformedPayload):
        fetch()


@pytest.mark.parametrize(
    "body",
    [
        {"data": "not a list", "meta": {"result_count": 1}},
        {"data": [], "meta": "not an object"},
        [1, 2, 3],
    ],
)
def test_unexpected_shapes_are_malformed_payloads(body, double, x_settings):
    double.inject(Fault("status", path="/tweets", status=200, body=body))
    with pytest.raises(MalformedPayload):
        fetch()


# -- combined mention sweeps -------------------------------------------------------------------------------------
def sweep_handles():
    prefixes = ["mpd", "fire", "north", "south", "traffic", "k9unit"]
    return [f"{prefixes[n % len(prefixes)]}_{n:03d}" for n in range(400)]


def test_mention_queries_stay_within_the_limit_and_cover_every_handle():
    handles = sweep_handles()

    queries = mention_queries(handles)

    assert all(len(query) <= MAX_QUERY_LENGTH for query in queries)
    assert sorted(term.lstrip("@") for query in queries for term in query.split(" OR ")) == sorted(handles)
    total = sum(len(handle) + 1 + 4 for handle in handles) - 4
    assert len(queries) <= math.ceil(total / MAX_QUERY_LENGTH) + 1


def test_sweep_of_400_accounts_puts_every_mention_on_the_right_account(scenario, double, x_settings):
    x_settings.CHORUS_X_BEARER_TOKEN = APP_BEARER
    build = Builder(scenario)
    accounts = [
        scenario.add_account("x", str(1700000000000000000 + n), handle, handle.upper(), token=f"t{n}")
        for n, handle in enumerate(sweep_handles())
    ]
    expected: dict[str, set[tuple[str, str]]] = {a.handle: set() for a in accounts}
    for n, target in enumerate(accounts[::7]):  # 58 accounts get mentioned
        item = build.add(DANA, target, f"@{target.handle.upper()} thanks for the help", minutes=n)
        expected[target.handle].add((item.id, "mention"))
        post = build.add(target, target, "Road closed on Main St", minutes=n)
        reply = build.add(SAM, target, "how long for?", minutes=n + 1, in_reply_to=post.id)  # no @ in the text
        expected[target.handle].add((reply.id, "reply"))
    both = build.add(LEE, accounts[1], f"@{accounts[1].handle} and @{accounts[2].handle} well done", minutes=99)
    expected[accounts[1].handle].add((both.id, "mention"))
    expected[accounts[2].handle].add((both.id, "mention"))
    between = build.add(accounts[3], accounts[4], f"Thanks @{accounts[4].handle}!", minutes=100)
    expected[accounts[4].handle].add((between.id, "mention"))  # not a mention of its author
    build.add(DANA, DANA, "@someone_else unrelated", minutes=101)

    found, newest_id, requests = XConnector().search_mentions(
        [a.handle for a in accounts] + ["not a handle OR from:x"], since_id=None
    )

    search_requests = double.requests_with_params("/2/tweets/search/recent")
    assert requests == len(search_requests) <= 12
    assert all(len(params["query"]) <= MAX_QUERY_LENGTH for params in search_requests)
    assert set(found) == {a.handle for a in accounts}
    assert {handle: {(m.external_id, m.kind) for m in messages} for handle, messages in found.items()} == expected
    assert all(m.direction == "inbound" for messages in found.values() for m in messages)
    assert newest_id == between.id

    double.requests.clear()
    again, newest_again, requests_again = XConnector().search_mentions([a.handle for a in accounts], since_id=newest_id)
    assert all(messages == [] for messages in again.values())
    assert newest_again == newest_id
    assert requests_again == requests
    assert all(params["since_id"] == newest_id for params in double.requests_with_params("/search/recent"))


def test_sweep_follows_next_tokens(scenario, acme, double, x_settings):
    build = Builder(scenario)
    mentions = [build.add(DANA, acme, f"@AcmeCoffee number {n}", minutes=n) for n in range(25)]

    found, newest_id, requests = XConnector(page_size=10).search_mentions(
        ["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN
    )

    assert sorted(m.external_id for m in found["acmecoffee"]) == sorted(i.id for i in mentions)
    assert requests == 3
    assert [bool(p.get("next_token")) for p in double.requests_with_params("/search/recent")] == [False, True, True]
    assert newest_id == mentions[-1].id


def test_double_search_understands_or_combinations_of_mentions_and_authors(story, double):
    def search(query):
        response = requests.get(
            f"{double.url}/2/tweets/search/recent",
            params={"query": query, "max_results": "100"},
            headers={"Authorization": f"Bearer {ACME_TOKEN}"},
            timeout=5,
        )
        return response.status_code, response.headers, response.json()

    status, headers, body = search("from:dana_k OR @AcmeTea")
    assert status == 200
    assert {tweet["id"] for tweet in body["data"]} == {story["question"].id, story["tea_mention"].id}
    assert body["meta"]["result_count"] == 2 and "next_token" not in body["meta"]
    assert int(headers["x-rate-limit-reset"]) > time.time()
    assert int(headers["x-rate-limit-remaining"]) == int(headers["x-rate-limit-limit"]) - 1

    status, _, body = search("(@AcmeCoffee OR @AcmeTea) from:leep")
    assert [tweet["id"] for tweet in body["data"]] == [story["unanswered"].id]

    status, _, body = search("@nobody_at_all")
    assert (status, body) == (200, {"meta": {"result_count": 0}})

    status, _, body = search(" OR ".join(["@AcmeCoffee"] * 50))
    assert status == 400 and body["title"] == "Invalid Request"


# -- platform truth: retweets, quotes, long posts, unreadable items ----------------------------------------------
@pytest.fixture
def shapes(scenario, acme):
    """What the real timelines hold beside plain posts and mentions."""
    build = Builder(scenario)
    items = {}
    items["dana_post"] = build.add(DANA, DANA, "Road closed on Main St " + "details " * 10, minutes=0)
    items["own_post"] = build.add(acme, acme, "Sunday hours: 9-5", minutes=1)
    items["own_retweet"] = build.add(acme, acme, "", minutes=2, repost_of=items["dana_post"].id)
    items["retweet_of_own"] = build.add(LEE, acme, "", minutes=3, repost_of=items["own_post"].id)
    items["quote"] = build.add(SAM, acme, "@AcmeCoffee is this right?", minutes=4, quote_of=items["own_post"].id)
    items["long"] = build.add(acme, acme, "Community update: " + "lorem ipsum dolor " * 30 + "THE END", minutes=5)
    items["long_mention"] = build.add(DANA, acme, "@AcmeCoffee " + "a long complaint " * 25 + "FIN", minutes=6)
    return items


def test_retweets_are_neither_own_posts_nor_mentions_and_quotes_are_mentions(shapes, double, x_settings):
    result = fetch()

    by_id = {m.external_id: m for m in result.messages}
    assert shapes["own_retweet"].id not in by_id  # someone else's words, cut short by X
    assert shapes["retweet_of_own"].id not in by_id
    assert (by_id[shapes["quote"].id].direction, by_id[shapes["quote"].id].kind) == ("inbound", "mention")
    assert by_id[shapes["own_post"].id].direction == "outbound"


def test_sweep_applies_the_same_retweet_and_quote_rule(shapes, double, x_settings):
    mentions, _, _ = XConnector().search_mentions(["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN)
    posts, _, _ = XConnector().search_posts(["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN)

    mentioned = {m.external_id: m.kind for m in mentions["acmecoffee"]}
    own = {m.external_id for m in posts["acmecoffee"]}
    assert shapes["retweet_of_own"].id not in mentioned
    assert mentioned[shapes["quote"].id] == "mention"
    assert shapes["own_retweet"].id not in own
    assert shapes["own_post"].id in own
    per_account = {m.external_id for m in fetch().messages}
    assert set(mentioned) | own == per_account  # both paths store the same posts


def test_long_posts_are_stored_in_full(shapes, double, x_settings):
    result = fetch()

    by_id = {m.external_id: m for m in result.messages}
    assert by_id[shapes["long"].id].text == shapes["long"].text
    assert by_id[shapes["long_mention"].id].text.endswith("FIN")
    params = double.requests_with_params(r"/2/users/\d+/tweets")[0]
    assert "note_tweet" in params["tweet.fields"].split(",")
    posts, _, _ = XConnector().search_posts(["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN)
    assert {m.external_id: m.text for m in posts["acmecoffee"]}[shapes["long"].id] == shapes["long"].text


def test_an_unreadable_post_is_skipped_and_the_rest_stored(scenario, story, double, x_settings):
    broken = Builder(scenario).add(DANA, story["roast"].to, "@AcmeCoffee hello", minutes=60, broken="bad_time")
    newest = Builder(scenario).add(LEE, story["roast"].to, "@AcmeCoffee after the broken one", minutes=61)

    result = fetch()

    assert [record.raw["id"] for record in result.skipped] == [broken.id]
    assert "created_at" in result.skipped[0].reason
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("x", ACME_ID)
    assert result.cursors["mentions"] == newest.id  # the cursor advances past the unreadable post

    connector = XConnector()
    found, newest_id, _ = connector.search_mentions(["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN)
    connector.search_posts(["AcmeCoffee"], since_id=None, bearer_token=ACME_TOKEN)
    assert [record.raw["id"] for record in connector.skipped["acmecoffee"]] == [broken.id]  # kept once
    assert newest.id in {m.external_id for m in found["acmecoffee"]}
    assert newest_id == newest.id
