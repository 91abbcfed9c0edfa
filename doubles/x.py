"""A loopback double of the X API v2 endpoints Chorus reads, in X's wire format (docs/platforms.md §1).

Endpoints:
- `GET /2/users/:id/tweets` (the account's own posts, replies included unless `exclude=replies`)
- `GET /2/users/:id/mentions` (items addressed to the account: `Item.to` is it and someone else wrote them)
- `GET /2/users/by/username/:username`
- `GET /2/tweets/search/recent` (`@handle`, `from:handle`, `to:handle`, `is:reply`, keywords, `OR`, `-`, parentheses)
- `POST /2/oauth2/token` (`grant_type=refresh_token`; rotates both tokens and invalidates the old ones)

Every response carries `x-rate-limit-limit/remaining/reset`, counted per endpoint and token in 15-minute
windows (`limits` overrides the published numbers). A bearer token is valid when it is the app bearer given
to the double or a current per-account user token in `scenario.tokens`; anything else gets X's 401 problem.
Shapes of the real API it sends: retweets (`RT @user: ` plus the original cut short, `referenced_tweets`
`retweeted`), quotes (`quoted`, the quoted post's link appended to the text), long posts (`text` cut near
280 characters, the whole in `note_tweet` when asked for), and `errors[]` beside `data` with HTTP 200 (a
referenced post that is gone). `Item.broken == "bad_time"` sends a `created_at` no one can read.
`post_names=True` answers in the post-named shape of the 2026-08 spec (`referenced_posts`,
`edit_history_post_ids`, `includes.posts`) so the connector's tolerance can be tested.
"""

from __future__ import annotations

import base64
import datetime
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from doubles.scenario import Item, Person, Scenario
from doubles.server import DoubleServer, Request, Response

PLATFORM = "x"
TWITTER_EPOCH_MS = 1288834974657
WINDOW_SECONDS = 15 * 60
# (app bearer, user token) requests per 15-minute window (docs/platforms.md §1.5).
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "tweets": (10_000, 900),
    "mentions": (450, 300),
    "search": (450, 300),
    "users": (300, 900),
    "token": (1_000, 1_000),
    "other": (1_000, 1_000),
}
TWEET_FIELDS = {
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at", "edit_controls",
    "edit_history_tweet_ids", "edit_history_post_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "note_tweet", "possibly_sensitive", "public_metrics", "referenced_tweets", "referenced_posts",
    "reply_settings", "source", "text", "withheld",
}  # fmt: skip
USER_FIELDS = {
    "created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id", "profile_image_url",
    "protected", "public_metrics", "url", "username", "verified", "verified_type", "withheld",
}  # fmt: skip
EXPANSIONS = {
    "attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids",
    "entities.mentions.username", "geo.place_id", "in_reply_to_user_id", "referenced_tweets.id",
    "referenced_tweets.id.author_id", "referenced_posts.id", "referenced_posts.id.author_id",
}  # fmt: skip
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b")
TEXT_LIMIT = 280  # X cuts `text` of a longer post (a note tweet) near here
RETWEET_TEXT_LIMIT = 140  # and the original inside `RT @user: ...` nearer still


def snowflake(created_at: datetime.datetime, sequence: int = 0) -> str:
    """A 19-digit X-style id that sorts like `created_at` (milliseconds since X's epoch, then a sequence)."""
    milliseconds = int(created_at.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((milliseconds << 22) | (sequence & 0x3FFFFF))


def iso(moment: datetime.datetime) -> str:
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value).astimezone(datetime.UTC)


class BadRequest(Exception):
    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


# -- search query language --------------------------------------------------------------------------------------
Predicate = Callable[[Item], bool]


