"""The X client of one fetch or sweep: tweepy's `Client` aimed at the configured host with a timeout, the
rate-limit headers it reports, its errors read as the connector's, and the one refresh of a user token.

tweepy 4.17 pitfalls guarded here (docs/platforms.md §1): the hard-coded host, requests sent without a
timeout, response headers dropped by the default return type, `wait_on_rate_limit=True` spinning on a 429
without `x-rate-limit-reset`, the bearer token and token bodies logged at DEBUG, and `OAuth2UserHandler`
never refreshing by itself.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any, override
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy  # type: ignore[import-untyped]  # tweepy ships no type information
from django.conf import settings
from oauthlib.oauth2 import OAuth2Error  # type: ignore[import-untyped]  # untyped library (tweepy dependency)
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.utils import get_environ_proxies

from monitoring.connectors.base import (
    AuthError,
    MalformedPayload,
    RateLimit,
    RateLimited,
    TransientError,
    per_process,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

X_HOST = "https://api.twitter.com"  # what tweepy sends every request to
TOKEN_URL = X_HOST + "/2/oauth2/token"
RATE_LIMIT_FALLBACK = datetime.timedelta(seconds=60)


class _WithoutDebugRecords(logging.Filter):
    """tweepy logs the Authorization header and requests-oauthlib the token bodies at DEBUG level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("tweepy.client", "requests_oauthlib.oauth2_session"):
    logging.getLogger(_name).addFilter(_WithoutDebugRecords())


class _TokenRejected(AuthError):
    """401: the access token is invalid or expired (a refresh may help, unlike a 403)."""


class _XAdapter(HTTPAdapter):
    """Sends tweepy's `https://api.twitter.com` requests to `base_url`, always with a timeout."""

    def __init__(self, *, base_url: str, timeout: float) -> None:
        super().__init__()
        target = urlsplit(base_url.rstrip("/"))
        self._target = None if base_url.rstrip("/") == X_HOST else target
        self._timeout = timeout

    @override
    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        if self._target is not None:
            parts = urlsplit(request.url or "")
            path = self._target.path + parts.path
            request.url = urlunsplit((self._target.scheme, self._target.netloc, path, parts.query, parts.fragment))
            # requests chose the environment's proxies for api.twitter.com; choose again for the real target.
            proxies = get_environ_proxies(request.url)
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _adapter() -> _XAdapter:
    return _XAdapter(base_url=settings.CHORUS_X_API_BASE, timeout=settings.CHORUS_HTTP_TIMEOUT)


def _shared_session() -> requests.Session:
    """The process's session for X: one connection pool that every fetch and sweep reuses (keep-alive, and
    on the real API no TLS handshake per poll). Per base URL and timeout, which its adapter carries."""

    def build() -> requests.Session:
        session = requests.Session()
        session.mount(X_HOST + "/", _adapter())
        return session

    return per_process(("x", settings.CHORUS_X_API_BASE, settings.CHORUS_HTTP_TIMEOUT), build)


class _RunSession:
    """What tweepy calls as its `session` for one run: the shared session, with the run's response hook
    passed per request (hooks added to the shared session itself would pile up, run after run)."""

    def __init__(self, on_response: Any) -> None:
        self._session = _shared_session()
        self._hooks = {"response": [on_response]}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self._session.request(method, url, hooks=self._hooks, **kwargs)


def _reset_at(epoch: Any) -> datetime.datetime:
    now = datetime.datetime.now(tz=datetime.UTC)
    try:
        reset_at = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        return now + RATE_LIMIT_FALLBACK
    # A reset already past (clock skew) would make the poller retry at once; wait a little instead.
    return max(reset_at, now + datetime.timedelta(seconds=5))


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, TypeError, ValueError):
        return None


