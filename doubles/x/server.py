"""`XDouble`: the routes of the X double, its rate-limit windows and tokens, and its handlers."""

from __future__ import annotations

import base64
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from doubles.server import DoubleServer, Request, Response
from doubles.x.posts import PostsView
from doubles.x.query import QueryParser
from doubles.x.wire import (
    PLATFORM,
    USER_FIELDS,
    BadRequest,
    error_body,
    field_list,
    from_page_token,
    id_arg,
    int_arg,
    page_token,
    render_user,
    snowflake,
    time_arg,
)

if TYPE_CHECKING:
    import datetime

    from doubles.scenario import Item, Scenario

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


class XDouble(PostsView, DoubleServer):
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
        return error_body(status)

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

    # -- paging and filters ---------------------------------------------------------------------------------------

    def _select(self, request: Request, candidates: list[Item], *, token_name: str, low: int) -> tuple[list[Item], str]:
        size = int_arg(request, "max_results", default=10, low=low, high=100)
        since_id = id_arg(request, "since_id")
        until_id = id_arg(request, "until_id")
        start_time = time_arg(request, "start_time")
        end_time = time_arg(request, "end_time")
        token = request.arg(token_name)
        boundary = from_page_token(token_name, token) if token else None
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
        next_token = page_token(page[-1].id) if len(selected) > size else ""
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
            user_fields = field_list(request, ("user.fields",), USER_FIELDS)
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
        return Response(200, {"data": render_user(person, user_fields)})

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

            matches = QueryParser(query, mentions, replied_handle).parse()
            candidates = [item for item in self._items() if matches(item)]
            page, next_token = self._select(request, candidates, token_name="next_token", low=10)
            return Response(200, self._render_page(request, page, next_token))
        except BadRequest as error:
            return self._invalid(error)
