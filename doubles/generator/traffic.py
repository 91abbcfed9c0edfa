"""The traffic generator: `ScenarioGenerator` registers the demo accounts, restores or creates their history
and adds new items on `tick()`; see the package docstring for what it writes."""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections import deque
from typing import TYPE_CHECKING

from doubles.bluesky import post_uri
from doubles.generator.people import FIRST_NAMES, LAST_NAMES, account_id_for, local_handle, public_people, tid
from doubles.generator.texts import (
    ANSWER_SHARE,
    DAYS,
    FOLLOW_UPS,
    INBOUND,
    OWN_POSTS,
    PLACES,
    PLANTED_VIOLATIONS,
    STREETS,
    TOPICS,
)
from doubles.mastodon import status_id
from doubles.scenario import Item, Person, Scenario
from doubles.x import snowflake

if TYPE_CHECKING:
    from collections.abc import Iterable

PLATFORMS = ("x", "facebook", "instagram", "bluesky", "mastodon")
BACKLOG_DAYS = 4
POST_LIFETIME = datetime.timedelta(days=5)  # inbound comments go under posts younger than this (inside backfill)


@dataclasses.dataclass(frozen=True)
class DemoAccount:
    """One registered account, as the generator needs it (built from a SocialAccount by the demo)."""

    platform: str
    handle: str
    external_id: str | None
    name: str
    token: str = dataclasses.field(default="", repr=False)  # the credential the double must accept ("" for X)
    weight: float = 1.0  # share of the new traffic it draws: the accounts demo users look at get more


@dataclasses.dataclass(frozen=True)
class PastItem:
    """An item an earlier run produced and the database stored, to be served again after a restart."""

    platform: str
    account_id: str  # the account's platform id (SocialAccount.external_id)
    id: str
    is_outbound: bool
    author_id: str
    author_handle: str
    author_name: str
    text: str
    created_at: datetime.datetime
    in_reply_to: str = ""
    conversation_id: str = ""
    likes: int = 0


@dataclasses.dataclass(frozen=True)
class _Waiting:
    """An inbound item the account will answer, with the answers that fit it."""

    item: Item
    answers: tuple[str, ...]
    lang: str


def _working_hours(moment: datetime.datetime, *, start: datetime.datetime, now: datetime.datetime) -> datetime.datetime:
    """Most of the backlog happens in the day (UTC 12:00-24:00 is 07:00-19:00 in Toronto): officers post
    and answer while on shift, so the posting-hours rules flag the odd late post, not half of them.
    The moment moves by 12 hours, but never before `start` or after `now`."""
    if moment.hour >= 12:
        return moment
    for shifted in (moment - datetime.timedelta(hours=12), moment + datetime.timedelta(hours=12)):
        if start <= shifted < now - datetime.timedelta(hours=1):
            return shifted
    return moment


# Share of an officer's posts that are planted violations.
VIOLATION_RATE = 0.07


