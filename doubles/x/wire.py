"""X's wire format as the double speaks it: ids and times, the fields a request may ask for, error bodies,
users, and the query parameters of a read (limits, ids, times, page tokens)."""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doubles.scenario import Person
    from doubles.server import Request

PLATFORM = "x"
TWITTER_EPOCH_MS = 1288834974657
TWEET_FIELDS = {
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at", "edit_controls",
    "edit_history_tweet_ids", "edit_history_post_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "note_tweet", "possibly_sensitive", "public_metrics", "referenced_tweets", "referenced_posts",
    "reply_settings", "source", "text", "withheld",
}  # fmt: skip
USER_FIELDS = {
    "created_at", "description", "entities", "id", "location", "name", "pinned_tweet_id", "profile_image_url",
    "protected", "public_metrics", "url", "username", "verified", "verified_type", "withheld",
}  # fmt: skip
EXPANSIONS = {
    "attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids",
    "entities.mentions.username", "geo.place_id", "in_reply_to_user_id", "referenced_tweets.id",
    "referenced_tweets.id.author_id", "referenced_posts.id", "referenced_posts.id.author_id",
}  # fmt: skip
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})\b")
TEXT_LIMIT = 280  # X cuts `text` of a longer post (a note tweet) near here
RETWEET_TEXT_LIMIT = 140  # and the original inside `RT @user: ...` nearer still


def snowflake(created_at: datetime.datetime, sequence: int = 0) -> str:
    """A 19-digit X-style id that sorts like `created_at` (milliseconds since X's epoch, then a sequence)."""
    milliseconds = int(created_at.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((milliseconds << 22) | (sequence & 0x3FFFFF))


def iso(moment: datetime.datetime) -> str:
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value).astimezone(datetime.UTC)


class BadRequest(Exception):
    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text


def error_body(status: int) -> Any:
    """X's error body for an HTTP status."""
    if status == 400:
        return {
            "errors": [{"parameters": {}, "message": "One or more parameters to your request was invalid."}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
    if status == 401:
        return {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
    if status == 403:
        return {
            "title": "Client Forbidden",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
            "from a Twitter developer App that is attached to a Project.",
            "reason": "client-not-enrolled",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "registration_url": "https://developer.x.com/",
        }
    if status == 404:
        return {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"}
    if status == 429:
        return {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    title = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
    return {"title": title, "detail": title, "type": "about:blank", "status": status}


def render_user(person: Person, fields: set[str]) -> dict[str, Any]:
    user: dict[str, Any] = {"id": person.id, "name": person.name, "username": person.handle}
    if "profile_image_url" in fields:
        user["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{person.id}/avatar_normal.jpg"
    if "verified" in fields:
        user["verified"] = False
    if "description" in fields:
        user["description"] = ""
    return user


def field_list(request: Request, names: tuple[str, ...], allowed: set[str]) -> set[str]:
    for name in names:
        raw = request.arg(name)
        if raw:
            values = {value.strip() for value in raw.split(",")}
            unknown = sorted(values - allowed)
            if unknown:
                raise BadRequest(
                    name,
                    unknown[0],
                    f"The `{name}` query parameter value [{unknown[0]}] is not one of {sorted(allowed)}",
                )
            return values
    return set()


def int_arg(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.arg(name)
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(name, raw, f"The `{name}` query parameter value [{raw}] is not between {low} and {high}")
    return int(raw)


def id_arg(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise BadRequest(name, raw, f"The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$")
    return int(raw)


def time_arg(request: Request, name: str) -> datetime.datetime | None:
    raw = request.arg(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise BadRequest(name, raw, f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date") from None


def page_token(boundary: str) -> str:
    """Opaque-looking, stable under new arrivals: the next page holds items older than `boundary`."""
    return "7140" + base36(int(boundary))


def from_page_token(name: str, token: str) -> int:
    if not token.startswith("7140") or not token[4:].isalnum():
        raise BadRequest(name, token, f"The `{name}` query parameter value [{token}] is not valid")
    return int(token[4:], 36)
