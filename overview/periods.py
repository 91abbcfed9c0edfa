"""The overview's periods: the last 7, 30 or 90 days, or a custom range of days, and the one before it.

A period is a range of whole local days, first and last included. Its window for the response metrics
runs from the local midnight starting its first day to the end of its last day (or now, if that is
earlier); the daily statistics read exactly its days. The previous period is the same number of days
just before it.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from collections.abc import Mapping

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
LONGEST_DAYS = 366


@dataclasses.dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @classmethod
    def last(cls, days: int, *, today: datetime.date | None = None) -> Period:
        """The last `days` days, today included."""
        today = today or timezone.localdate()
        return cls(start=today - datetime.timedelta(days=days - 1), end=today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> Period:
        return Period(
            start=self.start - datetime.timedelta(days=self.days), end=self.start - datetime.timedelta(days=1)
        )

    def day_list(self) -> list[datetime.date]:
        return [self.start + datetime.timedelta(days=offset) for offset in range(self.days)]

    def bounds(self, *, now: datetime.datetime | None = None) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end] datetimes of the period's window (end capped at now)."""
        now = now or timezone.now()
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.datetime.combine(self.start, datetime.time.min), tz)
        after = timezone.make_aware(
            datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time.min), tz
        )
        return start, min(now, after - datetime.timedelta(microseconds=1))

    @property
    def preset(self) -> int | None:
        """7, 30 or 90 when the period is one of the presets ending today, else None (custom)."""
        return self.days if self.days in PRESETS and self.end == timezone.localdate() else None

    def query(self) -> str:
        """The URL parameters that ask for this period again."""
        if self.preset is not None:
            return f"period={self.preset}"
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}"


def period_from(params: Mapping[str, str], *, today: datetime.date | None = None) -> Period:
    """The period a request asks for: `period=7|30|90`, or `start` and `end` (YYYY-MM-DD, at most a year,
    not in the future). Anything invalid is the default (the last 30 days), never an error."""
    today = today or timezone.localdate()
    start, end = params.get("start", ""), params.get("end", "")
    if start and end:
        try:
            first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
        except ValueError:
            pass
        else:
            if first <= last <= today and (last - first).days < LONGEST_DAYS:
                return Period(start=first, end=last)
    try:
        days = int(params.get("period", ""))
    except ValueError:
        days = DEFAULT_DAYS
    return Period.last(days if days in PRESETS else DEFAULT_DAYS, today=today)
