"""The Facebook/Instagram connector against the Graph API double, through the real pyfacebook client."""

from __future__ import annotations

import dataclasses
import datetime
import json
import time

import pyfacebook  # type: ignore[import-untyped]  # no py.typed in python-facebook-api 0.24
import pytest

from doubles.facebook import FacebookDouble
from doubles.scenario import Item, Person, Scenario
from doubles.server import Fault
from monitoring.connectors.base import (
    AccountRef,
    AuthError,
    MalformedPayload,
    MissingCredentials,
    ObjectMissing,
    PermissionMissing,
    RateLimited,
    TransientError,
)
from monitoring.connectors.facebook.connector import FacebookConnector

NOW = datetime.datetime(2026, 8, 20, 12, 0, tzinfo=datetime.UTC)
BACKFILL = NOW - datetime.timedelta(days=30)
PAGE_ID = "104000000000001"
TOKEN = "page-token-acme"
APP_SECRET = "test-app-secret"
HOSTILE = '<script>alert(1)</script> & <b>"bold"</b> \' -- ☕'

IG_ID = "17841400000000001"
IG_TOKEN = "page-token-acme-instagram"


def hours_ago(hours: float) -> datetime.datetime:
    return NOW - datetime.timedelta(hours=hours)


def person(number: int, name: str) -> Person:
    return Person("facebook", f"71000000000000{number:02d}", "", name)  # Graph shows people by name only


class Builder:
    """Adds posts and comments with Graph-shaped ids: 104..._9000..., 9000..._12xx."""

    def __init__(self, scenario: Scenario, page: Person) -> None:
        self.scenario, self.page, self.comments = scenario, page, 0

    def post(self, number: int, hours: float, text: str, likes: int = 0) -> Item:
        post_id = f"{self.page.id}_90000000000{number:04d}"
        item = Item("facebook", post_id, self.page, self.page, text, hours_ago(hours), likes=likes)
        return self.scenario.add(item)

    def comment(self, post: Item, author: Person, hours: float, text: str, reply_to: Item | None = None) -> Item:
        self.comments += 1
        number = post.id.split("_")[1]
        item = Item(
            "facebook",
            f"{number}_{1200 + self.comments}",
            author,
            self.page,
            text,
            hours_ago(hours),
            in_reply_to=(reply_to or post).id,
            post_id=post.id,
        )
        return self.scenario.add(item)


def build_scenario() -> tuple[Scenario, dict[str, Item]]:
    scenario = Scenario()
    acme = scenario.add_account("facebook", PAGE_ID, "acmecoffee", "Acme Coffee", token=TOKEN)
    other = scenario.add_account("facebook", "104000000000002", "otherpage", "Other Page", token="page-token-other")
    dana, lee, sam, mallory = person(11, "Dana K"), person(22, "Lee P"), person(33, "Sam R"), person(44, "Mallory")
    build = Builder(scenario, acme)
    items: dict[str, Item] = {}
    items["roast"] = build.post(1, 48, "New single-origin roast lands Friday. Who's in?", likes=31)
    items["dana_asks"] = build.comment(items["roast"], dana, 47, "Is the store open on Sunday?")
    items["lee_complains"] = build.comment(items["roast"], lee, 46, "My mobile order never showed up.")  # unanswered
    items["page_answers"] = build.comment(items["roast"], acme, 45, "Yes! 9-5 on Sundays.", reply_to=items["dana_asks"])
    items["dana_thanks"] = build.comment(items["roast"], dana, 44, "Thanks!", reply_to=items["page_answers"])
    items["sam_in"] = build.comment(items["roast"], sam, 43, "Count me in for Friday!")
    items["closed"] = build.post(2, 30, "Closed Monday for maintenance.")
    items["hostile"] = build.comment(items["closed"], mallory, 29, HOSTILE)
    items["quiet"] = build.post(3, 20, "Latte art workshop next week.")
    items["hours"] = build.post(4, 10, "Summer hours start today.")
    items["cups"] = build.post(5, 5, "Bring your own cup, get 10% off.")
    items["page_on_own_post"] = build.comment(items["cups"], acme, 4, "Reusable cups for sale at the counter too.")
    other_build = Builder(scenario, other)
    other_post = other_build.post(1, 6, "Someone else's post")
    other_build.comment(other_post, dana, 5, "A comment for another page")
    return scenario, items


