"""What the inbox is asked for: its filters, the response target and its keyset cursor (common.cursors)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from common.cursors import InvalidCursor, cursor_decode, cursor_encode, integer, moment
from engagement.models import TriageItem

if TYPE_CHECKING:
    from accounts_registry.models import OrgUnit

Status = TriageItem.Status
Priority = TriageItem.Priority


CURSOR_SALT = "engagement.inbox.cursor"


class StatusFilter:
    ALL = "all"
    CHOICES = (*((status.value, status.label) for status in Status), (ALL, "All"))


class AgeFilter:
    OVER_TARGET = "over_target"
    UNDER_1H = "1h"
    UNDER_24H = "24h"
    OLDER = "older"
    CHOICES = (
        ("", "Any age"),
        (OVER_TARGET, "Over the response target"),
        (UNDER_1H, "Less than 1 hour"),
        (UNDER_24H, "Less than 24 hours"),
        (OLDER, "Older than 24 hours"),
    )


class AssignedFilter:
    ME = "me"
    ANYONE = "anyone"
    NO_ONE = "none"
    CHOICES = (("", "Assigned or not"), (ME, "Assigned to me"), (ANYONE, "Assigned to anyone"), (NO_ONE, "Unassigned"))


class OrderFilter:
    """The order the person chose: first things first (the default), or plain age either way."""

    PRIORITY = ""
    OLDEST = "oldest"
    NEWEST = "newest"
    CHOICES = ((PRIORITY, "First things first"), (OLDEST, "Oldest first"), (NEWEST, "Newest first"))
    # Cursor segments of the plain orders, outside the priority walk's 1..3.
    SEGMENTS = {OLDEST: 0, NEWEST: 4}

    @classmethod
    def default(cls, *, search: bool) -> str:
        """First things first; a search's results newest first (as mail search does). A search cannot take
        the priority walk: each of its index ranges reads to its end when the word is not in it (a word
        in questions only reads every waiting normal item), where one range in time order stops at the
        page's last match, or is read from the trigram index when the word is rare (monitoring.search)."""
        return cls.NEWEST if search else cls.PRIORITY

    @classmethod
    def offered(cls, *, search: bool) -> list[tuple[str, str]]:
        return [(value, label) for value, label in cls.CHOICES if value or not search]


@dataclasses.dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows. Every field has a default; the form maps invalid input to the default."""

    status: str = Status.WAITING
    unit: OrgUnit | None = None
    account_id: int | None = None
    platform: str = ""
    category: str = ""
    questions_only: bool = False
    age: str = ""
    assigned: str = ""
    has_policy_flag: bool = False
    search: str = ""
    order: str = OrderFilter.PRIORITY

    def params(self) -> dict[str, str]:
        """The filters as GET parameters (defaults left out), for links that keep them."""
        values = {
            "status": self.status if self.status != Status.WAITING else "",
            "unit": str(self.unit.pk) if self.unit is not None else "",
            "account": str(self.account_id) if self.account_id is not None else "",
            "platform": self.platform,
            "category": self.category,
            "question": "1" if self.questions_only else "",
            "age": self.age,
            "assigned": self.assigned,
            "flagged": "1" if self.has_policy_flag else "",
            "q": self.search,
            "order": self.order if self.order != OrderFilter.default(search=bool(self.search)) else "",
        }
        return {name: value for name, value in values.items() if value}


@dataclasses.dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's segment, created_at and id, and the walk's cutoff."""

    segment: int
    created_at: datetime.datetime
    pk: int
    cutoff: datetime.datetime

    def encode(self) -> str:
        return cursor_encode([self.segment, self.created_at, self.pk, self.cutoff], salt=CURSOR_SALT)

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises InvalidCursor (a ValueError) for anything but an inbox cursor this server signed."""
        segment, created_at, pk, cutoff = cursor_decode(token, salt=CURSOR_SALT, length=4)
        cursor = cls(segment=integer(segment), created_at=moment(created_at), pk=integer(pk), cutoff=moment(cutoff))
        if cursor.segment not in (0, 1, 2, 3, 4):
            raise InvalidCursor("not an inbox cursor")
        return cursor


def response_target() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.CHORUS_RESPONSE_TARGET_HOURS)
