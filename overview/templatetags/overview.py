"""Formatting for the overview's templates: durations and shares as the insights pages print them
(engagement.views.insights), and changes against the previous period."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django import template
from django.utils import timezone

from engagement.views.insights import format_duration, format_share

if TYPE_CHECKING:
    import datetime

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    return format_duration(seconds)


@register.filter
def share(value: float | None) -> str:
    return format_share(value)


@register.filter
def waited(since: datetime.datetime | None) -> str:
    """How long ago `since` was, as a duration ("3 h 05 min")."""
    if since is None:
        return "—"
    return format_duration(max(0, int((timezone.now() - since).total_seconds())))


@dataclasses.dataclass(frozen=True)
class Change:
    direction: str  # "up", "down" or "same"; "" when there is nothing to compare
    text: str  # "+12 %" / "+3" / "-5 min"
    judgement: str  # "better", "worse" or "" (neither, or no opinion)
    previous: str


@register.inclusion_tag("overview/_change.html")
def change(current: float | None, previous: float | None, kind: str = "count", better: str = "up") -> dict[str, Change]:
    """Current against previous with its direction: `kind` is count, share or seconds; `better` says which
    way is good ("up", "down" or "" for neither)."""

    def shown_previous(value: float) -> str:
        if kind == "share":
            return format_share(value)
        if kind == "seconds":
            return format_duration(int(value))
        return f"{value:g}"

    if current is None or previous is None:
        return {"change": Change("", "", "", "—" if previous is None else shown_previous(previous))}
    delta = current - previous
    direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    if kind == "share":
        text = f"{delta * 100:+.0f} pts"
    elif kind == "seconds":
        text = ("+" if delta >= 0 else "-") + format_duration(abs(int(delta)))
    else:
        text = f"{delta:+.0f}" + (f" ({delta / previous:+.0%})" if previous else "")
    judgement = "" if direction == "same" or not better else ("better" if direction == better else "worse")
    return {"change": Change(direction, text, judgement, shown_previous(previous))}
