"""X (API v2) connector: an account's own posts and its mentions, read through tweepy's `Client`.

Pitfalls of tweepy 4.17 this module guards against (docs/platforms.md §1):
- The host `https://api.twitter.com` is hard-coded: `_XAdapter`, mounted on `client.session`, rewrites it to
  `CHORUS_X_API_BASE` and applies `CHORUS_HTTP_TIMEOUT` (tweepy sends every request without a timeout).
- The default return type drops response headers: a session response hook reads the rate-limit headers.
- `wait_on_rate_limit=True` spins without sleeping when a 429 lacks `x-rate-limit-reset`: it stays off and a
  429 becomes `RateLimited` (reset from the header, or a minute ahead).
- tweepy's `Tweet` model warns on a missing `edit_history_tweet_ids` and knows only the tweet-named fields:
  the connector asks for raw dicts and reads both the tweet and the post names (spec drift of 2026-08).
- tweepy logs request headers (the bearer token) and requests-oauthlib logs token bodies at DEBUG: those
  records are dropped. `OAuth2UserHandler` never refreshes by itself: a rejected user token is refreshed once.
"""

from __future__ import annotations

import datetime
import logging
import re
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
    AccountRef,
    AuthError,
    Direction,
    FetchResult,
    Kind,
    MalformedPayload,
    MissingCredentials,
    NormalizedMessage,
    RateLimit,
    RateLimited,
    SkippedRecord,
    TransientError,
)
from monitoring.connectors.x_tweets import (
    MENTION,
    PLATFORM,
    OrgAccounts,
    _is_retweet,
    _message,
    _Page,
    _text,
    tweet_roles,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger(__name__)

X_HOST = "https://api.twitter.com"  # what tweepy sends every request to
TOKEN_URL = X_HOST + "/2/oauth2/token"
STREAMS = {"tweets": "get_users_tweets", "mentions": "get_users_mentions"}
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "entities",
    "lang",
    "edit_history_tweet_ids",
    "note_tweet",  # the full text of a post longer than 280 characters (`text` is cut short)
]
EXPANSIONS = ["author_id", "referenced_tweets.id", "in_reply_to_user_id"]
USER_FIELDS = ["username", "name", "profile_image_url", "verified"]
MAX_QUERY_LENGTH = 512  # recent search on self-serve plans
# Recent search may not end later than 10 s before the request; the margin also absorbs clock skew.
SEARCH_END_MARGIN = datetime.timedelta(seconds=30)
RATE_LIMIT_FALLBACK = datetime.timedelta(seconds=60)
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")


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


class _Run:
    """One fetch or sweep: a tweepy client aimed at the configured host, plus what its responses reported."""

    def __init__(self, *, bearer_token: str, refresh_token: str = "") -> None:
        self.client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        self.client.session.mount(X_HOST + "/", _adapter())
        self.client.session.hooks["response"].append(self._observe)
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


def mention_queries(handles: Iterable[str], *, max_length: int = MAX_QUERY_LENGTH, operator: str = "@") -> list[str]:
    """`@a OR @b ...` (or `from:a OR from:b ...`) search queries covering every handle, each at most
    `max_length` characters.

    First-fit decreasing packing, which lands within a query or so of total length / max_length.
    """
    separator = " OR "
    queries: list[list[str]] = []
    lengths: list[int] = []
    for term in sorted({f"{operator}{handle}" for handle in handles}, key=lambda term: (-len(term), term)):
        for index, length in enumerate(lengths):
            if length + len(separator) + len(term) <= max_length:
                queries[index].append(term)
                lengths[index] += len(separator) + len(term)
                break
        else:
            queries.append([term])
            lengths.append(len(term))
    return [separator.join(terms) for terms in queries]