@pytest.fixture
def world() -> tuple[Scenario, dict[str, Item]]:
    return build_scenario()


@pytest.fixture
def double(world, settings):
    scenario, _ = world
    server = FacebookDouble(scenario, app_secret=APP_SECRET, max_limit=2)
    server.start()
    settings.CHORUS_FACEBOOK_API_BASE = server.url  # no trailing "/": the connector adds it
    settings.CHORUS_FACEBOOK_API_VERSION = "v26.0"  # newer than pyfacebook knows; its check is a regex
    settings.CHORUS_FACEBOOK_APP_SECRET = APP_SECRET  # the double checks appsecret_proof
    settings.CHORUS_HTTP_TIMEOUT = 2.0
    yield server
    server.stop()


def page_account(*, external_id: str | None = PAGE_ID, token: str = TOKEN) -> AccountRef:
    credentials = {"access_token": token} if token else {}
    return AccountRef(id=1, platform="facebook", handle="acmecoffee", external_id=external_id, credentials=credentials)


def fetch(account: AccountRef | None = None, cursors: dict[str, str] | None = None, *, platform: str = "facebook"):
    connector = FacebookConnector(platform=platform)
    return connector.fetch(account or page_account(), cursors=dict(cursors or {}), backfill_since=BACKFILL)


# --- Full polls -----------------------------------------------------------------------------------------


def test_full_poll_stores_exactly_the_scenario(world, double):
    scenario, items = world
    result = fetch()

    got = {(m.external_id, m.direction) for m in result.messages}
    assert got == scenario.expected("facebook", PAGE_ID)
    assert len(result.messages) == len(got)  # nothing twice
    by_id = {m.external_id: m for m in result.messages}

    roast = by_id[items["roast"].id]
    assert (roast.direction, roast.kind, roast.author_id, roast.author_handle) == (
        "outbound",
        "post",
        PAGE_ID,
        "acmecoffee",
    )
    assert roast.author_name == "Acme Coffee"
    assert roast.created_at == hours_ago(48)
    assert roast.created_at.tzinfo == datetime.UTC
    assert roast.conversation_id == roast.external_id
    assert roast.url == f"https://www.facebook.com/{PAGE_ID}/posts/900000000000001"
    assert roast.metrics == {"likes": 31, "comments": 5, "shares": 0}

    expectations = {
        "dana_asks": ("inbound", "comment", items["roast"].id),
        "lee_complains": ("inbound", "comment", items["roast"].id),
        "page_answers": ("outbound", "reply", items["dana_asks"].id),
        "dana_thanks": ("inbound", "reply", items["page_answers"].id),
        "sam_in": ("inbound", "comment", items["roast"].id),
        "hostile": ("inbound", "comment", items["closed"].id),
        "page_on_own_post": ("outbound", "reply", items["cups"].id),
    }
    for name, (direction, kind, in_reply_to) in expectations.items():
        message = by_id[items[name].id]
        assert (message.direction, message.kind, message.in_reply_to_id) == (direction, kind, in_reply_to), name
        assert message.conversation_id == items[name].post_id, name
        assert message.created_at == items[name].created_at, name

    dana = by_id[items["dana_asks"].id]
    assert (dana.author_id, dana.author_handle, dana.author_name) == ("7100000000000011", "", "Dana K")
    assert dana.metrics == {"likes": 0, "replies": 1}
    assert dana.url.endswith("?comment_id=1201")
    answer = by_id[items["page_answers"].id]
    assert (answer.author_id, answer.author_handle) == (PAGE_ID, "acmecoffee")
    # Lee's complaint has no reply from the Page: nothing in the poll points at it.
    assert not [m for m in result.messages if m.in_reply_to_id == items["lee_complains"].id]
    assert result.account_updates == {}


def test_full_poll_follows_every_page(world, double):
    result = fetch()

    posts_pages = [path for path, _ in double.served if path.endswith("/posts")]
    roast_pages = [path for path, _ in double.served if path.endswith(f"{world[1]['roast'].id}/comments")]
    assert len(posts_pages) == 3  # 5 posts, 2 per page
    assert len(roast_pages) == 3  # 5 comments, 2 per page
    assert sum(count for path, count in double.served if path.endswith("/posts")) == 5
    assert result.pages == len(double.served)
    assert result.requests == len(double.requests)
    # pyfacebook rebuilds page 2+ from `paging.next` alone: the filter and fields must have survived.
    for request in double.requests_to(r"/comments$"):
        assert request.arg("filter") == "stream"
        assert "parent{id}" in request.arg("fields")
        assert "from{id,name}" in request.arg("fields")
        assert request.arg("order") == "chronological"
    assert all(r.path.startswith("/v26.0/") for r in double.requests)


