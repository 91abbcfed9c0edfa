"""Graph payloads read into normalized messages: a Page's posts and comments, an Instagram account's media
and comments, and a comment delivered by the Page `feed` webhook."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from monitoring.connectors.base import Direction, Kind, MalformedPayload, NormalizedMessage


@dataclasses.dataclass
class Owner:
    """The polled account as the Graph API names it."""

    id: str
    handle: str
    name: str


def as_int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def parse_time(value: Any) -> datetime.datetime:
    """Graph times look like 2026-08-20T09:41:07+0000."""
    return datetime.datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z").astimezone(datetime.UTC)


def unix(moment: datetime.datetime) -> int:
    return int(moment.timestamp())


def raw_unix(raw: Any, key: str) -> int:
    """The unix time of an item that could not be read, 0 when even its time is unreadable."""
    try:
        return unix(parse_time(raw[key]))
    except (KeyError, TypeError, ValueError):
        return 0


def post_message(post: dict[str, Any], page: Owner) -> NormalizedMessage:
    author = post.get("from") or {}
    return NormalizedMessage(
        platform="facebook",
        external_id=str(post["id"]),
        direction=Direction.OUTBOUND,
        kind=Kind.POST,
        author_id=page.id,
        author_handle=page.handle,
        author_name=str(author.get("name") or page.name),
        text=str(post.get("message") or ""),
        created_at=parse_time(post["created_time"]),
        conversation_id=str(post["id"]),
        url=str(post.get("permalink_url") or ""),
        metrics={
            "likes": as_int(((post.get("reactions") or {}).get("summary") or {}).get("total_count")),
            "comments": as_int(((post.get("comments") or {}).get("summary") or {}).get("total_count")),
            "shares": as_int((post.get("shares") or {}).get("count")),
        },
    )


def comment_message(comment: dict[str, Any], page: Owner, post_id: str) -> NormalizedMessage:
    author = comment.get("from") or {}  # absent when the token may not see the commenter
    parent_id = str((comment.get("parent") or {}).get("id") or "")
    is_page = str(author.get("id") or "") == page.id
    return NormalizedMessage(
        platform="facebook",
        external_id=str(comment["id"]),
        direction=Direction.OUTBOUND if is_page else Direction.INBOUND,
        kind=Kind.REPLY if is_page or parent_id else Kind.COMMENT,
        author_id=str(author.get("id") or ""),
        author_handle=page.handle if is_page else "",  # Graph exposes no usernames of people
        author_name=str(author.get("name") or ""),
        text=str(comment.get("message") or ""),
        created_at=parse_time(comment["created_time"]),
        conversation_id=post_id,
        in_reply_to_id=parent_id or post_id,
        url=str(comment.get("permalink_url") or ""),
        metrics={"likes": as_int(comment.get("like_count")), "replies": as_int(comment.get("comment_count"))},
    )


def media_message(media: dict[str, Any], owner: Owner) -> NormalizedMessage:
    return NormalizedMessage(
        platform="instagram",
        external_id=str(media["id"]),
        direction=Direction.OUTBOUND,
        kind=Kind.POST,
        author_id=owner.id,
        author_handle=str(media.get("username") or owner.handle),
        author_name=owner.name,
        text=str(media.get("caption") or ""),
        created_at=parse_time(media["timestamp"]),
        conversation_id=str(media["id"]),
        url=str(media.get("permalink") or ""),
        metrics={"likes": as_int(media.get("like_count")), "comments": as_int(media.get("comments_count"))},
    )


def instagram_comment_message(
    comment: dict[str, Any], owner: Owner, media_id: str, parent_id: str
) -> NormalizedMessage:
    author = comment.get("from") or {}
    username = str(comment.get("username") or author.get("username") or "")
    is_owner = str(author.get("id") or "") == owner.id or username.lower() == owner.handle.lower()
    return NormalizedMessage(
        platform="instagram",
        external_id=str(comment["id"]),
        direction=Direction.OUTBOUND if is_owner else Direction.INBOUND,
        kind=Kind.REPLY if is_owner or parent_id else Kind.COMMENT,
        author_id=str(author.get("id") or ""),
        author_handle=username,
        author_name=username,
        text=str(comment.get("text") or ""),
        created_at=parse_time(comment["timestamp"]),
        conversation_id=media_id,
        in_reply_to_id=parent_id or media_id,
        # Instagram comments have no permalink of their own.
        metrics={"likes": as_int(comment.get("like_count"))},
    )


def feed_comment_message(value: dict[str, Any], *, page_id: str, page_handle: str) -> NormalizedMessage:
    """A comment from a Page `feed` webhook change (`item` comment), normalized exactly as a polled one: the
    Page's own comment outbound reply, anyone else's inbound comment (top level) or reply. The webhook names
    the parent even for a top-level comment (`parent_id == post_id`) and gives `created_time` in unix seconds;
    it carries no like counts and no permalink (the next poll fills them in). Raises MalformedPayload."""
    try:
        post_id = str(value["post_id"])
        parent_id = str(value.get("parent_id") or "")
        created = value["created_time"]
        if isinstance(created, int | float) and not isinstance(created, bool):
            created = datetime.datetime.fromtimestamp(created, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        comment = {
            "id": str(value["comment_id"]),
            "from": value.get("from") if isinstance(value.get("from"), dict) else {},
            "message": value.get("message") or "",
            "created_time": created,
            "parent": {"id": parent_id} if parent_id and parent_id != post_id else None,
        }
        handle = page_handle.lstrip("@")
        return comment_message(comment, Owner(page_id, handle, handle), post_id)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as error:
        raise MalformedPayload(f"unexpected feed comment payload: {type(error).__name__}") from error
