"""Bluesky connector: mentions and replies (notifications) and the org's own posts (author feed), via `atproto`.

Bluesky has no since-parameter: both streams page newest first and stop at the newest timestamp stored as
the cursor (notifications: `indexedAt`; feed: the AppView sort time, min(createdAt, indexedAt)).

`createSession` is limited to 30 per 5 minutes and 300 per day per account, so the session is persisted:
the connector accepts `credentials["session"]` (atproto's exported session string, with `session_base`, the
base URL it was made against), lets the library refresh it, and hands the new pair back in
`FetchResult.credential_updates`. It logs in with the app password only
when there is no usable session, and at most once per poll.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

import httpx

# atproto ships no type information (no py.typed): its objects are Any here, and every field read is
# checked where it is normalized.
from atproto_client import Client, models  # type: ignore[import-untyped]
from atproto_client.exceptions import (  # type: ignore[import-untyped]
    BadRequestError,
    LoginRequiredError,
    ModelError,
    NetworkError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.request import (  # type: ignore[import-untyped]
    Request,
    RequestBase,
    _handle_request_errors,
    _handle_response,
)
from atproto_server.exceptions import InvalidTokenError  # type: ignore[import-untyped]
from django.conf import settings

from monitoring.connectors.base import (
    AccountRef,
    AuthError,
    ConnectorError,
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
    malformed_on_bad_shape,
    per_process,
    unique_messages,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PLATFORM = "bluesky"
STREAM_NOTIFICATIONS = "notifications"
STREAM_FEED = "feed"
PAGE_SIZE = 100  # the lexicon maximum for both listNotifications and getAuthorFeed
# A quote of one of the account's posts addresses the account as a mention does.
REASONS = {"mention": Kind.MENTION, "reply": Kind.REPLY, "quote": Kind.MENTION}
# 400 answers that mean "this session is dead" (the PDS answers 401 AuthenticationRequired for a missing one)
SESSION_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
# Used when a 429 carries no usable ratelimit-reset: the shortest window Bluesky documents is 5 minutes.
DEFAULT_RATE_LIMIT_WAIT = datetime.timedelta(minutes=5)


class _SessionRejected(ConnectorError):
    """The PDS refused the session (expired, revoked, unparseable): log in again once, then give up."""


class _Unreadable(Exception):
    """One item of a page cannot be read; `sort_time` (when known) still moves the cursor past it."""

    def __init__(self, reason: str, *, sort_time: datetime.datetime | None) -> None:
        super().__init__(reason)
        self.sort_time = sort_time


@dataclasses.dataclass
class _Page:
    """What one stream read: its messages, the newest sort time seen, and how many pages it took."""

    messages: list[NormalizedMessage] = dataclasses.field(default_factory=list)
    newest: datetime.datetime | None = None
    pages: int = 0
    skipped: list[SkippedRecord] = dataclasses.field(default_factory=list)


class BlueskyConnector:
    platform = PLATFORM

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        stored_session = str(account.credentials.get("session") or "")
        if account.credentials.get("session_base") != settings.CHORUS_BLUESKY_API_BASE:
            # The session names the PDS it was made on; after the base URL setting changed (sandbox to
            # production, a restarted demo double) it would keep polling the old server.
            stored_session = ""
        app_password = str(account.credentials.get("app_password") or "")
        if not account.handle or not (stored_session or app_password):
            raise MissingCredentials(
                "Bluesky needs the account handle and an app password (credentials['app_password'])"
            )
        connection = _Connection(account.handle, app_password)
        try:
            connection.open(stored_session)
            org_did = connection.did
            notifications = _read(
                connection.list_notifications,
                normalize=lambda notification: _from_notification(notification, org_did),
                since=_cursor_time(cursors.get(STREAM_NOTIFICATIONS)),
                backfill_since=backfill_since,
            )
            feed = _read(
                lambda cursor: connection.author_feed(org_did, cursor),
                normalize=lambda entry: _from_feed_entry(entry, org_did),
                since=_cursor_time(cursors.get(STREAM_FEED)),
                backfill_since=backfill_since,
            )
            result = FetchResult(
                messages=unique_messages(notifications.messages + feed.messages),
                cursors=_advanced(cursors, {STREAM_NOTIFICATIONS: notifications.newest, STREAM_FEED: feed.newest}),
                pages=notifications.pages + feed.pages,
                requests=connection.requests,
                rate_limit=connection.rate_limit,
                skipped=notifications.skipped + feed.skipped,
            )
            if account.external_id != org_did:
                result.account_updates["external_id"] = org_did
            result.credential_updates.update(_session_updates(connection, stored_session))
            return result
        except ConnectorError as error:
            # A session made or refreshed before the failure is kept: createSession is scarce (30 per 5 min).
            error.credential_updates.update(_session_updates(connection, stored_session))
            raise
        finally:
            connection.close()


def _session_updates(connection: _Connection, stored_session: str) -> dict[str, str]:
    try:
        exported = str(connection.client.export_session_string())
    except Exception:  # no session was ever established (login failed): nothing to keep
        return {}
    if not exported or exported == stored_session:
        return {}
    return {"session": exported, "session_base": settings.CHORUS_BLUESKY_API_BASE}


def _read(
    read_page: Callable[[str | None], tuple[list[Any], str | None]],
    *,
    normalize: Callable[[Any], tuple[datetime.datetime, NormalizedMessage | None]],
    since: datetime.datetime | None,
    backfill_since: datetime.datetime,
) -> _Page:
    """Page newest first until the stored cursor time (or, on a first poll, `backfill_since`) is reached.

    `read_page(cursor)` answers (entries, next cursor); `normalize` answers (sort time, message), the
    message None for entries that are not the account's to store.
    """
    read = _Page()
    cursor: str | None = None
    while True:
        entries, next_cursor = read_page(cursor)
        read.pages += 1
        reached_end = not entries or not next_cursor or next_cursor == cursor
        for entry in entries:
            try:
                sort_time, message = normalize(entry)
            except _Unreadable as unreadable:
                # Kept raw and skipped; its sort time (when readable) still moves the cursor past it.
                moment = unreadable.sort_time
                if moment is not None and not _is_new(moment, since, backfill_since):
                    reached_end = True
                    break
                read.skipped.append(SkippedRecord(raw=_raw(entry), reason=str(unreadable)))
                if moment is not None:
                    read.newest = moment if read.newest is None else max(read.newest, moment)
                continue
            if message is None:
                continue
            if (since is not None and sort_time <= since) or (since is None and sort_time < backfill_since):
                reached_end = True
                break
            read.newest = sort_time if read.newest is None else max(read.newest, sort_time)
            read.messages.append(message)
        if reached_end:
            return read
        cursor = next_cursor


def _is_new(sort_time: datetime.datetime, since: datetime.datetime | None, backfill_since: datetime.datetime) -> bool:
    return sort_time > since if since is not None else sort_time >= backfill_since


def _raw(entry: Any) -> Any:
    """An atproto item as the JSON it came as, for the skipped-item record."""
    try:
        return entry.model_dump(mode="json", by_alias=True, exclude_none=True)
    except Exception:  # not a pydantic model after all: keep what can be shown
        return {"unreadable": repr(entry)[:2000]}


def _http_client() -> httpx.Client:
    """The process's httpx client for Bluesky: one connection pool and one SSL context (about 35 ms of CPU to
    build) for every poll, instead of one or two per poll."""
    timeout = settings.CHORUS_HTTP_TIMEOUT
    return per_process(("bluesky", timeout), lambda: httpx.Client(follow_redirects=True, timeout=timeout))


class _PooledRequest(Request):  # type: ignore[misc]  # atproto is untyped
    """atproto's `Request` sending through the process's shared httpx client. What is per account — the
    session's Authorization header — stays on this object (one per poll); the pool outlives it.
    `on_response` sees every response, errors included, before atproto reads it."""

    def __init__(self, on_response: Callable[[httpx.Response], None]) -> None:
        RequestBase.__init__(self)
        self._client_kwargs: dict[str, Any] = {}
        self._client = _http_client()
        self._on_response = on_response

    def _new_instance(self) -> _PooledRequest:
        return _PooledRequest(self._on_response)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = self.get_headers(kwargs.pop("headers", None))
        try:
            response = self._client.request(method=method, url=url, headers=headers, **kwargs)
            self._on_response(response)
            handled: httpx.Response = _handle_response(response)
            return handled
        except Exception as error:
            _handle_request_errors(error)  # maps httpx timeouts and network errors; re-raises the rest
            raise

    def close(self) -> None:
        """Nothing to close: the connection pool is the process's."""


