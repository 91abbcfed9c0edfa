"""Contract tests: each double's responses hold the shape of the samples in tests/contract_samples/, which the
project wrote from the platforms' public API references. Keys and JSON types are compared, never values: a
double may not drift from the real shape, least of all by leaving out what the real API sends."""

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from doubles.bluesky import BlueskyDouble, post_uri
from doubles.facebook import FacebookDouble
from doubles.mastodon import MastodonDouble, status_id
from doubles.scenario import Item, Person, Scenario
from doubles.x import XDouble, snowflake

SAMPLES = Path(__file__).resolve().parent.parent / "contract_samples"
T0 = datetime.datetime(2026, 8, 20, 9, 0, tzinfo=datetime.UTC)


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    assert loaded["_source"], f"{name} must say which documented example or field list it follows"
    return loaded


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_problems(
    expected: Any, actual: Any, sometimes: set[str], path: str = "", seen: set[str] | None = None
) -> list[str]:
    """Where `actual` misses a key of `expected` or sends it with another JSON type (a null in the sample
    allows any type). Keys under a path in `sometimes` may be missing; those found are added to `seen`."""
    seen = set() if seen is None else seen
    problems: list[str] = []
    if expected is None:
        return problems
    if _type(expected) != _type(actual):
        return [f"{path or '(root)'}: {_type(actual)} where the sample has {_type(expected)}"]
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key.startswith("_"):
                continue
            child = f"{path}.{key}" if path else key
            if key not in actual:
                if child not in sometimes:
                    problems.append(f"{child}: missing")
                continue
            seen.add(child)
            problems += shape_problems(value, actual[key], sometimes, child, seen)
    elif isinstance(expected, list) and expected:
        for element in actual:
            problems += shape_problems(expected[0], element, sometimes, f"{path}[]", seen)
    return problems


def assert_holds(name: str, body: Any) -> None:
    contract = sample(name)
    sometimes = set(contract.get("_sometimes", []))
    seen: set[str] = set()
    problems = shape_problems(contract["body"], body, sometimes, seen=seen)
    assert problems == [], f"the double breaks {name}: {problems}"
    assert sometimes <= seen, f"the double never sends {sorted(sometimes - seen)} ({name})"


# -- X ---------------------------------------------------------------------------------------------------------
def test_x_mentions_hold_the_sample():
    scenario = Scenario()
    org = scenario.add_account("x", "1500000000000000001", "MPS11Div", "11 Division", token="user-token")
    dana = Person("x", "1600000000000000011", "dana_k", "Dana K")

    def add(author, text, minutes, **shape):
        return scenario.add(
            Item("x", snowflake(at(minutes), scenario.next_number()), author, org, text, at(minutes), **shape)
        )

    post = add(org, "Station open Sunday", 0)
    add(dana, "@MPS11Div is it open on Monday too?", 1, in_reply_to=post.id)
    add(dana, "", 2, repost_of=post.id)
    add(dana, "@MPS11Div look at this", 3, quote_of="1300000000000000000")  # a quoted post that is gone
    add(dana, "@MPS11Div " + "a long report " * 30, 4)
    double = XDouble(scenario, app_bearer="app").start()
    try:
        response = requests.get(
            f"{double.url}/2/users/{org.id}/mentions",
            params={
                "tweet.fields": "author_id,created_at,conversation_id,in_reply_to_user_id,referenced_tweets,"
                "public_metrics,entities,lang,edit_history_tweet_ids,note_tweet",
                "expansions": "author_id,referenced_tweets.id,in_reply_to_user_id",
                "user.fields": "username,name",
            },
            headers={"Authorization": "Bearer user-token"},
            timeout=5,
        )
    finally:
        double.stop()
    assert response.status_code == 200
    assert_holds("x_users_mentions.json", response.json())


# -- Graph -----------------------------------------------------------------------------------------------------
@pytest.fixture
def graph():
    scenario = Scenario()
    page = scenario.add_account("facebook", "104000000000001", "mps11", "11 Station", token="page-token")
    dana = Person("facebook", "7100000000000011", "", "Dana K")
    posts = [
        scenario.add(Item("facebook", f"{page.id}_9000000000{n:02d}", page, page, text, at(n)))
        for n, text in enumerate(["Station open Sunday", "", "Road closed", "Lost dog found"])
    ]
    question = scenario.add(
        Item(
            "facebook",
            "900000000000_1201",
            dana,
            page,
            "Open Monday?",
            at(10),
            in_reply_to=posts[0].id,
            post_id=posts[0].id,
        )
    )
    scenario.add(
        Item("facebook", "900000000000_1202", page, page, "Yes", at(11), in_reply_to=question.id, post_id=posts[0].id)
    )
    double = FacebookDouble(scenario, max_limit=2).start()
    double.hide_commenters = True
    yield double, page, posts
    double.stop()


