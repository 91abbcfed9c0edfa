"""A platform-neutral description of what exists on the platforms: org accounts, public users, items.

Each double renders the scenario into its own wire format. Tests build a scenario, poll it through the
connectors, and compare what was stored with `Scenario.expected(...)`.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime


@dataclasses.dataclass(frozen=True)
class Person:
    """Anyone who posts: an org account's platform identity or a member of the public."""

    platform: str
    id: str
    handle: str
    name: str


@dataclasses.dataclass
class Item:
    """One post/comment/reply/mention on a platform.

    `author` posted it. `to` is the org account it is addressed to (mentioned, replied to, commented on
    its page) or, for an org account's own post, that account. `in_reply_to` and `conversation_id` give
    the thread; `post_id` is the page post a Facebook comment hangs under.

    Shapes the real platforms send and a poll must read right:
    - `repost_of`: a retweet / reblog / repost of that item (its text is the platform's rendering, not the
      author's words): never stored, neither as the author's own post nor as addressed to anyone.
    - `quote_of`: a quote post of that item; addressed to `to` when it mentions it (Bluesky: quotes it).
    - `visibility`: Mastodon's public / unlisted / private / direct.
    - `broken`: the double sends the item unreadable (a name the double knows, e.g. "no_id", "bad_time");
      a poll records it as skipped and stores the rest.
    """

    platform: str
    id: str
    author: Person
    to: Person
    text: str
    created_at: datetime.datetime
    in_reply_to: str = ""
    conversation_id: str = ""
    post_id: str = ""
    likes: int = 0
    repost_of: str = ""
    quote_of: str = ""
    visibility: str = "public"
    broken: str = ""

    @property
    def is_outbound(self) -> bool:
        return self.author.id == self.to.id


@dataclasses.dataclass
class Scenario:
    """Thread-safe container the doubles read from while tests or the demo generator add to it."""

    accounts: dict[tuple[str, str], Person] = dataclasses.field(default_factory=dict)
    tokens: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)  # (platform, account id) -> token
    items: list[Item] = dataclasses.field(default_factory=list)
    _lock: threading.RLock = dataclasses.field(default_factory=threading.RLock, repr=False)
    _ids: itertools.count[int] = dataclasses.field(default_factory=lambda: itertools.count(1), repr=False)
    _by_id: dict[tuple[str, str], Item] = dataclasses.field(default_factory=dict, repr=False)

    def add_account(self, platform: str, id: str, handle: str, name: str, token: str = "") -> Person:
        person = Person(platform, id, handle, name)
        with self._lock:
            self.accounts[(platform, id)] = person
            if token:
                self.tokens[(platform, id)] = token
        return person

    def account_by_handle(self, platform: str, handle: str) -> Person | None:
        with self._lock:
            for person in self.accounts.values():
                if person.platform == platform and person.handle.lower() == handle.lower():
                    return person
        return None

    def add(self, item: Item) -> Item:
        with self._lock:
            if not item.conversation_id:
                parent = self.find(item.platform, item.in_reply_to) if item.in_reply_to else None
                item.conversation_id = parent.conversation_id if parent else item.id
            self.items.append(item)
            self._by_id.setdefault((item.platform, item.id), item)
        return item

    def find(self, platform: str, item_id: str) -> Item | None:
        """By id, in constant time: the doubles look parents up for every item they match or render."""
        with self._lock:
            return self._by_id.get((platform, item_id))

    def next_number(self) -> int:
        return next(self._ids)

    def snapshot(self, platform: str) -> list[Item]:
        """Items of one platform, newest first (how every platform API pages)."""
        with self._lock:
            items = [i for i in self.items if i.platform == platform]
        return sorted(items, key=lambda i: (i.created_at, i.id), reverse=True)

    def expected(self, platform: str, account_id: str) -> set[tuple[str, str]]:
        """(external id, direction) of every item a full poll of the account must store (reposts and
        unreadable items are not stored)."""
        return {
            (item.id, "outbound" if item.is_outbound else "inbound")
            for item in self.snapshot(platform)
            if item.to.id == account_id and not item.repost_of and not item.broken
        }
