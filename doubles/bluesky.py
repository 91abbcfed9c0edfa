"""Bluesky double: the XRPC endpoints the Bluesky connector reaches through `atproto`, on loopback.

It renders a `Scenario` into the PDS/AppView wire format (docs/platforms.md §3):

- `com.atproto.server.createSession` checks identifier + app password (the scenario token of the account)
  and returns decodable JWTs with `exp`, plus a DID document whose PDS endpoint is this double (atproto
  switches its base URL to it after login). Calls are counted: the real endpoint allows 30/5 min.
- `com.atproto.server.refreshSession` rotates the pair (the old refresh token stops working).
- `app.bsky.notification.listNotifications` (reasons, cursor, limit): inbound items of the caller, newest
  first; `reply` when the parent is the caller's own post, `quote` when the item quotes one of its posts
  (`reasonSubject` names it, the record embeds it), `mention` otherwise.
- `app.bsky.feed.getAuthorFeed` (actor, cursor, limit, filter): the actor's own posts and replies, with the
  `reply` parent/root views, and its reposts: the original's post view with `reason` `#reasonRepost`.

Cursors are timestamps, as the AppView sends them (the sort time of the page's last entry). Quotes carry
`app.bsky.embed.record` in the record and `#view` in the post view. `Item.broken == "bad_time"` sends a
`createdAt` with a lowercase `z` suffix, which a strict reader refuses.
- `app.bsky.actor.getProfile` and `com.atproto.identity.resolveHandle`, which the library may call.

Scenario item ids are at:// URIs (`post_uri(did, rkey)`); Person.id is the DID.
Errors use the XRPC shape {"error": ..., "message": ...}: 400 ExpiredToken/InvalidToken, 401
AuthenticationRequired, 429 RateLimitExceeded; every answer carries ratelimit-* headers.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime
import hashlib
import itertools
import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from doubles.server import DoubleServer, Request, Response

if TYPE_CHECKING:
    from doubles.scenario import Item, Person, Scenario

PLATFORM = "bluesky"
READ_LIMIT = 3000  # requests per 5 min per IP on a bsky PDS
READ_WINDOW = 300
SESSION_LIMIT = 30  # createSession per 5 min per account
INDEXING_DELAY = datetime.timedelta(seconds=1)  # indexedAt trails the record's createdAt
DEFAULT_PAGE = 50
MAX_PAGE = 100


@dataclasses.dataclass(frozen=True)
class _Index:
    """The scenario's items as one request sees them: newest first, by id, and reply counts."""

    items: list[Item]
    by_id: dict[str, Item]
    replies: collections.Counter[str]

    @classmethod
    def of(cls, scenario: Scenario) -> _Index:
        items = scenario.snapshot(PLATFORM)
        replies = collections.Counter(item.in_reply_to for item in items if item.in_reply_to)
        return cls(items, {item.id: item for item in items}, replies)


def post_uri(did: str, rkey: str) -> str:
    """The at:// URI of a post record; use it as the scenario item id."""
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _cid(uri: str) -> str:
    return "bafyrei" + base64.b32encode(hashlib.sha256(uri.encode()).digest()).decode().lower().rstrip("=")[:52]


