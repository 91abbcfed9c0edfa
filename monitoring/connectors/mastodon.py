"""Mastodon connector: mention notifications and the org's own statuses, via Mastodon.py.

Both streams ask for everything above the stored id (`since_id`) and page down with `fetch_next`.
Mastodon.py drops `since_id` from the next-page parameters, so paging stops at the first id at or below
the stored one; otherwise a poll with more than one new page would read the account's whole history.
Paging also stops at a page shorter than asked for: Mastodon sends `rel="next"` even then, and following
it costs one request that answers an empty page.
A private mention is a `mention` of a `direct` status: its visibility is kept on the message (the
dashboard marks it private and leaves it out of exports, digests and the API unless asked for). The
quote-fallback paragraph (`RE: <url>`, class `quote-inline`) is dropped from the text, as clients do.
Replies to the org arrive as `mention` notifications (a reply mentions its parent's author); the ones
whose status answers the org (`in_reply_to_account_id`) are kind reply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from django.conf import settings
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from common.outbound import UnsafeDestination, destination_check, outbound_session
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
    RefusedDestination,
    SkippedRecord,
    TransientError,
    Visibility,
    malformed_on_bad_shape,
    unique_messages,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

PLATFORM = "mastodon"
STREAM_MENTIONS = "mentions"
STREAM_STATUSES = "statuses"
NOTIFICATIONS_PAGE = 80  # Mastodon's maximum for notifications
STATUSES_PAGE = 40  # and for statuses
# Used when a 429 carries no usable X-RateLimit-Reset: Mastodon's rate-limit window is 5 minutes.
DEFAULT_RATE_LIMIT_WAIT = datetime.timedelta(minutes=5)


@dataclasses.dataclass
class _Read:
    """What one stream read: its messages, the newest id seen (the next since_id), and its page count."""

    messages: list[NormalizedMessage] = dataclasses.field(default_factory=list)
    newest: str | None = None
    pages: int = 0
    skipped: list[SkippedRecord] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class _Traffic:
    """Counts requests and keeps the last rate-limit headers, from a hook on the requests session."""

    count: int = 0
    rate_limit: RateLimit | None = None

    def on_response(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.count += 1
        limit = _int_or_none(response.headers.get("X-RateLimit-Limit"))
        remaining = _int_or_none(response.headers.get("X-RateLimit-Remaining"))
        reset_at = _reset_header(response.headers.get("X-RateLimit-Reset"))
        if limit is not None or remaining is not None or reset_at is not None:
            self.rate_limit = RateLimit(remaining=remaining, limit=limit, reset_at=reset_at)


class MastodonConnector:
    platform = PLATFORM

    def __init__(self, *, page_size: int | None = None) -> None:
        self.notifications_page = page_size or NOTIFICATIONS_PAGE
        self.statuses_page = page_size or STATUSES_PAGE

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        token = str(account.credentials.get("access_token") or "")
        if not token:
            raise MissingCredentials("Mastodon needs credentials['access_token']")
        if not account.instance_url:
            raise MissingCredentials("Mastodon needs the account's instance URL")
        # Mastodon.py reads the token from a file when access_token names an existing one: a "token" like
        # /etc/hostname would send that file's first line to the instance. The library's own check, refused.
        # (os.path, not pathlib: Path.is_file raises on over-long names where os.path.isfile answers False.)
        if os.path.isfile(token):  # noqa: PTH113
            raise MissingCredentials("the Mastodon access token is a file path, not a token")
        # The instance URL is user input: checked again now (DNS may have changed since it was saved), and
        # the session refuses non-public addresses at connect time, pinned to the address it checked.
        try:
            destination_check(account.instance_url)
        except UnsafeDestination as refusal:
            raise RefusedDestination(f"the instance URL cannot be used: {refusal}") from None
        traffic = _Traffic()
        session = outbound_session()
        session.hooks["response"].append(traffic.on_response)
        api = Mastodon(
            access_token=token,
            api_base_url=account.instance_url,
            ratelimit_method="throw",  # the default "wait" sleeps inside the poller for up to 5 minutes
            request_timeout=settings.CHORUS_HTTP_TIMEOUT,
            version_check_mode="none",  # no instance lookup before the first call
            session=session,
        )
        try:
            with _translated(api):
                org_id = account.external_id or str(api.account_verify_credentials()["id"])
                since_mention = cursors.get(STREAM_MENTIONS)
                mentions = _read(
                    api,
                    api.notifications(types=["mention"], since_id=since_mention, limit=self.notifications_page),
                    limit=self.notifications_page,
                    since=since_mention,
                    backfill_since=backfill_since,
                    normalize=lambda notification: _from_notification(notification, org_id),
                )
                since_status = cursors.get(STREAM_STATUSES)
                statuses = _read(
                    api,
                    api.account_statuses(
                        org_id,
                        exclude_reblogs=True,
                        exclude_replies=False,  # the org's replies are what answered-detection looks for
                        since_id=since_status,
                        limit=self.statuses_page,
                    ),
                    limit=self.statuses_page,
                    since=since_status,
                    backfill_since=backfill_since,
                    normalize=_from_own_status,
                )
        finally:
            session.close()
        result = FetchResult(
            messages=unique_messages(mentions.messages + statuses.messages),
            cursors={
                stream: read.newest
                for stream, read in ((STREAM_MENTIONS, mentions), (STREAM_STATUSES, statuses))
                if read.newest is not None
            },
            pages=mentions.pages + statuses.pages,
            requests=traffic.count,
            rate_limit=traffic.rate_limit,
            skipped=mentions.skipped + statuses.skipped,
        )
        if account.external_id != org_id:
            result.account_updates["external_id"] = org_id
        return result


def _read(
    api: Mastodon,
    page: Any,
    *,
    limit: int,
    since: str | None,
    backfill_since: datetime.datetime,
    normalize: Callable[[Any], NormalizedMessage | None],
) -> _Read:
    """Walk pages newest first until the stored id (or, on a first poll, `backfill_since`) is reached, or a
    page comes back shorter than `limit` (the last one). An entry that cannot be read is recorded as
    skipped; its id still moves the cursor, so it is not read again."""
    read = _Read()
    while page is not None:
        read.pages += 1
        for entry in page:
            with malformed_on_bad_shape("Mastodon"):
                entry_id = str(_required(entry, "id"))
            if since is not None and _id_order(entry_id) <= _id_order(since):
                return read
            try:
                message = normalize(entry)
            except MalformedPayload as error:
                read.skipped.append(SkippedRecord(raw=_raw(entry), reason=str(error)))
                message = None
            if message is not None and since is None and message.created_at < backfill_since:
                return read
            if read.newest is None or _id_order(entry_id) > _id_order(read.newest):
                read.newest = entry_id  # skipped entries count too, so they are not read again
            if message is not None:
                read.messages.append(message)
        if len(page) < limit or api.get_pagination_info(page, "next") is None:
            return read
        page = api.fetch_next(page)
    return read


def _raw(entry: Any) -> Any:
    """A Mastodon.py entity as JSON (its datetimes as ISO strings), for the skipped-item record."""
    return json.loads(json.dumps(entry, default=str))


@contextlib.contextmanager
def _translated(api: Mastodon) -> Iterator[None]:
    """Map Mastodon.py failures onto the connector errors."""
    try:
        yield
    except MastodonRatelimitError as error:
        raise RateLimited("Mastodon rate limit exceeded", reset_at=_rate_limit_reset(api)) from error
    except MastodonUnauthorizedError as error:
        raise AuthError("Mastodon refused the access token (401)") from error
    except (MastodonServerError, MastodonNetworkError) as error:  # 5xx; connection failures and timeouts
        raise TransientError(f"Mastodon unavailable: {type(error).__name__}") from error
    except MastodonAPIError as error:
        # HTTP errors carry ("Mastodon API returned error", status, reason, message); a body that is not
        # JSON raises the same class with a text message and no status.
        status = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
        if status == 403:
            raise AuthError("Mastodon forbade the request (403): token scope missing or account suspended") from error
        if status is None:
            raise MalformedPayload("Mastodon sent a response that is not JSON") from error
        raise MalformedPayload(f"Mastodon answered {status} {error.args[2] if len(error.args) > 2 else ''}") from error


def _required(entity: Any, key: str) -> Any:
    """Mastodon.py's entities answer None for a missing field: a required one must be there."""
    value = entity[key]
    if value is None:
        raise KeyError(key)
    return value


