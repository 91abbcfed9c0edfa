"""How Chorus reads an X post: the fields it asks for, the checked fields of a payload, what the post is to
each org account (`tweet_roles`), and the normalized message. Shared by the timeline and mentions reads
(`connector`), the search sweep (`sweep`) and the X Activity API webhook (`activity_post_message`)."""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

from monitoring.connectors.base import Direction, Kind, MalformedPayload, NormalizedMessage

PLATFORM = "x"
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,15})\b")
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "public_metrics",
    "entities",
    "lang",
    "edit_history_tweet_ids",
    "note_tweet",  # the full text of a post longer than 280 characters (`text` is cut short)
]
EXPANSIONS = ["author_id", "referenced_tweets.id", "in_reply_to_user_id"]
USER_FIELDS = ["username", "name", "profile_image_url", "verified"]


def required_text(value: Any, what: str) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise MalformedPayload(f"X sent a {what} that is not a string: {value!r}"[:200])


def _optional_text(value: Any, what: str) -> str:
    return "" if value is None else required_text(value, what)


def _created_at(value: Any) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(required_text(value, "created_at"))
    except ValueError as error:
        raise MalformedPayload(f"X sent an unreadable created_at: {value!r}") from error
    if moment.tzinfo is None:
        raise MalformedPayload(f"X sent a created_at without a time zone: {value!r}")
    return moment.astimezone(datetime.UTC)


class Page:
    """One response of a timeline or search: tweets, the expanded users by id, and meta."""

    def __init__(self, payload: dict[str, Any]) -> None:
        data = payload.get("data", [])
        meta = payload.get("meta")
        if "data" not in payload and meta is None and payload.get("errors"):
            raise MalformedPayload(f"X answered with errors only: {payload['errors']!r}"[:300])
        if not isinstance(data, list) or not all(isinstance(tweet, dict) for tweet in data):
            raise MalformedPayload("X sent `data` that is not a list of objects")
        if not isinstance(meta, dict):
            raise MalformedPayload("X sent no `meta` object")
        includes = payload.get("includes", {})
        users = includes.get("users", []) if isinstance(includes, dict) else None
        if not isinstance(users, list) or not all(isinstance(user, dict) for user in users):
            raise MalformedPayload("X sent `includes.users` that is not a list of objects")
        self.tweets: list[dict[str, Any]] = data
        self.users: dict[str, dict[str, Any]] = {required_text(user.get("id"), "user id"): user for user in users}
        self.newest_id = _optional_text(meta.get("newest_id"), "newest_id")
        self.next_token = _optional_text(meta.get("next_token"), "next_token")

    def handle(self, user_id: str) -> str:
        return str(self.users.get(user_id, {}).get("username") or "")


def _replied_to(tweet: dict[str, Any]) -> str:
    references = tweet.get("referenced_tweets") or tweet.get("referenced_posts") or []
    if not isinstance(references, list):
        raise MalformedPayload("X sent referenced tweets that are not a list")
    for reference in references:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return required_text(reference.get("id"), "referenced tweet id")
    return ""


def is_retweet(tweet: dict[str, Any]) -> bool:
    references = tweet.get("referenced_tweets") or tweet.get("referenced_posts") or []
    return any(isinstance(reference, dict) and reference.get("type") == "retweeted" for reference in references)


@dataclasses.dataclass(frozen=True)
class OrgAccounts:
    """Who "we" are in one read: the org accounts' lower-cased handles, and their user ids where known."""

    handles: frozenset[str]
    ids: dict[str, str] = dataclasses.field(default_factory=dict)  # user id -> lower-cased handle

    @classmethod
    def one(cls, *, user_id: str, handle: str) -> OrgAccounts:
        key = handle.strip().lstrip("@").lower()
        return cls(handles=frozenset({key}), ids={user_id: key})

    def key(self, user_id: str, username: str) -> str:
        """The org account's key (its lower-cased handle) for a user, or "" when the user is not ours."""
        if user_id and user_id in self.ids:
            return self.ids[user_id]
        return username.lower() if username.lower() in self.handles else ""


@dataclasses.dataclass(frozen=True)
class Role:
    """What one post is to one org account: its own post/reply (outbound) or addressed to it (inbound)."""

    account: str  # OrgAccounts key
    direction: str
    kind: str


def tweet_roles(tweet: dict[str, Any], page: Page, org: OrgAccounts) -> list[Role]:
    """The one rule for what an X post is to the org accounts, used by the per-account timeline and mentions
    reads and by the combined search sweep alike:

    - A retweet (`referenced_tweets` of type `retweeted`) is no one's own post and addresses no one: its text
      is someone else's words, cut short by X (`RT @user: ...`). It is not stored.
    - A post by an org account is that account's own post (a reply when it answers something).
    - Every other org account the post @mentions (X's `entities.mentions`, or the text when X sent none) or
      replies to is addressed by it: a reply when it answers that account's post, else a mention. A quote post
      (`quoted`) is read like any post: the org accounts its own text mentions are addressed by it.
    Raises MalformedPayload on fields of the wrong type.
    """
    if is_retweet(tweet):
        return []
    author_id = required_text(tweet.get("author_id"), "author_id")
    author = org.key(author_id, page.handle(author_id))
    roles: list[Role] = []
    if author:
        roles.append(Role(author, Direction.OUTBOUND, Kind.REPLY if _replied_to(tweet) else Kind.POST))
    note = tweet.get("note_tweet") or tweet.get("note_post")
    # A long post's mentions past the cut of `text` are only in its note's entities.
    entities = note.get("entities") if isinstance(note, dict) and note.get("entities") else tweet.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    if isinstance(mentions, list):
        named = {
            org.key(str(mention.get("id") or ""), str(mention.get("username") or ""))
            for mention in mentions
            if isinstance(mention, dict)
        }
    else:
        named = {org.key("", username) for username in MENTION.findall(str(tweet.get("text") or ""))}
    replied_user = _optional_text(tweet.get("in_reply_to_user_id"), "in_reply_to_user_id")
    replied = org.key(replied_user, page.handle(replied_user)) if replied_user else ""
    for account in sorted((named | {replied}) - {"", author}):
        roles.append(Role(account, Direction.INBOUND, Kind.REPLY if account == replied else Kind.MENTION))
    return roles


