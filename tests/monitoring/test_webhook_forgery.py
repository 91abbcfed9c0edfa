"""Forging X deliveries through the CRC endpoint, and rewriting stored messages through a delivery.

Both failed before: `GET /hooks/x?crc_token=<a JSON body>` signed that body with the consumer secret in exactly
the `x-twitter-webhooks-signature` format, so the body could be POSTed as a "signed" delivery (a new message
and triage item on any org account, or a rewrite of a stored message's text, with no trace of what it said).
"""

from __future__ import annotations

import pytest

from engagement.models import TriageItem
from monitoring.connectors.x.tweets import activity_post_message
from monitoring.models import Message, MessageEdit, WebhookEvent
from monitoring.services.ingest import messages_upsert
from monitoring.webhooks.deliveries import x_crc_token_ok
from tests.monitoring.webhook_payloads import (
    X_SECRET,
    encode,
    feed_change,
    meta_delivery,
    post_meta,
    post_x,
    process_all,
    xaa_event,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secrets(webhook_settings):
    return webhook_settings


def test_the_crc_endpoint_refuses_to_sign_a_delivery_body_so_it_cannot_be_replayed_as_one(client, x_account):
    body = encode({"data": xaa_event(text="Forged: call this number to claim your refund")})
    oracle = client.get("/hooks/x", {"crc_token": body.decode()})
    assert oracle.status_code == 400
    assert "response_token" not in oracle.content.decode()
    # Had the endpoint answered, its token would be this signature; it is never handed out.
    assert not WebhookEvent.objects.exists() and not Message.objects.exists() and not TriageItem.objects.exists()


@pytest.mark.parametrize(
    "token",
    ['{"data":{}}', "[1]", '"quoted"', "a b c d e f g h", "short", "x" * 129, "é" * 20, "tok\nen_1234", ""],
)
def test_only_tokens_of_the_shape_x_sends_are_signed(client, token):
    assert not x_crc_token_ok(token)
    assert client.get("/hooks/x", {"crc_token": token}).status_code == 400


@pytest.mark.parametrize(
    "token", ["challenge_string_123", "YzU5OTY3YjktNzg2OC00ZDFkLWJlNDYtN2ExZTY4ZTdjNDNl", "a+b/c=d-e_f="]
)
def test_real_crc_tokens_are_still_answered(client, token):
    response = client.get("/hooks/x", {"crc_token": token})
    assert response.status_code == 200
    assert response.json()["response_token"].startswith("sha256=")
    assert X_SECRET not in response.content.decode()


def _stored_from_a_poll(account, text: str) -> Message:
    """The mention as a poll stored it (same natural key as the webhook event below)."""
    delivery = xaa_event(text=text)
    message = activity_post_message(
        delivery["payload"], includes=delivery["includes"], account_user_id=account.external_id, account_handle="x"
    )
    assert message is not None  # a mention, not a retweet
    messages_upsert(account_id=account.pk, messages=[message])  # what account_poll calls with a page
    return Message.objects.get()


def test_a_delivery_that_changes_a_polled_message_keeps_what_it_said_before(client, x_account):
    original = _stored_from_a_poll(x_account, "@AcmeCoffee my order never showed up")
    assert post_x(client, encode({"data": xaa_event(text="@AcmeCoffee thanks, all sorted!")})).status_code == 200
    assert process_all() == []
    message = Message.objects.get()
    assert message.pk == original.pk and message.text == "@AcmeCoffee thanks, all sorted!"
    edit = MessageEdit.objects.get()
    assert (edit.message_id, edit.previous_text) == (message.pk, "@AcmeCoffee my order never showed up")


def test_a_replayed_or_unchanged_delivery_records_no_edit(client, x_account):
    _stored_from_a_poll(x_account, "@AcmeCoffee my order never showed up")
    post_x(client, encode({"data": xaa_event(text="@AcmeCoffee my order never showed up")}))
    process_all()
    assert not MessageEdit.objects.exists()


def test_meta_edits_are_kept_in_order_and_shown_on_the_item(client, page_account, viewer):
    post_meta(client, encode(meta_delivery(feed_change(text="Is the store open on Sunday?"))))
    process_all()
    post_meta(client, encode(meta_delivery(feed_change(verb="edited", text="Open on Sunday??"))))
    post_meta(client, encode(meta_delivery(feed_change(verb="edited", text="<b>Never mind</b>"))))
    process_all()
    message = Message.objects.get()
    assert message.text == "<b>Never mind</b>"
    assert list(message.edits.values_list("previous_text", flat=True)) == [
        "Is the store open on Sunday?",
        "Open on Sunday??",
    ]
    client.force_login(viewer)
    item = TriageItem.objects.get(message=message)
    page = client.get(f"/inbox/{item.pk}/").content.decode()
    assert "Edited 2 times" in page and "Open on Sunday??" in page
    assert "&lt;b&gt;Never mind&lt;/b&gt;" in page and "<b>Never mind</b>" not in page
