"""The comments cursor: the posts whose comments may still grow, each with its newest comment seen.

A JSON object {post id: [post created unix, newest comment created unix seen or 0]} of the posts created
since `backfill_since`, bounded by the backfill window and by MAX_TRACKED_POSTS.
"""

from __future__ import annotations

import dataclasses
import json

MAX_TRACKED_POSTS = 200


@dataclasses.dataclass
class Tracked:
    created: int  # unix time the post was created
    seen: int  # unix time of its newest comment seen, 0 when none


def load_tracked(raw: str | None, *, backfill: int) -> dict[str, Tracked]:
    try:
        data = json.loads(raw) if raw else {}
        tracked = {str(post_id): Tracked(int(created), int(seen)) for post_id, (created, seen) in data.items()}
    except (ValueError, TypeError, AttributeError):
        tracked = {}  # an unreadable cursor costs one re-read of the window, nothing more
    return {post_id: entry for post_id, entry in tracked.items() if entry.created >= backfill}


def dump_tracked(tracked: dict[str, Tracked]) -> str:
    newest = sorted(tracked.items(), key=lambda pair: pair[1].created, reverse=True)[:MAX_TRACKED_POSTS]
    return json.dumps(
        {post_id: [entry.created, entry.seen] for post_id, entry in sorted(newest)}, separators=(",", ":")
    )


def unix_cursor(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