def test_paging_past_ten_items_is_not_cut_short(settings):
    """pyfacebook stops after `count=10` items unless told otherwise."""
    scenario = Scenario()
    acme = scenario.add_account("facebook", PAGE_ID, "acmecoffee", "Acme Coffee", token=TOKEN)
    build = Builder(scenario, acme)
    posts = [build.post(number, 100 - number, f"post {number}") for number in range(1, 13)]
    for number in range(12):
        build.comment(posts[0], person(11, "Dana K"), 80 - number, f"comment {number}")
    server = FacebookDouble(scenario, max_limit=5)
    server.start()
    settings.CHORUS_FACEBOOK_API_BASE = server.url + "/"
    settings.CHORUS_FACEBOOK_APP_SECRET = ""
    try:
        result = fetch()
    finally:
        server.stop()

    assert len([m for m in result.messages if m.kind == "post"]) == 12
    assert len([m for m in result.messages if m.kind == "comment"]) == 12
    assert [count for path, count in server.served if path.endswith("/posts")] == [5, 5, 2]
    assert all("appsecret_proof" not in r.query for r in server.requests)  # no app secret configured


# --- Cursors --------------------------------------------------------------------------------------------


def test_second_poll_returns_nothing_and_reads_nothing(world, double):
    _, items = world
    first = fetch()
    cursors = dict(first.cursors)
    assert cursors["posts"] == str(int(items["cups"].created_at.timestamp()))
    tracked = json.loads(cursors["comments"])
    assert set(tracked) == {items[name].id for name in ("roast", "closed", "quiet", "hours", "cups")}
    assert tracked[items["roast"].id] == [
        int(items["roast"].created_at.timestamp()),
        int(items["sam_in"].created_at.timestamp()),
    ]
    assert tracked[items["quiet"].id][1] == 0  # no comment seen yet

    served_before, requests_before = len(double.served), len(double.requests)
    second = fetch(cursors=cursors)

    assert second.messages == []
    assert second.cursors == {}  # nothing advanced
    assert sum(count for _, count in double.served[served_before:]) == 0  # not one item re-read
    new_requests = double.requests[requests_before:]
    posts_request = next(r for r in new_requests if r.path.endswith("/posts"))
    assert posts_request.arg("since") == str(int(items["cups"].created_at.timestamp()) + 1)
    roast_request = next(r for r in new_requests if r.path.endswith(f"{items['roast'].id}/comments"))
    assert roast_request.arg("since") == str(int(items["sam_in"].created_at.timestamp()) + 1)
    quiet_request = next(r for r in new_requests if r.path.endswith(f"{items['quiet'].id}/comments"))
    assert quiet_request.arg("since") == ""
    assert len(new_requests) == 1 + 5  # the posts page, and one comments page per tracked post


def test_later_poll_picks_up_new_posts_and_late_comments(world, double):
    scenario, items = world
    cursors = dict(fetch().cursors)
    build = Builder(scenario, scenario.accounts[("facebook", PAGE_ID)])
    build.comments = 50
    late = build.comment(items["roast"], person(22, "Lee P"), 1, "Still waiting for an answer…", items["lee_complains"])
    fresh = build.post(6, 0.5, "We're hiring baristas.")
    first_on_fresh = build.comment(fresh, person(33, "Sam R"), 0.25, "Applied!")

    result = fetch(cursors=cursors)

    by_id = {m.external_id: m for m in result.messages}
    assert set(by_id) == {late.id, fresh.id, first_on_fresh.id}
    assert (by_id[late.id].kind, by_id[late.id].in_reply_to_id) == ("reply", items["lee_complains"].id)
    assert (by_id[first_on_fresh.id].kind, by_id[first_on_fresh.id].conversation_id) == ("comment", fresh.id)
    assert result.cursors["posts"] == str(int(fresh.created_at.timestamp()))
    assert json.loads(result.cursors["comments"])[items["roast"].id][1] == int(late.created_at.timestamp())
    assert fetch(cursors={**cursors, **result.cursors}).messages == []


