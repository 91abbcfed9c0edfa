"""Mastodon double: the REST endpoints the Mastodon connector reaches through Mastodon.py, on loopback.

It renders a `Scenario` into the Mastodon wire format (docs/platforms.md §4):

- `GET /api/v1/accounts/verify_credentials`: the account the bearer token belongs to.
- `GET /api/v1/notifications` (types[], exclude_types[], since_id, min_id, max_id, limit): `mention`
  notifications of the inbound items addressed to the token's account, newest first. Notification ids are
  instance-local and increase in the order notifications appear (the first time the double sees an item).
- `GET /api/v1/accounts/:id/statuses` (exclude_replies, exclude_reblogs, since_id, min_id, max_id, limit):
  the account's own statuses, newest first.

Both lists page with a `Link` header (`rel="next"` with max_id and `rel="prev"` with min_id whenever a
page is not empty: like Mastodon, a partial last page still links to a next one, which answers empty).
Shapes the real API sends: `visibility` (public, unlisted, private, direct: a private mention is a
`mention` notification of a `direct` status); a quote carries the quote-fallback paragraph
(`<p class="quote-inline">RE: <a href=...>url</a></p>`) at the end of its `content`; reblogs are
statuses with `reblog` set to the original (in the account's statuses unless `exclude_reblogs`).
`Item.broken == "bad_time"` sends a `created_at` no one can read. Status ids are the scenario item ids:
numeric strings increasing with time (`status_id(created_at)` makes snowflake-like ones). `content` is
HTML as Mastodon renders it (escaped text, <p>/<br />, h-card mentions, links with invisible spans).
Every answer carries X-RateLimit-Limit/Remaining/Reset (ISO 8601, in the future); a bad token gets
401 {"error": "The access token is invalid"}.
"""

from __future__ import annotations

import collections
import datetime
import html
import itertools
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from doubles.server import DoubleServer, Request, Response

if TYPE_CHECKING:
    from doubles.scenario import Item, Person, Scenario

PLATFORM = "mastodon"
RATE_LIMIT = 300  # requests per 5 minutes per account (Mastodon's default)
RATE_WINDOW = 300
NOTIFICATIONS_PAGE = (40, 80)  # (default, maximum) limit
STATUSES_PAGE = (20, 40)
FIRST_NOTIFICATION_ID = 9100
URL = re.compile(r"https?://[^\s<]+")


def _reply_counts(items: list[Item]) -> collections.Counter[str]:
    return collections.Counter(item.in_reply_to for item in items if item.in_reply_to)


def status_id(created_at: datetime.datetime, sequence: int = 0) -> str:
    """A Mastodon-style snowflake id: milliseconds since the epoch in the high bits, a sequence below."""
    return str((int(created_at.timestamp() * 1000) << 16) + sequence)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _username(person: Person) -> str:
    return person.handle.split("@", 1)[0]


