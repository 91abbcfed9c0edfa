"""Facebook Pages, and Instagram business accounts, through the Graph API via python-facebook-api 0.24.

One class serves both platforms: `FacebookConnector(platform="facebook")` polls a Page with its Page
token, `FacebookConnector(platform="instagram")` polls the Instagram business account linked to it.

Streams and cursors (all values are strings in `PollState.cursors`):
- "posts": unix time of the newest own post (Instagram: media) seen. The next poll asks for `since` one
  second later: `since` is taken to include its bound (the docs do not say; the double includes it), so
  asking for the cursor itself would re-read the newest post on every poll. The price: a post published
  in the very second of the newest one seen but visible only after that poll is missed.
- "comments": a JSON object {post id: [post created unix, newest comment created unix seen or 0]} of the
  posts created since `backfill_since`, whose comments may still grow. Each poll lists the comments of
  every new post (all of them) and of every tracked post (`since` one second after its own newest
  comment). A per-post cursor, unlike one cursor for the whole Page, cannot skip a comment written on
  an already-read post while the poll reads the next one. The object is bounded by the backfill window
  and by MAX_TRACKED_POSTS.

Read cost per poll: one request per page of new posts (up to PAGE_SIZE posts each) plus one request per
tracked post, most of them answering an empty list: a Page posting 5 times a day with a 7-day window
costs about 36 calls per poll. Meta's `feed` webhook is the scalable way to learn about new comments.
Instagram comments have no `since`: their whole first level is re-listed and filtered by time here, and
replies come nested in it (their first page only: enough for a dashboard, not an archive).

pyfacebook pitfalls guarded here (see docs/platforms.md §2.5): explicit `fields` on every call (default comment
fields omit `from` and `parent`), `count=None` to follow every page (the default stops after 10 items),
`sleep_on_rate_limit=False` (the library would sleep inside the poll), a `base_url` that must end in
"/", rate-limit headers with keys the library does not know (it raises TypeError from inside every
request: `_TolerantUsage` keeps the known keys), and a response without Content-Type (KeyError).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings

# pyfacebook ships no type information (no py.typed); its names are typed as Any here.
from pyfacebook import (  # type: ignore[import-untyped]
    FacebookApi,
    FacebookError,
    LibraryError,
    RateLimitHeader,
)
from pyfacebook import RateLimit as LibraryRateLimit

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
    ObjectMissing,
    PermissionMissing,
    RateLimit,
    RateLimited,
    SkippedRecord,
    TransientError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

PAGE_SIZE = 100  # Graph caps `limit` at 100 on these edges
INSTAGRAM_PAGE_SIZE = 50  # and at 50 on Instagram comments
MAX_TRACKED_POSTS = 200

POST_FIELDS = (
    "id,message,created_time,permalink_url,from{id,name},"
    "comments.summary(true).limit(0),reactions.summary(total_count).limit(0),shares"
)
COMMENT_FIELDS = "id,from{id,name},message,created_time,parent{id},comment_count,like_count,permalink_url"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username,comments_count,like_count"
INSTAGRAM_COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},like_count"
INSTAGRAM_COMMENT_WITH_REPLIES = f"{INSTAGRAM_COMMENT_FIELDS},replies{{{INSTAGRAM_COMMENT_FIELDS}}}"

# Graph error codes (docs/platforms: Graph "Handling Errors"), by what the poller must do about them.
TOKEN_CODES = frozenset({102, 190})  # the token expired, was revoked or is invalid: reconnect
PERMISSION_CODES = frozenset({3, 10})  # plus the 200-299 range: a permission is missing: reconnect granting it
THROTTLE_CODES = frozenset({4, 17, 32, 613})  # plus 80000-80099, the business use case throttles
TRANSIENT_CODES = frozenset({1, 2})
MISSING_CODES = frozenset({803})  # and code 100 with subcode 33: the object does not exist (or is hidden)
TOKEN_SUBCODES = {458: "app not installed", 460: "password changed", 463: "token expired", 467: "token invalid"}
# Graph names the missing permission in its message: "requires the 'pages_read_engagement' permission",
# "(#10) ... pages_read_user_content ...", "Requires pages_manage_metadata permission".
PERMISSION_NAME = re.compile(r"\b((?:pages|instagram|business|read|public)_[a-z_]+)\b")
RATE_LIMIT_FALLBACK = datetime.timedelta(seconds=60)
USAGE_PERCENT_KEYS = ("call_count", "total_cputime", "total_time")
KNOWN_USAGE_KEYS = frozenset(field.name for field in dataclasses.fields(RateLimitHeader))


# --- The client: pyfacebook with its sharp edges filed off ----------------------------------------------


class _TolerantUsage(LibraryRateLimit):  # type: ignore[misc]  # pyfacebook is untyped
    """pyfacebook's usage-header parser, minus the crash on keys it does not know.

    The library builds `RateLimitHeader(**usage)` from `X-App-Usage` / `X-Business-Use-Case-Usage` on every
    response, so one key Meta adds raises TypeError from inside every request. This keeps the known keys
    for the library and the raw entries of the latest response (`last_usage`) for our RateLimit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_usage: list[dict[str, Any]] = []

    def set_limit(self, headers: Mapping[str, str]) -> None:
        self.last_usage = []
        app_usage = self.parse_headers(headers, "x-app-usage")
        if isinstance(app_usage, dict):
            self.last_usage.append(app_usage)
            self.resources["app"] = RateLimitHeader(**_known_usage_keys(app_usage))
        business_usage = self.parse_headers(headers, "x-business-use-case-usage")
        if isinstance(business_usage, dict):
            for object_id, entries in business_usage.items():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        self.last_usage.append(entry)
                        usage = RateLimitHeader(**_known_usage_keys(entry))
                        self.resources["business"][object_id][str(entry.get("type"))] = usage


