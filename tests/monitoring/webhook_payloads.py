"""Webhook deliveries as the platforms send them (X Account Activity events, Meta page changes), signed
and posted to Chorus's endpoints; shared by the webhook tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from doubles.scenario import Person
from monitoring.models import WebhookEvent
from monitoring.webhooks.services import webhook_event_process

X_SECRET = "test-consumer-secret"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "verify-token-for-tests"
X_ORG_ID = "1500000000000000001"
PAGE_ID = "104000000000001"

LEE = Person("x", "1600000000000000022", "leep", "Lee P")
DANA = Person("facebook", "7100000000000011", "", "Dana K")


# --- helpers -------------------------------------------------------------------------------------------


def x_sign(body: bytes, secret: str = X_SECRET) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta_sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_x(client, body: bytes, signature: str | None = "sign"):
    headers = (
        {}
        if signature is None
        else {"x-twitter-webhooks-signature": x_sign(body) if signature == "sign" else signature}
    )
    return client.post("/hooks/x", data=body, content_type="application/json", headers=headers)


def post_meta(client, body: bytes, signature: str | None = "sign"):
    headers = (
        {} if signature is None else {"X-Hub-Signature-256": meta_sign(body) if signature == "sign" else signature}
    )
    return client.post("/hooks/meta", data=body, content_type="application/json", headers=headers)


def encode(document) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def xaa_event(
    *,
    uuid: str = "2080765813578191303",
    event_type: str = "post.mention.create",
    post_id: str = "1958100000000000202",
    author: Person = LEE,
    text: str = "@AcmeCoffee my mobile order never showed up and nobody answers the phone",
    created_at: str = "2026-08-20T09:30:12.000Z",
    user_id: str = X_ORG_ID,
    conversation_id: str = "",
    in_reply_to: tuple[str, str] | None = None,  # (tweet id, user id)
    reply_shape: str = "referenced_tweets",
) -> dict[str, Any]:
    """One XAA event (the `data` object) in the documented shape, with *_str metric duplicates."""
    post: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "author_id": author.id,
        "created_at": created_at,
        "conversation_id": conversation_id or post_id,
        "edit_history_tweet_ids": [post_id],
        "public_metrics": {"retweet_count": 0, "retweet_count_str": "0", "like_count": 2, "like_count_str": "2"},
        "lang": "en",
    }
    if in_reply_to is not None:
        post["in_reply_to_user_id"] = in_reply_to[1]
        if reply_shape == "referenced_tweets":
            post["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to[0]}]
        else:
            post["in_reply_to_tweet_id"] = in_reply_to[0]
    return {
        "event_uuid": uuid,
        "filter": {"user_id": user_id},
        "event_type": event_type,
        "tag": "mentions",
        "payload": post,
        "includes": {"users": [{"id": author.id, "username": author.handle, "name": author.name}]},
    }


def feed_change(
    *,
    comment_id: str = "900000000000011_1201",
    post_id: str = f"{PAGE_ID}_900000000000011",
    parent_id: str = "",
    author: Person = DANA,
    text: str = "Is the store open on Sunday?",
    created_time: int = 1755681303,
    verb: str = "add",
    item: str = "comment",
) -> dict[str, Any]:
    return {
        "field": "feed",
        "value": {
            "item": item,
            "verb": verb,
            "post_id": post_id,
            "comment_id": comment_id,
            "parent_id": parent_id or post_id,
            "from": {"id": author.id, "name": author.name},
            "message": text,
            "created_time": created_time,
            "post": {"id": post_id, "status_type": "added_photos", "is_published": True},
        },
    }


def meta_delivery(*changes: dict[str, Any], page_id: str = PAGE_ID) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": page_id, "time": 1755682867, "changes": list(changes)}]}


def process_all() -> list[int]:
    new_ids = []
    for event_id in WebhookEvent.objects.filter(processed_at__isnull=True).values_list("pk", flat=True):
        new_ids += webhook_event_process(event_id=event_id)
    return new_ids