class MastodonDouble(DoubleServer):
    platform = PLATFORM

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario
        self.page_cap = 80  # lower it to make a server that answers fewer items than asked for
        self.revoked: set[str] = set()  # tokens the instance no longer accepts
        self._state_lock = threading.Lock()
        self._notification_ids: dict[str, int] = {}
        self._next_notification = itertools.count(FIRST_NOTIFICATION_ID)
        self._served: dict[str, itertools.count[int]] = {}
        self.route("GET", r"/api/v1/accounts/verify_credentials", self.verify_credentials)
        self.route("GET", r"/api/v1/notifications", self.notifications)
        self.route("GET", r"/api/v1/accounts/(?P<id>[^/]+)/statuses", self.account_statuses)

    # -- wire helpers -----------------------------------------------------------------------------------
    def rate_limit_headers(self, token: str = "") -> dict[str, str]:
        with self._state_lock:
            served = next(self._served.setdefault(token, itertools.count(1)))
        now = time.time()
        reset = datetime.datetime.fromtimestamp((int(now) // RATE_WINDOW + 1) * RATE_WINDOW, tz=datetime.UTC)
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - served, 0)),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def rate_limited(self, reset_in: int) -> Response:
        reset = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=reset_in)
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return Response(429, self.error_body(429), headers)

    def error_body(self, status: int) -> Any:
        errors = {
            401: "The access token is invalid",
            403: "This action is not allowed",
            404: "Record not found",
            422: "Validation failed",
            429: "Too many requests",
            503: "Service Unavailable",
        }
        return {"error": errors.get(status, "Internal Server Error")}

    def _auth(self, request: Request) -> tuple[Person | None, str]:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not token or token in self.revoked:
            return None, token
        for (platform, account_id), known in self.scenario.tokens.items():
            if platform == PLATFORM and known == token:
                return self.scenario.accounts.get((PLATFORM, account_id)), token
        return None, token

    def _unauthorized(self) -> Response:
        return Response(401, self.error_body(401), self.rate_limit_headers())

    # -- endpoints --------------------------------------------------------------------------------------
    def verify_credentials(self, request: Request) -> Response:
        person, token = self._auth(request)
        if person is None:
            return self._unauthorized()
        account = self._account(person)
        account["source"] = {"privacy": "public", "sensitive": False, "language": "en", "note": "", "fields": []}
        return Response(200, account, self.rate_limit_headers(token))

    def notifications(self, request: Request) -> Response:
        person, token = self._auth(request)
        if person is None:
            return self._unauthorized()
        types = set(request.query.get("types[]", []))
        excluded = set(request.query.get("exclude_types[]", []))
        everything = self.scenario.snapshot(PLATFORM)
        by_id, replies = {item.id: item for item in everything}, _reply_counts(everything)
        # A reblog of the account's status notifies as `reblog`, which a `types[]=mention` read never sees.
        items = [
            item
            for item in reversed(everything)
            if item.to.id == person.id and not item.is_outbound and not item.repost_of
        ]
        with self._state_lock:  # oldest first, so ids grow with time for a scenario built up front
            for item in items:
                if item.id not in self._notification_ids:
                    self._notification_ids[item.id] = next(self._next_notification)
            records = [(self._notification_ids[item.id], item) for item in items]
        if (types and "mention" not in types) or "mention" in excluded:
            records = []
        page, links = self._paginate(request, records, NOTIFICATIONS_PAGE, ["types[]", "exclude_types[]"])
        body = [
            {
                "id": str(number),
                "type": "mention",
                "created_at": _iso(item.created_at),
                "group_key": f"ungrouped-{number}",
                "account": self._account(item.author),
                "status": self._status(item, by_id, replies),
            }
            for number, item in page
        ]
        return Response(200, body, {**self.rate_limit_headers(token), **links})

    def account_statuses(self, request: Request) -> Response:
        person, token = self._auth(request)
        if person is None and request.headers.get("authorization"):
            return self._unauthorized()
        account_id = request.arg("_id")
        if (PLATFORM, account_id) not in self.scenario.accounts:
            return Response(404, self.error_body(404), self.rate_limit_headers(token))
        exclude_replies = request.arg("exclude_replies") in {"1", "true"}
        exclude_reblogs = request.arg("exclude_reblogs") in {"1", "true"}
        everything = self.scenario.snapshot(PLATFORM)
        by_id, replies = {item.id: item for item in everything}, _reply_counts(everything)
        records = [
            (int(item.id), item)
            for item in everything
            if item.author.id == account_id
            and item.is_outbound
            and not (exclude_replies and item.in_reply_to)
            and not (exclude_reblogs and item.repost_of)
        ]
        page, links = self._paginate(request, records, STATUSES_PAGE, ["exclude_replies", "exclude_reblogs"])
        body = [self._status(item, by_id, replies) for _number, item in page]
        return Response(200, body, {**self.rate_limit_headers(token), **links})

    # -- paging -----------------------------------------------------------------------------------------
    def _paginate(
        self, request: Request, records: list[tuple[int, Item]], sizes: tuple[int, int], kept: list[str]
    ) -> tuple[list[tuple[int, Item]], dict[str, str]]:
        default, maximum = sizes
        try:
            limit = min(max(int(request.arg("limit") or default), 1), maximum, self.page_cap)
        except ValueError:
            limit = min(default, self.page_cap)
        records = sorted(records, key=lambda record: record[0], reverse=True)
        if request.arg("max_id"):
            records = [record for record in records if record[0] < int(request.arg("max_id"))]
        if request.arg("since_id"):
            records = [record for record in records if record[0] > int(request.arg("since_id"))]
        if request.arg("min_id"):  # the page immediately above min_id, still returned newest first
            records = [record for record in records if record[0] > int(request.arg("min_id"))][-limit:]
        page = records[:limit]
        params = [(name, value) for name in kept for value in request.query.get(name, [])]
        params.append(("limit", str(limit)))
        links = []
        if page:
            links.append(f'<{self.url}{request.path}?{urlencode([*params, ("max_id", page[-1][0])])}>; rel="next"')
        if page:
            links.append(f'<{self.url}{request.path}?{urlencode([*params, ("min_id", page[0][0])])}>; rel="prev"')
        return page, ({"Link": ", ".join(links)} if links else {})

    # -- rendering --------------------------------------------------------------------------------------
    def _account(self, person: Person) -> dict[str, Any]:
        username = _username(person)
        return {
            "id": person.id,
            "username": username,
            "acct": person.handle,
            "display_name": person.name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2020-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{self.url}/@{username}",
            "uri": f"{self.url}/users/{username}",
            "avatar": f"{self.url}/avatars/original/missing.png",
            "avatar_static": f"{self.url}/avatars/original/missing.png",
            "header": f"{self.url}/headers/original/missing.png",
            "header_static": f"{self.url}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": 0,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }

    def _status(self, item: Item, by_id: dict[str, Item], replies: collections.Counter[str]) -> dict[str, Any]:
        parent = by_id.get(item.in_reply_to)
        mentioned = self._mentioned(item)
        username = _username(item.author)
        original = by_id.get(item.repost_of) if item.repost_of else None
        quoted = by_id.get(item.quote_of) if item.quote_of else None
        content = self._content(item.text, mentioned) if original is None else ""
        if quoted is not None:
            url = f"{self.url}/@{_username(quoted.author)}/{quoted.id}"
            content += (
                f'<p class="quote-inline">RE: <a href="{url}" target="_blank" rel="nofollow noopener noreferrer">'
                f'<span class="invisible">http://</span><span class="">{url.partition("://")[2]}</span></a></p>'
            )
        return {
            "id": item.id,
            "created_at": "yesterday" if item.broken == "bad_time" else _iso(item.created_at),
            "in_reply_to_id": item.in_reply_to or None,
            "in_reply_to_account_id": parent.author.id if parent else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": item.visibility,
            "language": "en",
            "uri": f"{self.url}/users/{username}/statuses/{item.id}",
            "url": f"{self.url}/@{username}/{item.id}",
            "replies_count": replies[item.id],
            "reblogs_count": 0,
            "favourites_count": item.likes,
            "edited_at": None,
            "content": content,
            "reblog": self._status(original, by_id, replies) if original is not None else None,
            "application": None,
            "account": self._account(item.author),
            "media_attachments": [],
            "mentions": [self._mention(person) for person in mentioned],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _mention(self, person: Person) -> dict[str, Any]:
        username = _username(person)
        return {"id": person.id, "username": username, "acct": person.handle, "url": f"{self.url}/@{username}"}

    def _mentioned(self, item: Item) -> list[Person]:
        mentioned = []
        for person in self.scenario.accounts.values():
            if person.platform == PLATFORM and f"@{person.handle}" in item.text:
                mentioned.append(person)
        return mentioned

    def _content(self, text: str, mentioned: list[Person]) -> str:
        """Render plain text the way Mastodon's formatter does (escaped; mentions and links as anchors)."""

        def render_line(line: str) -> str:
            pieces = []
            position = 0
            for match in URL.finditer(line):
                pieces.append(html.escape(line[position : match.start()], quote=False))
                url = match.group(0)
                scheme, _, rest = url.partition("://")
                pieces.append(
                    f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener noreferrer" translate="no">'
                    f'<span class="invisible">{scheme}://</span><span class="">{html.escape(rest, quote=False)}</span>'
                    '<span class="invisible"></span></a>'
                )
                position = match.end()
            pieces.append(html.escape(line[position:], quote=False))
            rendered = "".join(pieces)
            for person in mentioned:
                username = _username(person)
                anchor = (
                    f'<span class="h-card" translate="no"><a href="{self.url}/@{username}" class="u-url mention">'
                    f"@<span>{html.escape(username)}</span></a></span>"
                )
                rendered = rendered.replace(f"@{html.escape(person.handle, quote=False)}", anchor)
            return rendered

        paragraphs = ["<br />".join(map(render_line, paragraph.split("\n"))) for paragraph in text.split("\n\n")]
        return "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
