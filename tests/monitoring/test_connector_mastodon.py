"""The Mastodon connector against the REST double, through the real Mastodon.py client on loopback."""

import datetime
import time

import pytest

from doubles.mastodon import MastodonDouble, status_id
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
from monitoring.connectors.mastodon import MastodonConnector, html_to_text

TOKEN = "Zp3kY8qL2mN5vB7xC1dF4gH6jK9wR0tS_uE-aI2oQ"
ORG_ID = "109000000000000001"
T0 = datetime.datetime(2026, 8, 20, 9, 0, tzinfo=datetime.UTC)
HOSTILE = "@acme <script>alert(1)</script> & <b>bold</b> &amp; https://example.com/a?b=1&c=2"


def minutes(count):
    return T0 + datetime.timedelta(minutes=count)


@pytest.fixture
def scenario():
    scenario = Scenario()
    org = scenario.add_account("mastodon", ORG_ID, "acme", "Acme Coffee", token=TOKEN)
    other_org = scenario.add_account("mastodon", "109000000000000002", "other", "Other Org", token="other-token")
    dana = scenario.add_account("mastodon", "500", "dana@example.social", "Dana K")
    lee = scenario.add_account("mastodon", "501", "leep@example.social", "Lee P")
    sam = scenario.add_account("mastodon", "502", "sam@roasters.example", "Sam R")

    def add(author, to, text, at, **kwargs):
        return scenario.add(Item("mastodon", status_id(minutes(at)), author, to, text, minutes(at), **kwargs))

    roast = add(org, org, "New roast lands Friday. Who's in?", 0, likes=27)
    dana_mention = add(dana, org, "@acme is the store open Sunday?", 5)
    add(lee, org, "@acme my mobile order never showed up", 6)  # never answered
    sam_reply = add(sam, org, "@acme count me in for Friday!", 7, in_reply_to=roast.id)
    add(org, org, "Yes! 9-5 on Sundays.", 8, in_reply_to=dana_mention.id)
    add(org, org, "See you Friday, Sam!", 9, in_reply_to=sam_reply.id)
    add(lee, org, HOSTILE, 10)
    add(dana, org, "@acme and on Monday?", 11, in_reply_to=dana_mention.id)
    add(sam, org, "@acme what roast is it?\nAsking for a friend.\n\nThanks!", 12)
    # Noise that is not the org's: another org account and a conversation between members of the public.
    add(other_org, other_org, "Other org post", 3)
    add(dana, other_org, "@other hello", 4)
    add(lee, dana, "@dana@example.social hi", 5.5)
    return scenario


@pytest.fixture
def double(scenario):
    double = MastodonDouble(scenario).start()
    double.page_cap = 2  # a server answering 2 items a page: 7 mentions take 4 pages
    yield double
    double.stop()


@pytest.fixture
def configured(settings, double):
    settings.CHORUS_HTTP_TIMEOUT = 2.0
    return settings


def account(double, external_id=None, **credentials):
    return AccountRef(
        id=1,
        platform="mastodon",
        handle="acme",
        external_id=external_id,
        instance_url=double.url,
        credentials=credentials or {"access_token": TOKEN},
    )


def fetch(account_ref, cursors=None, backfill_since=T0 - datetime.timedelta(days=30)):
    # Asks for 2 a page (the double answers at most 2 too): 7 mentions take 4 pages.
    return MastodonConnector(page_size=2).fetch(account_ref, cursors=cursors or {}, backfill_since=backfill_since)


def add_mention(scenario, text, at):
    lee = scenario.accounts[("mastodon", "501")]
    org = scenario.accounts[("mastodon", ORG_ID)]
    return scenario.add(Item("mastodon", status_id(minutes(at)), lee, org, text, minutes(at)))


def test_full_poll_stores_exactly_the_expected_items(configured, double, scenario):
    result = fetch(account(double))

    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("mastodon", ORG_ID)
    assert len(result.messages) == len(scenario.expected("mastodon", ORG_ID))  # nothing twice
    by_id = {m.external_id: m for m in result.messages}
    for item in scenario.snapshot("mastodon"):
        if item.to.id != ORG_ID:
            continue
        message = by_id[item.id]
        assert message.in_reply_to_id == item.in_reply_to
        # A Mastodon status names its parent, not its thread root: only top-level statuses carry one.
        assert message.conversation_id == ("" if item.in_reply_to else item.id)
        assert message.author_id == item.author.id
        assert message.author_handle == item.author.handle
        assert message.author_name == item.author.name
        assert message.text == item.text
        assert message.created_at == item.created_at
        assert message.created_at.tzinfo == datetime.UTC
        assert message.url == f"{double.url}/@{item.author.handle.split('@')[0]}/{item.id}"
    kinds = {at: by_id[status_id(minutes(at))].kind for at in (0, 5, 6, 7, 8, 9, 10, 11, 12)}
    assert kinds == {
        0: "post",
        5: "mention",
        6: "mention",  # the unanswered mention
        7: "reply",  # a reply under the org's post
        8: "reply",  # the org answering Dana
        9: "reply",
        10: "mention",
        11: "mention",  # a reply under a member's post that mentions the org
        12: "mention",
    }
    assert by_id[status_id(minutes(0))].metrics == {"likes": 27, "reposts": 0, "replies": 1}
    assert result.account_updates == {"external_id": ORG_ID}
    assert set(result.cursors) == {"mentions", "statuses"}
    assert result.cursors["statuses"] == status_id(minutes(9))
    assert len(double.requests_to("/api/v1/notifications")) == 4
    assert result.pages == 4 + 2
    assert result.requests == len(double.requests)


