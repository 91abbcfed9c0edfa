"""Known vectors from docs/platforms.md §5, plus tampering."""

import base64
import hashlib
import hmac

from monitoring.webhooks.deliveries import meta_signature_ok, x_crc_response, x_signature_ok


def test_x_crc_matches_the_documented_vector():
    assert x_crc_response("challenge_string_123", "test-consumer-secret") == (
        "sha256=qEK+2Sq0rROyoifzHX2F/CSyFmrG/eFg1mESazDgPnw="
    )


def test_meta_signature_matches_the_documented_vector():
    header = "sha256=1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"
    assert meta_signature_ok(b'{"object":"page","entry":[]}', header, "test-app-secret")


def test_meta_signature_rejects_tampering():
    body = b'{"object":"page","entry":[]}'
    header = "sha256=1a82db3abc2fa71a3fffecfedef579a8468a44850cd8a83a0c56974faff81689"
    assert not meta_signature_ok(body.replace(b"[]", b"[1]"), header, "test-app-secret")
    assert not meta_signature_ok(body, header, "wrong-secret")
    assert not meta_signature_ok(body, header.replace("sha256=", "sha1="), "test-app-secret")
    assert not meta_signature_ok(body, None, "test-app-secret")
    assert not meta_signature_ok(body, header, "")


def test_x_signature_round_trip_and_tampering():
    body = b'{"data": {"event_uuid": "1"}}'
    good = "sha256=" + base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert x_signature_ok(body, good, "s3cret")
    for index in range(len(body)):
        flipped = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        assert not x_signature_ok(flipped, good, "s3cret")
    assert not x_signature_ok(body, good, "other")
    assert not x_signature_ok(body, good.replace("sha256=", ""), "s3cret")
    assert not x_signature_ok(body, None, "s3cret")
