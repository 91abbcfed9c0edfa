"""Server-rendered charts: the geometry of SVG bar charts and sparklines, computed here and drawn by
templates (`overview/_chart.html`), each with its numbers as a table for screen readers and print.
No script, no inline style (the CSP allows neither): only SVG attributes and CSS classes."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime
    from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: datetime.date
    value: float | None


@dataclasses.dataclass(frozen=True)
class BarChart:
    title: str
    unit: str  # what one value is ("messages", "minutes")
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: float

    @property
    def summary(self) -> str:
        """The text alternative: total (or mean) and the peak, with its day."""
        values = [bar.value for bar in self.bars if bar.value is not None]
        if not values:
            return f"{self.title}: no data in the period."
        peak = max(self.bars, key=lambda bar: bar.value or 0)
        return (
            f"{self.title} over {len(self.bars)} days: highest {_number(peak.value)} {self.unit} on "
            f"{peak.day:%b %-d}, lowest {_number(min(values))}."
        )


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    title: str, points: Sequence[tuple[datetime.date, float | None]], *, unit: str, width: int = 640, height: int = 140
) -> BarChart:
    """One bar per day, scaled to the highest value (a day without a value has no bar)."""
    peak = max((value for _, value in points if value is not None), default=0) or 1
    step = width / max(len(points), 1)
    gap = min(2.0, step / 4)
    bars = tuple(
        Bar(
            x=round(index * step + gap / 2, 2),
            y=round(height - (value or 0) / peak * height, 2),
            width=round(step - gap, 2),
            height=round((value or 0) / peak * height, 2),
            day=day,
            value=value,
        )
        for index, (day, value) in enumerate(points)
    )
    return BarChart(title=title, unit=unit, width=width, height=height, bars=bars, peak=peak)


def sparkline(values: Sequence[int], *, width: int = 120, height: int = 24) -> str:
    """The `points` of an SVG polyline through the values, scaled to the box (a flat line when all are 0)."""
    if not values:
        return ""
    peak = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{round(index * step, 1)},{round(height - value / peak * (height - 2) - 1, 1)}"
        for index, value in enumerate(values)
    )