def _rate_limit_reset(api: Mastodon) -> datetime.datetime:
    now = datetime.datetime.now(datetime.UTC)
    # Mastodon.py has already parsed X-RateLimit-Reset, corrected it by the server's Date header, and
    # dropped it if it lies in the past.
    reset: float | None = api.ratelimit_reset
    if reset is not None:
        reset_at = datetime.datetime.fromtimestamp(reset, tz=datetime.UTC)
        if reset_at > now:
            return reset_at
    return now + DEFAULT_RATE_LIMIT_WAIT


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _reset_header(value: str | None) -> datetime.datetime | None:
    """X-RateLimit-Reset: ISO 8601 on Mastodon, Unix seconds on GoToSocial."""
    if not value:
        return None
    seconds = _int_or_none(value)
    try:
        if seconds is not None:
            return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
        return _utc(value)
    except (ValueError, OverflowError):
        return None


def _utc(value: Any) -> datetime.datetime:
    """Mastodon.py hands datetimes in the local zone; the raw JSON has ISO strings."""
    moment = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _id_order(status_or_notification_id: str) -> tuple[int, str]:
    """Order instance-local ids: numeric strings on Mastodon (compare by length, then digits), ULIDs elsewhere."""
    return len(status_or_notification_id), status_or_notification_id


