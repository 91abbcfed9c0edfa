"""Webhook protocol helpers (pure functions, no database): signatures, verification, and splitting a verified
delivery into the events Chorus stores (docs/platforms.md §5).

X uses base64 HMAC-SHA256 keyed with the consumer secret, Meta hex HMAC-SHA256 keyed with the app secret. Both
compare in constant time, on the raw bytes, before any JSON is parsed. Header values are compared as bytes:
`hmac.compare_digest` raises TypeError on a str with non-ASCII characters, and a forged header may carry any.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

# WebhookEvent.source values (its unique key is (source, event_id)).
SOURCE_X = "x"
SOURCE_META = "meta"
X_SIGNATURE_HEADER = "x-twitter-webhooks-signature"
META_SIGNATURE_HEADER = "X-Hub-Signature-256"
# X Activity API events that carry a post addressed to the org account; other types are stored and ignored.
X_INGESTED_EVENT_TYPES = frozenset({"post.mention.create", "post.reply.create"})
# Meta `feed` comment verbs that carry the comment; `remove` (and any other verb) is stored and ignored:
# Chorus keeps what was said, and a deletion only means the platform no longer shows it.
META_INGESTED_VERBS = frozenset({"add", "edited"})
EVENT_ID_MAX_LENGTH = 200  # WebhookEvent.event_id
# The CRC challenge X sends: a random token of base64 characters, a few dozen long. Nothing else is signed:
# the CRC answer is HMAC-SHA256 of the token under the same secret and in the same format as a delivery's
# signature, so signing any text would sign a forged delivery body (a JSON document has `{`, `"`, blanks).
X_CRC_TOKEN = re.compile(r"[A-Za-z0-9_\-+/=]{8,128}")


class MalformedDelivery(ValueError):
    """A correctly signed body that is not JSON, or not the envelope the platform documents."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One event of a verified delivery: its id (unique per source), what is stored of it, and whom it concerns."""

    event_id: str
    payload: dict[str, Any]
    platform: str  # the platform of the account it concerns: "x" or "facebook"
    account_external_id: str  # that account's platform id; "" when the event names none
    is_ingested: bool  # an event type Chorus ingests; the others are stored already processed


# --- Signatures and verification ----------------------------------------------------------------------


def x_crc_token_ok(crc_token: str) -> bool:
    """A token of the shape X sends; never something a delivery body could be."""
    return X_CRC_TOKEN.fullmatch(crc_token) is not None


def x_crc_response(crc_token: str, consumer_secret: str) -> str:
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def _same(expected: str, header: str) -> bool:
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "surrogateescape"))


def x_signature_ok(raw_body: bytes, header: str | None, consumer_secret: str) -> bool:
    if not consumer_secret or not header:
        return False
    digest = hmac.new(consumer_secret.encode(), raw_body, hashlib.sha256).digest()
    return _same("sha256=" + base64.b64encode(digest).decode(), header)