def test_posts_leaving_the_backfill_window_are_no_longer_tracked(world, double):
    _, items = world
    cursors = dict(fetch().cursors)
    requests_before = len(double.requests)
    later = FacebookConnector(platform="facebook").fetch(
        page_account(), cursors=cursors, backfill_since=items["closed"].created_at
    )
    tracked = json.loads(later.cursors["comments"])
    assert set(tracked) == {items[name].id for name in ("closed", "quiet", "hours", "cups")}
    read_comments_of = {r.path.split("/")[2] for r in double.requests[requests_before:] if r.path.endswith("/comments")}
    assert read_comments_of == set(tracked)  # the roast post fell out of the window: its comments are not re-listed


def test_first_poll_reads_back_to_backfill_since_only(world, double):
    scenario, _ = world
    old = Builder(scenario, scenario.accounts[("facebook", PAGE_ID)]).post(9, 24 * 45, "An old post")
    result = fetch()
    assert old.id not in {m.external_id for m in result.messages}
    assert double.requests_to("/posts$")[0].arg("since") == str(int(BACKFILL.timestamp()))


def test_page_id_is_resolved_from_the_handle(world, double):
    result = fetch(page_account(external_id=None))
    assert result.account_updates == {"external_id": PAGE_ID}
    first = double.requests[0]
    assert first.path == "/v26.0/acmecoffee"
    assert {m.external_id for m in result.messages} == {i for i, _ in world[0].expected("facebook", PAGE_ID)}


def test_hostile_text_passes_through_unchanged(world, double):
    _, items = world
    by_id = {m.external_id: m for m in fetch().messages}
    assert by_id[items["hostile"].id].text == HOSTILE


# --- Rate limits and library pitfalls -------------------------------------------------------------------


def test_rate_limit_headers_are_read_on_success_despite_unknown_keys(world, double):
    double.unknown_usage_key_every = 1  # every response carries a key pyfacebook does not know
    double.app_usage = {"call_count": 28, "total_cputime": 25, "total_time": 25}
    double.page_usage = {"call_count": 41, "total_cputime": 12, "total_time": 15}
    result = fetch()
    assert result.rate_limit is not None
    assert (result.rate_limit.remaining, result.rate_limit.limit, result.rate_limit.reset_at) == (59, 100, None)


def test_plain_pyfacebook_trips_over_what_the_connector_survives(world, double):
    """The double reproduces the pitfalls: unknown usage keys and a missing Content-Type crash pyfacebook."""
    double.unknown_usage_key_every = 1
    api = pyfacebook.GraphAPI(access_token=TOKEN, base_url=double.url + "/", sleep_on_rate_limit=False)
    with pytest.raises(TypeError):
        api.get_object(PAGE_ID, fields="id")
    double.unknown_usage_key_every = 0
    double.no_content_type[r"/acmecoffee$"] = 1
    with pytest.raises(KeyError):
        api.get_object("acmecoffee", fields="id")


def test_a_response_without_content_type_is_read_as_json(world, double):
    double.no_content_type[r"/posts$"] = 2
    result = fetch()
    assert {(m.external_id, m.direction) for m in result.messages} == world[0].expected("facebook", PAGE_ID)
    assert double.no_content_type[r"/posts$"] == 0


def test_page_throttle_raises_rate_limited_at_the_announced_time(double, monkeypatch):
    double.inject(Fault(kind="rate_limit", path=r"/posts$", reset_in=300))
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    with pytest.raises(RateLimited) as caught:
        fetch()
    assert sleeps == []  # pyfacebook neither slept nor retried (its rate-limit sleep is time.sleep)
    assert len(double.requests_to(r"/posts$")) == 1
    expected = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(minutes=5)
    assert abs((caught.value.reset_at - expected).total_seconds()) < 5
    assert "80001" in str(caught.value)


def test_http_429_without_a_regain_time_waits_a_minute(double):
    double.inject(Fault(kind="status", status=429, path=r"/comments$"))
    with pytest.raises(RateLimited) as caught:
        fetch()
    expected = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=60)
    assert abs((caught.value.reset_at - expected).total_seconds()) < 5
    assert len(double.requests_to(r"/comments$")) == 1


