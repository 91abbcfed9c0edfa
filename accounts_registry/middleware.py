"""Session limits and the required second factor, enforced on every request before any view runs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts_registry.models import AuditEvent
from accounts_registry.services.security import security_event_record
from accounts_registry.signin import (
    client_ip,
    has_second_factor,
    requires_second_factor,
    session_has_second_factor,
    signed_in_at_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse

    from common.htmx import HtmxHttpRequest

SIGNED_IN_AT = "chorus.signed_in_at"
LAST_SEEN_AT = "chorus.last_seen_at"
# The last-seen stamp is rewritten at most this often (seconds): not one session write per request.
LAST_SEEN_RESOLUTION = 60
# Sent by the page's own periodic htmx requests (hx-headers on the polling element).
POLL_HEADER = "X-Chorus-Poll"


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect; for htmx, a full page load of it (not the sign-in page swapped into a fragment)."""
    if cast("HtmxHttpRequest", request).htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _page_path(request: HttpRequest) -> str:
    """Where to come back to: the page itself, not the fragment an htmx request asked for."""
    htmx = cast("HtmxHttpRequest", request).htmx
    if htmx and htmx.current_url:
        parts = urlsplit(htmx.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


class SessionLimitsMiddleware:
    """A signed-in session ends after settings.CHORUS_SESSION_IDLE_MINUTES without a request and
    settings.CHORUS_SESSION_MAX_HOURS after it began, whatever the activity. The person is sent to the
    sign-in page with a message, and the session is flushed server-side."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            if SIGNED_IN_AT not in session:
                session[SIGNED_IN_AT] = signed_in_at_of(request) or now
            signed_in_at = float(session[SIGNED_IN_AT])
            last_seen_at = float(session.get(LAST_SEEN_AT, signed_in_at))
            idle_limit = settings.CHORUS_SESSION_IDLE_MINUTES * 60
            if now - last_seen_at > idle_limit or now - signed_in_at > settings.CHORUS_SESSION_MAX_HOURS * 3600:
                return self._expire(request, idle=now - last_seen_at > idle_limit)
            # Automatic polls (marked by the page) are not activity: an open inbox alone keeps nobody in.
            is_poll = request.headers.get(POLL_HEADER) == "true"
            if not is_poll and (LAST_SEEN_AT not in session or now - last_seen_at >= LAST_SEEN_RESOLUTION):
                session[LAST_SEEN_AT] = now
        return self.get_response(request)

    def _expire(self, request: HttpRequest, *, idle: bool) -> HttpResponse:
        user = request.user
        security_event_record(
            verb=AuditEvent.Verb.SESSION_EXPIRED,
            actor=user,
            target=user,  # type: ignore[arg-type]  # authenticated: a User
            ip=client_ip(request),
            details={"reason": "idle" if idle else "lifetime"},
        )
        logout(request)
        reason = (
            f"{settings.CHORUS_SESSION_IDLE_MINUTES} minutes without activity"
            if idle
            else f"{settings.CHORUS_SESSION_MAX_HOURS} hours, the longest a session lasts"
        )
        messages.info(request, f"You were signed out after {reason}. Please sign in again.")
        return _redirect(request, f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': _page_path(request)})}")


class RequireSecondFactorMiddleware:
    """A user who must use a second factor (admins, comms managers, staff) reaches no page until this
    session has one: without an authenticator they are sent to enrol, with one to confirm a code.

    Exempt: the sign-in pages themselves (allauth's, under /accounts/), static files and the health probe.
    A session that already passed a second factor costs no query.
    """

    EXEMPT_PREFIXES = ("/accounts/", f"/{settings.STATIC_URL.lstrip('/')}", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(self.EXEMPT_PREFIXES)
            and not session_has_second_factor(request)
            and requires_second_factor(user)
        ):
            query = urlencode({"next": _page_path(request)})
            if has_second_factor(user):
                return _redirect(request, f"{reverse('mfa_reauthenticate')}?{query}")
            messages.info(request, "Your role requires a second factor. Set up an authenticator app to continue.")
            return _redirect(request, f"{reverse('mfa_activate_totp')}?{query}")
        return self.get_response(request)