class ScenarioGenerator:
    """Registers the accounts in the scenario, restores or creates their history, then adds traffic on `tick()`.

    Not thread-safe by itself: one thread (the demo scheduler) calls it; the scenario it writes to is.
    """

    def __init__(
        self,
        scenario: Scenario,
        accounts: Iterable[DemoAccount],
        *,
        seed: int,
        history: Iterable[PastItem] = (),
        now: datetime.datetime | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rng = random.Random(seed)
        self.public = {platform: public_people(platform, seed) for platform in PLATFORMS}
        self.targets: dict[tuple[str, str], tuple[DemoAccount, Person]] = {}  # (platform, account id) -> account
        self._posts: dict[tuple[str, str], list[Item]] = {}  # recent own top-level posts per account
        self._waiting: deque[_Waiting] = deque(maxlen=200)  # inbound items that will be answered
        self._answers: deque[tuple[Item, str]] = deque(maxlen=100)  # recent answers (and language) to reply to
        now = now or datetime.datetime.now(datetime.UTC)
        self.sync(accounts, now=now, backlog=False)
        restored = self.restore(history, now=now)
        for key in sorted(self.targets):
            if key not in restored:
                self._backlog(key, now)

    # -- accounts -------------------------------------------------------------------------------------------
    def sync(
        self, accounts: Iterable[DemoAccount], *, now: datetime.datetime | None = None, backlog: bool = True
    ) -> None:
        """Register new accounts (with a backlog: a newly connected account has a past) and current tokens."""
        now = now or datetime.datetime.now(datetime.UTC)
        for account in accounts:
            account_id = account.external_id or account_id_for(account.platform, account.handle)
            handle = local_handle(account.handle) if account.platform == "mastodon" else account.handle
            key = (account.platform, account_id)
            is_new = key not in self.targets
            person = self.scenario.add_account(account.platform, account_id, handle, account.name, account.token)
            if not account.token:
                self.scenario.tokens.pop(key, None)  # a removed credential stops working
            self.targets[key] = (account, person)
            if is_new and backlog:
                self._backlog(key, now)

    def account(self, platform: str, handle: str) -> Person | None:
        return self.scenario.account_by_handle(platform, local_handle(handle) if platform == "mastodon" else handle)

    def restore(self, history: Iterable[PastItem], *, now: datetime.datetime | None = None) -> set[tuple[str, str]]:
        """Serve stored items again (oldest first, so replies find their parents). Returns the accounts restored."""
        restored: set[tuple[str, str]] = set()
        horizon = (now or datetime.datetime.now(datetime.UTC)) - POST_LIFETIME
        for past in sorted(history, key=lambda past: (past.created_at, past.id)):
            target = self.targets.get((past.platform, past.account_id))
            if target is None:
                continue
            to = target[1]
            author = (
                to if past.is_outbound else Person(past.platform, past.author_id, past.author_handle, past.author_name)
            )
            is_comment = past.platform in ("facebook", "instagram") and bool(past.in_reply_to)
            item = Item(
                past.platform,
                past.id,
                author,
                to,
                past.text,
                past.created_at,
                in_reply_to=past.in_reply_to,
                conversation_id=past.conversation_id,
                post_id=past.conversation_id if is_comment else "",
                likes=past.likes,
            )
            self.scenario.add(item)
            restored.add((past.platform, past.account_id))
            if past.is_outbound and not past.in_reply_to and past.created_at > horizon:
                self._posts.setdefault((past.platform, to.id), []).append(item)
        for posts in self._posts.values():
            del posts[:-5]
        return restored

    # -- traffic --------------------------------------------------------------------------------------------
    def tick(self, *, now: datetime.datetime | None = None, count: int | None = None) -> list[Item]:
        """Add a few new items (posts, inbound messages, answers, follow-ups) dated `now`. Returns them."""
        now = now or datetime.datetime.now(datetime.UTC)
        added: list[Item] = []
        if not self.targets:
            return added
        for _ in range(count if count is not None else self.rng.randint(1, 4)):
            action = self.rng.choices(("inbound", "answer", "post", "follow_up", "shape"), weights=(45, 30, 12, 13, 8))[
                0
            ]
            if action == "shape":
                added += self._shape(self._pick(), now)
            elif action == "answer" and self._waiting:
                waiting = self._waiting.popleft()
                added.append(self._answer(waiting, now))
            elif action == "follow_up" and self._answers:
                added.append(self._follow_up(*self._answers.popleft(), now))
            elif action == "post":
                added.append(self._own_post(self._pick(), now))
            else:
                added += self._inbound(self._pick(), now, answer_at=None, now=now)
        return added

    def _pick(self) -> tuple[str, str]:
        """A platform first, each as likely as the others, then one of its accounts by weight: X holds most
        of the accounts, and a platform with few would otherwise go quiet for minutes in the demo."""
        platform = self.rng.choice(sorted({platform for platform, _ in self.targets}))
        keys = sorted(key for key in self.targets if key[0] == platform)
        return self.rng.choices(keys, weights=[self.targets[key][0].weight for key in keys])[0]

    def _backlog(self, key: tuple[str, str], now: datetime.datetime) -> None:
        """3-6 items over the last few days: own posts, inbound messages, answers to many of them."""
        start = now - datetime.timedelta(days=BACKLOG_DAYS)
        moments = sorted(
            _working_hours(
                start + datetime.timedelta(seconds=self.rng.randint(0, BACKLOG_DAYS * 86400 - 3600)),
                start=start,
                now=now,
            )
            for _ in range(self.rng.randint(2, 4))
        )
        self._own_post(key, moments[0])
        if self.rng.random() < 0.2:
            self._shape(key, moments[0] + datetime.timedelta(minutes=self.rng.randint(5, 60)))
        for moment in moments[1:]:
            if self.rng.random() < 0.25:
                self._own_post(key, moment)
            else:
                answer_at = moment + datetime.timedelta(minutes=self.rng.randint(4, 240))
                self._inbound(key, moment, answer_at=answer_at, now=now)

    # -- items ----------------------------------------------------------------------------------------------
    def _new_id(self, platform: str, author: Person, created_at: datetime.datetime, parent: Item | None) -> str:
        sequence = self.scenario.next_number()
        if platform == "x":
            return snowflake(created_at, sequence)
        if platform == "mastodon":
            return status_id(created_at, sequence % 0x10000)
        if platform == "bluesky":
            return post_uri(author.id, tid(created_at, sequence))
        number = f"{int(created_at.timestamp() * 1000)}{sequence % 1000:03d}"
        if platform == "instagram":
            return ("178" if parent else "179") + number
        if parent is None:  # a Page post: "{page id}_{post number}"
            return f"{author.id}_{number}"
        return f"{(parent.post_id or parent.id).split('_', 1)[-1]}_{number}"  # a comment: "{post number}_{number}"

    def _add(
        self,
        key: tuple[str, str],
        author: Person,
        text: str,
        created_at: datetime.datetime,
        *,
        parent: Item | None = None,
    ) -> Item:
        platform = key[0]
        to = self.targets[key][1]
        post_id = ""
        if parent is not None and platform in ("facebook", "instagram"):
            post_id = parent.post_id or parent.id
        likes = self.rng.randint(0, 140) if author == to and parent is None else self.rng.randint(0, 4)
        item = Item(
            platform,
            self._new_id(platform, author, created_at, parent),
            author,
            to,
            text,
            created_at,
            in_reply_to=parent.id if parent else "",
            conversation_id=(parent.conversation_id or parent.id) if parent else "",
            post_id=post_id,
            likes=likes,
        )
        return self.scenario.add(item)

    def _fill(self, template: str, key: tuple[str, str], *, first: str = "") -> str:
        day, day_fr = self.rng.choice(DAYS)
        return template.format(
            unit=self.targets[key][0].name,
            place=self.rng.choice(PLACES),
            street=self.rng.choice(STREETS),
            day=day,
            day_fr=day_fr,
            missing=f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
            first=first,
        )

    def _own_post(self, key: tuple[str, str], created_at: datetime.datetime) -> Item:
        lang = "fr" if self.rng.random() < 0.2 else "en"
        person = self.targets[key][1]
        templates = PLANTED_VIOLATIONS if self.rng.random() < VIOLATION_RATE else OWN_POSTS[lang]
        post = self._add(key, person, self._fill(self.rng.choice(templates), key), created_at)
        posts = self._posts.setdefault(key, [])
        posts.append(post)
        del posts[:-5]
        return post

    def _recent_post(self, key: tuple[str, str], now: datetime.datetime) -> Item | None:
        posts = [post for post in self._posts.get(key, []) if now - POST_LIFETIME < post.created_at < now]
        return self.rng.choice(posts) if posts else None

    def _inbound(
        self,
        key: tuple[str, str],
        created_at: datetime.datetime,
        *,
        answer_at: datetime.datetime | None,
        now: datetime.datetime,
    ) -> list[Item]:
        """A member of the public writes to the account. An answer due before `now` is added at once;
        otherwise the item joins the queue a later tick answers. Some items are never answered."""
        platform = key[0]
        account = self.targets[key][1]
        topic = self.rng.choices([name for name, _ in TOPICS], weights=[weight for _, weight in TOPICS])[0]
        lang = "fr" if "fr" in INBOUND[topic] and self.rng.random() < 0.25 else "en"
        author = self.rng.choice(self.public[platform])
        said, answers = self.rng.choice(INBOUND[topic][lang])
        text = self._fill(said, key)
        added: list[Item] = []
        parent = self._recent_post(key, created_at)
        if platform in ("facebook", "instagram"):
            if parent is None:  # comments hang under a post: the Page posts first
                # Back-dated only in the backlog: a live post older than one already polled would be missed.
                posted_at = created_at - datetime.timedelta(minutes=self.rng.randint(5, 90))
                parent = self._own_post(key, posted_at if created_at < now else created_at)
                added.append(parent)
        elif parent is None or self.rng.random() < 0.5:
            parent = None  # a mention rather than a reply to one of the account's posts
        if platform in ("x", "mastodon") or (platform == "bluesky" and parent is None):
            text = f"{self._mention(account)} {text}"
        item = self._add(key, author, text, created_at, parent=parent)
        added.append(item)
        if answers and self.rng.random() < ANSWER_SHARE[topic]:
            waiting = _Waiting(item, answers, lang)
            if answer_at is not None and answer_at < now:
                added.append(self._answer(waiting, answer_at))
            elif now - created_at < datetime.timedelta(hours=6):
                self._waiting.append(waiting)
        return added

    def _answer(self, waiting: _Waiting, created_at: datetime.datetime) -> Item:
        item = waiting.item
        key = (item.platform, item.to.id)
        first = item.author.name.split(" ", 1)[0] if "<" not in item.author.name else "there"
        text = self._fill(self.rng.choice(waiting.answers), key, first=first)
        if item.platform in ("x", "mastodon") or (item.platform == "instagram" and item.author.handle):
            text = f"{self._mention(item.author)} {text}"
        answer = self._add(key, item.to, text, max(created_at, item.created_at), parent=item)
        if self.rng.random() < 0.4:
            self._answers.append((answer, waiting.lang))
        return answer

    def _follow_up(self, answer: Item, lang: str, created_at: datetime.datetime) -> Item:
        parent = self.scenario.find(answer.platform, answer.in_reply_to)
        author = parent.author if parent is not None else self.rng.choice(self.public[answer.platform])
        text = self.rng.choice(FOLLOW_UPS[lang])
        if answer.platform in ("x", "mastodon", "bluesky"):
            text = f"{self._mention(answer.to)} {text}"
        return self._add(
            (answer.platform, answer.to.id), author, text, max(created_at, answer.created_at), parent=answer
        )

    def _shape(self, key: tuple[str, str], created_at: datetime.datetime) -> list[Item]:
        """One item of a shape the real platforms send beside plain posts and mentions (see the module doc)."""
        platform, account = key[0], self.targets[key][1]
        post = self._recent_post(key, created_at + datetime.timedelta(seconds=1))
        author = self.rng.choice(self.public[platform])
        roll = self.rng.random()
        if roll < 0.04 and platform in ("x", "bluesky", "mastodon"):  # rare: an item sent unreadable
            item = self._add(key, author, f"{self._mention(account)} hello?", created_at)
            item.broken = "bad_time"
            return [item]
        if roll < 0.04 and platform == "facebook" and post is not None:
            item = self._add(key, author, "Is anyone reading this?", created_at, parent=post)
            item.broken = "no_id"
            return [item]
        if platform in ("x", "bluesky", "mastodon") and post is not None and roll < 0.35:
            item = self._add(key, author, "", created_at)  # someone reposts the account's post
            item.repost_of = post.id
            return [item]
        if platform in ("x", "bluesky", "mastodon") and post is not None and roll < 0.65:
            text = "Is this still on?" if platform == "bluesky" else f"{self._mention(account)} is this still on?"
            item = self._add(key, author, text, created_at)
            item.quote_of = post.id
            return [item]
        if platform == "mastodon":
            street = self.rng.choice(STREETS)
            text = f"{self._mention(account)} I'd rather not say this publicly: my neighbour on {street}"
            item = self._add(key, author, text, created_at)
            item.visibility = "direct"
            return [item]
        if platform == "x":
            details = " ".join(self._fill(self.rng.choice(OWN_POSTS["en"]), key) for _ in range(4))
            return [self._add(key, account, f"Community update, in full: {details}", created_at)]
        if platform == "facebook":
            post = self._own_post(key, created_at)
            post.text = ""  # a photo post: Graph sends no `message`
            return [post]
        return [self._own_post(key, created_at)]

    @staticmethod
    def _mention(person: Person) -> str:
        return f"@{person.handle}" if person.handle else person.name