def test_hostile_text_passes_through_as_data(configured, double):
    result = fetch(account(double))

    (message,) = [m for m in result.messages if "script" in m.text]
    assert message.text == HOSTILE  # unescaped data; templates escape at render time


def test_notifications_ask_for_mentions_and_statuses_keep_replies(configured, double):
    fetch(account(double))

    notifications = double.requests_to("/api/v1/notifications")[0]
    assert notifications.query["types[]"] == ["mention"]
    assert notifications.headers["authorization"] == f"Bearer {TOKEN}"
    statuses = double.requests_to(f"/api/v1/accounts/{ORG_ID}/statuses")[0]
    assert statuses.arg("exclude_reblogs") == "1"
    assert "exclude_replies" not in statuses.query


def test_second_poll_with_cursors_re_reads_nothing(configured, double, scenario):
    first = fetch(account(double))
    requests_before = len(double.requests)

    second = fetch(account(double, external_id=ORG_ID), cursors=first.cursors)

    assert second.messages == []
    assert second.cursors == {}
    assert second.account_updates == {}
    new_requests = double.requests[requests_before:]
    assert [request.path for request in new_requests] == [
        "/api/v1/notifications",
        f"/api/v1/accounts/{ORG_ID}/statuses",
    ]  # no verify_credentials: the org id is cached as the external id
    assert new_requests[0].arg("since_id") == first.cursors["mentions"]
    assert new_requests[1].arg("since_id") == first.cursors["statuses"]


def test_paging_above_since_id_stops_at_the_stored_id(configured, double, scenario):
    first = fetch(account(double))
    for number in range(5):
        add_mention(scenario, f"@acme new {number}", 20 + number)
    requests_before = len(double.requests_to("/api/v1/notifications"))

    result = fetch(account(double, external_id=ORG_ID), cursors=first.cursors)

    assert sorted(m.text for m in result.messages) == [f"@acme new {number}" for number in range(5)]
    # Mastodon.py's fetch_next drops since_id; without the stop, paging would run through the whole history.
    assert len(double.requests_to("/api/v1/notifications")) - requests_before == 3
    assert int(result.cursors["mentions"]) > int(first.cursors["mentions"])
    assert "statuses" not in result.cursors


def test_first_poll_stops_at_backfill_since(configured, double):
    result = fetch(account(double), backfill_since=minutes(8))

    assert sorted(m.external_id for m in result.messages) == sorted(status_id(minutes(at)) for at in (8, 9, 10, 11, 12))


def test_missing_token_is_missing_credentials(configured, double):
    with pytest.raises(MissingCredentials):
        fetch(account(double, refresh_token="x"))
    assert double.requests == []


def test_missing_instance_url_is_missing_credentials(configured, double):
    ref = AccountRef(id=1, platform="mastodon", handle="acme", external_id=None, credentials={"access_token": TOKEN})
    with pytest.raises(MissingCredentials):
        fetch(ref)


def test_token_naming_a_file_is_refused_before_mastodon_py_reads_it(configured, double, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("first line of a private file\n")

    with pytest.raises(MissingCredentials):
        fetch(account(double, access_token=str(secret)))
    assert double.requests == []


def test_revoked_token_is_an_auth_error(configured, double):
    double.revoked.add(TOKEN)

    with pytest.raises(AuthError):
        fetch(account(double))


def test_forbidden_is_an_auth_error(configured, double):
    double.inject(Fault(kind="status", path="notifications", status=403))

    with pytest.raises(AuthError):
        fetch(account(double, external_id=ORG_ID))


def test_rate_limit_raises_with_reset_and_does_not_wait(configured, double):
    double.inject(Fault(kind="rate_limit", path="notifications", reset_in=120))

    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        fetch(account(double))

    assert time.monotonic() - started < 1.5
    expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=120)
    assert abs((caught.value.reset_at - expected).total_seconds()) < 3  # Date-header correction: whole seconds
    assert len(double.requests_to("notifications")) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(configured, double, status):
    double.inject(Fault(kind="status", path="statuses", status=status))

    with pytest.raises(TransientError):
        fetch(account(double))