# --- Faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="status", status=500, path=r"/posts$"),  # Graph code 1, is_transient
        Fault(kind="status", status=503, path=r"/comments$"),  # Graph code 2
        Fault(kind="status", status=502, path=r"/posts$", body=b"<html>Bad gateway</html>"),  # a proxy's page
    ],
    ids=["500-code-1", "503-code-2", "502-html"],
)
def test_server_errors_are_transient(double, fault):
    double.inject(fault)
    with pytest.raises(TransientError):
        fetch()


def test_slow_response_beyond_the_timeout_is_transient(double, settings):
    settings.CHORUS_HTTP_TIMEOUT = 0.5
    double.inject(Fault(kind="slow", path=r"/posts$", delay=1.5))
    started = time.monotonic()
    with pytest.raises(TransientError):
        fetch()
    assert time.monotonic() - started < 1.4


def test_unreachable_api_is_transient_and_keeps_the_token_out_of_the_message(settings):
    settings.CHORUS_FACEBOOK_API_BASE = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.CHORUS_HTTP_TIMEOUT = 0.5
    with pytest.raises(TransientError) as caught:
        fetch()
    assert TOKEN not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_malformed_json_is_a_malformed_payload(double):
    double.inject(Fault(kind="malformed", path=r"/comments$"))
    with pytest.raises(MalformedPayload):
        fetch()


@pytest.mark.parametrize(
    ("fault", "token"),
    [
        (Fault(kind="status", status=401, path=r"/posts$"), TOKEN),  # revoked: code 190, subcode 460
        (Fault(kind="status", status=403, path=r"/comments$"), TOKEN),  # code 10, permission
        (None, "not-a-token-the-double-knows"),  # unknown token: code 190
    ],
    ids=["revoked", "permission", "unknown-token"],
)
def test_refused_credentials_are_auth_errors(double, fault, token):
    if fault is not None:
        double.inject(fault)
    with pytest.raises(AuthError):
        fetch(page_account(token=token))


def test_missing_access_token(double):
    with pytest.raises(MissingCredentials):
        fetch(page_account(token=""))
    assert double.requests == []


# --- Instagram ------------------------------------------------------------------------------------------


def build_instagram() -> tuple[Scenario, dict[str, Item]]:
    scenario = Scenario()
    acme = scenario.add_account("instagram", IG_ID, "acmecoffee", "Acme Coffee", token=IG_TOKEN)
    dana = Person("instagram", "17840000000000011", "dana.k", "dana.k")
    lee = Person("instagram", "17840000000000022", "leep", "leep")
    items: dict[str, Item] = {}

    def add(key: str, item_id: str, author: Person, text: str, hours: float, reply_to: str = "", media: str = ""):
        item = Item("instagram", item_id, author, acme, text, hours_ago(hours), in_reply_to=reply_to, post_id=media)
        items[key] = scenario.add(item)

    add("media", "17900000000000100", acme, "Sunday hours are back", 30)
    media_id = items["media"].id
    add("dana_asks", "17900000000000001", dana, "Sunday hours?", 29, media_id, media_id)
    add("lee_complains", "17900000000000002", lee, HOSTILE, 28, media_id, media_id)
    add("acme_answers", "17900000000000003", acme, "@dana.k 9-5!", 27, items["dana_asks"].id, media_id)
    add("dana_thanks", "17900000000000004", dana, "thanks!", 26, items["acme_answers"].id, media_id)
    add("second_media", "17900000000000200", acme, "New mugs", 10)
    return scenario, items