class _Connection:
    """One poll's atproto client: reuses the stored session and logs in with the app password at most once."""

    def __init__(self, handle: str, app_password: str) -> None:
        self.handle = handle
        self.app_password = app_password
        self.requests = 0
        self.rate_limit: RateLimit | None = None
        self.did = ""
        self._logged_in = False
        self._clients: list[Any] = []
        self.client = self._new_client()

    def _new_client(self) -> Any:
        client = Client(
            base_url=settings.CHORUS_BLUESKY_API_BASE.rstrip("/") + "/xrpc", request=_PooledRequest(self._on_response)
        )
        client.on_session_change(self._on_session)
        self._clients.append(client)
        return client

    def _on_session(self, _event: Any, session: Any) -> None:
        self.did = str(session.did)

    def _on_response(self, response: httpx.Response) -> None:
        self.requests += 1
        limit = _int_header(response, "ratelimit-limit")
        remaining = _int_header(response, "ratelimit-remaining")
        reset = _int_header(response, "ratelimit-reset")
        if limit is None and remaining is None and reset is None:
            return
        reset_at = datetime.datetime.fromtimestamp(reset, tz=datetime.UTC) if reset is not None else None
        self.rate_limit = RateLimit(remaining=remaining, limit=limit, reset_at=reset_at)

    def open(self, stored_session: str) -> None:
        if stored_session:
            try:
                # No request is made here: the session string is decoded and the PDS it names becomes the
                # base URL. A stale token is only found out (and refreshed or replaced) on the first call.
                self.client.login(session_string=stored_session, fetch_bsky_profile=False)
                return
            except (ValueError, TypeError):
                pass  # not a session string atproto can read: start a new session
        self._login()

    def _login(self) -> None:
        if not self.app_password:
            raise AuthError("the stored Bluesky session was rejected and there is no app password to log in again")
        self.client = self._new_client()
        self._logged_in = True
        try:
            with _translated():
                # fetch_bsky_profile=False: the profile lookup costs a request and the poll does not need it
                self.client.login(self.handle, self.app_password, fetch_bsky_profile=False)
        except _SessionRejected as error:
            raise AuthError("Bluesky refused the handle and app password") from error

    def call(self, method: Callable[[Any], Any]) -> Any:
        """Run one library call; if the session is refused, log in again once and retry."""
        try:
            with _translated():
                return method(self.client)
        except _SessionRejected as error:
            if self._logged_in:
                raise AuthError(f"Bluesky refused a fresh session: {error}") from error
        self._login()
        try:
            with _translated():
                return method(self.client)
        except _SessionRejected as error:
            raise AuthError(f"Bluesky refused a fresh session: {error}") from error

    def list_notifications(self, cursor: str | None) -> tuple[list[Any], str | None]:
        response = self.call(
            lambda client: client.app.bsky.notification.list_notifications(
                params={"reasons": list(REASONS), "limit": PAGE_SIZE, "cursor": cursor}
            )
        )
        with malformed_on_bad_shape("Bluesky"):
            return list(response.notifications), response.cursor

    def author_feed(self, actor: str, cursor: str | None) -> tuple[list[Any], str | None]:
        response = self.call(
            lambda client: client.get_author_feed(
                actor=actor, filter="posts_with_replies", limit=PAGE_SIZE, cursor=cursor
            )
        )
        with malformed_on_bad_shape("Bluesky"):
            return list(response.feed), response.cursor

    def close(self) -> None:
        for client in self._clients:
            client.request.close()


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Map atproto and httpx failures onto the connector errors."""
    try:
        yield
    except RateLimitExceededError as error:
        raise RateLimited("Bluesky rate limit exceeded", reset_at=_rate_limit_reset(error)) from error
    except (UnauthorizedError, LoginRequiredError, InvalidTokenError) as error:
        # Token text never goes into the message: only the XRPC error name.
        raise _SessionRejected(_xrpc_error(error) or type(error).__name__) from error
    except BadRequestError as error:
        if _xrpc_error(error) in SESSION_ERRORS:
            raise _SessionRejected(_xrpc_error(error)) from error
        raise MalformedPayload(f"Bluesky rejected the request: {error}") from error
    except NetworkError as error:  # transport failures and timeouts (InvokeTimeoutError), 409/413/502
        raise TransientError(f"Bluesky unreachable: {type(error).__name__} {error}") from error
    except RequestException as error:
        status = error.response.status_code if error.response is not None else 0
        if status >= 500:
            raise TransientError(f"Bluesky server error: {error}") from error
        raise MalformedPayload(f"Bluesky answered unexpectedly: {error}") from error
    except httpx.TransportError as error:  # the few transport errors atproto does not wrap (protocol errors)
        raise TransientError(f"Bluesky unreachable: {type(error).__name__}") from error
    except (ModelError, ValueError) as error:  # invalid JSON (pydantic_core) or a response off the lexicon
        raise MalformedPayload(f"Bluesky sent an unreadable response: {error}") from error


@contextlib.contextmanager
def _unreadable_item(*, sort_time: datetime.datetime | None) -> Iterator[None]:
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError, MalformedPayload) as error:
        raise _Unreadable(f"Bluesky item unreadable: {type(error).__name__}: {error}", sort_time=sort_time) from error


def _xrpc_error(error: Exception) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    return str(getattr(content, "error", "") or "")


def _rate_limit_reset(error: Any) -> datetime.datetime:
    now = datetime.datetime.now(datetime.UTC)
    reset_at: datetime.datetime | None = error.reset_at
    if reset_at is not None and reset_at > now:
        return reset_at
    retry_after: float | None = error.retry_after
    if retry_after:
        return now + datetime.timedelta(seconds=retry_after)
    return now + DEFAULT_RATE_LIMIT_WAIT


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


def _timestamp(value: Any) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:  # atproto datetimes should carry a zone; read a bare one as UTC
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _cursor_time(cursor: str | None) -> datetime.datetime | None:
    if not cursor:
        return None
    try:
        return _timestamp(cursor)
    except ValueError:
        return None  # an unreadable stored cursor: read back to backfill_since, the upsert absorbs repeats


def _advanced(cursors: dict[str, str], newest: dict[str, datetime.datetime | None]) -> dict[str, str]:
    advanced = {}
    for stream, moment in newest.items():
        stored = _cursor_time(cursors.get(stream))
        if moment is not None and (stored is None or moment > stored):
            advanced[stream] = moment.isoformat()
    return advanced


def _post_url(handle: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def _addressed_dids(record: Any) -> tuple[str, ...]:
    """The DIDs a post addresses: its mention facets and the author of the post it replies to."""
    dids = [
        str(feature.did)
        for facet in record.facets or []
        for feature in facet.features or []
        if isinstance(feature, models.AppBskyRichtextFacet.Mention)
    ]
    if record.reply is not None and str(record.reply.parent.uri).startswith("at://"):
        dids.append(str(record.reply.parent.uri).removeprefix("at://").split("/", 1)[0])
    return tuple(dict.fromkeys(dids))


def _post_message(
    *, uri: str, author: Any, record: Any, indexed_at: Any, direction: str, kind: str, metrics: dict[str, int]
) -> tuple[datetime.datetime, NormalizedMessage]:
    if not isinstance(record, models.AppBskyFeedPost.Record):
        raise MalformedPayload(f"Bluesky item {uri} is not a post record")
    # The AppView sorts by min(createdAt, indexedAt): createdAt is client-declared and may lie in the future.
    created_at = min(_timestamp(record.created_at), _timestamp(indexed_at))
    reply = record.reply
    message = NormalizedMessage(
        platform=PLATFORM,
        external_id=str(uri),
        direction=direction,
        kind=kind,
        author_id=str(author.did),
        author_handle=str(author.handle),
        author_name=str(author.display_name or ""),
        text=str(record.text),
        created_at=created_at,
        conversation_id=str(reply.root.uri) if reply else str(uri),
        in_reply_to_id=str(reply.parent.uri) if reply else "",
        url=_post_url(str(author.handle), str(uri)),
        metrics=metrics,
        addressed_ids=_addressed_dids(record),
    )
    return created_at, message


def _from_notification(notification: Any, org_did: str) -> tuple[datetime.datetime, NormalizedMessage | None]:
    with _unreadable_item(sort_time=None):
        indexed_at = _timestamp(notification.indexed_at)
    with _unreadable_item(sort_time=indexed_at):
        kind = REASONS.get(str(notification.reason))
        if kind is None or notification.author.did == org_did:
            return indexed_at, None
        _created_at, message = _post_message(
            uri=notification.uri,
            author=notification.author,
            record=notification.record,
            indexed_at=notification.indexed_at,
            direction=Direction.INBOUND,
            kind=kind,
            metrics={},
        )
        # Notifications page by indexedAt, so that is the cursor time (not the post's own time).
        return indexed_at, message


def _from_feed_entry(entry: Any, org_did: str) -> tuple[datetime.datetime, NormalizedMessage | None]:
    with _unreadable_item(sort_time=None):
        post = entry.post
        indexed_at = _timestamp(post.indexed_at)
        if entry.reason is not None or post.author.did != org_did:
            # A repost (or pin) sorts by the time of the repost, not of the post: skip it before any cursor check.
            return indexed_at, None
    with _unreadable_item(sort_time=indexed_at):
        return _post_message(
            uri=post.uri,
            author=post.author,
            record=post.record,
            indexed_at=post.indexed_at,
            direction=Direction.OUTBOUND,
            kind=Kind.REPLY if post.record.reply else Kind.POST,
            metrics={
                "likes": int(post.like_count or 0),
                "reposts": int(post.repost_count or 0),
                "replies": int(post.reply_count or 0),
                "quotes": int(post.quote_count or 0),
            },
        )
