"""The one small interface every platform connector implements.

A connector turns an account's platform API into normalized messages plus the cursors to resume from.
It does network I/O only: no database access, no Django models. It is handed decrypted credentials in
memory by the polling service and must never log them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Hashable, Iterator


class Direction:
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Kind:
    MENTION = "mention"
    REPLY = "reply"
    COMMENT = "comment"
    POST = "post"


class Visibility:
    """Who the platform shows an item to. Only Mastodon says so; every other platform's items are public."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"  # followers only
    DIRECT = "direct"  # the people it mentions: a private message


@dataclasses.dataclass(frozen=True)
class AccountRef:
    """What a connector needs to know about one registered account (no ORM objects cross this line)."""

    id: int
    platform: str
    handle: str
    external_id: str | None
    instance_url: str = ""
    credentials: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(frozen=True)
class NormalizedMessage:
    """One platform item, inbound (addressed to the account) or outbound (posted by it)."""

    platform: str
    external_id: str
    direction: str  # Direction.*
    kind: str  # Kind.*
    author_id: str
    author_handle: str
    author_name: str
    text: str
    created_at: datetime.datetime  # aware, UTC
    conversation_id: str = ""
    in_reply_to_id: str = ""
    url: str = ""
    metrics: dict[str, int] = dataclasses.field(default_factory=dict)
    visibility: str = Visibility.PUBLIC
    # Whom an inbound item addresses besides the polled account: the platform user ids and the handles of
    # the accounts it @mentions or replies to, as the payload names them. The ingest matches them against
    # the registered org accounts: a message belongs to every org account it addresses.
    addressed_ids: tuple[str, ...] = ()
    addressed_handles: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class SkippedRecord:
    """An item of a page that could not be read: kept raw for inspection, skipped so the rest of the page
    is stored and the cursor advances past it."""

    raw: Any  # the item as the platform sent it (JSON-compatible)
    reason: str


@dataclasses.dataclass(frozen=True)
class RateLimit:
    """The last rate-limit state the platform reported (from response headers)."""

    remaining: int | None
    limit: int | None
    reset_at: datetime.datetime | None


@dataclasses.dataclass
class FetchResult:
    messages: list[NormalizedMessage]
    cursors: dict[str, str]  # stream name -> cursor to resume from next time (only streams that advanced)
    pages: int = 0
    requests: int = 0
    rate_limit: RateLimit | None = None
    account_updates: dict[str, str] = dataclasses.field(default_factory=dict)  # e.g. discovered external_id
    credential_updates: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)  # refreshed tokens
    skipped: list[SkippedRecord] = dataclasses.field(default_factory=list)  # unreadable items, not stored


class ConnectorError(Exception):
    """Base class of every failure a connector reports.

    `credential_updates` carries tokens or sessions obtained before the failure (a re-login, a refresh):
    the polling service stores them even though the poll failed, so they are not spent again.
    `kind` names the failure class the health page shows (one of `monitoring.models.ErrorKind`).
    """

    kind = "error"

    def __init__(self, *args: object, credential_updates: dict[str, Any] | None = None) -> None:
        super().__init__(*args)
        self.credential_updates: dict[str, Any] = credential_updates or {}


class AuthError(ConnectorError):
    """401/403 or a revoked/expired token: the account needs reconnecting; do not retry."""

    kind = "auth"


class PermissionMissing(AuthError):
    """The token works but lacks a permission (scope) the read needs: reconnect granting `permission`."""

    kind = "permission"

    def __init__(self, *args: object, permission: str = "", credential_updates: dict[str, Any] | None = None) -> None:
        super().__init__(*args, credential_updates=credential_updates)
        self.permission = permission


class RateLimited(ConnectorError):
    """429 (or a platform throttle code): wait until reset_at, then try again."""

    kind = "rate_limited"

    def __init__(
        self, message: str, *, reset_at: datetime.datetime, credential_updates: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, credential_updates=credential_updates)
        self.reset_at = reset_at


class TransientError(ConnectorError):
    """5xx, timeouts, connection errors: retry with backoff."""

    kind = "transient"


class ObjectMissing(ConnectorError):
    """The platform no longer has the object polled (a deleted Page, a removed account): poll again later,
    and an admin checks the account."""

    kind = "not_found"


class MalformedPayload(ConnectorError):
    """The platform answered something we cannot parse: record the run as failed with the reason."""

    kind = "malformed"


def unique_messages(messages: list[NormalizedMessage]) -> list[NormalizedMessage]:
    """The messages without repeats of an external id, the first of each kept, in order."""
    first: dict[str, NormalizedMessage] = {}
    for message in messages:
        first.setdefault(message.external_id, message)
    return list(first.values())


@contextlib.contextmanager
def malformed_on_bad_shape(platform: str) -> Iterator[None]:
    """A payload off the expected shape (a missing key, a wrong type) raises MalformedPayload naming the
    platform, the error class and the error."""
    try:
        yield
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise MalformedPayload(f"{platform} sent an unexpected item: {type(error).__name__} {error}") from error


class MissingCredentials(ConnectorError):
    """The account lacks a credential its platform needs; it stays pending until an admin adds it."""

    kind = "missing_credentials"


class RefusedDestination(ConnectorError):
    """The account's own destination (a Mastodon instance URL) is refused by the outbound guard: an admin
    must correct it; polling does not retry sooner than its interval."""


class Connector(Protocol):
    platform: str

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        """Fetch every page since the cursors (or since `backfill_since` on a first poll).

        Must not return an item twice within one result; may return items already stored (the ingest
        upsert absorbs them) but should use the platform's since-cursors so nothing is read twice.
        """
        ...


_shared: dict[Hashable, Any] = {}
_shared_pid = os.getpid()
_shared_lock = threading.Lock()


def per_process[T](key: Hashable, build: Callable[[], T]) -> T:
    """One object per process and key, built on first use: the HTTP clients (connection pools, SSL contexts)
    that every poll of a worker process reuses instead of building its own. A forked pool child forgets what
    its parent built (it must never share the parent's sockets) and builds its own."""
    global _shared_pid
    with _shared_lock:
        if _shared_pid != os.getpid():
            _shared.clear()
            _shared_pid = os.getpid()
        if key not in _shared:
            _shared[key] = build()
        value: T = _shared[key]
        return value