def _known_usage_keys(usage: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in usage.items() if key in KNOWN_USAGE_KEYS}


class _GraphClient(FacebookApi):  # type: ignore[misc]  # pyfacebook is untyped
    """FacebookApi that tolerates odd headers and counts what it sends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate_limit = _TolerantUsage()
        self.requests_sent = 0
        self.pages_read = 0
        self.last_status = 0

    def _request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests_sent += 1
        response: requests.Response = super()._request(*args, **kwargs)
        self.last_status = response.status_code
        return response

    def _parse_response(self, response: requests.Response) -> Any:
        # pyfacebook reads response.headers["Content-Type"] and raises KeyError without it. Graph only
        # answers JSON, so a missing header is read as JSON (a body that is not JSON fails parsing below).
        response.headers.setdefault("Content-Type", "application/json")
        data = super()._parse_response(response)  # raises FacebookError on a Graph error body
        if not isinstance(data, dict):
            raise LibraryError({"message": f"expected a JSON object, got {type(data).__name__}"})
        if response.status_code >= 400:  # an HTTP error without a Graph error body (a proxy, say)
            raise LibraryError({"message": f"HTTP {response.status_code} without a Graph error body"})
        return data

    def get_connection(self, object_id: str, connection: str, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().get_connection(object_id=object_id, connection=connection, **kwargs)
        if not isinstance(data.get("data"), list):
            raise LibraryError({"message": f"the {connection} edge answered without a data list"})
        self.pages_read += 1
        return data


def _edge_items(client: _GraphClient, object_id: str, edge: str, *, since: str | None, **params: Any) -> list[Any]:
    """Every item of an edge, following `paging.next` (the library's own loop, with one guard).

    Graph pages posts by time: the next link carries `until` and `__paging_token`, and may drop `since` or
    send it blank, which would page on into the Page's whole history. `since` is put back on every page.
    """
    args: dict[str, Any] = {**params, **({"since": since} if since else {})}
    items: list[Any] = []
    followed: set[str] = set()
    while True:
        data = client.get_connection(object_id=object_id, connection=edge, **args)
        items.extend(data["data"])
        paging = data.get("paging")
        next_link = paging.get("next") if isinstance(paging, dict) else None
        if not isinstance(next_link, str) or not next_link or next_link in followed:
            return items
        followed.add(next_link)
        args = dict(parse_qsl(urlsplit(next_link).query))  # blank values (`since=`) are dropped here
        if since:
            args["since"] = since


def _client(access_token: str) -> _GraphClient:
    base_url = settings.CHORUS_FACEBOOK_API_BASE
    return _GraphClient(
        access_token=access_token,
        app_secret=settings.CHORUS_FACEBOOK_APP_SECRET or None,  # adds appsecret_proof when set
        version=settings.CHORUS_FACEBOOK_API_VERSION,
        base_url=base_url if base_url.endswith("/") else f"{base_url}/",  # pyfacebook appends "v24.0/..."
        timeout=settings.CHORUS_HTTP_TIMEOUT,
        sleep_on_rate_limit=False,
    )


# --- Errors and rate limits ----------------------------------------------------------------------------


@contextlib.contextmanager
def _graph_errors(client: _GraphClient) -> Iterator[None]:
    """Translate whatever the library or the network raises into the connector's error classes."""
    try:
        yield
    except FacebookError as error:
        raise _from_graph_error(error, client) from error
    except LibraryError as error:
        raise _from_status(client, str(getattr(error, "message", error))) from error
    except requests.JSONDecodeError as error:
        raise _from_status(client, f"response is not JSON: {error}") from error
    except requests.RequestException as error:
        # Not chained and not quoted: requests' messages can carry the URL, and so the access token.
        raise TransientError(f"Graph API unreachable: {type(error).__name__}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise MalformedPayload(f"unexpected Graph API payload: {type(error).__name__}: {error}") from error


def _from_graph_error(error: Any, client: _GraphClient) -> ConnectorError:
    """Classify a Graph error body by code and subcode into the connector's error kinds."""
    code = _as_int(getattr(error, "code", None))
    subcode = _as_int(getattr(error, "error_subcode", None))
    text = str(getattr(error, "message", ""))
    message = f"Graph API error {code}{f'/{subcode}' if subcode else ''}: {text}"
    if code in THROTTLE_CODES or 80000 <= code <= 80099 or client.last_status == 429:
        return RateLimited(message, reset_at=_regain_at(client.rate_limit.last_usage))
    if code in TOKEN_CODES:
        reason = TOKEN_SUBCODES.get(subcode, "token expired or invalid")
        return AuthError(f"{message} ({reason}: reconnect the account)")
    if (code == 100 and subcode == 33) or code in MISSING_CODES:
        return ObjectMissing(message)
    named = PERMISSION_NAME.search(text)
    if code in PERMISSION_CODES or 200 <= code <= 299 or (code == 100 and (named or "permission" in text.lower())):
        permission = named.group(1) if named else ""
        return PermissionMissing(message, permission=permission)
    if code in TRANSIENT_CODES or getattr(error, "is_transient", False) or client.last_status >= 500:
        return TransientError(message)
    return ConnectorError(message)


def _from_status(client: _GraphClient, detail: str) -> ConnectorError:
    status = client.last_status
    if status >= 500:
        return TransientError(f"Graph API HTTP {status}: {detail}")
    if status == 429:
        return RateLimited(f"Graph API HTTP 429: {detail}", reset_at=_regain_at(client.rate_limit.last_usage))
    if status in (401, 403):
        return AuthError(f"Graph API HTTP {status}: {detail}")
    return MalformedPayload(f"Graph API answered HTTP {status}: {detail}")


def _regain_at(usage: list[dict[str, Any]]) -> datetime.datetime:
    minutes = max((_as_int(entry.get("estimated_time_to_regain_access")) for entry in usage), default=0)
    return _now() + (datetime.timedelta(minutes=minutes) if minutes > 0 else RATE_LIMIT_FALLBACK)


def _rate_limit(usage: list[dict[str, Any]]) -> RateLimit | None:
    """Graph reports usage as percentages of a budget: limit is 100 and remaining what is left of it."""
    if not usage:
        return None
    percent = max((_as_int(entry.get(key)) for entry in usage for key in USAGE_PERCENT_KEYS), default=0)
    minutes = max((_as_int(entry.get("estimated_time_to_regain_access")) for entry in usage), default=0)
    reset_at = _now() + datetime.timedelta(minutes=minutes) if minutes > 0 else None
    return RateLimit(remaining=max(0, 100 - percent), limit=100, reset_at=reset_at)


def _as_int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


# --- Cursors -------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Tracked:
    created: int  # unix time the post was created
    seen: int  # unix time of its newest comment seen, 0 when none


def _load_tracked(raw: str | None, *, backfill: int) -> dict[str, _Tracked]:
    try:
        data = json.loads(raw) if raw else {}
        tracked = {str(post_id): _Tracked(int(created), int(seen)) for post_id, (created, seen) in data.items()}
    except (ValueError, TypeError, AttributeError):
        tracked = {}  # an unreadable cursor costs one re-read of the window, nothing more
    return {post_id: entry for post_id, entry in tracked.items() if entry.created >= backfill}


def _dump_tracked(tracked: dict[str, _Tracked]) -> str:
    newest = sorted(tracked.items(), key=lambda pair: pair[1].created, reverse=True)[:MAX_TRACKED_POSTS]
    return json.dumps(
        {post_id: [entry.created, entry.seen] for post_id, entry in sorted(newest)}, separators=(",", ":")
    )


def _unix_cursor(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _parse_time(value: Any) -> datetime.datetime:
    """Graph times look like 2026-08-20T09:41:07+0000."""
    return datetime.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z").astimezone(datetime.UTC)


def _unix(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def _raw_unix(raw: Any, key: str) -> int:
    """The unix time of an item that could not be read, 0 when even its time is unreadable."""
    try:
        return _unix(_parse_time(raw[key]))
    except (KeyError, TypeError, ValueError):
        return 0


# --- The connector -------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Owner:
    """The polled account as the Graph API names it."""

    id: str
    handle: str
    name: str


class FacebookConnector:
    """Polls a Facebook Page (or the Instagram business account behind a Page token) through pyfacebook."""

    def __init__(self, platform: str = "facebook") -> None:
        if platform not in {"facebook", "instagram"}:
            raise ValueError(f"FacebookConnector serves facebook and instagram, not {platform!r}")
        self.platform = platform

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        access_token = account.credentials.get("access_token")
        if not access_token:
            raise MissingCredentials(f"{self.platform} account {account.handle} has no access_token")
        client = _client(str(access_token))
        skipped: list[SkippedRecord] = []
        with _graph_errors(client):
            owner = self._resolve(client, account)
            if self.platform == "instagram":
                messages, new_cursors = self._poll_instagram(client, owner, cursors, backfill_since, skipped)
            else:
                messages, new_cursors = self._poll_page(client, owner, cursors, backfill_since, skipped)
        return FetchResult(
            skipped=skipped,
            messages=messages,
            cursors=new_cursors,
            pages=client.pages_read,
            requests=client.requests_sent,
            rate_limit=_rate_limit(client.rate_limit.last_usage),
            account_updates={} if account.external_id else {"external_id": owner.id},
        )

    def _resolve(self, client: _GraphClient, account: AccountRef) -> _Owner:
        handle = account.handle.lstrip("@")
        if account.external_id:
            return _Owner(account.external_id, handle, handle)
        if self.platform == "instagram":
            # The Page token's Page names its linked Instagram business account.
            page = client.get_object("me", fields="id,name,instagram_business_account{id,username}")
            linked = page.get("instagram_business_account")
            if not isinstance(linked, dict) or not linked.get("id"):
                raise AuthError("the token's Page has no linked Instagram business account")
            return _Owner(str(linked["id"]), str(linked.get("username") or handle), str(page.get("name") or handle))
        page = client.get_object(handle, fields="id,name,username")
        return _Owner(str(page["id"]), str(page.get("username") or handle), str(page.get("name") or handle))

    def _readable(
        self, skipped: list[SkippedRecord], read: Callable[..., NormalizedMessage], raw: Any, *args: Any
    ) -> NormalizedMessage | None:
        """`read(raw, *args)`, or None with the item recorded as skipped when it cannot be read (no id...)."""
        try:
            return read(raw, *args)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            reason = f"{self.platform} item unreadable: {type(error).__name__}: {error}"
            skipped.append(SkippedRecord(raw=raw, reason=reason[:500]))
            return None

    # -- Facebook Page ----------------------------------------------------------------------------------

    def _poll_page(
        self,
        client: _GraphClient,
        page: _Owner,
        cursors: dict[str, str],
        backfill_since: datetime.datetime,
        skipped: list[SkippedRecord],
    ) -> tuple[list[NormalizedMessage], dict[str, str]]:
        backfill = _unix(backfill_since)
        newest_post = _unix_cursor(cursors.get("posts"))
        posts = _edge_items(
            client,
            page.id,
            "posts",
            fields=POST_FIELDS,
            since=str(newest_post + 1 if newest_post is not None else backfill),
            limit=PAGE_SIZE,
        )
        tracked = _load_tracked(cursors.get("comments"), backfill=backfill)
        messages: dict[str, NormalizedMessage] = {}
        to_read: dict[str, _Tracked] = dict(tracked)
        for post in posts:
            message = self._readable(skipped, self._post_message, post, page)
            if message is None:  # the cursor still moves past it, so it is not read (and recorded) again
                newest_post = max(newest_post or 0, _raw_unix(post, "created_time"))
                continue
            messages[message.external_id] = message
            created = _unix(message.created_at)
            newest_post = max(newest_post or 0, created)
            to_read[message.external_id] = _Tracked(created, 0)  # a post new to us: all its comments are new
            if created >= backfill:
                tracked[message.external_id] = to_read[message.external_id]

        for post_id, entry in to_read.items():
            comments = _edge_items(
                client,
                post_id,
                "comments",
                fields=COMMENT_FIELDS,  # the default fields omit `from` and `parent`
                filter="stream",  # every level, flattened, with `parent` on replies
                order="chronological",
                since=str(entry.seen + 1) if entry.seen else None,
                limit=PAGE_SIZE,
            )
            for comment in comments:
                message = self._readable(skipped, self._comment_message, comment, page, post_id)
                if message is None:
                    entry.seen = max(entry.seen, _raw_unix(comment, "created_time"))
                    continue
                messages.setdefault(message.external_id, message)
                entry.seen = max(entry.seen, _unix(message.created_at))

        new_cursors: dict[str, str] = {}
        if newest_post is not None and str(newest_post) != cursors.get("posts"):
            new_cursors["posts"] = str(newest_post)
        comments_cursor = _dump_tracked(tracked)
        if comments_cursor != cursors.get("comments"):
            new_cursors["comments"] = comments_cursor
        return list(messages.values()), new_cursors

    def _post_message(self, post: dict[str, Any], page: _Owner) -> NormalizedMessage:
        author = post.get("from") or {}
        return NormalizedMessage(
            platform=self.platform,
            external_id=str(post["id"]),
            direction=Direction.OUTBOUND,
            kind=Kind.POST,
            author_id=page.id,
            author_handle=page.handle,
            author_name=str(author.get("name") or page.name),
            text=str(post.get("message") or ""),
            created_at=_parse_time(post["created_time"]),
            conversation_id=str(post["id"]),
            url=str(post.get("permalink_url") or ""),
            metrics={
                "likes": _as_int(((post.get("reactions") or {}).get("summary") or {}).get("total_count")),
                "comments": _as_int(((post.get("comments") or {}).get("summary") or {}).get("total_count")),
                "shares": _as_int((post.get("shares") or {}).get("count")),
            },
        )

    def _comment_message(self, comment: dict[str, Any], page: _Owner, post_id: str) -> NormalizedMessage:
        author = comment.get("from") or {}  # absent when the token may not see the commenter
        parent_id = str((comment.get("parent") or {}).get("id") or "")
        is_page = str(author.get("id") or "") == page.id
        return NormalizedMessage(
            platform=self.platform,
            external_id=str(comment["id"]),
            direction=Direction.OUTBOUND if is_page else Direction.INBOUND,
            kind=Kind.REPLY if is_page or parent_id else Kind.COMMENT,
            author_id=str(author.get("id") or ""),
            author_handle=page.handle if is_page else "",  # Graph exposes no usernames of people
            author_name=str(author.get("name") or ""),
            text=str(comment.get("message") or ""),
            created_at=_parse_time(comment["created_time"]),
            conversation_id=post_id,
            in_reply_to_id=parent_id or post_id,
            url=str(comment.get("permalink_url") or ""),
            metrics={"likes": _as_int(comment.get("like_count")), "replies": _as_int(comment.get("comment_count"))},
        )

    # -- Instagram business account --------------------------------------------------------------------

    def _poll_instagram(
        self,
        client: _GraphClient,
        owner: _Owner,
        cursors: dict[str, str],
        backfill_since: datetime.datetime,
        skipped: list[SkippedRecord],
    ) -> tuple[list[NormalizedMessage], dict[str, str]]:
        backfill = _unix(backfill_since)
        newest_media = _unix_cursor(cursors.get("posts"))
        media_list = _edge_items(
            client,
            owner.id,
            "media",
            limit=INSTAGRAM_PAGE_SIZE,
            fields=MEDIA_FIELDS,
            since=str(newest_media + 1 if newest_media is not None else backfill),
        )
        tracked = _load_tracked(cursors.get("comments"), backfill=backfill)
        messages: dict[str, NormalizedMessage] = {}
        to_read: dict[str, _Tracked] = dict(tracked)
        for media in media_list:
            message = self._readable(skipped, self._media_message, media, owner)
            if message is None:
                newest_media = max(newest_media or 0, _raw_unix(media, "timestamp"))
                continue
            messages[message.external_id] = message
            created = _unix(message.created_at)
            newest_media = max(newest_media or 0, created)
            to_read[message.external_id] = _Tracked(created, 0)
            if created >= backfill:
                tracked[message.external_id] = to_read[message.external_id]

        for media_id, entry in to_read.items():
            # The comments edge takes no `since`: the first level is re-listed and filtered by time here.
            comments = _edge_items(
                client,
                media_id,
                "comments",
                since=None,
                limit=INSTAGRAM_PAGE_SIZE,
                fields=INSTAGRAM_COMMENT_WITH_REPLIES,
            )
            newest_seen = entry.seen
            for comment in comments:
                replies = (comment.get("replies") or {}).get("data") or [] if isinstance(comment, dict) else []
                parent = str(comment.get("id") or "") if isinstance(comment, dict) else ""
                for item, parent_id in [(comment, ""), *((reply, parent) for reply in replies)]:
                    raw_time = _raw_unix(item, "timestamp")
                    if raw_time and raw_time <= entry.seen:
                        continue  # seen on an earlier poll (stored, or recorded as skipped)
                    message = self._readable(skipped, self._instagram_comment, item, owner, media_id, parent_id)
                    if message is None:
                        newest_seen = max(newest_seen, raw_time)
                        continue
                    created = _unix(message.created_at)
                    if created > entry.seen:
                        messages.setdefault(message.external_id, message)
                        newest_seen = max(newest_seen, created)
            entry.seen = newest_seen

        new_cursors: dict[str, str] = {}
        if newest_media is not None and str(newest_media) != cursors.get("posts"):
            new_cursors["posts"] = str(newest_media)
        comments_cursor = _dump_tracked(tracked)
        if comments_cursor != cursors.get("comments"):
            new_cursors["comments"] = comments_cursor
        return list(messages.values()), new_cursors

    def _media_message(self, media: dict[str, Any], owner: _Owner) -> NormalizedMessage:
        return NormalizedMessage(
            platform=self.platform,
            external_id=str(media["id"]),
            direction=Direction.OUTBOUND,
            kind=Kind.POST,
            author_id=owner.id,
            author_handle=str(media.get("username") or owner.handle),
            author_name=owner.name,
            text=str(media.get("caption") or ""),
            created_at=_parse_time(media["timestamp"]),
            conversation_id=str(media["id"]),
            url=str(media.get("permalink") or ""),
            metrics={"likes": _as_int(media.get("like_count")), "comments": _as_int(media.get("comments_count"))},
        )

    def _instagram_comment(
        self, comment: dict[str, Any], owner: _Owner, media_id: str, parent_id: str
    ) -> NormalizedMessage:
        author = comment.get("from") or {}
        username = str(comment.get("username") or author.get("username") or "")
        is_owner = str(author.get("id") or "") == owner.id or username.lower() == owner.handle.lower()
        return NormalizedMessage(
            platform=self.platform,
            external_id=str(comment["id"]),
            direction=Direction.OUTBOUND if is_owner else Direction.INBOUND,
            kind=Kind.REPLY if is_owner or parent_id else Kind.COMMENT,
            author_id=str(author.get("id") or ""),
            author_handle=username,
            author_name=username,
            text=str(comment.get("text") or ""),
            created_at=_parse_time(comment["timestamp"]),
            conversation_id=media_id,
            in_reply_to_id=parent_id or media_id,
            # Instagram comments have no permalink of their own.
            metrics={"likes": _as_int(comment.get("like_count"))},
        )


def feed_comment_message(value: dict[str, Any], *, page_id: str, page_handle: str) -> NormalizedMessage:
    """A comment from a Page `feed` webhook change (`item` comment), normalized exactly as a polled one: the
    Page's own comment outbound reply, anyone else's inbound comment (top level) or reply. The webhook names
    the parent even for a top-level comment (`parent_id == post_id`) and gives `created_time` in unix seconds;
    it carries no like counts and no permalink (the next poll fills them in). Raises MalformedPayload."""
    try:
        post_id = str(value["post_id"])
        parent_id = str(value.get("parent_id") or "")
        created = value["created_time"]
        if isinstance(created, int | float) and not isinstance(created, bool):
            created = datetime.datetime.fromtimestamp(created, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        comment = {
            "id": str(value["comment_id"]),
            "from": value.get("from") if isinstance(value.get("from"), dict) else {},
            "message": value.get("message") or "",
            "created_time": created,
            "parent": {"id": parent_id} if parent_id and parent_id != post_id else None,
        }
        handle = page_handle.lstrip("@")
        return FacebookConnector("facebook")._comment_message(comment, _Owner(page_id, handle, handle), post_id)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise MalformedPayload(f"unexpected feed comment payload: {type(error).__name__}") from error
