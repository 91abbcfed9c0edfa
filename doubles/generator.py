"""Realistic traffic for the demo organization's accounts, written into a `Scenario` the doubles serve.

`ScenarioGenerator(scenario, accounts, seed=...)` registers each account with the identifiers its double
needs (X numeric id, Facebook Page id, Instagram business id, Bluesky DID + app password, Mastodon id +
token), restores what earlier runs produced (`history`, so a restarted demo keeps serving the posts its
database already holds) and gives every account without history a backlog over the last few days:
own posts (community updates, road closures, missing person appeals, safety tips), inbound greetings,
thanks, questions, complaints and urgent reports, in English and French, many answered by the account,
some not. `tick()` then adds a few new items each call. Now and then an item has a shape the real
platforms send and a poll must read right: a retweet or repost (never stored), a quote of the account's
post, a long X post (full text only in `note_tweet`), a private Mastodon mention (`direct`), a Facebook
photo post without text, and rarely an item the double sends unreadable (shown on the health page).
Everything comes from `random.Random(seed)`, so the same accounts, seed and clock give the same items.

Some public names and texts are hostile (`<script>`, `<b>`): they are data, escaped when rendered.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import random
import unicodedata
from collections import deque
from typing import TYPE_CHECKING

from doubles.bluesky import post_uri
from doubles.mastodon import status_id
from doubles.scenario import Item, Person, Scenario
from doubles.x import snowflake

if TYPE_CHECKING:
    from collections.abc import Iterable

PLATFORMS = ("x", "facebook", "instagram", "bluesky", "mastodon")
BACKLOG_DAYS = 4
POST_LIFETIME = datetime.timedelta(days=5)  # inbound comments go under posts younger than this (inside backfill)
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as atproto record keys use


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


# -- texts ------------------------------------------------------------------------------------------------------
STREETS = ("Queen St W", "Danforth Ave", "Kingston Rd", "Bloor St W", "Rue Saint-Denis", "Jane St", "Lakeshore Blvd")
PLACES = ("Riverdale Park", "the community centre", "Union Station", "Dufferin Mall", "the public library")
DAYS = (("Saturday", "samedi"), ("Sunday", "dimanche"), ("Friday", "vendredi"))

OWN_POSTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Join {unit} officers at {place} this {day} from 10 to 2 for a community barbecue. Everyone welcome! "
        "#CommunityPolicing",
        "ROAD CLOSURE: {street} is closed in both directions due to a collision. Please use alternate routes "
        "and expect delays. #MPSTraffic",
        "MISSING: {missing}, 14, last seen near {place} on {day} evening, wearing a blue jacket and white "
        "sneakers. Anyone with information please call 555-0142.",
        "UPDATE: {missing}, reported missing on {day}, has been located safe. Thank you for sharing.",
        "Lock it or lose it: most thefts from vehicles happen to unlocked cars. Take your valuables with you. "
        "#CrimePrevention",
        "Scam alert: police will never ask you to pay a fine in gift cards. Hang up and call us. #FraudPrevention",
        "Thank you to everyone who came out to Coffee with a Cop at {place} today. See you next month!",
        "Heavy police presence on {street} for an ongoing investigation. No risk to public safety.",
    ),
    "fr": (
        "FERMETURE : la rue {street} est fermée dans les deux sens en raison d'une collision. Merci "
        "d'emprunter un autre trajet.",
        "Conseil de prévention : verrouillez votre vélo avec un cadenas en U, même pour quelques minutes.",
        "Venez rencontrer les agents de {unit} au centre communautaire ce {day_fr} de 10 h à 14 h. Bienvenue !",
    ),
}

# Officers' posts that break the starter policy (policies/starter_policy.json), so the review queue of the
# demo has something to review: personal information, operational details, endorsements, outside links.
PLANTED_VIOLATIONS: tuple[str, ...] = (
    "Arrest made in the break-ins on {street}. Suspect born 1988-04-12, lives at 42 Maple Ave. "
    "Occurrence MPS-2026-004512.",
    "Stolen car recovered, plate CKRT 482. The owner can reach me directly at 416-555-2368.",
    "Lunch break at Tony's Pizza on {street}, best slice in the city! Tell them the officers sent you "
    "https://tonys-pizza.example.com/deal",
    "Heads up: the search warrant on {street} goes in tomorrow morning, undercover team is already in place.",
    "Questions about the collision on {street}? Email me at constable.doe@gmail.com",
)


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

# topic -> language -> (what the public writes, the answers that fit it); answers may use {first}.
Exchange = tuple[str, tuple[str, ...]]
THANKS_EN = ("Thank you, {first}! Have a great day.", "Thanks {first}, we appreciate the kind words.")
PASS_ON_EN = ("Thank you for letting us know, {first}. We'll pass this on to the officers involved.",)
INBOUND: dict[str, dict[str, tuple[Exchange, ...]]] = {
    "greeting": {
        "en": (
            ("Good morning! Thanks for everything you do 👮", THANKS_EN),
            ("Great to see officers walking the beat on {street}.", THANKS_EN),
        ),
        "fr": (
            (
                "Bonjour et merci pour votre présence au parc ce week-end !",
                ("Merci beaucoup, {first} ! Bonne journée.",),
            ),
        ),
    },
    "thanks": {
        "en": (
            ("Huge thanks to the officers who helped my mother after her fall on {street} yesterday.", PASS_ON_EN),
            ("Shout out to the constable who found my son's bike. You made his week!", PASS_ON_EN),
        ),
        "fr": (("Merci aux agents qui ont aidé mon père hier soir, rue {street}.", ("Merci {first}, on transmet !",)),),
    },
    "question": {
        "en": (
            (
                "Is the station open on Sunday? I need to pick up a police record check.",
                ("Hi {first}, the front counter is open 24/7, Sundays included. Please bring photo ID.",),
            ),
            (
                "How do I report a stolen bike online?",
                ("Hi {first}, report it at metropolice.example/report. Keep the serial number handy.",),
            ),
            (
                "Are you hiring cadets this year?",
                ("Hi {first}, recruitment details are at metropolice.example/careers. Good luck!",),
            ),
            (
                "Is {street} open again after this morning's closure?",
                ("Hi {first}, yes: all lanes reopened at noon. Thanks for your patience.",),
            ),
        ),
        "fr": (
            (
                "Est-ce que le poste est ouvert le dimanche ?",
                ("Bonjour {first}, oui : le comptoir est ouvert 24 h sur 24, dimanche compris.",),
            ),
            (
                "Comment signaler un vol de vélo en ligne ?",
                ("Bonjour {first}, rendez-vous sur metropolice.example/signaler, numéro de série en main.",),
            ),
            (
                "Bonjour, où peut-on récupérer un objet trouvé ?",
                ("Bonjour {first}, au comptoir du poste, avec une pièce d'identité.",),
            ),
        ),
    },
    "complaint": {
        "en": (
            (
                "Cars speed down {street} every night and nobody does anything. When will you enforce the limit?",
                ("Thanks for flagging this, {first}. We've passed it to our traffic team for enforcement.",),
            ),
            (
                "Waited 40 minutes on hold on the non-emergency line. Not acceptable.",
                ("Sorry about the wait, {first}. Non-emergency reports can also be made online.",),
            ),
            (
                "Why were there five cruisers parked on {street} for an hour?? Waste of our taxes.",
                ("Hi {first}, officers were assisting at a serious collision. Thanks for your patience.",),
            ),
        ),
        "fr": (
            (
                "Encore des voitures stationnées sur la piste cyclable rue {street}. Vous faites quoi ?",
                ("Merci du signalement, {first}. Nous transmettons à l'équipe de la circulation.",),
            ),
        ),
    },
    "urgent": {
        "en": (
            (
                "Someone is breaking into my car right now on {street}!!",
                ("{first}, please call 911 right now and do not approach. This account is not monitored 24/7.",),
            ),
            (
                "There's a guy trying car door handles on {street}, what do I do?",
                ("{first}, please call 911 now with a description. Do not confront him.",),
            ),
        ),
        "fr": (
            (
                "Quelqu'un est en train d'entrer par effraction dans ma voiture, rue {street} !",
                ("{first}, appelez le 911 immédiatement et n'intervenez pas vous-même.",),
            ),
        ),
    },
    "hostile": {
        "en": (
            ("<script>alert('chorus')</script> is anyone reading this?", ()),
            ("Check <img src=x onerror=alert(1)> this", ()),
        ),
    },
}
TOPICS = (("greeting", 3), ("thanks", 2), ("question", 6), ("complaint", 3), ("urgent", 1), ("hostile", 0.4))
ANSWER_SHARE = {"greeting": 0.5, "thanks": 0.6, "question": 0.8, "complaint": 0.5, "urgent": 0.95, "hostile": 0.0}
FOLLOW_UPS = {
    "en": ("Thank you!", "Thanks for the quick answer 🙏", "Still waiting for a real fix…", "👍"),
    "fr": ("Merci !", "Merci pour la réponse rapide."),
}

FIRST_NAMES = (
    "Dana", "Marc", "Sophie", "Kwame", "Lucía", "Amir", "Chloé", "Jonah", "Mei", "Tariq", "Nadia", "Étienne",
    "Priya", "Ola", "Gabriel", "Hana", "Victor", "Aisha", "Louis", "Ruth",
)  # fmt: skip
LAST_NAMES = (
    "Kowalski", "Tremblay", "Nguyen", "Mensah", "Ortega", "Haddad", "Roy", "Fischer", "Lin", "Aziz", "Gagnon",
    "Patel", "Okoro", "Bouchard", "Silva", "Kim",
)  # fmt: skip
HOSTILE_NAMES = (
    "<script>alert('xss')</script>",
    "<b>Bold Citizen</b>",
    'Eve "><img src=x onerror=alert(1)>',
    "Mallory & Sons <i>Towing</i>",
)
PUBLIC_PER_PLATFORM = 24


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:16], "big")


def account_id_for(platform: str, handle: str) -> str:
    """A stable platform id for an account that has none yet (the connector learns it on the first poll)."""
    number = _digest("account", platform, handle.lower())
    if platform == "x":
        return str(1_200_000_000_000_000_000 + number % 10**17)
    if platform == "facebook":
        return str(104_000_000_000_000 + number % 10**12)
    if platform == "instagram":
        return str(17_841_400_000_000_000 + number % 10**11)
    if platform == "bluesky":
        return "did:plc:" + _base32(number, 24)
    return str(109_000_000_000_000_000 + number % 10**15)  # mastodon


def _base32(number: int, width: int) -> str:
    text = ""
    for _ in range(width):
        number, remainder = divmod(number, 32)
        text = TID_ALPHABET[remainder] + text
    return text


def _tid(created_at: datetime.datetime, sequence: int) -> str:
    """An atproto-style record key: microseconds since the epoch, then a clock id, base32-sortable."""
    microseconds = int(created_at.timestamp() * 1_000_000)
    return _base32((microseconds << 10) | (sequence & 0x3FF), 13)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _local(handle: str) -> str:
    """Mastodon names local accounts by username alone (`acct`): MPS14Div@police.social -> MPS14Div."""
    return handle.split("@", 1)[0]


def public_people(platform: str, seed: int) -> list[Person]:
    """Members of the public who write to the accounts: the same people for the same seed."""
    rng = random.Random(f"{seed}:people:{platform}")
    people: list[Person] = []
    for number in range(PUBLIC_PER_PLATFORM):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        slug = _ascii(f"{first[0]}{last}").lower()
        name = HOSTILE_NAMES[number // 8] if number % 8 == 7 else f"{first} {last}"
        key = _digest("public", str(seed), platform, str(number))
        if platform == "x":
            person = Person(platform, str(1_600_000_000_000_000_000 + key % 10**17), f"{slug}{number}"[:15], name)
        elif platform == "facebook":
            person = Person(platform, str(100_080_000_000_000 + key % 10**12), "", name)  # Graph shows no usernames
        elif platform == "instagram":
            username = _ascii(f"{first}.{last}{number}").lower()
            person = Person(platform, str(17_841_500_000_000_000 + key % 10**11), username, name)
        elif platform == "bluesky":
            person = Person(platform, "did:plc:" + _base32(key, 24), f"{slug}{number}.bsky.social", name)
        else:
            instance = ("mastodon.social", "mstdn.ca", "piaille.fr")[number % 3]
            person = Person(platform, str(110_000_000_000_000_000 + key % 10**15), f"{slug}{number}@{instance}", name)
        people.append(person)
    return people


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
            handle = _local(account.handle) if account.platform == "mastodon" else account.handle
            key = (account.platform, account_id)
            is_new = key not in self.targets
            person = self.scenario.add_account(account.platform, account_id, handle, account.name, account.token)
            if not account.token:
                self.scenario.tokens.pop(key, None)  # a removed credential stops working
            self.targets[key] = (account, person)
            if is_new and backlog:
                self._backlog(key, now)

    def account(self, platform: str, handle: str) -> Person | None:
        return self.scenario.account_by_handle(platform, _local(handle) if platform == "mastodon" else handle)

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
            return post_uri(author.id, _tid(created_at, sequence))
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