class _QueryParser:
    """`a b` is AND (binds tighter), `a OR b`, `-a`, `( ... )`; terms `@h`, `from:h`, `to:h`, `is:reply`, words."""

    def __init__(self, query: str, mentions: Callable[[Item], set[str]], replied_handle: Callable[[Item], str]):
        self.tokens = re.findall(r"\(|\)|[^\s()]+", query)
        self.position = 0
        self.mentions = mentions
        self.replied_handle = replied_handle

    def parse(self) -> Predicate:
        if not self.tokens:
            raise BadRequest("query", "", "The `query` query parameter can not be empty")
        predicate = self._or()
        if self.position != len(self.tokens):
            raise BadRequest(
                "query", self.tokens[self.position], "There were errors processing your request: unbalanced ')'"
            )
        return predicate

    def _peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else ""

    def _or(self) -> Predicate:
        alternatives = [self._and()]
        while self._peek() == "OR":
            self.position += 1
            alternatives.append(self._and())
        return lambda item: any(alternative(item) for alternative in alternatives)

    def _and(self) -> Predicate:
        parts: list[Predicate] = []
        while self._peek() not in ("", ")", "OR"):
            parts.append(self._atom())
        if not parts:
            raise BadRequest("query", " ".join(self.tokens), "There were errors processing your request: empty group")
        return lambda item: all(part(item) for part in parts)

    def _atom(self) -> Predicate:
        token = self._peek()
        self.position += 1
        if token == "(":
            inner = self._or()
            if self._peek() != ")":
                raise BadRequest("query", token, "There were errors processing your request: missing ')'")
            self.position += 1
            return inner
        if token.startswith("-"):
            positive = self._atom() if token == "-" else self._term(token[1:])
            return lambda item: not positive(item)
        return self._term(token)

    def _term(self, token: str) -> Predicate:
        lowered = token.lower()
        if lowered.startswith("@") and len(lowered) > 1:
            handle = lowered[1:]
            return lambda item: handle in self.mentions(item)
        if lowered.startswith("from:"):
            handle = lowered.removeprefix("from:").lstrip("@")
            return lambda item: item.author.handle.lower() == handle
        if lowered.startswith("to:"):
            handle = lowered.removeprefix("to:").lstrip("@")
            return lambda item: self.replied_handle(item) == handle
        if lowered == "is:reply":
            return lambda item: bool(item.in_reply_to)
        if lowered == "is:retweet":
            return lambda item: bool(item.repost_of)
        if lowered == "is:quote":
            return lambda item: bool(item.quote_of)
        if ":" in lowered:
            raise BadRequest("query", token, f"There were errors processing your request: Unknown operator '{token}'")
        return lambda item: lowered in item.text.lower()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the double -------------------------------------------------------------------------------------------------
