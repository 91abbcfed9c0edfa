"""The connector: a Facebook Page's posts and comments, or an Instagram business account's media and
comments, since the cursors (see the package docstring for the streams and what they cost)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitoring.connectors.base import AuthError, FetchResult, MissingCredentials, NormalizedMessage, SkippedRecord
from monitoring.connectors.facebook.client import GraphClient, edge_items, graph_client
from monitoring.connectors.facebook.cursors import Tracked, dump_tracked, load_tracked, unix_cursor
from monitoring.connectors.facebook.errors import graph_errors, rate_limit
from monitoring.connectors.facebook.parse import (
    Owner,
    comment_message,
    instagram_comment_message,
    media_message,
    post_message,
    raw_unix,
    unix,
)

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from monitoring.connectors.base import AccountRef

PAGE_SIZE = 100  # Graph caps `limit` at 100 on these edges
INSTAGRAM_PAGE_SIZE = 50  # and at 50 on Instagram comments

POST_FIELDS = (
    "id,message,created_time,permalink_url,from{id,name},"
    "comments.summary(true).limit(0),reactions.summary(total_count).limit(0),shares"
)
COMMENT_FIELDS = "id,from{id,name},message,created_time,parent{id},comment_count,like_count,permalink_url"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username,comments_count,like_count"
INSTAGRAM_COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},like_count"
INSTAGRAM_COMMENT_WITH_REPLIES = f"{INSTAGRAM_COMMENT_FIELDS},replies{{{INSTAGRAM_COMMENT_FIELDS}}}"


class FacebookConnector:
    """Polls a Facebook Page (or the Instagram business account behind a Page token) through pyfacebook."""

    def __init__(self, platform: str = "facebook") -> None:
        if platform not in {"facebook", "instagram"}:
            raise ValueError(f"FacebookConnector serves facebook and instagram, not {platform!r}")
        self.platform = platform

    def fetch(self, account: AccountRef, *, cursors: dict[str, str], backfill_since: datetime.datetime) -> FetchResult:
        access_token = account.credentials.get("access_token")
        if not access_token:
            raise MissingCredentials(f"{self.platform} account {account.handle} has no access_token")
        client = graph_client(str(access_token))
        skipped: list[SkippedRecord] = []
        with graph_errors(client):
            owner = self._resolve(client, account)
            if self.platform == "instagram":
                messages, new_cursors = self._poll_instagram(client, owner, cursors, backfill_since, skipped)
            else:
                messages, new_cursors = self._poll_page(client, owner, cursors, backfill_since, skipped)
        return FetchResult(
            skipped=skipped,
            messages=messages,
            cursors=new_cursors,
            pages=client.pages_read,
            requests=client.requests_sent,
            rate_limit=rate_limit(client.rate_limit.last_usage),
            account_updates={} if account.external_id else {"external_id": owner.id},
        )

    def _resolve(self, client: GraphClient, account: AccountRef) -> Owner:
        handle = account.handle.lstrip("@")
        if account.external_id:
            return Owner(account.external_id, handle, handle)
        if self.platform == "instagram":
            # The Page token's Page names its linked Instagram business account.
            page = client.get_object("me", fields="id,name,instagram_business_account{id,username}")
            linked = page.get("instagram_business_account")
            if not isinstance(linked, dict) or not linked.get("id"):
                raise AuthError("the token's Page has no linked Instagram business account")
            return Owner(str(linked["id"]), str(linked.get("username") or handle), str(page.get("name") or handle))
        page = client.get_object(handle, fields="id,name,username")
        return Owner(str(page["id"]), str(page.get("username") or handle), str(page.get("name") or handle))

    def _readable(
        self, skipped: list[SkippedRecord], read: Callable[..., NormalizedMessage], raw: Any, *args: Any
    ) -> NormalizedMessage | None:
        """`read(raw, *args)`, or None with the item recorded as skipped when it cannot be read (no id...)."""
        try:
            return read(raw, *args)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            reason = f"{self.platform} item unreadable: {type(error).__name__}: {error}"
            skipped.append(SkippedRecord(raw=raw, reason=reason[:500]))
            return None

    def _new_posts(
        self,
        posts: list[Any],
        read: Callable[[dict[str, Any], Owner], NormalizedMessage],
        owner: Owner,
        *,
        time_key: str,
        newest: int | None,
        backfill: int,
        tracked: dict[str, Tracked],
        messages: dict[str, NormalizedMessage],
        skipped: list[SkippedRecord],
    ) -> tuple[int | None, dict[str, Tracked]]:
        """Reads new posts (Instagram: media) into `messages` and tracks those inside the backfill window.
        Returns the newest post time seen and every post whose comments to read (tracked or new)."""
        to_read: dict[str, Tracked] = dict(tracked)
        for post in posts:
            message = self._readable(skipped, read, post, owner)
            if message is None:  # the cursor still moves past it, so it is not read (and recorded) again
                newest = max(newest or 0, raw_unix(post, time_key))
                continue
            messages[message.external_id] = message
            created = unix(message.created_at)
            newest = max(newest or 0, created)
            to_read[message.external_id] = Tracked(created, 0)  # a post new to us: all its comments are new
            if created >= backfill:
                tracked[message.external_id] = to_read[message.external_id]
        return newest, to_read

    # -- Facebook Page ----------------------------------------------------------------------------------

    def _poll_page(
        self,
        client: GraphClient,
        page: Owner,
        cursors: dict[str, str],
        backfill_since: datetime.datetime,
        skipped: list[SkippedRecord],
    ) -> tuple[list[NormalizedMessage], dict[str, str]]:
        backfill = unix(backfill_since)
        newest_post = unix_cursor(cursors.get("posts"))
        posts = edge_items(
            client,
            page.id,
            "posts",
            fields=POST_FIELDS,
            since=str(newest_post + 1 if newest_post is not None else backfill),
            limit=PAGE_SIZE,
        )
        tracked = load_tracked(cursors.get("comments"), backfill=backfill)
        messages: dict[str, NormalizedMessage] = {}
        newest_post, to_read = self._new_posts(
            posts,
            post_message,
            page,
            time_key="created_time",
            newest=newest_post,
            backfill=backfill,
            tracked=tracked,
            messages=messages,
            skipped=skipped,
        )
        for post_id, entry in to_read.items():
            comments = edge_items(
                client,
                post_id,
                "comments",
                fields=COMMENT_FIELDS,  # the default fields omit `from` and `parent`
                filter="stream",  # every level, flattened, with `parent` on replies
                order="chronological",
                since=str(entry.seen + 1) if entry.seen else None,
                limit=PAGE_SIZE,
            )
            for comment in comments:
                message = self._readable(skipped, comment_message, comment, page, post_id)
                if message is None:
                    entry.seen = max(entry.seen, raw_unix(comment, "created_time"))
                    continue
                messages.setdefault(message.external_id, message)
                entry.seen = max(entry.seen, unix(message.created_at))
        return list(messages.values()), _cursor_updates(cursors, newest_post, tracked)

    # -- Instagram business account --------------------------------------------------------------------

    def _poll_instagram(
        self,
        client: GraphClient,
        owner: Owner,
        cursors: dict[str, str],
        backfill_since: datetime.datetime,
        skipped: list[SkippedRecord],
    ) -> tuple[list[NormalizedMessage], dict[str, str]]:
        backfill = unix(backfill_since)
        newest_media = unix_cursor(cursors.get("posts"))
        media_list = edge_items(
            client,
            owner.id,
            "media",
            limit=INSTAGRAM_PAGE_SIZE,
            fields=MEDIA_FIELDS,
            since=str(newest_media + 1 if newest_media is not None else backfill),
        )
        tracked = load_tracked(cursors.get("comments"), backfill=backfill)
        messages: dict[str, NormalizedMessage] = {}
        newest_media, to_read = self._new_posts(
            media_list,
            media_message,
            owner,
            time_key="timestamp",
            newest=newest_media,
            backfill=backfill,
            tracked=tracked,
            messages=messages,
            skipped=skipped,
        )
        for media_id, entry in to_read.items():
            # The comments edge takes no `since`: the first level is re-listed and filtered by time here.
            comments = edge_items(
                client,
                media_id,
                "comments",
                since=None,
                limit=INSTAGRAM_PAGE_SIZE,
                fields=INSTAGRAM_COMMENT_WITH_REPLIES,
            )
            newest_seen = entry.seen
            for comment in comments:
                replies = (comment.get("replies") or {}).get("data") or [] if isinstance(comment, dict) else []
                parent = str(comment.get("id") or "") if isinstance(comment, dict) else ""
                for item, parent_id in [(comment, ""), *((reply, parent) for reply in replies)]:
                    raw_time = raw_unix(item, "timestamp")
                    if raw_time and raw_time <= entry.seen:
                        continue  # seen on an earlier poll (stored, or recorded as skipped)
                    message = self._readable(skipped, instagram_comment_message, item, owner, media_id, parent_id)
                    if message is None:
                        newest_seen = max(newest_seen, raw_time)
                        continue
                    created = unix(message.created_at)
                    if created > entry.seen:
                        messages.setdefault(message.external_id, message)
                        newest_seen = max(newest_seen, created)
            entry.seen = newest_seen
        return list(messages.values()), _cursor_updates(cursors, newest_media, tracked)


def _cursor_updates(cursors: dict[str, str], newest_post: int | None, tracked: dict[str, Tracked]) -> dict[str, str]:
    """The cursors that moved: the newest post time seen and the tracked posts' comments."""
    new_cursors: dict[str, str] = {}
    if newest_post is not None and str(newest_post) != cursors.get("posts"):
        new_cursors["posts"] = str(newest_post)
    comments_cursor = dump_tracked(tracked)
    if comments_cursor != cursors.get("comments"):
        new_cursors["comments"] = comments_cursor
    return new_cursors