# The plain-text quote fallback other servers send as a last paragraph: "RE: https://..." alone.
QUOTE_FALLBACK = re.compile(r"\n*\s*RE: ?\S+://\S+\s*$")


class _PlainText(HTMLParser):
    """Plain text of a status's HTML `content`: tags dropped, entities unescaped, <p>/<br> as line breaks,
    the quote-fallback paragraph (`<p class="quote-inline">RE: ...</p>`) left out."""

    SKIPPED = frozenset({"script", "style"})  # Mastodon never sends these; other servers might

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._skipped_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if self._skipped_tags and tag == self._skipped_tags[-1]:
            self._skipped_tags.append(tag)
        elif "quote-inline" in classes:
            self._skipped_tags.append(tag)
            self._skipping += 1
        elif tag in self.SKIPPED:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipped_tags and tag == self._skipped_tags[-1]:
            self._skipped_tags.pop()
            if tag not in self._skipped_tags:
                self._skipping -= 1
        elif tag in self.SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    parser = _PlainText()
    parser.feed(content)
    parser.close()
    return QUOTE_FALLBACK.sub("", "".join(parser.parts).strip()).strip()


def _message(status: Any, *, direction: str, kind: str) -> NormalizedMessage:
    author = _required(status, "account")
    text = html_to_text(str(status["content"] or ""))
    if status.get("spoiler_text"):  # the content warning is part of what the author said
        text = f"{status['spoiler_text']}\n\n{text}"
    status_id = str(_required(status, "id"))
    in_reply_to = str(status["in_reply_to_id"] or "")
    mentions = [mention for mention in status.get("mentions") or [] if isinstance(mention, dict)]
    addressed_ids = [str(mention["id"]) for mention in mentions if mention.get("id")]
    if status.get("in_reply_to_account_id"):
        addressed_ids.append(str(status["in_reply_to_account_id"]))
    return NormalizedMessage(
        platform=PLATFORM,
        external_id=status_id,
        direction=direction,
        kind=kind,
        author_id=str(_required(author, "id")),
        author_handle=str(_required(author, "acct")),
        author_name=str(author.get("display_name") or ""),
        text=text,
        created_at=_utc(_required(status, "created_at")),
        # A status names its parent but not its thread root: only a top-level status is known to start one.
        conversation_id="" if in_reply_to else status_id,
        in_reply_to_id=in_reply_to,
        url=str(status.get("url") or status.get("uri") or ""),
        visibility=_visibility(status.get("visibility")),
        # Account ids are those of the instance polled, as the accounts' own external ids are; `acct` is
        # `user` for a local account and `user@domain` for a remote one.
        addressed_ids=tuple(dict.fromkeys(addressed_ids)),
        addressed_handles=tuple(str(mention["acct"]) for mention in mentions if mention.get("acct")),
        metrics={
            "likes": int(status.get("favourites_count") or 0),
            "reposts": int(status.get("reblogs_count") or 0),
            "replies": int(status.get("replies_count") or 0),
        },
    )


VISIBILITIES = frozenset({Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE, Visibility.DIRECT})


def _visibility(value: Any) -> str:
    """Mastodon's visibility; an unknown one (a server's own, e.g. `local`) is treated as followers-only, never
    as public, and a missing one as public (servers that do not say have no private posts)."""
    if value is None:
        return Visibility.PUBLIC
    text = str(value)
    return text if text in VISIBILITIES else Visibility.PRIVATE


def _from_notification(notification: Any, org_id: str) -> NormalizedMessage | None:
    with malformed_on_bad_shape("Mastodon"):
        status = notification.get("status")
        if notification["type"] != "mention" or status is None or str(_required(status, "account")["id"]) == org_id:
            return None
        answers_org = str(status.get("in_reply_to_account_id") or "") == org_id
        return _message(status, direction=Direction.INBOUND, kind=Kind.REPLY if answers_org else Kind.MENTION)


def _from_own_status(status: Any) -> NormalizedMessage | None:
    with malformed_on_bad_shape("Mastodon"):
        if status.get("reblog"):
            return None
        return _message(
            status, direction=Direction.OUTBOUND, kind=Kind.REPLY if status["in_reply_to_id"] else Kind.POST
        )
