"""Webhook signature checks (pure functions): X uses base64 HMAC-SHA256 keyed with the consumer secret,
Meta uses hex HMAC-SHA256 keyed with the app secret. Both compare in constant time, on the raw bytes,
before any JSON is parsed."""

from __future__ import annotations

import base64
import hashlib
import hmac


def x_crc_response(crc_token: str, consumer_secret: str) -> str:
    digest = hmac.new(consumer_secret.encode(), crc_token.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def x_signature_ok(raw_body: bytes, header: str | None, consumer_secret: str) -> bool:
    if not consumer_secret or not header:
        return False
    digest = hmac.new(consumer_secret.encode(), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest("sha256=" + base64.b64encode(digest).decode(), header)


def meta_signature_ok(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    if not app_secret or not header:
        return False
    expected = "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