class XDouble(DoubleServer):
    platform = PLATFORM

    def __init__(
        self,
        scenario: Scenario,
        *,
        app_bearer: str = "",
        post_names: bool = False,
        limits: dict[str, int] | None = None,
        client_id: str = "test-client-id",
        client_secret: str = "test-client-secret",
        max_query_length: int = 512,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.app_bearer = app_bearer
        self.post_names = post_names
        self.limits = dict(limits or {})  # endpoint -> limit, for both token kinds (to exhaust a window in tests)
        self.client_id = client_id
        self.client_secret = client_secret
        self.max_query_length = max_query_length
        self.send_rate_limit_headers = True  # False mimics a proxy that strips them (tweepy would then spin)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account id
        self._windows: dict[tuple[str, str], list[int]] = {}  # (endpoint, credential) -> [reset epoch, used]
        self._window_lock = threading.Lock()
        self._local = threading.local()
        self._issued = 0
        self.route("GET", r"/2/users/(?P<id>\d{1,19})/tweets", lambda request: self._timeline(request, "tweets"))
        self.route("GET", r"/2/users/(?P<id>\d{1,19})/mentions", lambda request: self._timeline(request, "mentions"))
        self.route("GET", r"/2/users/by/username/(?P<username>[^/]+)", self._user_by_username)
        self.route("GET", r"/2/tweets/search/recent", self._search_recent)
        self.route("POST", r"/2/oauth2/token", self._token)

    # -- helpers for tests and the demo ---------------------------------------------------------------------------
    def next_id(self, created_at: datetime.datetime) -> str:
        """A fresh snowflake id for an item created at `created_at`."""
        return snowflake(created_at, self.scenario.next_number())

    def add_refresh_token(self, account_id: str, refresh_token: str) -> None:
        self.refresh_tokens[refresh_token] = account_id

    def revoke_access_token(self, account_id: str) -> None:
        """The account's current user token stops working (expired after its 2 hours, or revoked)."""
        self.scenario.tokens.pop((PLATFORM, account_id), None)

    def requests_with_params(self, pattern: str) -> list[dict[str, str]]:
        """The query parameters of each logged request to `pattern` (first value of each, path groups dropped)."""
        return [
            {key: values[0] for key, values in request.query.items() if not key.startswith("_") and values}
            for request in self.requests_to(pattern)
        ]

    # -- platform shapes ------------------------------------------------------------------------------------------
    def rate_limit_headers(self) -> dict[str, str]:
        headers: dict[str, str] = getattr(self._local, "headers", {})
        return dict(headers) if self.send_rate_limit_headers else {}

    def rate_limited(self, reset_in: int) -> Response:
        limit = getattr(self._local, "headers", {}).get("x-rate-limit-limit", "300")
        headers = {"x-rate-limit-limit": limit, "x-rate-limit-remaining": "0"}
        headers["x-rate-limit-reset"] = str(int(time.time()) + reset_in)
        return Response(429, self.error_body(429), headers if self.send_rate_limit_headers else {})

    def error_body(self, status: int) -> Any:
        if status == 400:
            return {
                "errors": [{"parameters": {}, "message": "One or more parameters to your request was invalid."}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            }
        if status == 401:
            return {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        if status == 403:
            return {
                "title": "Client Forbidden",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
                "from a Twitter developer App that is attached to a Project.",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
                "required_enrollment": "Appropriate Level of API Access",
                "registration_url": "https://developer.x.com/",
            }
        if status == 404:
            return {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}
        if status == 429:
            return {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
        title = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        return {"title": title, "detail": title, "type": "about:blank", "status": status}

    def _invalid(self, error: BadRequest) -> Response:
        body = self.error_body(400)
        body["errors"] = [{"parameters": {error.parameter: [error.value]}, "message": str(error)}]
        return Response(400, body)

    # -- rate limits ----------------------------------------------------------------------------------------------
    @staticmethod
    def _endpoint(path: str) -> str:
        for name, pattern in (
            ("tweets", r"/2/users/\d+/tweets"),
            ("mentions", r"/2/users/\d+/mentions"),
            ("users", r"/2/users/by/username/"),
            ("search", r"/2/tweets/search/recent"),
            ("token", r"/2/oauth2/token"),
        ):
            if re.match(pattern, path):
                return name
        return "other"

    def _consume(self, request: Request) -> tuple[dict[str, str], bool]:
        endpoint = self._endpoint(request.path)
        credential = request.headers.get("authorization", "")
        is_app = credential == f"Bearer {self.app_bearer}" and bool(self.app_bearer)
        limit = self.limits.get(endpoint, DEFAULT_LIMITS[endpoint][0 if is_app else 1])
        now = int(time.time())
        with self._window_lock:
            window = self._windows.get((endpoint, credential))
            if window is None or window[0] <= now:
                window = self._windows[(endpoint, credential)] = [now + WINDOW_SECONDS, 0]
            is_exhausted = window[1] >= limit
            if not is_exhausted:
                window[1] += 1
            remaining = limit - window[1]
        headers = {"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": str(remaining)}
        headers["x-rate-limit-reset"] = str(window[0])
        return headers, is_exhausted

    def dispatch(self, request: Request) -> Response:
        headers, is_exhausted = self._consume(request)
        self._local.headers = headers
        if is_exhausted:
            with self._lock:
                self.requests.append(request)
            return Response(429, self.error_body(429), self.rate_limit_headers())
        response = super().dispatch(request)
        response.headers = {**self.rate_limit_headers(), **response.headers}
        return response

    # -- auth -----------------------------------------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        if self.app_bearer and token == self.app_bearer:
            return True
        tokens = list(self.scenario.tokens.items())  # the demo generator may add accounts meanwhile
        return any(platform == PLATFORM and value == token for (platform, _), value in tokens)

    def _token(self, request: Request) -> Response:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme == "Basic":
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
            is_client = client_id == self.client_id and secret == self.client_secret
        else:  # a public client sends its id in the body and has no secret
            is_client = form.get("client_id") == self.client_id
        if not is_client:
            return Response(
                401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
            )
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "invalid_request", "error_description": "Invalid grant_type"})
        account_id = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if account_id is None:
            return Response(
                400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
            )
        self._issued += 1
        access_token = f"x-access-{account_id}-{self._issued}"
        refresh_token = f"x-refresh-{account_id}-{self._issued}"
        self.scenario.tokens[(PLATFORM, account_id)] = access_token  # the old access token stops working
        self.refresh_tokens[refresh_token] = account_id
        return Response(
            200,
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": access_token,
                "scope": "tweet.read users.read offline.access",
                "refresh_token": refresh_token,
            },
        )

    # -- scenario views -------------------------------------------------------------------------------------------
    def _items(self) -> list[Item]:
        """Newest first, as X pages."""
        return sorted(self.scenario.snapshot(PLATFORM), key=lambda item: int(item.id), reverse=True)

    def _people(self) -> dict[str, Person]:
        accounts = list(self.scenario.accounts.items())
        people = {person.id: person for (platform, _), person in accounts if platform == PLATFORM}
        for item in self.scenario.snapshot(PLATFORM):
            people.setdefault(item.author.id, item.author)
        return people

    def _replied_user(self, item: Item) -> Person | None:
        if not item.in_reply_to:
            return None
        parent = self.scenario.find(PLATFORM, item.in_reply_to)
        if parent is not None:
            return parent.author
        return None if item.is_outbound else item.to  # a reply to a post the scenario does not hold

    def _full_text(self, item: Item) -> str:
        """What X holds as the post's text: a retweet is `RT @author: ` and the original's text."""
        original = self.scenario.find(PLATFORM, item.repost_of) if item.repost_of else None
        if original is not None:
            return f"RT @{original.author.handle}: {original.text}"
        if item.quote_of:
            return f"{item.text} https://t.co/{_base36(int(item.quote_of) % 36**10)}"
        return item.text

    def _wire_text(self, item: Item) -> str:
        """`text` as X sends it: a retweet's original cut short, a long post cut near 280 characters."""
        if item.repost_of:
            return _cut(self._full_text(item), RETWEET_TEXT_LIMIT)
        return _cut(self._full_text(item), TEXT_LIMIT)

    def _mentioned_handles(self, item: Item) -> set[str]:
        """Handles an item mentions: in its text, and the author it replies to (X's implicit reply mention)."""
        handles = {handle.lower() for handle in MENTION.findall(self._full_text(item))}
        replied = self._replied_user(item)
        if replied is not None:
            handles.add(replied.handle.lower())
        return handles

    # -- rendering ------------------------------------------------------------------------------------------------
    @property
    def _referenced_key(self) -> str:
        return "referenced_posts" if self.post_names else "referenced_tweets"

    @property
    def _edit_history_key(self) -> str:
        return "edit_history_post_ids" if self.post_names else "edit_history_tweet_ids"

    def _render_tweet(self, item: Item, fields: set[str], people: dict[str, Person]) -> dict[str, Any]:
        full_text = self._full_text(item)
        tweet: dict[str, Any] = {"id": item.id, "text": self._wire_text(item), self._edit_history_key: [item.id]}
        replied = self._replied_user(item)
        if "author_id" in fields:
            tweet["author_id"] = item.author.id
        if "created_at" in fields:
            tweet["created_at"] = "yesterday" if item.broken == "bad_time" else iso(item.created_at)
        if "note_tweet" in fields and len(full_text) > TEXT_LIMIT and not item.repost_of:
            tweet["note_tweet"] = {"text": full_text}
        if "conversation_id" in fields:
            tweet["conversation_id"] = item.conversation_id or item.id
        if "in_reply_to_user_id" in fields and replied is not None:
            tweet["in_reply_to_user_id"] = replied.id
        references = [
            {"type": kind, "id": target}
            for kind, target in (
                ("replied_to", item.in_reply_to),
                ("quoted", item.quote_of),
                ("retweeted", item.repost_of),
            )
            if target
        ]
        if fields & {"referenced_tweets", "referenced_posts"} and references:
            tweet[self._referenced_key] = references
        if "public_metrics" in fields:
            replies = sum(1 for other in self.scenario.snapshot(PLATFORM) if other.in_reply_to == item.id)
            tweet["public_metrics"] = {
                "retweet_count": 0,
                "reply_count": replies,
                "like_count": item.likes,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 10 * item.likes + 7,
            }
        if "entities" in fields:
            mentions = []
            for match in MENTION.finditer(tweet["text"]):
                mention: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": match.group(1)}
                person = next((p for p in people.values() if p.handle.lower() == match.group(1).lower()), None)
                if person is not None:
                    mention["id"] = person.id
                    mention["username"] = person.handle
                mentions.append(mention)
            if mentions:
                tweet["entities"] = {"mentions": mentions}
        if "lang" in fields:
            tweet["lang"] = "en"
        return tweet

    @staticmethod
    def _render_user(person: Person, fields: set[str]) -> dict[str, Any]:
        user: dict[str, Any] = {"id": person.id, "name": person.name, "username": person.handle}
        if "profile_image_url" in fields:
            user["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{person.id}/avatar_normal.jpg"
        if "verified" in fields:
            user["verified"] = False
        if "description" in fields:
            user["description"] = ""
        return user

    @staticmethod
    def _field_list(request: Request, names: tuple[str, ...], allowed: set[str]) -> set[str]:
        for name in names:
            raw = request.arg(name)
            if raw:
                values = {value.strip() for value in raw.split(",")}
                unknown = sorted(values - allowed)
                if unknown:
                    raise BadRequest(
                        name,
                        unknown[0],
                        f"The `{name}` query parameter value [{unknown[0]}] is not one of {sorted(allowed)}",
                    )
                return values
        return set()

    def _render_page(self, request: Request, page: list[Item], next_token: str) -> dict[str, Any]:
        tweet_fields = self._field_list(request, ("tweet.fields", "post.fields"), TWEET_FIELDS)
        user_fields = self._field_list(request, ("user.fields",), USER_FIELDS)
        expansions = self._field_list(request, ("expansions",), EXPANSIONS)
        people = self._people()
        body: dict[str, Any] = {}
        if page:
            body["data"] = [self._render_tweet(item, tweet_fields, people) for item in page]
        users: dict[str, Person] = {}
        referenced: dict[str, Item] = {}
        errors: list[dict[str, Any]] = []
        for item in page:
            if "author_id" in expansions:
                users.setdefault(item.author.id, item.author)
            replied = self._replied_user(item)
            if "in_reply_to_user_id" in expansions and replied is not None:
                users.setdefault(replied.id, replied)
            wanted = expansions & {"referenced_tweets.id", "referenced_posts.id"}
            for target in (item.in_reply_to, item.quote_of, item.repost_of) if wanted else ():
                if not target:
                    continue
                parent = self.scenario.find(PLATFORM, target)
                if parent is not None:
                    referenced.setdefault(parent.id, parent)
                elif not any(error["value"] == target for error in errors):
                    # A referenced post that is gone: X answers 200 with `errors` beside `data`.
                    errors.append(
                        {
                            "value": target,
                            "detail": f"Could not find tweet with referenced_tweets.id: [{target}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "referenced_tweets.id",
                            "resource_id": target,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    )
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = [self._render_user(person, user_fields) for person in users.values()]
        if referenced:
            key = "posts" if self.post_names else "tweets"
            includes[key] = [self._render_tweet(parent, tweet_fields, people) for parent in referenced.values()]
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
        if next_token:
            meta["next_token"] = next_token
        body["meta"] = meta
        return body

    # -- paging and filters ---------------------------------------------------------------------------------------
    @staticmethod
    def _int_arg(request: Request, name: str, *, default: int, low: int, high: int) -> int:
        raw = request.arg(name)
        if not raw:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise BadRequest(name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}")
        return int(raw)

    @staticmethod
    def _id_arg(request: Request, name: str) -> int | None:
        raw = request.arg(name)
        if not raw:
            return None
        if not raw.isdigit() or len(raw) > 19:
            raise BadRequest(name, raw, f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$")
        return int(raw)

    @staticmethod
    def _time_arg(request: Request, name: str) -> datetime.datetime | None:
        raw = request.arg(name)
        if not raw:
            return None
        try:
            return _parse_time(raw)
        except ValueError:
            raise BadRequest(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date") from None

    @staticmethod
    def _page_token(boundary: str) -> str:
        """Opaque-looking, stable under new arrivals: the next page holds items older than `boundary`."""
        return "7140" + _base36(int(boundary))

    @staticmethod
    def _from_page_token(name: str, token: str) -> int:
        if not token.startswith("7140") or not token[4:].isalnum():
            raise BadRequest(name, token, f"The `{name}` query parameter value [{token}] is not valid")
        return int(token[4:], 36)

    def _select(self, request: Request, candidates: list[Item], *, token_name: str, low: int) -> tuple[list[Item], str]:
        size = self._int_arg(request, "max_results", default=10, low=low, high=100)
        since_id = self._id_arg(request, "since_id")
        until_id = self._id_arg(request, "until_id")
        start_time = self._time_arg(request, "start_time")
        end_time = self._time_arg(request, "end_time")
        token = request.arg(token_name)
        boundary = self._from_page_token(token_name, token) if token else None
        selected = [
            item
            for item in candidates
            if (since_id is None or int(item.id) > since_id)
            and (until_id is None or int(item.id) < until_id)
            and (start_time is None or item.created_at >= start_time)
            and (end_time is None or item.created_at <= end_time)
            and (boundary is None or int(item.id) < boundary)
        ]
        page = selected[:size]
        next_token = self._page_token(page[-1].id) if len(selected) > size else ""
        return page, next_token

    # -- handlers -------------------------------------------------------------------------------------------------
    def _timeline(self, request: Request, stream: str) -> Response:
        if not self._authorized(request):
            return Response(401, self.error_body(401))
        user_id = request.arg("_id")
        if stream == "tweets":
            candidates = [item for item in self._items() if item.author.id == user_id]
            excluded = {value for value in request.arg("exclude").split(",") if value}
            if excluded - {"replies", "retweets"}:
                return self._invalid(BadRequest("exclude", request.arg("exclude"), "Invalid `exclude` value"))
            if "replies" in excluded:
                candidates = [item for item in candidates if not item.in_reply_to]
            if "retweets" in excluded:
                candidates = [item for item in candidates if not item.repost_of]
        else:
            # Like X: every post that mentions the user (in its text, or by replying to it), not only those
            # the scenario files under it — a post mentioning two org accounts is in both timelines.
            person = self.scenario.accounts.get((PLATFORM, user_id))
            handle = person.handle.lower() if person is not None else ""
            candidates = [
                item
                for item in self._items()
                if item.author.id != user_id
                and (
                    item.to.id == user_id
                    or (handle and f"@{handle}" in item.text.lower() and handle in self._mentioned_handles(item))
                )
            ]
        try:
            page, next_token = self._select(request, candidates, token_name="pagination_token", low=5)
            return Response(200, self._render_page(request, page, next_token))
        except BadRequest as error:
            return self._invalid(error)

    def _user_by_username(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401, self.error_body(401))
        username = request.arg("_username")
        try:
            user_fields = self._field_list(request, ("user.fields",), USER_FIELDS)
        except BadRequest as error:
            return self._invalid(error)
        if not re.fullmatch(r"\w{1,15}", username):
            return self._invalid(
                BadRequest(
                    "username",
                    username,
                    f"The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$",
                )
            )
        person = next((p for p in self._people().values() if p.handle.lower() == username.lower()), None)
        if person is None:
            return Response(
                200,
                {
                    "errors": [
                        {
                            "value": username,
                            "detail": f"Could not find user with username: [{username}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "username",
                            "resource_id": username,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                },
            )
        return Response(200, {"data": self._render_user(person, user_fields)})

    def _search_recent(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response(401, self.error_body(401))
        query = request.arg("query")
        try:
            if len(query) > self.max_query_length:
                raise BadRequest("query", query, f"Query length exceeds {self.max_query_length} characters")

            def replied_handle(item: Item) -> str:
                replied = self._replied_user(item)
                return replied.handle.lower() if replied is not None else ""

            mentioned: dict[int, set[str]] = {}  # per item, once per request: a query names dozens of handles

            def mentions(item: Item) -> set[str]:
                if id(item) not in mentioned:
                    mentioned[id(item)] = self._mentioned_handles(item)
                return mentioned[id(item)]

            matches = _QueryParser(query, mentions, replied_handle).parse()
            candidates = [item for item in self._items() if matches(item)]
            page, next_token = self._select(request, candidates, token_name="next_token", low=10)
            return Response(200, self._render_page(request, page, next_token))
        except BadRequest as error:
            return self._invalid(error)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text