def test_slow_response_beyond_the_timeout_is_transient(configured, double):
    configured.CHORUS_HTTP_TIMEOUT = 0.5
    double.inject(Fault(kind="slow", path="notifications", delay=1.5))

    started = time.monotonic()
    with pytest.raises(TransientError):
        fetch(account(double, external_id=ORG_ID))
    assert time.monotonic() - started < 1.4


def test_connection_refused_is_transient(configured, double):
    ref = account(double)
    double.stop()

    with pytest.raises(TransientError):
        fetch(ref)


def test_malformed_json_is_malformed_payload(configured, double):
    double.inject(Fault(kind="malformed", path="notifications"))

    with pytest.raises(MalformedPayload):
        fetch(account(double))


def test_unexpected_shape_is_malformed_payload(configured, double):
    double.inject(Fault(kind="status", path="notifications", status=200, body=[{"type": "mention"}]))

    with pytest.raises(MalformedPayload):
        fetch(account(double, external_id=ORG_ID))


def test_rate_limit_headers_of_successful_responses_are_reported(configured, double):
    before = datetime.datetime.now(datetime.UTC)
    result = fetch(account(double))

    assert result.rate_limit is not None
    assert result.rate_limit.limit == 300
    assert result.rate_limit.remaining == 300 - len(double.requests)
    assert result.rate_limit.reset_at is not None
    assert before < result.rate_limit.reset_at <= before + datetime.timedelta(seconds=301)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<script>alert(1)</script>"),
        ("<p>one<br />two</p><p>three</p>", "one\ntwo\n\nthree"),
        (
            '<p><span class="h-card"><a href="https://a.example/@acme" class="u-url mention">'
            "@<span>acme</span></a></span> hi</p>",
            "@acme hi",
        ),
        ("<p>a &amp;amp; b &quot;c&quot; &#39;d&#39;</p>", "a &amp; b \"c\" 'd'"),
        ("<p>shown</p><script>hidden()</script>", "shown"),
    ],
)
def test_html_to_text(content, text):
    assert html_to_text(content) == text


# -- platform truth: paging, visibility, quote fallback, reblogs, unreadable statuses ----------------------------
def test_a_partial_page_ends_paging_although_mastodon_links_a_next_one(configured, double, scenario):
    first = fetch(account(double))
    add_mention(scenario, "@acme one new mention", 30)
    double.requests.clear()

    second = fetch(account(double, external_id=ORG_ID), cursors=first.cursors)

    assert len(second.messages) == 1
    assert len(double.requests_to("/api/v1/notifications")) == 1  # the partial page carried rel="next"
    assert second.pages == 2  # one page per stream


def test_a_direct_mention_keeps_its_visibility(configured, double, scenario):
    direct = add_mention(scenario, "@acme my neighbour's address is 12 Elm St", 30)
    direct.visibility = "direct"
    unlisted = add_mention(scenario, "@acme just so you know", 31)
    unlisted.visibility = "unlisted"

    result = fetch(account(double))

    by_id = {m.external_id: m for m in result.messages}
    assert by_id[direct.id].visibility == "direct"
    assert by_id[unlisted.id].visibility == "unlisted"
    assert by_id[status_id(minutes(5))].visibility == "public"


def test_the_quote_fallback_is_stripped_and_reblogs_are_not_own_posts(configured, double, scenario):
    org = scenario.accounts[("mastodon", ORG_ID)]
    dana = scenario.accounts[("mastodon", "500")]
    dana_post = scenario.add(
        Item("mastodon", status_id(minutes(20)), dana, dana, "Road closed on Main St", minutes(20))
    )
    quote = scenario.add(
        Item("mastodon", status_id(minutes(21)), dana, org, "@acme is this right?", minutes(21), quote_of=dana_post.id)
    )
    reblog = scenario.add(Item("mastodon", status_id(minutes(22)), org, org, "", minutes(22), repost_of=dana_post.id))

    result = fetch(account(double))

    by_id = {m.external_id: m for m in result.messages}
    assert by_id[quote.id].text == "@acme is this right?"
    assert reblog.id not in by_id
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("mastodon", ORG_ID)


def test_an_unreadable_status_is_skipped_and_the_rest_stored(configured, double, scenario):
    broken = add_mention(scenario, "@acme broken date", 30)
    broken.broken = "bad_time"
    after = add_mention(scenario, "@acme after the broken one", 31)

    result = fetch(account(double))

    assert [record.raw["status"]["id"] for record in result.skipped] == [broken.id]
    assert {(m.external_id, m.direction) for m in result.messages} == scenario.expected("mastodon", ORG_ID)
    assert result.cursors["mentions"] == double._notification_ids[after.id].__str__()


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (
            '<p>Is this right?</p><p class="quote-inline">RE: <a href="https://x.example/@a/1">x.example/@a/1</a></p>',
            "Is this right?",
        ),
        ("<p>Is this right?</p><p>RE: https://x.example/notes/9f2</p>", "Is this right?"),
        ("<p>RE: the meeting</p>", "RE: the meeting"),
    ],
)
def test_quote_fallback_paragraphs(content, text):
    assert html_to_text(content) == text