class BlueskyDouble(DoubleServer):
    platform = PLATFORM

    def __init__(self, scenario: Scenario, *, access_ttl: int = 2 * 3600, refresh_ttl: int = 90 * 86400) -> None:
        super().__init__()
        self.scenario = scenario
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.page_cap = MAX_PAGE  # lower it to make a server that answers fewer items than asked for
        self.create_session_calls = 0
        self.refresh_session_calls = 0
        # jwt -> (did, scope, exp); a token absent here is unknown to the server (revoked or never issued)
        self.jwts: dict[str, tuple[str, str, float]] = {}
        self._state_lock = threading.Lock()
        self._served: dict[int, itertools.count[int]] = {}  # per policy limit: requests answered so far
        self.route("POST", r"/xrpc/com\.atproto\.server\.createSession", self.create_session)
        self.route("POST", r"/xrpc/com\.atproto\.server\.refreshSession", self.refresh_session)
        self.route("GET", r"/xrpc/app\.bsky\.notification\.listNotifications", self.list_notifications)
        self.route("GET", r"/xrpc/app\.bsky\.feed\.getAuthorFeed", self.get_author_feed)
        self.route("GET", r"/xrpc/app\.bsky\.actor\.getProfile", self.get_profile)
        self.route("GET", r"/xrpc/com\.atproto\.identity\.resolveHandle", self.resolve_handle)

    # -- test controls ----------------------------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        """Make the server treat every issued access token as expired (the client still thinks it is valid)."""
        with self._state_lock:
            for jwt, (did, scope, _exp) in list(self.jwts.items()):
                if scope == "com.atproto.access":
                    self.jwts[jwt] = (did, scope, time.time() - 1)

    def revoke_sessions(self, did: str) -> None:
        """Forget every token of the account (app password revoked, sessions signed out)."""
        with self._state_lock:
            for jwt, (owner, _scope, _exp) in list(self.jwts.items()):
                if owner == did:
                    del self.jwts[jwt]

    # -- wire helpers -----------------------------------------------------------------------------------
    def rate_limit_headers(self, limit: int = READ_LIMIT, window: int = READ_WINDOW) -> dict[str, str]:
        with self._state_lock:
            served = next(self._served.setdefault(limit, itertools.count(1)))
        return {
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(max(limit - served, 0)),
            "ratelimit-reset": str(int(time.time()) + window),
            "ratelimit-policy": f"{limit};w={window}",
        }

    def rate_limited(self, reset_in: int) -> Response:
        headers = {
            "ratelimit-limit": str(READ_LIMIT),
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time()) + reset_in),
            "ratelimit-policy": f"{READ_LIMIT};w={READ_WINDOW}",
        }
        return Response(429, self.error_body(429), headers)

    def error_body(self, status: int) -> Any:
        errors = {
            400: ("InvalidRequest", "Invalid request"),
            401: ("AuthenticationRequired", "Authentication Required"),
            404: ("NotFound", "Not Found"),
            429: ("RateLimitExceeded", "Rate Limit Exceeded"),
            500: ("InternalServerError", "Internal Server Error"),
            502: ("UpstreamFailure", "Upstream Failure"),
            503: ("NotEnoughResources", "Service Unavailable"),
        }
        error, message = errors.get(status, ("InternalServerError", "Internal Server Error"))
        return {"error": error, "message": message}

    def _error(self, status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message}, self.rate_limit_headers())

    def _ok(self, body: Any, limit: int = READ_LIMIT) -> Response:
        return Response(200, body, self.rate_limit_headers(limit))

    def _issue(self, did: str, scope: str, ttl: int) -> str:
        now = int(time.time())
        header = {"typ": "at+jwt" if scope == "com.atproto.access" else "refresh+jwt", "alg": "ES256K"}
        payload = {"scope": scope, "sub": did, "aud": "did:web:127.0.0.1", "iat": now, "exp": now + ttl}
        if scope == "com.atproto.refresh":
            payload["jti"] = secrets.token_urlsafe(16)
        segments = [json.dumps(header).encode(), json.dumps(payload).encode(), secrets.token_bytes(64)]
        jwt = ".".join(_b64url(segment) for segment in segments)
        self.jwts[jwt] = (did, scope, now + ttl)
        return jwt

    def _session_body(self, person: Person) -> dict[str, Any]:
        with self._state_lock:
            access = self._issue(person.id, "com.atproto.access", self.access_ttl)
            refresh = self._issue(person.id, "com.atproto.refresh", self.refresh_ttl)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": person.handle,
            "did": person.id,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": person.id,
                "alsoKnownAs": [f"at://{person.handle}"],
                "verificationMethod": [],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.url}],
            },
            "email": f"{person.handle}@example.invalid",
            "emailConfirmed": True,
            "active": True,
        }

    def _bearer(self, request: Request, scope: str) -> tuple[str | None, Response | None]:
        """(did, None) for a valid token of `scope`, else (None, the XRPC error answer)."""
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return None, self._error(401, "AuthenticationRequired", "Authentication Required")
        with self._state_lock:
            known = self.jwts.get(authorization.removeprefix("Bearer "))
        if known is None or known[1] != scope:
            return None, self._error(400, "InvalidToken", "Token could not be verified")
        did, _scope, exp = known
        if exp <= time.time():
            return None, self._error(400, "ExpiredToken", "Token has expired")
        return did, None

    def _account(self, actor: str) -> Person | None:
        return self.scenario.accounts.get((PLATFORM, actor)) or self.scenario.account_by_handle(PLATFORM, actor)

    # -- session ----------------------------------------------------------------------------------------
    def create_session(self, request: Request) -> Response:
        with self._state_lock:
            self.create_session_calls += 1
        try:
            body = request.json()
        except ValueError:
            return self._error(400, "InvalidRequest", "Input must be JSON")
        person = self._account(str(body.get("identifier", "")))
        password = self.scenario.tokens.get((PLATFORM, person.id)) if person else None
        if person is None or not password or body.get("password") != password:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._ok(self._session_body(person), SESSION_LIMIT)

    def refresh_session(self, request: Request) -> Response:
        with self._state_lock:
            self.refresh_session_calls += 1
        did, error = self._bearer(request, "com.atproto.refresh")
        if error is not None:
            return error
        person = self.scenario.accounts.get((PLATFORM, str(did)))
        if person is None:
            return self._error(400, "InvalidToken", "Token could not be verified")
        with self._state_lock:  # the refresh token is single-use
            self.jwts.pop(request.headers["authorization"].removeprefix("Bearer "), None)
        return self._ok(self._session_body(person))

    # -- reads ------------------------------------------------------------------------------------------
    def get_profile(self, request: Request) -> Response:
        _did, error = self._bearer(request, "com.atproto.access")
        if error is not None:
            return error
        person = self._account(request.arg("actor"))
        if person is None:
            return self._error(400, "InvalidRequest", "Profile not found")
        return self._ok({"did": person.id, "handle": person.handle, "displayName": person.name})

    def resolve_handle(self, request: Request) -> Response:
        person = self.scenario.account_by_handle(PLATFORM, request.arg("handle"))
        if person is None:
            return self._error(400, "InvalidRequest", "Unable to resolve handle")
        return self._ok({"did": person.id})

    def list_notifications(self, request: Request) -> Response:
        did, error = self._bearer(request, "com.atproto.access")
        if error is not None:
            return error
        reasons = set(request.query.get("reasons", []))
        index = _Index.of(self.scenario)
        notifications = []
        for item in index.items:
            if item.to.id != did or item.is_outbound or item.repost_of:
                continue
            parent = index.by_id.get(item.in_reply_to)
            quoted = index.by_id.get(item.quote_of)
            # a reply to one of the account's own posts notifies as "reply", a quote of one as "quote"; anything
            # else reaching it mentions it
            if parent is not None and parent.author.id == item.to.id:
                reason = "reply"
            elif quoted is not None and quoted.author.id == item.to.id:
                reason = "quote"
            else:
                reason = "mention"
            if reasons and reason not in reasons:
                continue
            notifications.append((item, reason))
        page, cursor = self._page(request, [(item.created_at + INDEXING_DELAY, item.id) for item, _ in notifications])
        by_id = {item.id: (item, reason) for item, reason in notifications}
        body: dict[str, Any] = {
            "notifications": [self._notification(*by_id[item_id]) for item_id in page],
            "seenAt": "2026-01-01T00:00:00.000Z",
        }
        if cursor:
            body["cursor"] = cursor
        return self._ok(body)

    def get_author_feed(self, request: Request) -> Response:
        if request.headers.get("authorization"):
            _did, error = self._bearer(request, "com.atproto.access")
            if error is not None:
                return error
        person = self._account(request.arg("actor"))
        if person is None:
            return self._error(400, "InvalidRequest", "Profile not found")
        exclude_replies = request.arg("filter") == "posts_no_replies"
        index = _Index.of(self.scenario)
        posts = [
            item
            for item in index.items
            if item.author.id == person.id and item.is_outbound and not (exclude_replies and item.in_reply_to)
        ]
        page, cursor = self._page(request, [(item.created_at, item.id) for item in posts])
        by_id = {item.id: item for item in posts}
        feed = []
        for item_id in page:
            item = by_id[item_id]
            original = index.by_id.get(item.repost_of) if item.repost_of else None
            if original is not None:  # a repost: the original's view, and who reposted it when
                feed.append(
                    {
                        "post": self._post_view(original, index),
                        "reason": {
                            "$type": "app.bsky.feed.defs#reasonRepost",
                            "by": self._author(item.author),
                            "indexedAt": _iso(item.created_at),
                        },
                    }
                )
                continue
            entry: dict[str, Any] = {"post": self._post_view(item, index)}
            if item.in_reply_to:
                entry["reply"] = {
                    "root": self._ref_view(item.conversation_id, index),
                    "parent": self._ref_view(item.in_reply_to, index),
                }
            feed.append(entry)
        body: dict[str, Any] = {"feed": feed}
        if cursor:
            body["cursor"] = cursor
        return self._ok(body)

    # -- rendering --------------------------------------------------------------------------------------
    def _page(self, request: Request, keys: list[tuple[datetime.datetime, str]]) -> tuple[list[str], str]:
        """Keys (sort time, uri) newest first -> (uris of this page, cursor of the next page or "")."""
        try:
            limit = min(max(int(request.arg("limit") or DEFAULT_PAGE), 1), MAX_PAGE, self.page_cap)
        except ValueError:
            limit = min(DEFAULT_PAGE, self.page_cap)
        keys = sorted(keys, reverse=True)
        cursor = request.arg("cursor")
        if cursor:
            after = datetime.datetime.fromisoformat(cursor)
            keys = [key for key in keys if key[0] < after]
        page = keys[:limit]
        # Like the AppView, a non-empty page always carries a cursor (the timestamp of its last entry); the end
        # shows as an empty page.
        next_cursor = _iso(page[-1][0]) if page else ""
        return [uri for _, uri in page], next_cursor

    def _record(self, item: Item) -> dict[str, Any]:
        created_at = _iso(item.created_at)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": item.text,
            "createdAt": created_at[:-1] + "z" if item.broken == "bad_time" else created_at,
            "langs": ["en"],
        }
        if item.quote_of:
            record["embed"] = {
                "$type": "app.bsky.embed.record",
                "record": {"uri": item.quote_of, "cid": _cid(item.quote_of)},
            }
        mention = f"@{item.to.handle}"
        start = item.text.find(mention)
        if start >= 0 and not item.is_outbound:
            byte_start = len(item.text[:start].encode())
            record["facets"] = [
                {
                    "index": {"byteStart": byte_start, "byteEnd": byte_start + len(mention.encode())},
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": item.to.id}],
                }
            ]
        if item.in_reply_to:
            record["reply"] = {
                "root": {"uri": item.conversation_id, "cid": _cid(item.conversation_id)},
                "parent": {"uri": item.in_reply_to, "cid": _cid(item.in_reply_to)},
            }
        return record

    @staticmethod
    def _author(person: Person) -> dict[str, Any]:
        return {"did": person.id, "handle": person.handle, "displayName": person.name}

    def _notification(self, item: Item, reason: str) -> dict[str, Any]:
        notification: dict[str, Any] = {
            "uri": item.id,
            "cid": _cid(item.id),
            "author": self._author(item.author),
            "reason": reason,
            "record": self._record(item),
            "isRead": False,
            "indexedAt": _iso(item.created_at + INDEXING_DELAY),
            "labels": [],
        }
        if reason == "reply":
            notification["reasonSubject"] = item.in_reply_to
        return notification

    def _post_view(self, item: Item, index: _Index) -> dict[str, Any]:
        view = self._bare_post_view(item, index)
        quoted = index.by_id.get(item.quote_of) if item.quote_of else None
        if quoted is not None:
            view["embed"] = {
                "$type": "app.bsky.embed.record#view",
                "record": {
                    "$type": "app.bsky.embed.record#viewRecord",
                    "uri": quoted.id,
                    "cid": _cid(quoted.id),
                    "author": self._author(quoted.author),
                    "value": self._record(quoted),
                    "indexedAt": _iso(quoted.created_at + INDEXING_DELAY),
                },
            }
        return view

    def _bare_post_view(self, item: Item, index: _Index) -> dict[str, Any]:
        return {
            "$type": "app.bsky.feed.defs#postView",
            "uri": item.id,
            "cid": _cid(item.id),
            "author": self._author(item.author),
            "record": self._record(item),
            "replyCount": index.replies[item.id],
            "repostCount": 0,
            "likeCount": item.likes,
            "quoteCount": 0,
            "indexedAt": _iso(item.created_at + INDEXING_DELAY),
            "labels": [],
        }

    def _ref_view(self, uri: str, index: _Index) -> dict[str, Any]:
        item = index.by_id.get(uri)
        if item is None:
            return {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": True}
        return self._post_view(item, index)
