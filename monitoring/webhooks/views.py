"""Webhook receivers for the X Activity API and Meta: the only CSRF-exempt views of the project.

They are called by the platforms, not by browsers, so there is no login and no CSRF token: the signature
(HMAC of the raw body with a secret only the platform and we hold) is the authentication, and it is checked
before anything else is done with a POST. A view then only parses, stores and enqueues (200 fast); the
processing runs in a task. Bodies, signatures and secrets are never logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from monitoring.tasks import process_webhook_event
from monitoring.webhooks.deliveries import (
    META_SIGNATURE_HEADER,
    SOURCE_META,
    SOURCE_X,
    X_SIGNATURE_HEADER,
    MalformedDelivery,
    meta_deliveries,
    meta_signature_ok,
    meta_verification_ok,
    parse_json,
    x_crc_response,
    x_crc_token_ok,
    x_deliveries,
    x_signature_ok,
)
from monitoring.webhooks.services import webhook_deliveries_store

if TYPE_CHECKING:
    from django.http import HttpRequest

logger = logging.getLogger(__name__)


def _not_configured(setting: str) -> HttpResponse:
    logger.error("webhook called but %s is not set: answering 503", setting)
    return HttpResponse("Webhook not configured.", status=503, content_type="text/plain")


def _bad_signature(source: str, body: bytes) -> HttpResponse:
    logger.warning("%s webhook: rejected a delivery with a missing or wrong signature (%d bytes)", source, len(body))
    return HttpResponseForbidden("Bad signature.", content_type="text/plain")


def _malformed(source: str, error: MalformedDelivery) -> HttpResponse:
    logger.warning("%s webhook: rejected a signed delivery: %s", source, error)
    return HttpResponseBadRequest("Malformed delivery.", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def x_webhook(request: HttpRequest) -> HttpResponse:
    """GET: the CRC challenge (at registration, hourly, on re-validation). POST: X Activity API events."""
    secret = settings.CHORUS_X_CONSUMER_SECRET
    if not secret:
        return _not_configured("CHORUS_X_CONSUMER_SECRET")
    if request.method == "GET":
        crc_token = request.GET.get("crc_token", "")
        if not x_crc_token_ok(crc_token):
            return HttpResponseBadRequest(
                "crc_token is required (8 to 128 base64 characters).", content_type="text/plain"
            )
        return JsonResponse({"response_token": x_crc_response(crc_token, secret)})
    body = request.body
    if not x_signature_ok(body, request.headers.get(X_SIGNATURE_HEADER), secret):
        return _bad_signature(SOURCE_X, body)
    try:
        deliveries = x_deliveries(parse_json(body))
    except MalformedDelivery as error:
        return _malformed(SOURCE_X, error)
    webhook_deliveries_store(source=SOURCE_X, deliveries=deliveries, enqueue=process_webhook_event.delay)
    return HttpResponse(status=200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest) -> HttpResponse:
    """GET: the subscription handshake (echo `hub.challenge`). POST: Page `feed` changes."""
    if request.method == "GET":
        verify_token = settings.CHORUS_FACEBOOK_VERIFY_TOKEN
        if not verify_token:
            return _not_configured("CHORUS_FACEBOOK_VERIFY_TOKEN")
        challenge = request.GET.get("hub.challenge", "")
        if not challenge or not meta_verification_ok(
            mode=request.GET.get("hub.mode"),
            verify_token=request.GET.get("hub.verify_token"),
            expected_token=verify_token,
        ):
            return HttpResponseForbidden("Verification failed.", content_type="text/plain")
        return HttpResponse(challenge, content_type="text/plain")
    secret = settings.CHORUS_FACEBOOK_APP_SECRET
    if not secret:
        return _not_configured("CHORUS_FACEBOOK_APP_SECRET")
    body = request.body
    if not meta_signature_ok(body, request.headers.get(META_SIGNATURE_HEADER), secret):
        return _bad_signature(SOURCE_META, body)
    try:
        deliveries = meta_deliveries(parse_json(body))
    except MalformedDelivery as error:
        return _malformed(SOURCE_META, error)
    webhook_deliveries_store(source=SOURCE_META, deliveries=deliveries, enqueue=process_webhook_event.delay)
    return HttpResponse(status=200)