class Run:
    """One fetch or sweep: a tweepy client aimed at the configured host, plus what its responses reported."""

    def __init__(self, *, bearer_token: str, refresh_token: str = "") -> None:
        self.client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        self.client.session = _RunSession(self._observe)
        self.refresh_token = refresh_token
        self.requests = 0
        self.rate_limit: RateLimit | None = None
        self.credential_updates: dict[str, Any] = {}

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the tightest rate-limit state seen (every response carries one, per endpoint)."""
        remaining = _header_int(response.headers, "x-rate-limit-remaining")
        if remaining is None:
            return
        previous = self.rate_limit.remaining if self.rate_limit is not None else None
        if previous is not None and previous < remaining:
            return
        reset = _header_int(response.headers, "x-rate-limit-reset")
        self.rate_limit = RateLimit(
            remaining=remaining,
            limit=_header_int(response.headers, "x-rate-limit-limit"),
            reset_at=datetime.datetime.fromtimestamp(reset, tz=datetime.UTC) if reset is not None else None,
        )

    def get(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call one tweepy method; on a 401 refresh the user token once (if possible) and call again."""
        try:
            return self._get(method, *args, **kwargs)
        except _TokenRejected:
            if not self.refresh_token:
                raise
            self._refresh()
            return self._get(method, *args, **kwargs)

    def _get(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.requests += 1
        try:
            payload = getattr(self.client, method)(*args, **kwargs)
        except tweepy.TooManyRequests as error:
            raise RateLimited(f"X rate limit reached ({method})", reset_at=_reset_at(error.reset_time)) from error
        except tweepy.Unauthorized as error:
            raise _TokenRejected(f"X rejected the token: {error}") from error
        except tweepy.Forbidden as error:
            raise AuthError(f"X refused access: {error}") from error
        except tweepy.TwitterServerError as error:
            raise TransientError(f"X server error: {error}") from error
        except tweepy.HTTPException as error:
            raise MalformedPayload(f"X rejected the request ({method}): {error}") from error
        except requests.JSONDecodeError as error:
            raise MalformedPayload(f"X answered {method} with invalid JSON: {error}") from error
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
            raise TransientError(f"X unreachable ({method}): {type(error).__name__}") from error
        if not isinstance(payload, dict):
            raise MalformedPayload(f"X answered {method} with a {type(payload).__name__}, not an object")
        return payload

    def _refresh(self) -> None:
        refresh_token, self.refresh_token = self.refresh_token, ""  # once per run
        client_id, client_secret = settings.CHORUS_X_CLIENT_ID, settings.CHORUS_X_CLIENT_SECRET
        if not client_id:
            raise AuthError("X rejected the access token and CHORUS_X_CLIENT_ID is not set to refresh it")
        handler = tweepy.OAuth2UserHandler(
            client_id=client_id, redirect_uri=None, scope=None, client_secret=client_secret or None
        )
        handler.mount(X_HOST + "/", _adapter())
        handler.register_compliance_hook("refresh_token_response", _raise_for_server_trouble)
        # Confidential clients authenticate with Basic auth; public clients name themselves in the body.
        extra = {} if client_secret else {"client_id": client_id}
        auth = HTTPBasicAuth(client_id, client_secret) if client_secret else None
        self.requests += 1
        try:
            token = handler.refresh_token(TOKEN_URL, refresh_token=refresh_token, auth=auth, **extra)
        except OAuth2Error as error:
            raise AuthError(f"X refused to refresh the access token: {error.error}") from error
        except (requests.Timeout, requests.ConnectionError) as error:
            raise TransientError(f"X token endpoint unreachable: {type(error).__name__}") from error
        self.client.bearer_token = token["access_token"]
        self.credential_updates = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token") or refresh_token,
        }
        if token.get("expires_at"):
            self.credential_updates["expires_at"] = int(token["expires_at"])


def _raise_for_server_trouble(response: requests.Response) -> requests.Response:
    """oauthlib would read a 5xx/429 body as a missing token (a permanent AuthError); these are temporary."""
    if response.status_code == 429:
        raise RateLimited("X token endpoint rate limit", reset_at=_reset_at(response.headers.get("x-rate-limit-reset")))
    if response.status_code >= 500:
        raise TransientError(f"X token endpoint answered {response.status_code}")
    return response