def test_instagram_full_poll_then_nothing_new(settings):
    scenario, items = build_instagram()
    server = FacebookDouble(scenario, max_limit=2)
    server.start()
    settings.CHORUS_FACEBOOK_API_BASE = server.url
    settings.CHORUS_FACEBOOK_APP_SECRET = ""
    account = AccountRef(
        id=2, platform="instagram", handle="acmecoffee", external_id=None, credentials={"access_token": IG_TOKEN}
    )
    try:
        first = fetch(account, platform="instagram")
        second = fetch(dataclasses.replace(account, external_id=IG_ID), first.cursors, platform="instagram")
    finally:
        server.stop()

    assert first.account_updates == {"external_id": IG_ID}
    assert server.requests[0].path.endswith("/me")
    assert {(m.external_id, m.direction) for m in first.messages} == scenario.expected("instagram", IG_ID)
    by_id = {m.external_id: m for m in first.messages}
    assert (by_id[items["media"].id].kind, by_id[items["media"].id].platform) == ("post", "instagram")
    assert (by_id[items["dana_asks"].id].kind, by_id[items["dana_asks"].id].author_handle) == ("comment", "dana.k")
    answer = by_id[items["acme_answers"].id]
    assert (answer.direction, answer.kind, answer.in_reply_to_id) == ("outbound", "reply", items["dana_asks"].id)
    # Instagram has one level of replies: Dana's thanks hangs under her first comment.
    thanks = by_id[items["dana_thanks"].id]
    assert (thanks.direction, thanks.kind, thanks.in_reply_to_id) == ("inbound", "reply", items["dana_asks"].id)
    assert by_id[items["lee_complains"].id].text == HOSTILE
    assert all(
        m.conversation_id == items["media"].id for m in first.messages if m.external_id.startswith("179000000000000")
    )
    assert second.messages == []
    assert second.cursors == {}


# --- Platform truth: error classes, time paging, unreadable items ------------------------------------------


@pytest.mark.parametrize("code", [10, 100, 200])
def test_missing_permission_names_the_permission(double, code):
    body = double.permission_error(code, "pages_read_engagement")
    double.inject(Fault(kind="status", status=400 if code == 100 else 403, path=r"/comments$", body=body))

    with pytest.raises(PermissionMissing) as raised:
        fetch()

    assert raised.value.permission == "pages_read_engagement"
    assert raised.value.kind == "permission"


@pytest.mark.parametrize(
    ("code", "subcode", "expected", "kind"),
    [
        (190, 463, AuthError, "auth"),
        (4, None, RateLimited, "rate_limited"),
        (17, None, RateLimited, "rate_limited"),
        (32, None, RateLimited, "rate_limited"),
        (613, None, RateLimited, "rate_limited"),
        (100, 33, ObjectMissing, "not_found"),
    ],
)
def test_graph_errors_are_classified_by_code_and_subcode(double, code, subcode, expected, kind):
    body = double.graph_error(code, f"(#{code}) what Graph says", subcode=subcode)
    double.inject(Fault(kind="status", status=400, path=r"/posts$", body=body))

    with pytest.raises(expected) as raised:
        fetch()

    assert raised.value.kind == kind
    assert not isinstance(raised.value, PermissionMissing)


def test_time_paging_with_a_blank_since_does_not_read_the_whole_history(world, double):
    scenario, _ = world
    cursors = dict(fetch().cursors)
    build = Builder(scenario, scenario.accounts[("facebook", PAGE_ID)])
    fresh = [build.post(20 + n, 1 - n / 10, f"New post {n}") for n in range(5)]  # three pages of two
    double.requests.clear()

    result = fetch(cursors=cursors)

    assert {m.external_id for m in result.messages} == {post.id for post in fresh}
    post_pages = double.requests_to(r"/posts$")
    assert len(post_pages) == 3
    assert all(request.arg("since") for request in post_pages)
    assert any(request.arg("__paging_token") for request in post_pages)


def test_an_unreadable_comment_is_skipped_and_the_rest_stored(world, double):
    scenario, items = world
    build = Builder(scenario, scenario.accounts[("facebook", PAGE_ID)])
    build.comments = 70
    broken = build.comment(items["cups"], person(11, "Dana K"), 3, "no id on the wire")
    broken.broken = "no_id"
    photo = build.post(7, 2, "")  # a photo post: Graph sends no `message`
    double.hide_commenters = True

    result = fetch()

    assert len(result.skipped) == 1
    assert result.skipped[0].raw["message"] == "no id on the wire"
    assert "id" not in result.skipped[0].raw
    stored = {(m.external_id, m.direction) for m in result.messages}
    assert stored == scenario.expected("facebook", PAGE_ID)
    by_id = {m.external_id: m for m in result.messages}
    assert by_id[photo.id].text == ""
    assert by_id[items["dana_asks"].id].author_name == ""  # `from` withheld: still stored, inbound
    assert by_id[items["dana_asks"].id].direction == "inbound"
    assert json.loads(result.cursors["comments"])[items["cups"].id][1] >= int(broken.created_at.timestamp())