def test_graph_posts_and_comments_hold_the_samples(graph):
    double, page, posts = graph
    token = {"access_token": "page-token"}
    first = requests.get(
        f"{double.url}/v24.0/{page.id}/posts",
        params={
            **token,
            "fields": "id,message,created_time,permalink_url,from{id,name},comments.summary(true)"
            ".limit(0),reactions.summary(total_count).limit(0)",
            "limit": "2",
            "since": "0",
        },
        timeout=5,
    ).json()
    assert_holds("facebook_page_posts.json", first)
    assert "cursors" not in first["paging"]  # posts page by time, as Graph does
    comments = requests.get(
        f"{double.url}/v24.0/{posts[0].id}/comments",
        params={
            **token,
            "fields": "id,from{id,name},message,created_time,parent{id},comment_count,like_count,permalink_url",
            "filter": "stream",
            "limit": "1",
        },
        timeout=5,
    ).json()
    more = requests.get(comments["paging"]["next"], timeout=5).json()
    assert_holds("facebook_comments.json", {"data": comments["data"] + more["data"], "paging": comments["paging"]})


def test_graph_errors_hold_the_sample(graph):
    double, _, _ = graph
    assert_holds("facebook_error.json", double.error_body(401))  # code 190 with its subcode
    contract = sample("facebook_error.json")
    for code in (10, 100, 200):  # the permission errors carry no subcode
        assert shape_problems(contract["body"], double.permission_error(code), set(contract["_sometimes"])) == []


# -- Bluesky ---------------------------------------------------------------------------------------------------
def test_bluesky_notifications_and_author_feed_hold_the_samples():
    scenario = Scenario()
    org = scenario.add_account("bluesky", "did:plc:org", "org.example", "11 Station", token="app-pass")
    dana = scenario.add_account("bluesky", "did:plc:dana", "dana.bsky.social", "Dana K")

    def add(author, to, rkey, text, minutes, **shape):
        return scenario.add(Item("bluesky", post_uri(author.id, rkey), author, to, text, at(minutes), **shape))

    post = add(org, org, "p1", "Station open Sunday", 0)
    dana_post = add(dana, dana, "d0", "Road closed", 1)
    add(dana, org, "d1", "@org.example open Monday?", 2)
    add(dana, org, "d2", "and Tuesday?", 3, in_reply_to=post.id)
    add(dana, org, "d3", "Is this still on?", 4, quote_of=post.id)
    add(org, org, "p2", "Yes", 5, in_reply_to=post.id)
    add(org, org, "p3", "", 6, repost_of=dana_post.id)
    add(org, org, "p4", "Worth reading", 7, quote_of=dana_post.id)
    double = BlueskyDouble(scenario).start()
    try:
        session = requests.post(
            f"{double.url}/xrpc/com.atproto.server.createSession",
            json={"identifier": "org.example", "password": "app-pass"},
            timeout=5,
        ).json()
        auth = {"Authorization": f"Bearer {session['accessJwt']}"}
        notifications = requests.get(
            f"{double.url}/xrpc/app.bsky.notification.listNotifications",
            params={"limit": "10", "reasons": ["mention", "reply", "quote"]},
            headers=auth,
            timeout=5,
        ).json()
        feed = requests.get(
            f"{double.url}/xrpc/app.bsky.feed.getAuthorFeed",
            params={"actor": "did:plc:org", "limit": "10", "filter": "posts_with_replies"},
            headers=auth,
            timeout=5,
        ).json()
    finally:
        double.stop()
    assert_holds("bluesky_list_notifications.json", notifications)
    assert {n["reason"] for n in notifications["notifications"]} == {"mention", "reply", "quote"}
    datetime.datetime.fromisoformat(notifications["cursor"])  # a timestamp cursor, as the AppView sends
    assert_holds("bluesky_get_author_feed.json", feed)


# -- Mastodon --------------------------------------------------------------------------------------------------
def test_mastodon_notifications_hold_the_sample_and_link_next_on_a_partial_page():
    scenario = Scenario()
    org = scenario.add_account("mastodon", "109000000000000001", "station", "11 Station", token="token")
    dana = scenario.add_account("mastodon", "500", "dana@example.social", "Dana K")
    for minutes, visibility in ((1, "public"), (2, "direct"), (3, "unlisted")):
        sid = status_id(at(minutes))
        scenario.add(Item("mastodon", sid, dana, org, "@station hello", at(minutes), visibility=visibility))
    double = MastodonDouble(scenario).start()
    try:
        response = requests.get(
            f"{double.url}/api/v1/notifications",
            params={"types[]": "mention", "limit": "40"},
            headers={"Authorization": "Bearer token"},
            timeout=5,
        )
    finally:
        double.stop()
    contract = sample("mastodon_notifications.json")
    assert_holds("mastodon_notifications.json", response.json())
    assert len(response.json()) == 3 < 40  # a partial page ...
    assert set(response.links) == set(contract["link_rels_on_partial_page"])  # ... that still links a next one
    assert {n["status"]["visibility"] for n in response.json()} == {"public", "direct", "unlisted"}
