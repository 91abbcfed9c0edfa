"""Sorting the overview's rows by any column (`?sort=<column>&dir=asc|desc`); rows without a value last."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from overview.selectors.rollup import UnitRollup


def _oldest_wait(row: UnitRollup) -> float | None:
    oldest = row.figures.response.oldest_waiting_created_at
    return None if oldest is None else -oldest.timestamp()  # older is a longer wait


COLUMNS: dict[str, Callable[[UnitRollup], float | str | None]] = {
    "name": lambda row: row.unit.name.lower(),
    "accounts": lambda row: row.figures.counts.accounts,
    "problems": lambda row: row.figures.counts.problem_accounts,
    "posts": lambda row: row.figures.counts.posts,
    "inbound": lambda row: row.figures.response.inbound,
    "replies": lambda row: row.figures.counts.replies,
    "waiting": lambda row: row.figures.response.waiting,
    "oldest": _oldest_wait,
    "rate": lambda row: row.figures.response.response_rate,
    "median": lambda row: row.figures.response.median_first_response_seconds,
    "p90": lambda row: row.figures.response.p90_first_response_seconds,
    "within": lambda row: row.figures.response.within_target_share,
    "flags": lambda row: row.figures.counts.open_flags_total,
}
DEFAULT = "name"


def sort_from(params: Mapping[str, str]) -> tuple[str, bool]:
    """(column, descending) from the request; an unknown column is the default (by name, ascending)."""
    sort = params.get("sort", DEFAULT)
    if sort not in COLUMNS:
        return DEFAULT, False
    return sort, params.get("dir") == "desc"


def sorted_rows(rows: list[UnitRollup], *, sort: str, descending: bool) -> list[UnitRollup]:
    key = COLUMNS[sort]
    present = [row for row in rows if key(row) is not None]
    missing = [row for row in rows if key(row) is None]
    present.sort(key=lambda row: (key(row), row.unit.path), reverse=descending)
    return present + missing
