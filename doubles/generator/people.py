"""Who is in the demo's traffic: stable platform ids for accounts that have none yet, atproto record keys,
and the members of the public who write to the accounts (some with hostile names), the same for a seed."""

from __future__ import annotations

import hashlib
import random
import unicodedata
from typing import TYPE_CHECKING

from doubles.scenario import Person

if TYPE_CHECKING:
    import datetime

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as atproto record keys use
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


def tid(created_at: datetime.datetime, sequence: int) -> str:
    """An atproto-style record key: microseconds since the epoch, then a clock id, base32-sortable."""
    microseconds = int(created_at.timestamp() * 1_000_000)
    return _base32((microseconds << 10) | (sequence & 0x3FF), 13)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def local_handle(handle: str) -> str:
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
