"""Combined X sweeps: the mentions (or own posts) of many accounts through recent search, `@a OR @b ...`
queries of at most MAX_QUERY_LENGTH characters, with the app token. A mixin of `XConnector`."""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from monitoring.connectors.base import Direction, MalformedPayload, MissingCredentials, SkippedRecord
from monitoring.connectors.x.client import Run
from monitoring.connectors.x.tweets import (
    EXPANSIONS,
    HANDLE,
    MENTION,
    TWEET_FIELDS,
    USER_FIELDS,
    OrgAccounts,
    Page,
    tweet_message,
    tweet_roles,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from monitoring.connectors.base import NormalizedMessage

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 512  # recent search on self-serve plans
# Recent search may not end later than 10 s before the request; the margin also absorbs clock skew.
SEARCH_END_MARGIN = datetime.timedelta(seconds=30)


def mention_queries(handles: Iterable[str], *, max_length: int = MAX_QUERY_LENGTH, operator: str = "@") -> list[str]:
    """`@a OR @b ...` (or `from:a OR from:b ...`) search queries covering every handle, each at most
    `max_length` characters.

    First-fit decreasing packing, which lands within a query or so of total length / max_length.
    """
    separator = " OR "
    queries: list[list[str]] = []
    lengths: list[int] = []
    for term in sorted({f"{operator}{handle}" for handle in handles}, key=lambda term: (-len(term), term)):
        for index, length in enumerate(lengths):
            if length + len(separator) + len(term) <= max_length:
                queries[index].append(term)
                lengths[index] += len(separator) + len(term)
                break
        else:
            queries.append([term])
            lengths.append(len(term))
    return [separator.join(terms) for terms in queries]


class SearchSweeps:
    """The sweeps of `XConnector`: `search_mentions` and `search_posts`."""

    page_size: int
    # Sweep hits that could not be read, by the lower-cased handles they name (kept raw by the sweep).
    skipped: dict[str, list[SkippedRecord]]

    def search_mentions(
        self,
        handles: list[str],
        *,
        since_id: str | None,
        bearer_token: str | None = None,
        until: datetime.datetime | None = None,
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        """Mentions of many accounts through recent search: `@a OR @b ...` queries of at most 512 characters.

        Returns the mentions per lower-cased handle (every valid handle is a key), the `since_id` for the next
        sweep and the number of requests. Every query ends at the same `until` (default: 30 s ago), so the
        newest id across all queries is a safe next cursor: nothing older than it can still be unseen.
        Handles that are not valid X handles are skipped, as they could inject search operators.
        """
        return self._sweep(handles, Direction.INBOUND, since_id=since_id, bearer_token=bearer_token, until=until)

    def search_posts(
        self,
        handles: list[str],
        *,
        since_id: str | None,
        bearer_token: str | None = None,
        until: datetime.datetime | None = None,
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        """The accounts' own posts and replies through recent search (`from:a OR from:b ...`), like
        `search_mentions`: per lower-cased handle, the next `since_id`, and the number of requests."""
        return self._sweep(handles, Direction.OUTBOUND, since_id=since_id, bearer_token=bearer_token, until=until)

    @staticmethod
    def _sweep_handles(handles: list[str]) -> set[str]:
        wanted: set[str] = set()
        for handle in handles:
            username = handle.strip().lstrip("@")
            if HANDLE.fullmatch(username):
                wanted.add(username.lower())
            else:
                logger.warning("skipping %r in the X sweep: not a valid handle", handle)
        return wanted

    def _sweep(
        self,
        handles: list[str],
        direction: str,
        *,
        since_id: str | None,
        bearer_token: str | None,
        until: datetime.datetime | None,
    ) -> tuple[dict[str, list[NormalizedMessage]], str | None, int]:
        """One sweep: inbound reads the hits addressed to the accounts (`@a OR @b ...`), outbound their own
        posts (`from:a OR from:b ...`)."""
        wanted = self._sweep_handles(handles)
        queries = mention_queries(wanted, operator="@" if direction == Direction.INBOUND else "from:")
        token = bearer_token or settings.CHORUS_X_BEARER_TOKEN
        if not token:
            raise MissingCredentials("X sweeps need CHORUS_X_BEARER_TOKEN")
        found: dict[str, list[NormalizedMessage]] = {handle: [] for handle in sorted(wanted)}
        run = Run(bearer_token=token)
        end_time = until or datetime.datetime.now(tz=datetime.UTC) - SEARCH_END_MARGIN
        newest = since_id
        delivered: set[tuple[str, str]] = set()
        for query in queries:
            next_token: str | None = None
            while True:
                page = Page(
                    run.get(
                        "search_recent_tweets",
                        query,
                        since_id=since_id,
                        end_time=end_time,
                        next_token=next_token,
                        max_results=max(10, self.page_size),
                        tweet_fields=TWEET_FIELDS,
                        expansions=EXPANSIONS,
                        user_fields=USER_FIELDS,
                    )
                )
                if page.newest_id and (newest is None or int(page.newest_id) > int(newest)):
                    newest = page.newest_id
                for tweet in page.tweets:
                    try:
                        hits = self._targets(tweet, page, wanted, direction)
                    except MalformedPayload as error:
                        self._skip(tweet, page, wanted, str(error))
                        continue
                    for handle, message in hits:
                        if (handle, message.external_id) not in delivered:
                            delivered.add((handle, message.external_id))
                            found[handle].append(message)
                next_token = page.next_token or None
                if next_token is None:
                    break
        return found, newest, run.requests

    def _skip(self, tweet: dict[str, Any], page: Page, wanted: set[str], reason: str) -> None:
        """Keep an unreadable hit for the swept accounts it names (author or @mention in its text)."""
        named = {name.lower() for name in MENTION.findall(str(tweet.get("text") or ""))}
        named.add(page.handle(str(tweet.get("author_id") or "")).lower())
        handles = sorted(named & wanted)
        for handle in handles:
            kept = self.skipped.setdefault(handle, [])
            if all(record.raw.get("id") != tweet.get("id") for record in kept):  # a hit of both queries: once
                kept.append(SkippedRecord(raw=tweet, reason=reason))
        if not handles:
            logger.warning("X sweep skipped an unreadable post naming no swept account: %s", reason)

    @staticmethod
    def _targets(
        tweet: dict[str, Any], page: Page, wanted: set[str], direction: str
    ) -> list[tuple[str, NormalizedMessage]]:
        """The swept accounts a search hit is to, by `tweet_roles`: addressed to them (inbound: mentions,
        replies) or their own post or reply (outbound)."""
        return [
            (role.account, tweet_message(tweet, page, direction=role.direction, kind=role.kind))
            for role in tweet_roles(tweet, page, OrgAccounts(handles=frozenset(wanted)))
            if role.direction == direction
        ]
