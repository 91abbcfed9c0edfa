"""The one small interface every platform connector implements.

A connector turns an account's platform API into normalized messages plus the cursors to resume from.
It does network I/O only: no database access, no Django models. It is handed decrypted credentials in
memory by the polling service and must never log them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime


class Direction:
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Kind:
    MENTION = "mention"
    REPLY = "reply"
    COMMENT = "comment"
    POST = "post"


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


class ConnectorError(Exception):
    """Base class of every failure a connector reports.

    `credential_updates` carries tokens or sessions obtained before the failure (a re-login, a refresh):
    the polling service stores them even though the poll failed, so they are not spent again.
    """

    def __init__(self, *args: object, credential_updates: dict[str, Any] | None = None) -> None:
        super().__init__(*args)
        self.credential_updates: dict[str, Any] = credential_updates or {}


class AuthError(ConnectorError):
    """401/403 or a revoked/expired token: the account needs reconnecting; do not retry."""


class RateLimited(ConnectorError):
    """429 (or a platform throttle code): wait until reset_at, then try again."""

    def __init__(
        self, message: str, *, reset_at: datetime.datetime, credential_updates: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, credential_updates=credential_updates)
        self.reset_at = reset_at


class TransientError(ConnectorError):
    """5xx, timeouts, connection errors: retry with backoff."""


class MalformedPayload(ConnectorError):
    """The platform answered something we cannot parse: record the run as failed with the reason."""


class MissingCredentials(ConnectorError):
    """The account lacks a credential its platform needs; it stays pending until an admin adds it."""


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
