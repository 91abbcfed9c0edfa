"""The X Activity API and Meta webhook receivers: verification, storage, processing into messages, replays.

Deliveries are signed here exactly as the platforms sign them (docs/platforms.md §5). Most tests capture the
on-commit enqueue without running it and call the processing service directly; one test checks the task
really lands on the Redis broker. The poll-after-webhook tests go through the real connectors and the doubles.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import logging

import pytest
import redis
from django.conf import settings
from django.db.models import Sum
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts_registry.crypto import encrypt_credentials
from doubles.facebook import FacebookDouble
from doubles.scenario import Item, Person, Scenario
from doubles.x import XDouble, iso, snowflake
from monitoring.models import DailyActivity, Message, WebhookEvent
from monitoring.services import ingest_hooks as hooks
from monitoring.services.polling import account_poll
from monitoring.tasks import process_webhook_event
from monitoring.webhooks.services import webhook_event_process
from monitoring.webhooks.views import meta_webhook, x_webhook
from tests.monitoring.webhook_payloads import (
    APP_SECRET,
    DANA,
    LEE,
    PAGE_ID,
    VERIFY_TOKEN,
    X_ORG_ID,
    X_SECRET,
    encode,
    feed_change,
    meta_delivery,
    meta_sign,
    post_meta,
    post_x,
    process_all,
    x_sign,
    xaa_event,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_settings")]

HOSTILE = "<script>alert(1)</script> & ☕"


def totals(account) -> dict[str, int]:
    """Daily statistics summed over days (items of one test may straddle midnight)."""
    sums = DailyActivity.objects.filter(account=account).aggregate(
        inbound=Sum("inbound"), replies=Sum("replies"), posts=Sum("posts")
    )
    return {name: value or 0 for name, value in sums.items()}


RECORDED_HOOK_CALLS: list[list[int]] = []


def record_hook(message_ids: list[int]) -> None:
    RECORDED_HOOK_CALLS.append(sorted(message_ids))


@pytest.fixture
def recorded_hooks(settings):
    settings.CHORUS_INGEST_HOOKS = ["tests.monitoring.test_webhooks.record_hook"]
    hooks._hooks.cache_clear()
    RECORDED_HOOK_CALLS.clear()
    yield RECORDED_HOOK_CALLS
    hooks._hooks.cache_clear()


# --- X: CRC --------------------------------------------------------------------------------------------


def test_x_crc_answers_the_documented_vector(client):
    response = client.get("/hooks/x", {"crc_token": "challenge_string_123"})
    assert response.status_code == 200
    assert response.json() == {"response_token": "sha256=qEK+2Sq0rROyoifzHX2F/CSyFmrG/eFg1mESazDgPnw="}


def test_x_crc_without_a_token_is_400_and_without_a_secret_503(client, settings):
    assert client.get("/hooks/x").status_code == 400
    assert client.get("/hooks/x", {"crc_token": ""}).status_code == 400
    settings.CHORUS_X_CONSUMER_SECRET = ""
    assert client.get("/hooks/x", {"crc_token": "challenge_string_123"}).status_code == 503
    assert post_x(client, b"{}").status_code == 503
    assert not WebhookEvent.objects.exists()


# --- X: deliveries -------------------------------------------------------------------------------------


def test_x_mention_is_stored_enqueued_after_commit_and_processed_into_an_inbound_mention(
    client, x_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_x(client, encode({"data": xaa_event()}))
    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert (event.source, event.event_id, event.processed_at) == ("x", "2080765813578191303", None)
    assert len(callbacks) == 1  # the task is enqueued once the event is committed
    assert not Message.objects.exists()  # the view only stores

    assert len(webhook_event_process(event_id=event.pk)) == 1
    message = Message.objects.get()
    assert message.account == x_account
    assert (message.platform, message.external_id) == ("x", "1958100000000000202")
    assert (message.direction, message.kind) == ("inbound", "mention")
    assert (message.author_id, message.author_handle, message.author_name) == (LEE.id, "leep", "Lee P")
    assert message.conversation_id == "1958100000000000202" and message.in_reply_to_id == ""
    assert message.created_at == datetime.datetime(2026, 8, 20, 9, 30, 12, tzinfo=datetime.UTC)
    assert message.url == "https://x.com/leep/status/1958100000000000202"
    assert message.metrics == {"retweet_count": 0, "like_count": 2}  # the *_str duplicates are dropped
    event.refresh_from_db()
    assert event.processed_at is not None
    assert DailyActivity.objects.get(account=x_account).inbound == 1


@pytest.mark.parametrize("reply_shape", ["referenced_tweets", "in_reply_to_tweet_id"])
def test_x_reply_to_the_org_is_an_inbound_reply_with_its_thread(client, x_account, reply_shape):
    event = xaa_event(
        event_type="post.reply.create",
        post_id="1958100000000000203",
        conversation_id="1958000000000000101",
        in_reply_to=("1958000000000000101", X_ORG_ID),
        reply_shape=reply_shape,
        text=HOSTILE,
    )
    assert post_x(client, encode({"data": event})).status_code == 200
    process_all()
    message = Message.objects.get()
    assert (message.direction, message.kind) == ("inbound", "reply")
    assert (message.conversation_id, message.in_reply_to_id) == ("1958000000000000101", "1958000000000000101")
    assert message.text == HOSTILE  # data, escaped only when rendered


def test_x_post_by_the_org_itself_is_outbound(client, x_account):
    org = Person("x", X_ORG_ID, "AcmeCoffee", "Acme Coffee")
    event = xaa_event(
        event_type="post.reply.create",
        author=org,
        post_id="1958100000000000301",
        in_reply_to=("1958100000000000201", LEE.id),
    )
    assert post_x(client, encode({"data": event})).status_code == 200
    process_all()
    message = Message.objects.get()
    assert (message.direction, message.kind, message.in_reply_to_id) == ("outbound", "reply", "1958100000000000201")
    assert DailyActivity.objects.get(account=x_account).replies == 1


def test_x_list_of_events_is_tolerated(client, x_account):
    first, second = xaa_event(uuid="1", post_id="11"), xaa_event(uuid="2", post_id="12")
    assert post_x(client, encode({"data": [first, second]})).status_code == 200
    assert (
        post_x(
            client, encode([{"data": xaa_event(uuid="3", post_id="13")}, xaa_event(uuid="4", post_id="14")])
        ).status_code
        == 200
    )
    process_all()
    assert set(Message.objects.values_list("external_id", flat=True)) == {"11", "12", "13", "14"}


BODY = encode({"data": xaa_event(text="private words that must not be logged")})
FLIPPED = BODY.replace(b"private", b"privatE")
GOOD = x_sign(BODY)


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        pytest.param(FLIPPED, GOOD, id="byte-flip"),
        pytest.param(BODY, x_sign(BODY, "wrong-secret"), id="wrong-secret"),
        pytest.param(BODY, None, id="missing-header"),
        pytest.param(BODY, "", id="empty-header"),
        pytest.param(BODY, GOOD.replace("sha256=", "sha1="), id="wrong-prefix"),
        pytest.param(BODY, GOOD.removeprefix("sha256="), id="no-prefix"),
        pytest.param(BODY, "sha256=" + hmac.new(X_SECRET.encode(), BODY, "sha256").hexdigest(), id="hex-not-base64"),
        pytest.param(BODY, "sha256=é☕", id="non-ascii"),
    ],
)
def test_x_bad_signature_is_403_stores_nothing_and_logs_no_body(client, x_account, caplog, body, signature):
    with caplog.at_level(logging.WARNING):
        response = post_x(client, body, signature=signature)
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists() and not Message.objects.exists()
    assert "signature" in caplog.text and "private" not in caplog.text


def test_x_replay_and_reprocessing_change_nothing(
    client, x_account, recorded_hooks, django_capture_on_commit_callbacks
):
    body = encode({"data": xaa_event()})
    assert post_x(client, body).status_code == 200
    (event,) = WebhookEvent.objects.all()
    new_ids = webhook_event_process(event_id=event.pk)
    stored = Message.objects.values().get()

    with django_capture_on_commit_callbacks() as callbacks:
        assert post_x(client, body).status_code == 200  # X retried the delivery
    assert callbacks == []  # already processed: nothing to enqueue
    assert webhook_event_process(event_id=event.pk) == []  # a duplicate task
    assert WebhookEvent.objects.count() == 1
    assert Message.objects.values().get() == stored
    assert DailyActivity.objects.get(account=x_account).inbound == 1
    assert recorded_hooks == [new_ids]  # the ingest hooks saw the message once


def test_x_replay_of_an_unprocessed_event_enqueues_it_again(client, x_account, django_capture_on_commit_callbacks):
    body = encode({"data": xaa_event()})
    with django_capture_on_commit_callbacks() as first:
        post_x(client, body)
    with django_capture_on_commit_callbacks() as second:
        post_x(client, body)  # the first task was lost (broker down); X retried
    assert len(first) == len(second) == 1 and WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (xaa_event(event_type="post.delete"), "unknown event type"),
        (xaa_event(user_id="999"), "unknown account"),
        ({**xaa_event(), "filter": None}, "no account named"),
    ],
)
def test_x_events_not_ingested_are_acknowledged_and_stored_as_processed(
    client, x_account, django_capture_on_commit_callbacks, event, why
):
    with django_capture_on_commit_callbacks() as callbacks:
        assert post_x(client, encode({"data": event})).status_code == 200, why
    assert callbacks == []
    assert WebhookEvent.objects.get().processed_at is not None
    assert not Message.objects.exists()


def test_x_events_of_a_paused_account_are_ignored(client, x_account):
    x_account.status = "paused"
    x_account.save(update_fields=["status"])
    assert post_x(client, encode({"data": xaa_event()})).status_code == 200
    assert WebhookEvent.objects.get().processed_at is not None
    assert process_all() == [] and not Message.objects.exists()


def test_x_event_paused_between_receipt_and_processing_is_ignored(client, x_account):
    post_x(client, encode({"data": xaa_event()}))
    x_account.status = "paused"
    x_account.save(update_fields=["status"])
    assert process_all() == []
    assert not Message.objects.exists() and WebhookEvent.objects.get().processed_at is not None


def test_x_malformed_payload_is_marked_processed_without_a_message(client, x_account, caplog):
    event = xaa_event()
    del event["payload"]["created_at"]
    assert post_x(client, encode({"data": event})).status_code == 200
    with caplog.at_level(logging.WARNING):
        assert process_all() == []
    assert not Message.objects.exists() and WebhookEvent.objects.get().processed_at is not None
    assert "cannot be ingested" in caplog.text


def test_x_event_without_an_id_is_skipped(client, x_account):
    event = xaa_event()
    del event["event_uuid"]
    del event["payload"]["id"]
    assert post_x(client, encode({"data": event})).status_code == 200
    assert not WebhookEvent.objects.exists()
    event = xaa_event()
    del event["event_uuid"]  # falls back to event type and post id
    assert post_x(client, encode({"data": event})).status_code == 200
    assert WebhookEvent.objects.get().event_id == "post.mention.create:1958100000000000202"


# --- Meta ----------------------------------------------------------------------------------------------


def test_meta_verification_echoes_the_challenge_only_for_the_right_token(client, settings):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    response = client.get("/hooks/meta", query)
    assert response.status_code == 200
    assert response.content == b"1158201444" and response["Content-Type"].startswith("text/plain")
    assert client.get("/hooks/meta", {**query, "hub.verify_token": "guess"}).status_code == 403
    assert client.get("/hooks/meta", {**query, "hub.verify_token": "é"}).status_code == 403
    assert client.get("/hooks/meta", {**query, "hub.mode": "unsubscribe"}).status_code == 403
    assert client.get("/hooks/meta", {"hub.mode": "subscribe", "hub.challenge": "1"}).status_code == 403
    assert client.get("/hooks/meta").status_code == 403
    settings.CHORUS_FACEBOOK_VERIFY_TOKEN = ""
    assert client.get("/hooks/meta", {**query, "hub.verify_token": ""}).status_code == 503


def test_meta_signature_matches_the_documented_vector(client):
    body = b'{"object":"page","entry":[]}'
    header = "sha256=1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"
    assert meta_sign(body) == header
    assert post_meta(client, body, signature=header).status_code == 200
    assert post_meta(client, body, signature=header.replace("1a82", "1a83")).status_code == 403
    assert post_meta(client, body.replace(b"[]", b"[ ]"), signature=header).status_code == 403
    assert post_meta(client, body, signature=None).status_code == 403
    assert post_meta(client, body, signature=meta_sign(body, "wrong-secret")).status_code == 403
    assert not WebhookEvent.objects.exists()


def test_meta_without_an_app_secret_is_503(client, settings):
    settings.CHORUS_FACEBOOK_APP_SECRET = ""
    body = b'{"object":"page","entry":[]}'
    assert post_meta(client, body, signature=meta_sign(body)).status_code == 503


def test_meta_comment_becomes_an_inbound_comment(client, page_account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_meta(client, encode(meta_delivery(feed_change(text=HOSTILE))))
    assert response.status_code == 200 and len(callbacks) == 1
    event = WebhookEvent.objects.get()
    assert (event.source, event.event_id) == ("meta", "feed:900000000000011_1201:add:1755681303")
    process_all()
    message = Message.objects.get()
    assert message.account == page_account
    assert (message.platform, message.external_id) == ("facebook", "900000000000011_1201")
    assert (message.direction, message.kind) == ("inbound", "comment")
    assert (message.author_id, message.author_name, message.text) == (DANA.id, "Dana K", HOSTILE)
    assert message.conversation_id == message.in_reply_to_id == f"{PAGE_ID}_900000000000011"
    assert message.created_at == datetime.datetime.fromtimestamp(1755681303, tz=datetime.UTC)


def test_meta_reply_by_the_page_is_outbound_and_a_reply_by_a_person_inbound(client, page_account):
    page = Person("facebook", PAGE_ID, "acmecoffee", "Acme Coffee")
    own = feed_change(comment_id="900000000000011_1203", parent_id="900000000000011_1201", author=page, text="9-5!")
    other = feed_change(comment_id="900000000000011_1204", parent_id="900000000000011_1201", text="Thanks!")
    assert post_meta(client, encode(meta_delivery(own, other))).status_code == 200
    process_all()
    reply = Message.objects.get(external_id="900000000000011_1203")
    assert (reply.direction, reply.kind, reply.in_reply_to_id) == ("outbound", "reply", "900000000000011_1201")
    assert (reply.author_id, reply.author_handle) == (PAGE_ID, "acmecoffee")
    thanks = Message.objects.get(external_id="900000000000011_1204")
    assert (thanks.direction, thanks.kind) == ("inbound", "reply")
    activity = DailyActivity.objects.get(account=page_account)
    assert (activity.replies, activity.inbound) == (1, 1)


def test_meta_replay_changes_nothing(client, page_account, recorded_hooks):
    body = encode(meta_delivery(feed_change()))
    post_meta(client, body)
    new_ids = process_all()
    stored = Message.objects.values().get()
    assert post_meta(client, body).status_code == 200
    assert process_all() == []
    assert WebhookEvent.objects.count() == 1 and Message.objects.values().get() == stored
    assert recorded_hooks == [new_ids]


def test_meta_edit_updates_the_text_and_removal_is_recorded_and_ignored(client, page_account):
    post_meta(client, encode(meta_delivery(feed_change())))
    process_all()
    post_meta(client, encode(meta_delivery(feed_change(verb="edited", text="Open on Sunday?? Anyone?"))))
    assert process_all() == []  # an edit is no new message
    assert Message.objects.get().text == "Open on Sunday?? Anyone?"
    post_meta(client, encode(meta_delivery(feed_change(verb="remove"))))
    removal = WebhookEvent.objects.get(event_id__contains=":remove:")
    assert removal.processed_at is not None  # stored as processed: nothing to do
    assert Message.objects.get().text == "Open on Sunday?? Anyone?"


def test_meta_changes_other_than_comments_are_acknowledged_and_not_stored(client, page_account):
    reaction = feed_change(item="reaction")
    instagram = {"object": "instagram", "entry": [{"id": "1", "changes": [{"field": "comments", "value": {}}]}]}
    assert post_meta(client, encode(meta_delivery(reaction, {"field": "mention", "value": {}}))).status_code == 200
    assert post_meta(client, encode(instagram)).status_code == 200
    assert post_meta(client, encode(meta_delivery(feed_change(), page_id="999"))).status_code == 200
    assert WebhookEvent.objects.get().processed_at is not None  # the unknown Page's comment: ignored
    assert not Message.objects.exists()


# --- Garbage, logins, CSRF -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe garbage", b'{"data": NaN}', b"[" * 5000 + b"]" * 5000, b"42", b"[]", b'"text"'],
)
def test_signed_garbage_is_400_never_500(client, x_account, page_account, body):
    assert post_x(client, body).status_code == 400
    assert post_meta(client, body).status_code == 400
    assert not WebhookEvent.objects.exists()


def test_signed_text_with_nul_characters_is_stored_without_them(client, x_account):
    assert post_x(client, encode({"data": xaa_event(text="a\x00b")})).status_code == 200
    process_all()
    assert Message.objects.get().text == "ab"


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "head", "options", "patch"])
@pytest.mark.parametrize("path", ["/hooks/x", "/hooks/meta"])
def test_hooks_need_no_login_and_never_answer_500(client, method, path):
    for query in ({}, {"crc_token": "é" * 300}, {"hub.mode": ["a", "b"], "hub.challenge": "<b>"}):
        response = getattr(client, method)(path, query if method == "get" else None)
        assert response.status_code in {200, 400, 403, 405}, (method, query)
        assert response.status_code != 302  # never a redirect to the login page
    response = client.generic(
        method.upper(),
        path,
        b"\x00\xff{",
        content_type="text/plain",
        headers={"x-twitter-webhooks-signature": "\u2603"},
    )
    assert response.status_code in {400, 403, 405}


def _callbacks(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _callbacks(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _is_rest_framework_view(view) -> bool:
    """DRF's `APIView.as_view()` marks every view csrf_exempt and enforces CSRF itself for session-authenticated
    requests (`SessionAuthentication.enforce_csrf`); token-authenticated requests carry no ambient credential."""
    view_class = getattr(view, "cls", None)
    return view_class is not None and any(base.__module__.startswith("rest_framework.") for base in view_class.__mro__)


def test_only_the_two_webhook_views_are_csrf_exempt():
    exempt = {
        route: view
        for route, view in _callbacks(get_resolver().url_patterns)
        if getattr(view, "csrf_exempt", False) and not _is_rest_framework_view(view)
    }
    assert set(exempt.values()) == {x_webhook, meta_webhook}, sorted(exempt)
    assert reverse("webhooks:x") == "/hooks/x" and reverse("webhooks:meta") == "/hooks/meta"


# --- The task and the broker ---------------------------------------------------------------------------


def _queued(client, event_id: int) -> list[bytes]:
    found = []
    for raw in client.lrange("celery", 0, -1):
        headers = json.loads(raw).get("headers", {})
        if headers.get("task") == "monitoring.tasks.process_webhook_event" and headers.get("argsrepr") == repr(
            (event_id,)
        ):
            found.append(raw)
    return found


def test_a_delivery_enqueues_the_processing_task_on_the_broker_with_the_event_id_only(
    client, x_account, django_capture_on_commit_callbacks
):
    broker = redis.Redis.from_url(settings.REDIS_URL)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_x(client, encode({"data": xaa_event()})).status_code == 200
    event = WebhookEvent.objects.get()
    queued = _queued(broker, event.pk)
    try:
        assert len(queued) == 1
        body = json.loads(base64.b64decode(json.loads(queued[0])["body"]))
        assert body[0] == [event.pk] and body[1] == {}  # no body, no token: the id alone
    finally:
        for raw in queued:
            broker.lrem("celery", 0, raw.decode())


def test_the_task_delegates_to_the_service(client, x_account):
    post_x(client, encode({"data": xaa_event()}))
    process_webhook_event(WebhookEvent.objects.get().pk)  # called directly: runs in this process
    assert Message.objects.get().external_id == "1958100000000000202"


# --- A poll after the webhook --------------------------------------------------------------------------


@pytest.fixture
def x_world(settings, org):
    scenario = Scenario()
    double = XDouble(scenario, app_bearer="app-bearer").start()
    settings.CHORUS_X_API_BASE, settings.CHORUS_X_BEARER_TOKEN, settings.CHORUS_HTTP_TIMEOUT = (
        double.url,
        "app-bearer",
        2,
    )
    yield scenario
    double.stop()


def test_a_poll_after_the_webhook_adds_nothing(client, x_world, x_account, recorded_hooks):
    org = x_world.add_account("x", X_ORG_ID, "AcmeCoffee", "Acme Coffee")
    now = timezone.now().replace(microsecond=0)
    post = x_world.add(
        Item(
            "x",
            snowflake(now - datetime.timedelta(hours=2), 1),
            org,
            org,
            "Roast Friday",
            now - datetime.timedelta(hours=2),
        )
    )
    created = now - datetime.timedelta(minutes=30)
    mention = Item("x", snowflake(created, 2), LEE, org, "@AcmeCoffee count me in", created, in_reply_to=post.id)
    x_world.add(mention)
    event = xaa_event(
        event_type="post.reply.create",
        post_id=mention.id,
        text=mention.text,
        created_at=iso(created),
        conversation_id=post.id,
        in_reply_to=(post.id, X_ORG_ID),
    )
    post_x(client, encode({"data": event}))
    process_all()
    from_webhook = Message.objects.values("external_id", "direction", "kind", "conversation_id", "in_reply_to_id").get()

    summary = account_poll(account_id=x_account.pk)
    assert summary is not None and summary.outcome == "ok"
    assert Message.objects.filter(external_id=mention.id).values(*from_webhook).get() == from_webhook
    assert Message.objects.count() == 2  # the org's post is new; the mention is not
    assert totals(x_account) == {"inbound": 1, "replies": 0, "posts": 1}
    assert [len(call) for call in recorded_hooks] == [1, 1]  # the mention once (webhook), the post once (poll)


@pytest.fixture
def page_world(settings, org):
    scenario = Scenario()
    double = FacebookDouble(scenario, app_secret=APP_SECRET).start()
    double.unknown_usage_key_every = 0
    settings.CHORUS_FACEBOOK_API_BASE, settings.CHORUS_HTTP_TIMEOUT = double.url, 2
    yield scenario
    double.stop()


def test_a_facebook_poll_after_the_webhook_adds_nothing(client, page_world, page_account, recorded_hooks):
    page = page_world.add_account("facebook", PAGE_ID, "acmecoffee", "Acme Coffee", token="page-token")
    page_account.credentials_ciphertext = encrypt_credentials({"access_token": "page-token"})
    page_account.save(update_fields=["credentials_ciphertext"])
    now = timezone.now().replace(microsecond=0)
    post = page_world.add(
        Item("facebook", f"{PAGE_ID}_900000000000011", page, page, "Roast Friday", now - datetime.timedelta(hours=3))
    )
    created = now - datetime.timedelta(hours=1)
    comment = Item(
        "facebook", "900000000000011_1201", DANA, page, "Sunday?", created, in_reply_to=post.id, post_id=post.id
    )
    answer = Item(
        "facebook", "900000000000011_1202", page, page, "9-5", created, in_reply_to=comment.id, post_id=post.id
    )
    page_world.add(comment)
    page_world.add(answer)
    changes = [
        feed_change(
            comment_id=item.id,
            post_id=post.id,
            parent_id=item.in_reply_to,
            author=item.author,
            text=item.text,
            created_time=int(created.timestamp()),
        )
        for item in (comment, answer)
    ]
    post_meta(client, encode(meta_delivery(*changes)))
    process_all()
    fields = ("external_id", "direction", "kind", "author_id", "text", "conversation_id", "in_reply_to_id")
    from_webhook = set(Message.objects.values_list(*fields))
    assert totals(page_account) == {"inbound": 1, "replies": 1, "posts": 0}

    summary = account_poll(account_id=page_account.pk)
    assert summary is not None and summary.outcome == "ok", summary
    assert set(Message.objects.exclude(external_id=post.id).values_list(*fields)) == from_webhook
    assert Message.objects.get(external_id=comment.id).url  # the poll filled in what the webhook lacks
    assert totals(page_account) == {"inbound": 1, "replies": 1, "posts": 1}  # only the post was new
    assert [len(call) for call in recorded_hooks] == [1, 1, 1]  # each comment once (webhook), the post (poll)