class XConnector:
    platform = PLATFORM

    def __init__(self, *, page_size: int = 100) -> None:
        self.page_size = page_size  # 5-100 on the timelines; search uses at least 10
        # Sweep hits that could not be read, by the lower-cased handles they name (kept raw by the sweep).
        self.skipped: dict[str, list[SkippedRecord]] = {}

    # -- timelines ------------------------------------------------------------------------------------------------
    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        """Read the account's own posts and its mentions since the cursors (since `backfill_since` at first).

        Each stream's next cursor is the `newest_id` of the first page of this run; a stream with nothing new
        is left out of `cursors` so the stored one stays. A rejected user token is refreshed once through
        OAuth 2.0 and the new tokens come back in `credential_updates`.
        """
        access_token = str(account.credentials.get("access_token") or "")
        bearer_token = access_token or settings.CHORUS_X_BEARER_TOKEN
        if not bearer_token:
            raise MissingCredentials("X needs the account's OAuth 2.0 token or CHORUS_X_BEARER_TOKEN")
        run = _Run(bearer_token=bearer_token, refresh_token=str(account.credentials.get("refresh_token") or ""))
        result = FetchResult(messages=[], cursors={})
        user_id = account.external_id or ""
        if not user_id:
            user_id = self._resolve(run, account.handle)
            result.account_updates["external_id"] = user_id
        seen: set[str] = set()
        for stream in STREAMS:
            newest_id = self._read_stream(
                run, stream, user_id, account, cursors.get(stream), backfill_since, result, seen
            )
            if newest_id:
                result.cursors[stream] = newest_id
        result.requests = run.requests
        result.rate_limit = run.rate_limit
        result.credential_updates = run.credential_updates
        if run.credential_updates:
            logger.info("X access token of account %s refreshed", account.id)
        return result

    @staticmethod
    def _resolve(run: _Run, handle: str) -> str:
        username = handle.strip().lstrip("@")
        if not HANDLE.fullmatch(username):
            raise AuthError(f"{handle!r} is not a valid X handle")
        payload = run.get("get_user", username=username)
        user = payload.get("data")
        if not isinstance(user, dict):
            if payload.get("errors"):
                raise AuthError(f"X knows no user @{username}")
            raise MalformedPayload("X answered the user lookup without `data`")
        return _text(user.get("id"), "user id")

    def _read_stream(
        self,
        run: _Run,
        stream: str,
        user_id: str,
        account: AccountRef,
        since_id: str | None,
        backfill_since: datetime.datetime,
        result: FetchResult,
        seen: set[str],
    ) -> str:
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user_fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        else:
            params["start_time"] = backfill_since
        newest_id = ""
        token: str | None = None
        tokens: set[str] = set()
        while True:
            page = _Page(run.get(STREAMS[stream], user_id, pagination_token=token, **params))
            result.pages += 1
            if token is None:
                newest_id = page.newest_id
            for tweet in page.tweets:
                try:
                    message = self._normalize(tweet, page, stream=stream, user_id=user_id, handle=account.handle)
                except MalformedPayload as error:
                    result.skipped.append(SkippedRecord(raw=tweet, reason=str(error)))
                    continue
                if message is not None and message.external_id not in seen:
                    seen.add(message.external_id)
                    result.messages.append(message)
            token = page.next_token or None
            if token is None:
                return newest_id
            if token in tokens:
                raise MalformedPayload(f"X repeated the pagination token of {stream}")
            tokens.add(token)

    @staticmethod
    def _normalize(
        tweet: dict[str, Any], page: _Page, *, stream: str, user_id: str, handle: str
    ) -> NormalizedMessage | None:
        """The post as the account's own (timeline stream) or as addressed to it (mentions stream), by
        `tweet_roles`; None when the rule gives it no such role (a retweet, the account mentioning itself)."""
        wanted = Direction.OUTBOUND if stream == "tweets" else Direction.INBOUND
        roles = tweet_roles(tweet, page, OrgAccounts.one(user_id=user_id, handle=handle))
        for role in roles:
            if role.direction == wanted:
                fallback = handle.strip().lstrip("@") if wanted == Direction.OUTBOUND else ""
                return _message(tweet, page, direction=role.direction, kind=role.kind, fallback_handle=fallback)
        if wanted == Direction.INBOUND and not roles and not _is_retweet(tweet):
            # X lists the post as addressed to the account (mentions timeline, mention event) though neither
            # the entities it sent nor a reply say so (a mention it does not render): X's word is taken.
            return _message(tweet, page, direction=Direction.INBOUND, kind=Kind.MENTION)
        return None

    # -- combined mention sweeps ----------------------------------------------------------------------------------
    def search_mentions(
        self,
        handles: list[str],
        *,
        since_id: str | None,
        bearer_token: str | None = None,
        until: datetime.datetime | None = None,
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        """Mentions of many accounts through recent search: `@a OR @b ...` queries of at most 512 characters.

        Returns the mentions per lower-cased handle (every valid handle is a key), the `since_id` for the next
        sweep and the number of requests. Every query ends at the same `until` (default: 30 s ago), so the
        newest id across all queries is a safe next cursor: nothing older than it can still be unseen.
        Handles that are not valid X handles are skipped, as they could inject search operators.
        """
        wanted = self._sweep_handles(handles)
        return self._sweep(
            mention_queries(wanted),
            wanted,
            since_id=since_id,
            bearer_token=bearer_token,
            until=until,
            targets=lambda tweet, page: self._sweep_targets(tweet, page, wanted),
        )

    def search_posts(
        self,
        handles: list[str],
        *,
        since_id: str | None,
        bearer_token: str | None = None,
        until: datetime.datetime | None = None,
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        """The accounts' own posts and replies through recent search (`from:a OR from:b ...`), like
        `search_mentions`: per lower-cased handle, the next `since_id`, and the number of requests."""
        wanted = self._sweep_handles(handles)
        return self._sweep(
            mention_queries(wanted, operator="from:"),
            wanted,
            since_id=since_id,
            bearer_token=bearer_token,
            until=until,
            targets=lambda tweet, page: self._own_post_targets(tweet, page, wanted),
        )

    @staticmethod
    def _sweep_handles(handles: list[str]) -> set[str]:
        wanted: set[str] = set()
        for handle in handles:
            username = handle.strip().lstrip("@")
            if HANDLE.fullmatch(username):
                wanted.add(username.lower())
            else:
                logger.warning("skipping %r in the X sweep: not a valid handle", handle)
        return wanted

    def _sweep(
        self,
        queries: list[str],
        wanted: set[str],
        *,
        since_id: str | None,
        bearer_token: str | None,
        until: datetime.datetime | None,
        targets: Callable[[dict[str, Any], _Page], list[tuple[str, NormalizedMessage]]],
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        token = bearer_token or settings.CHORUS_X_BEARER_TOKEN
        if not token:
            raise MissingCredentials("X sweeps need CHORUS_X_BEARER_TOKEN")
        found: dict[str, list[NormalizedMessage]] = {handle: [] for handle in sorted(wanted)}
        run = _Run(bearer_token=token)
        end_time = until or datetime.datetime.now(tz=datetime.UTC) - SEARCH_END_MARGIN
        newest = since_id
        delivered: set[tuple[str, str]] = set()
        for query in queries:
            next_token: str | None = None
            while True:
                page = _Page(
                    run.get(
                        "search_recent_tweets",
                        query,
                        since_id=since_id,
                        end_time=end_time,
                        next_token=next_token,
                        max_results=max(10, self.page_size),
                        tweet_fields=TWEET_FIELDS,
                        expansions=EXPANSIONS,
                        user_fields=USER_FIELDS,
                    )
                )
                if page.newest_id and (newest is None or int(page.newest_id) > int(newest)):
                    newest = page.newest_id
                for tweet in page.tweets:
                    try:
                        hits = targets(tweet, page)
                    except MalformedPayload as error:
                        self._skip(tweet, page, wanted, str(error))
                        continue
                    for handle, message in hits:
                        if (handle, message.external_id) not in delivered:
                            delivered.add((handle, message.external_id))
                            found[handle].append(message)
                next_token = page.next_token or None
                if next_token is None:
                    break
        return found, newest, run.requests

    def _skip(self, tweet: dict[str, Any], page: _Page, wanted: set[str], reason: str) -> None:
        """Keep an unreadable hit for the swept accounts it names (author or @mention in its text)."""
        named = {name.lower() for name in MENTION.findall(str(tweet.get("text") or ""))}
        named.add(page.handle(str(tweet.get("author_id") or "")).lower())
        handles = sorted(named & wanted)
        for handle in handles:
            kept = self.skipped.setdefault(handle, [])
            if all(record.raw.get("id") != tweet.get("id") for record in kept):  # a hit of both queries: once
                kept.append(SkippedRecord(raw=tweet, reason=reason))
        if not handles:
            logger.warning("X sweep skipped an unreadable post naming no swept account: %s", reason)

    @staticmethod
    def _own_post_targets(tweet: dict[str, Any], page: _Page, wanted: set[str]) -> list[tuple[str, NormalizedMessage]]:
        """A search hit from a swept account is that account's own post (or reply), by `tweet_roles`."""
        return [
            (role.account, _message(tweet, page, direction=role.direction, kind=role.kind))
            for role in tweet_roles(tweet, page, OrgAccounts(handles=frozenset(wanted)))
            if role.direction == Direction.OUTBOUND
        ]

    @staticmethod
    def _sweep_targets(tweet: dict[str, Any], page: _Page, wanted: set[str]) -> list[tuple[str, NormalizedMessage]]:
        """The swept accounts a search hit is addressed to (mentions, replies), by `tweet_roles`."""
        return [
            (role.account, _message(tweet, page, direction=role.direction, kind=role.kind))
            for role in tweet_roles(tweet, page, OrgAccounts(handles=frozenset(wanted)))
            if role.direction == Direction.INBOUND
        ]


def activity_post_message(
    post: dict[str, Any], *, includes: Any, account_user_id: str, account_handle: str
) -> NormalizedMessage | None:
    """A post delivered by the X Activity API (`post.mention.create`, `post.reply.create`) for the org account
    `account_user_id`, normalized exactly as a poll of that account would (`tweet_roles`): its own posts
    outbound (post or reply), anyone else's inbound (reply when it answers the account, else mention), and
    None for a retweet, which is neither. `in_reply_to_tweet_id` is read when a payload carries no
    `referenced_tweets`. Raises MalformedPayload."""
    if _is_retweet(post):
        return None
    replied_to = post.get("in_reply_to_tweet_id")
    if replied_to and not (post.get("referenced_tweets") or post.get("referenced_posts")):
        post = {**post, "referenced_tweets": [{"type": "replied_to", "id": replied_to}]}
    page = _Page({"data": [post], "includes": includes if isinstance(includes, dict) else {}, "meta": {}})
    is_own = _text(post.get("author_id"), "author_id") == account_user_id
    message = XConnector._normalize(
        post, page, stream="tweets" if is_own else "mentions", user_id=account_user_id, handle=account_handle
    )
    if message is None:  # only a self-mention read as a mention is dropped, and own posts are read as tweets
        raise MalformedPayload("X activity post could not be classified")
    return message
