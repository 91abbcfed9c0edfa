"""`XConnector`: an account's own posts and its mentions through its timelines (`fetch`), and the combined
search sweeps of many accounts (`SearchSweeps`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from monitoring.connectors.base import AuthError, FetchResult, MalformedPayload, MissingCredentials, SkippedRecord
from monitoring.connectors.x.client import Run
from monitoring.connectors.x.sweep import SearchSweeps
from monitoring.connectors.x.tweets import (
    EXPANSIONS,
    HANDLE,
    PLATFORM,
    TWEET_FIELDS,
    USER_FIELDS,
    Page,
    required_text,
    timeline_message,
)

if TYPE_CHECKING:
    import datetime

    from monitoring.connectors.base import AccountRef

logger = logging.getLogger(__name__)

STREAMS = {"tweets": "get_users_tweets", "mentions": "get_users_mentions"}


class XConnector(SearchSweeps):
    platform = PLATFORM

    def __init__(self, *, page_size: int = 100) -> None:
        self.page_size = page_size  # 5-100 on the timelines; search uses at least 10
        # Sweep hits that could not be read, by the lower-cased handles they name (kept raw by the sweep).
        self.skipped: dict[str, list[SkippedRecord]] = {}

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        """Read the account's own posts and its mentions since the cursors (since `backfill_since` at first).

        Each stream's next cursor is the `newest_id` of the first page of this run; a stream with nothing new
        is left out of `cursors` so the stored one stays. A rejected user token is refreshed once through
        OAuth 2.0 and the new tokens come back in `credential_updates`.
        """
        access_token = str(account.credentials.get("access_token") or "")
        bearer_token = access_token or settings.CHORUS_X_BEARER_TOKEN
        if not bearer_token:
            raise MissingCredentials("X needs the account's OAuth 2.0 token or CHORUS_X_BEARER_TOKEN")
        run = Run(bearer_token=bearer_token, refresh_token=str(account.credentials.get("refresh_token") or ""))
        result = FetchResult(messages=[], cursors={})
        user_id = account.external_id or ""
        if not user_id:
            user_id = self._resolve(run, account.handle)
            result.account_updates["external_id"] = user_id
        seen: set[str] = set()
        for stream in STREAMS:
            newest_id = self._read_stream(
                run, stream, user_id, account, cursors.get(stream), backfill_since, result, seen
            )
            if newest_id:
                result.cursors[stream] = newest_id
        result.requests = run.requests
        result.rate_limit = run.rate_limit
        result.credential_updates = run.credential_updates
        if run.credential_updates:
            logger.info("X access token of account %s refreshed", account.id)
        return result

    @staticmethod
    def _resolve(run: Run, handle: str) -> str:
        username = handle.strip().lstrip("@")
        if not HANDLE.fullmatch(username):
            raise AuthError(f"{handle!r} is not a valid X handle")
        payload = run.get("get_user", username=username)
        user = payload.get("data")
        if not isinstance(user, dict):
            if payload.get("errors"):
                raise AuthError(f"X knows no user @{username}")
            raise MalformedPayload("X answered the user lookup without `data`")
        return required_text(user.get("id"), "user id")

    def _read_stream(
        self,
        run: Run,
        stream: str,
        user_id: str,
        account: AccountRef,
        since_id: str | None,
        backfill_since: datetime.datetime,
        result: FetchResult,
        seen: set[str],
    ) -> str:
        params: dict[str, Any] = {
            "max_results": self.page_size,
            "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user_fields": USER_FIELDS,
        }
        if since_id:
            params["since_id"] = since_id
        else:
            params["start_time"] = backfill_since
        newest_id = ""
        token: str | None = None
        tokens: set[str] = set()
        while True:
            page = Page(run.get(STREAMS[stream], user_id, pagination_token=token, **params))
            result.pages += 1
            if token is None:
                newest_id = page.newest_id
            for tweet in page.tweets:
                try:
                    message = timeline_message(tweet, page, stream=stream, user_id=user_id, handle=account.handle)
                except MalformedPayload as error:
                    result.skipped.append(SkippedRecord(raw=tweet, reason=str(error)))
                    continue
                if message is not None and message.external_id not in seen:
                    seen.add(message.external_id)
                    result.messages.append(message)
            token = page.next_token or None
            if token is None:
                return newest_id
            if token in tokens:
                raise MalformedPayload(f"X repeated the pagination token of {stream}")
            tokens.add(token)