def meta_signature_ok(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    if not app_secret or not header:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return _same(expected, header)


def meta_verification_ok(*, mode: str | None, verify_token: str | None, expected_token: str) -> bool:
    """Meta's subscription handshake: `hub.mode=subscribe` and the verify token typed in the App Dashboard."""
    if mode != "subscribe" or not expected_token or not verify_token:
        return False
    return _same(expected_token, verify_token)


# --- Parsing -----------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise MalformedDelivery(f"JSON constant {name} is not allowed")


def _without_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold U+0000: drop it wherever JSON put it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def parse_json(raw_body: bytes) -> Any:
    """The JSON document of a verified body; MalformedDelivery for anything that is not storable JSON."""
    try:
        return _without_nul(json.loads(raw_body, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedDelivery(f"the body is not JSON: {type(error).__name__}") from None


def _identifier(value: Any) -> str:
    """Platform ids arrive as strings, sometimes as numbers; anything else is no id."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _bounded(event_id: str) -> str:
    if len(event_id) <= EVENT_ID_MAX_LENGTH:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()


def x_deliveries(document: Any) -> list[Delivery]:
    """The events of a verified X Activity API delivery.

    The documented envelope is `{"data": {event}}`; a list under `data`, or a list of envelopes (or of bare
    events), is tolerated. The event id is `event_uuid` (else `event_type:post id`); an event with neither is
    skipped with a warning. The account is `filter.user_id`.
    """
    envelopes = document if isinstance(document, list) else [document]
    if not envelopes or not all(isinstance(envelope, dict) for envelope in envelopes):
        raise MalformedDelivery("an X delivery is an object or a list of objects")
    deliveries: list[Delivery] = []
    for envelope in envelopes:
        data = envelope.get("data", envelope)
        for event in data if isinstance(data, list) else [data]:
            delivery = _x_delivery(event, envelope.get("includes"))
            if delivery is not None:
                deliveries.append(delivery)
    return deliveries


def _x_delivery(event: Any, envelope_includes: Any) -> Delivery | None:
    if not isinstance(event, dict):
        logger.warning("X webhook: skipped an event that is not an object")
        return None
    raw_type, raw_post = event.get("event_type"), event.get("payload")
    event_type = raw_type if isinstance(raw_type, str) else ""
    post: dict[str, Any] = raw_post if isinstance(raw_post, dict) else {}
    event_id = _identifier(event.get("event_uuid"))
    if not event_id and event_type and _identifier(post.get("id")):
        event_id = f"{event_type}:{_identifier(post.get('id'))}"
    if not event_id:
        logger.warning("X webhook: skipped an event without event_uuid")
        return None
    if "includes" not in event and isinstance(envelope_includes, dict):
        event = {**event, "includes": envelope_includes}
    event_filter = event.get("filter")
    return Delivery(
        event_id=_bounded(event_id),
        payload=event,
        platform="x",
        account_external_id=_identifier(event_filter.get("user_id")) if isinstance(event_filter, dict) else "",
        is_ingested=event_type in X_INGESTED_EVENT_TYPES,
    )


def meta_deliveries(document: Any) -> list[Delivery]:
    """The comment changes of a verified Meta `page` delivery, one event per change.

    Only `feed` changes about a comment are kept (reactions, posts, shares... are acknowledged, not stored).
    The event id is `feed:{comment_id}:{verb}:{created_time}`, plus a digest of the text for `edited`, so a
    retried delivery is the same event while a second edit is a new one. The account is the Page `entry.id`.
    Other objects (`instagram`, `user`, ...) are acknowledged and not stored.
    """
    if not isinstance(document, dict) or not isinstance(document.get("entry", []), list):
        raise MalformedDelivery("a Meta delivery is an object with an `entry` list")
    if document.get("object") != "page":
        logger.info("Meta webhook: ignored a delivery for object %r", str(document.get("object"))[:40])
        return []
    deliveries: list[Delivery] = []
    for entry in document.get("entry", []):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            continue  # e.g. Messenger `messaging` entries: not subscribed to, nothing to keep
        page_id = _identifier(entry.get("id"))
        for change in changes:
            delivery = _meta_delivery(change, page_id, entry.get("time"))
            if delivery is not None:
                deliveries.append(delivery)
    return deliveries


def _meta_delivery(change: Any, page_id: str, time: Any) -> Delivery | None:
    value = change.get("value") if isinstance(change, dict) else None
    if not isinstance(value, dict) or change.get("field") != "feed" or value.get("item") != "comment":
        return None
    comment_id = _identifier(value.get("comment_id"))
    raw_verb = value.get("verb")
    verb = raw_verb if isinstance(raw_verb, str) else ""
    if not comment_id or not verb:
        logger.warning("Meta webhook: skipped a comment change without comment_id or verb")
        return None
    event_id = f"feed:{comment_id}:{verb}:{_identifier(value.get('created_time'))}"
    if verb == "edited":
        event_id += ":" + hashlib.sha256(str(value.get("message") or "").encode()).hexdigest()[:16]
    return Delivery(
        event_id=_bounded(event_id),
        payload={"page_id": page_id, "time": time, "field": "feed", "value": value},
        platform="facebook",
        account_external_id=page_id,
        is_ingested=verb in META_INGESTED_VERBS,
    )
