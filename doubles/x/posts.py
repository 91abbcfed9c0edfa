"""The scenario as X shows it: posts newest first, the people, who a reply answers, the text X holds and
sends, the handles a post mentions, and the tweets and pages of a response. A mixin of `XDouble`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doubles.x.wire import (
    EXPANSIONS,
    MENTION,
    PLATFORM,
    RETWEET_TEXT_LIMIT,
    TEXT_LIMIT,
    TWEET_FIELDS,
    USER_FIELDS,
    base36,
    cut,
    field_list,
    iso,
    render_user,
)

if TYPE_CHECKING:
    from doubles.scenario import Item, Person, Scenario
    from doubles.server import Request


class PostsView:
    """Reads the scenario as X would; the double's handlers and its subclasses (the benchmarks) use it."""

    scenario: Scenario
    post_names: bool  # answer in the post-named shape of the 2026-08 spec

    # -- scenario views -------------------------------------------------------------------------------------------
    def _items(self) -> list[Item]:
        """Newest first, as X pages."""
        return sorted(self.scenario.snapshot(PLATFORM), key=lambda item: int(item.id), reverse=True)

    def _people(self) -> dict[str, Person]:
        accounts = list(self.scenario.accounts.items())
        people = {person.id: person for (platform, _), person in accounts if platform == PLATFORM}
        for item in self.scenario.snapshot(PLATFORM):
            people.setdefault(item.author.id, item.author)
        return people

    def _replied_user(self, item: Item) -> Person | None:
        if not item.in_reply_to:
            return None
        parent = self.scenario.find(PLATFORM, item.in_reply_to)
        if parent is not None:
            return parent.author
        return None if item.is_outbound else item.to  # a reply to a post the scenario does not hold

    def _full_text(self, item: Item) -> str:
        """What X holds as the post's text: a retweet is `RT @author: ` and the original's text."""
        original = self.scenario.find(PLATFORM, item.repost_of) if item.repost_of else None
        if original is not None:
            return f"RT @{original.author.handle}: {original.text}"
        if item.quote_of:
            return f"{item.text} https://t.co/{base36(int(item.quote_of) % 36**10)}"
        return item.text

    def _wire_text(self, item: Item) -> str:
        """`text` as X sends it: a retweet's original cut short, a long post cut near 280 characters."""
        if item.repost_of:
            return cut(self._full_text(item), RETWEET_TEXT_LIMIT)
        return cut(self._full_text(item), TEXT_LIMIT)

    def _mentioned_handles(self, item: Item) -> set[str]:
        """Handles an item mentions: in its text, and the author it replies to (X's implicit reply mention)."""
        handles = {handle.lower() for handle in MENTION.findall(self._full_text(item))}
        replied = self._replied_user(item)
        if replied is not None:
            handles.add(replied.handle.lower())
        return handles

    # -- rendering ------------------------------------------------------------------------------------------------
    @property
    def _referenced_key(self) -> str:
        return "referenced_posts" if self.post_names else "referenced_tweets"

    @property
    def _edit_history_key(self) -> str:
        return "edit_history_post_ids" if self.post_names else "edit_history_tweet_ids"

    def _render_tweet(self, item: Item, fields: set[str], people: dict[str, Person]) -> dict[str, Any]:
        full_text = self._full_text(item)
        tweet: dict[str, Any] = {"id": item.id, "text": self._wire_text(item), self._edit_history_key: [item.id]}
        replied = self._replied_user(item)
        if "author_id" in fields:
            tweet["author_id"] = item.author.id
        if "created_at" in fields:
            tweet["created_at"] = "yesterday" if item.broken == "bad_time" else iso(item.created_at)
        if "note_tweet" in fields and len(full_text) > TEXT_LIMIT and not item.repost_of:
            tweet["note_tweet"] = {"text": full_text}
        if "conversation_id" in fields:
            tweet["conversation_id"] = item.conversation_id or item.id
        if "in_reply_to_user_id" in fields and replied is not None:
            tweet["in_reply_to_user_id"] = replied.id
        references = [
            {"type": kind, "id": target}
            for kind, target in (
                ("replied_to", item.in_reply_to),
                ("quoted", item.quote_of),
                ("retweeted", item.repost_of),
            )
            if target
        ]
        if fields & {"referenced_tweets", "referenced_posts"} and references:
            tweet[self._referenced_key] = references
        if "public_metrics" in fields:
            replies = sum(1 for other in self.scenario.snapshot(PLATFORM) if other.in_reply_to == item.id)
            tweet["public_metrics"] = {
                "retweet_count": 0,
                "reply_count": replies,
                "like_count": item.likes,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 10 * item.likes + 7,
            }
        if "entities" in fields:
            mentions = []
            for match in MENTION.finditer(tweet["text"]):
                mention: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": match.group(1)}
                person = next((p for p in people.values() if p.handle.lower() == match.group(1).lower()), None)
                if person is not None:
                    mention["id"] = person.id
                    mention["username"] = person.handle
                mentions.append(mention)
            if mentions:
                tweet["entities"] = {"mentions": mentions}
        if "lang" in fields:
            tweet["lang"] = "en"
        return tweet

    def _render_page(self, request: Request, page: list[Item], next_token: str) -> dict[str, Any]:
        tweet_fields = field_list(request, ("tweet.fields", "post.fields"), TWEET_FIELDS)
        user_fields = field_list(request, ("user.fields",), USER_FIELDS)
        expansions = field_list(request, ("expansions",), EXPANSIONS)
        people = self._people()
        body: dict[str, Any] = {}
        if page:
            body["data"] = [self._render_tweet(item, tweet_fields, people) for item in page]
        users: dict[str, Person] = {}
        referenced: dict[str, Item] = {}
        errors: list[dict[str, Any]] = []
        for item in page:
            if "author_id" in expansions:
                users.setdefault(item.author.id, item.author)
            replied = self._replied_user(item)
            if "in_reply_to_user_id" in expansions and replied is not None:
                users.setdefault(replied.id, replied)
            wanted = expansions & {"referenced_tweets.id", "referenced_posts.id"}
            for target in (item.in_reply_to, item.quote_of, item.repost_of) if wanted else ():
                if not target:
                    continue
                parent = self.scenario.find(PLATFORM, target)
                if parent is not None:
                    referenced.setdefault(parent.id, parent)
                elif not any(error["value"] == target for error in errors):
                    # A referenced post that is gone: X answers 200 with `errors` beside `data`.
                    errors.append(
                        {
                            "value": target,
                            "detail": f"Could not find tweet with referenced_tweets.id: [{target}].",
                            "title": "Not Found Error",
                            "resource_type": "tweet",
                            "parameter": "referenced_tweets.id",
                            "resource_id": target,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    )
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = [render_user(person, user_fields) for person in users.values()]
        if referenced:
            key = "posts" if self.post_names else "tweets"
            includes[key] = [self._render_tweet(parent, tweet_fields, people) for parent in referenced.values()]
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].id
            meta["oldest_id"] = page[-1].id
        if next_token:
            meta["next_token"] = next_token
        body["meta"] = meta
        return body
