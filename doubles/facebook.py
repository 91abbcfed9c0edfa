"""A Graph API double (docs/platforms.md §2): Facebook Pages and the Instagram business accounts behind them.

Routes (any `vNN.N` version):
- `GET /{version}/{page-id | username | me}?fields=...` — the node (`me` is the token's account; for an
  Instagram token it is a Page carrying `instagram_business_account{id,username}`).
- `GET /{version}/{page-id}/posts` — the Page's own posts, newest first.
- `GET /{version}/{post-id}/comments` — `filter=stream` (every level, `parent{id}` on replies) or
  `toplevel` (the default); `order=chronological` (the default) or `reverse_chronological`.
- `GET /{version}/{ig-user-id}/media` and `GET /{version}/{media-id}/comments` — Instagram, first-level
  comments with their `replies{...}`.

Every list takes `fields`, `since`/`until` (unix seconds, inclusive), `limit` (capped at `max_limit`).
Comments page by cursor (`after`; `paging.cursors`); posts and media page by time, as Graph does: their
`paging.next` carries `until` and `__paging_token` and sends `since` blank (a client that follows it
blindly pages on into the whole history), and `paging.previous` carries `since` and `__previous`.
`paging.next` appears only when more pages exist and repeats the rest of the query (fields, limit,
filter, order, access_token) because pyfacebook rebuilds the next request from it alone.
Shapes the real API sends: a post without text has no `message`; with `hide_commenters`, comments by
people come without `from` (Graph omits it unless the token may see them); `permission_error(code, ...)`
answers the missing-permission bodies of codes 10, 100 and 200. `Item.broken == "no_id"` sends an item
without `id`.
Only the requested top-level fields are rendered, so a client relying on default fields misses `from`
and `parent` as it would on Graph.

Every response carries `Content-Type`, `X-App-Usage` and `X-Business-Use-Case-Usage`; every
`unknown_usage_key_every`-th response adds a key pyfacebook 0.24 does not know (it raises TypeError on
those). Errors are Graph error bodies; an unknown token answers code 190.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from doubles.server import DoubleServer, Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from doubles.scenario import Item, Person, Scenario

VERSION = r"(?P<version>v\d+\.\d+)"
UNKNOWN_USAGE_KEY = "call_count_burst"  # stands for any key Meta adds to the usage headers one day
DEFAULT_FIELDS = {
    "node": {"id", "name"},
    "post": {"id", "message", "created_time"},
    "comment": {"id", "message", "created_time"},
    "media": {"id"},
    "ig_comment": {"id", "text", "timestamp"},
}


def graph_time(item: Item) -> str:
    return item.created_at.strftime("%Y-%m-%dT%H:%M:%S+0000")


def unix(item: Item) -> int:
    return int(item.created_at.timestamp())


def field_names(fields: str) -> set[str]:
    """Top-level names of a Graph `fields` value: "id,from{id,name},comments.summary(true)" -> id, from, comments."""
    names, depth, current = set(), 0, ""
    for char in fields + ",":
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            name = current.strip().split("{")[0].split(".")[0].split("(")[0]
            if name:
                names.add(name)
            current = ""
        else:
            current += char
    return names


def encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(f"cursor:{item_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("cursor:")


class FacebookDouble(DoubleServer):
    platform = "facebook"

    def __init__(self, scenario: Scenario, *, app_secret: str = "", max_limit: int = 100) -> None:
        super().__init__()
        self.scenario = scenario
        self.app_secret = app_secret  # when set, appsecret_proof must match
        self.max_limit = max_limit  # Graph caps `limit`; set it small to force many pages
        self.unknown_usage_key_every = 2  # 0: never
        self.app_usage: dict[str, int] = {"call_count": 3, "total_cputime": 1, "total_time": 2}
        self.page_usage: dict[str, int] = {"call_count": 5, "total_cputime": 1, "total_time": 2}
        self.served: list[tuple[str, int]] = []  # (path, items) of every list page answered
        self.no_content_type: dict[str, int] = {}  # path regex -> how many responses go without Content-Type
        self.hide_commenters = False  # comments by people without `from`, as for a token lacking permission
        self._numbers = itertools.count(1)
        self._local = threading.local()
        self.route("GET", rf"/{VERSION}/(?P<object>[^/]+)", self._node)
        self.route("GET", rf"/{VERSION}/(?P<object>[^/]+)/(?P<edge>[^/]+)", self._edge)

    # -- wire details ------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        self._local.account = self._account_for(request.arg("access_token"))
        response = super().dispatch(request)
        response.headers = {**self.rate_limit_headers(), **response.headers}
        with self._lock:
            for pattern, times in list(self.no_content_type.items()):
                if times > 0 and re.search(pattern, request.path):
                    self.no_content_type[pattern] = times - 1
                    response.omit_headers = (*response.omit_headers, "Content-Type")
                    break
        return response

    def rate_limit_headers(self, *, throttled_minutes: int = 0) -> dict[str, str]:
        account: Person | None = getattr(self._local, "account", None)
        extra = {UNKNOWN_USAGE_KEY: 1} if self._add_unknown_key() else {}
        app = {**self.app_usage, **extra}
        if throttled_minutes:
            app = {**app, "call_count": 100}
        headers = {"X-App-Usage": json.dumps(app)}
        if account is not None:
            kind = "instagram" if account.platform == "instagram" else "pages"
            usage = {"type": kind, **self.page_usage, "estimated_time_to_regain_access": throttled_minutes, **extra}
            if throttled_minutes:
                usage["call_count"] = 100
            headers["X-Business-Use-Case-Usage"] = json.dumps({account.id: [usage]})
        return headers

    def _add_unknown_key(self) -> bool:
        number = next(self._numbers)
        return bool(self.unknown_usage_key_every) and number % self.unknown_usage_key_every == 0

    def rate_limited(self, reset_in: int) -> Response:
        """The Pages throttle: HTTP 400, code 80001, the wait in minutes in the BUC header."""
        minutes = max(1, math.ceil(reset_in / 60))
        body = self.graph_error(
            80001, "(#80001) There have been too many calls to this Page account. Wait a bit and try again."
        )
        return Response(400, body, self.rate_limit_headers(throttled_minutes=minutes))

    def error_body(self, status: int) -> Any:
        if status in (400, 401):
            return self.graph_error(
                190,
                "Error validating access token: The session has been invalidated because the user changed "
                "their password or Facebook has changed the session for security reasons.",
                subcode=460,
            )
        if status == 403:
            return self.graph_error(10, "(#10) Application does not have permission for this action")
        if status == 404:
            return self.graph_error(803, "(#803) Some of the aliases you requested do not exist")
        if status == 429:
            return self.graph_error(4, "(#4) Application request limit reached")
        if status in (502, 503):
            return self.graph_error(
                2, "An unexpected error has occurred. Please retry your request later.", transient=True
            )
        return self.graph_error(1, "An unknown error occurred", transient=True)

    def graph_error(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        transient: bool = False,
    ) -> dict[str, Any]:
        error: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if subcode is not None:
            error["error_subcode"] = subcode
        if transient:
            error["is_transient"] = True
        error["fbtrace_id"] = f"AbCdEf{code}xyz"
        return {"error": error}

    # -- auth ------------------------------------------------------------------------------------------
    def _account_for(self, token: str) -> Person | None:
        with self.scenario._lock:
            for key, known in self.scenario.tokens.items():
                if token and hmac.compare_digest(known, token):
                    return self.scenario.accounts.get(key)
        return None

    def _authenticate(self, request: Request) -> Person | Response:
        account = self._account_for(request.arg("access_token"))
        if account is None:
            body = self.graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return Response(400, body)
        if self.app_secret:
            expected = hmac.new(
                self.app_secret.encode(), request.arg("access_token").encode(), hashlib.sha256
            ).hexdigest()
            if not hmac.compare_digest(expected, request.arg("appsecret_proof")):
                body = self.graph_error(
                    100, "Invalid appsecret_proof provided in the API argument", kind="GraphMethodException"
                )
                return Response(400, body)
        return account

    def permission_error(self, code: int, permission: str = "pages_read_engagement") -> dict[str, Any]:
        """The body Graph sends when the token lacks a permission (codes 10, 100 and 200 all occur)."""
        messages = {
            10: f"(#10) This endpoint requires the '{permission}' permission or the 'Page Public Content Access' "
            "feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions for details.",
            100: f"(#100) This endpoint requires the '{permission}' permission to access this object.",
            200: f"(#200) Requires {permission} permission to manage the object",
        }
        return self.graph_error(code, messages[code])

    def _not_found(self, object_id: str) -> Response:
        message = (
            f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
            "missing permissions, or does not support this operation."
        )
        return Response(400, self.graph_error(100, message, subcode=33, kind="GraphMethodException"))

    # -- nodes -----------------------------------------------------------------------------------------
    def _node(self, request: Request) -> Response:
        who = self._authenticate(request)
        if isinstance(who, Response):
            return who
        object_id = request.arg("_object")
        fields = field_names(request.arg("fields")) or DEFAULT_FIELDS["node"]
        if object_id == "me" and who.platform == "instagram":
            page_id = next(
                (
                    person.id
                    for key, person in self.scenario.accounts.items()
                    if person.platform == "facebook" and self.scenario.tokens.get(key) == request.arg("access_token")
                ),
                "104000000000999",
            )
            node: dict[str, Any] = {
                "id": page_id,
                "name": who.name,
                "instagram_business_account": {"id": who.id, "username": who.handle},
            }
        else:
            page = (
                who
                if object_id == "me"
                else self.scenario.accounts.get(("facebook", object_id))
                or self.scenario.account_by_handle("facebook", object_id)
            )
            if page is None:
                return Response(404, self.error_body(404))
            node = {"id": page.id, "name": page.name, "username": page.handle}
        return Response(200, {key: value for key, value in node.items() if key in fields or key == "id"})

    # -- edges -----------------------------------------------------------------------------------------
    def _edge(self, request: Request) -> Response:
        who = self._authenticate(request)
        if isinstance(who, Response):
            return who
        object_id, edge = request.arg("_object"), request.arg("_edge")
        if edge in ("posts", "published_posts") and who.platform == "facebook":
            if object_id != who.id:
                return self._not_found(object_id)
            posts = [i for i in self.scenario.snapshot("facebook") if i.to.id == who.id and self._is_post(i)]
            return self._list(request, posts, "post", self._render_post)
        if edge == "media" and who.platform == "instagram":
            if object_id != who.id:
                return self._not_found(object_id)
            media = [i for i in self.scenario.snapshot("instagram") if i.to.id == who.id and self._is_post(i)]
            return self._list(request, media, "media", self._render_media)
        if edge == "comments":
            parent = self.scenario.find(who.platform, object_id)
            if parent is None or parent.to.id != who.id or not self._is_post(parent):
                return self._not_found(object_id)
            if who.platform == "instagram":
                top = [i for i in self._comments_of(parent) if i.in_reply_to == parent.id]
                return self._list(request, top, "ig_comment", self._render_ig_comment)
            comments = self._comments_of(parent)
            if request.arg("filter", "toplevel") != "stream":
                comments = [i for i in comments if i.in_reply_to == parent.id]
            if request.arg("order", "chronological") == "reverse_chronological":
                comments.reverse()
            return self._list(request, comments, "comment", self._render_comment)
        message = f"(#100) Tried accessing nonexisting field ({edge}) on node type ({who.platform})"
        return Response(400, self.graph_error(100, message))

    @staticmethod
    def _is_post(item: Item) -> bool:
        return not item.post_id and not item.in_reply_to

    def _comments_of(self, post: Item) -> list[Item]:
        """Every comment under a post at any level, oldest first."""
        comments = [i for i in self.scenario.snapshot(post.platform) if i.post_id == post.id and i.id != post.id]
        return sorted(comments, key=lambda i: (i.created_at, i.id))

    def _list(
        self, request: Request, items: list[Item], kind: str, render: Callable[[Item, set[str]], dict[str, Any]]
    ) -> Response:
        try:
            since = int(request.arg("since")) if request.arg("since") else None
            until = int(request.arg("until")) if request.arg("until") else None
            limit = min(int(request.arg("limit") or 25), self.max_limit)
        except ValueError:
            return Response(400, self.graph_error(100, "(#100) since, until and limit must be integers"))
        items = [i for i in items if (since is None or unix(i) >= since) and (until is None or unix(i) <= until)]
        start = 0
        if request.arg("after"):
            ids = [i.id for i in items]
            try:
                start = ids.index(decode_cursor(request.arg("after"))) + 1
            except (ValueError, UnicodeDecodeError):
                return Response(400, self.graph_error(100, "(#100) The after cursor is not valid"))
        if request.arg("__paging_token"):  # time-based paging: resume after the item the token names
            ids = [i.id for i in items]
            try:
                start = ids.index(decode_cursor(request.arg("__paging_token"))) + 1
            except (ValueError, UnicodeDecodeError):
                return Response(400, self.graph_error(100, "(#100) The __paging_token is not valid"))
        chunk = items[start : start + limit]
        fields = field_names(request.arg("fields")) or DEFAULT_FIELDS[kind]
        body: dict[str, Any] = {"data": [render(item, fields) for item in chunk]}
        if chunk and kind in ("post", "media"):
            body["paging"] = self._time_paging(request, chunk, more=start + limit < len(items))
        elif chunk:
            paging: dict[str, Any] = {
                "cursors": {"before": encode_cursor(chunk[0].id), "after": encode_cursor(chunk[-1].id)}
            }
            if start + limit < len(items):
                query = {
                    key: values[0]
                    for key, values in request.query.items()
                    if not key.startswith("_") and key not in ("after", "before", "appsecret_proof")
                }
                query["after"] = encode_cursor(chunk[-1].id)
                paging["next"] = f"{self.url}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        with self._lock:
            self.served.append((request.path, len(chunk)))
        return Response(200, body)

    def _time_paging(self, request: Request, chunk: list[Item], *, more: bool) -> dict[str, Any]:
        base = {
            key: values[0]
            for key, values in request.query.items()
            if not key.startswith("_") and key not in ("since", "until", "after", "before", "appsecret_proof")
        }
        previous = {**base, "since": str(unix(chunk[0])), "__paging_token": encode_cursor(chunk[0].id)}
        paging = {"previous": f"{self.url}{request.path}?{urlencode({**previous, '__previous': '1'})}"}
        if more:
            following = {
                **base,
                "since": "",
                "until": str(unix(chunk[-1])),
                "__paging_token": encode_cursor(chunk[-1].id),
            }
            paging["next"] = f"{self.url}{request.path}?{urlencode(following)}"
        return paging

    # -- rendering -------------------------------------------------------------------------------------
    @staticmethod
    def _pick(node: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {key: value for key, value in node.items() if key in fields or key == "id"}

    def _render_post(self, post: Item, fields: set[str]) -> dict[str, Any]:
        number = post.id.split("_", 1)[-1]
        node = {
            "id": post.id,
            "message": post.text,
            "created_time": graph_time(post),
            "permalink_url": f"https://www.facebook.com/{post.to.id}/posts/{number}",
            "from": {"id": post.author.id, "name": post.author.name},
            "comments": {
                "data": [],
                "summary": {"order": "chronological", "total_count": len(self._comments_of(post)), "can_comment": True},
            },
            "reactions": {"data": [], "summary": {"total_count": post.likes}},
        }
        if not post.text:
            del node["message"]  # a photo or shared link without text: Graph sends no `message`
        return self._broken(post, self._pick(node, fields))

    @staticmethod
    def _broken(item: Item, node: dict[str, Any]) -> dict[str, Any]:
        if item.broken == "no_id":
            node.pop("id", None)
        return node

    def _render_comment(self, comment: Item, fields: set[str]) -> dict[str, Any]:
        replies = [i for i in self._comments_of(self._post_of(comment)) if i.in_reply_to == comment.id]
        number = comment.id.split("_", 1)[-1]
        node: dict[str, Any] = {
            "id": comment.id,
            "from": {"id": comment.author.id, "name": comment.author.name},
            "message": comment.text,
            "created_time": graph_time(comment),
            "comment_count": len(replies),
            "like_count": comment.likes,
            "permalink_url": f"https://www.facebook.com/{comment.post_id.replace('_', '/posts/')}?comment_id={number}",
        }
        if comment.in_reply_to != comment.post_id:
            node["parent"] = {"id": comment.in_reply_to}
        if self.hide_commenters and comment.author.id != comment.to.id:
            del node["from"]
        return self._broken(comment, self._pick(node, fields))

    def _post_of(self, comment: Item) -> Item:
        post = self.scenario.find(comment.platform, comment.post_id)
        assert post is not None, f"comment {comment.id} hangs under no post"
        return post

    def _render_media(self, media: Item, fields: set[str]) -> dict[str, Any]:
        node = {
            "id": media.id,
            "caption": media.text,
            "timestamp": graph_time(media),
            "permalink": f"https://www.instagram.com/p/{media.id[-8:]}/",
            "username": media.author.handle,
            "media_type": "IMAGE",
            "comments_count": len(self._comments_of(media)),
            "like_count": media.likes,
        }
        return self._pick(node, fields)

    def _render_ig_comment(self, comment: Item, fields: set[str], *, with_replies: bool = True) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": comment.id,
            "text": comment.text,
            "timestamp": graph_time(comment),
            "username": comment.author.handle,
            "from": {"id": comment.author.id, "username": comment.author.handle},
            "like_count": comment.likes,
        }
        if comment.in_reply_to != comment.post_id:
            node["parent_id"] = self._ig_root(comment).id
        if with_replies:
            replies = [
                self._render_ig_comment(i, fields, with_replies=False)
                for i in self._comments_of(self._post_of(comment))
                if i.id != comment.id and self._ig_root(i).id == comment.id
            ]
            if replies:
                node["replies"] = {"data": replies}
        return self._pick(node, fields)

    def _ig_root(self, comment: Item) -> Item:
        """Instagram has one level of replies: a reply to a reply hangs under the first-level comment."""
        while comment.in_reply_to != comment.post_id:
            parent = self.scenario.find(comment.platform, comment.in_reply_to)
            if parent is None:
                break
            comment = parent
        return comment