def _addressed(tweet: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The user ids and handles a tweet addresses: its `entities.mentions` (a long post's are in its note's
    entities) and the user it replies to."""
    note = tweet.get("note_tweet") or tweet.get("note_post")
    entities = note.get("entities") if isinstance(note, dict) and note.get("entities") else tweet.get("entities")
    mentions = entities.get("mentions") if isinstance(entities, dict) else None
    mentions = [mention for mention in mentions if isinstance(mention, dict)] if isinstance(mentions, list) else []
    ids = [str(mention["id"]) for mention in mentions if mention.get("id")]
    replied_user = tweet.get("in_reply_to_user_id")
    if isinstance(replied_user, str | int) and replied_user:
        ids.append(str(replied_user))
    handles = [str(mention["username"]) for mention in mentions if mention.get("username")]
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(handles))


def _metrics(tweet: dict[str, Any]) -> dict[str, int]:
    metrics = tweet.get("public_metrics") or {}
    if not isinstance(metrics, dict):
        raise MalformedPayload("X sent public_metrics that is not an object")
    # XAA payloads duplicate every count as a `*_str` string; only the numbers are kept.
    return {name: value for name, value in metrics.items() if isinstance(value, int) and not isinstance(value, bool)}


def tweet_message(
    tweet: dict[str, Any], page: Page, *, direction: str, kind: str, fallback_handle: str = ""
) -> NormalizedMessage:
    tweet_id = required_text(tweet.get("id"), "tweet id")
    author_id = required_text(tweet.get("author_id"), "author_id")
    author = page.users.get(author_id, {})
    handle = str(author.get("username") or fallback_handle)
    text = tweet.get("text")
    note = tweet.get("note_tweet") or tweet.get("note_post")  # a long post: `text` holds its first ~280 chars
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
        text = note["text"]
    if not isinstance(text, str):
        raise MalformedPayload(f"X sent tweet {tweet_id} without text")
    addressed_ids, addressed_handles = _addressed(tweet)
    return NormalizedMessage(
        platform=PLATFORM,
        external_id=tweet_id,
        direction=direction,
        kind=kind,
        author_id=author_id,
        author_handle=handle,
        author_name=str(author.get("name") or ""),
        text=text,
        created_at=_created_at(tweet.get("created_at")),
        conversation_id=_optional_text(tweet.get("conversation_id"), "conversation_id"),
        in_reply_to_id=_replied_to(tweet),
        url=f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}",
        metrics=_metrics(tweet),
        addressed_ids=addressed_ids,
        addressed_handles=addressed_handles,
    )


def timeline_message(
    tweet: dict[str, Any], page: Page, *, stream: str, user_id: str, handle: str
) -> NormalizedMessage | None:
    """The post as the account's own (timeline stream) or as addressed to it (mentions stream), by
    `tweet_roles`; None when the rule gives it no such role (a retweet, the account mentioning itself)."""
    wanted = Direction.OUTBOUND if stream == "tweets" else Direction.INBOUND
    roles = tweet_roles(tweet, page, OrgAccounts.one(user_id=user_id, handle=handle))
    for role in roles:
        if role.direction == wanted:
            fallback = handle.strip().lstrip("@") if wanted == Direction.OUTBOUND else ""
            return tweet_message(tweet, page, direction=role.direction, kind=role.kind, fallback_handle=fallback)
    if wanted == Direction.INBOUND and not roles and not is_retweet(tweet):
        # X lists the post as addressed to the account (mentions timeline, mention event) though neither
        # the entities it sent nor a reply say so (a mention it does not render): X's word is taken.
        return tweet_message(tweet, page, direction=Direction.INBOUND, kind=Kind.MENTION)
    return None


def activity_post_message(
    post: dict[str, Any], *, includes: Any, account_user_id: str, account_handle: str
) -> NormalizedMessage | None:
    """A post delivered by the X Activity API (`post.mention.create`, `post.reply.create`) for the org account
    `account_user_id`, normalized exactly as a poll of that account would (`tweet_roles`): its own posts
    outbound (post or reply), anyone else's inbound (reply when it answers the account, else mention), and
    None for a retweet, which is neither. `in_reply_to_tweet_id` is read when a payload carries no
    `referenced_tweets`. Raises MalformedPayload."""
    if is_retweet(post):
        return None
    replied_to = post.get("in_reply_to_tweet_id")
    if replied_to and not (post.get("referenced_tweets") or post.get("referenced_posts")):
        post = {**post, "referenced_tweets": [{"type": "replied_to", "id": replied_to}]}
    page = Page({"data": [post], "includes": includes if isinstance(includes, dict) else {}, "meta": {}})
    is_own = required_text(post.get("author_id"), "author_id") == account_user_id
    message = timeline_message(
        post, page, stream="tweets" if is_own else "mentions", user_id=account_user_id, handle=account_handle
    )
    if message is None:  # only a self-mention read as a mention is dropped, and own posts are read as tweets
        raise MalformedPayload("X activity post could not be classified")
    return message
