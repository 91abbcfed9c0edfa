"""The roll-up table as CSV rows: the unit's subtree in total, then each child's subtree (and the accounts
sitting on the unit itself), with the period's figures and the previous period's where the page compares
them. Written by `common.csv_export` like every export (formula-safe cells)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from overview.selectors.rollup import SEVERITIES

if TYPE_CHECKING:
    from collections.abc import Iterator

    from common.csv_export import Cell
    from overview.selectors.rollup import Rollup, UnitRollup

ROLLUP_COLUMNS = (
    "unit",
    "row",
    "period_start",
    "period_end",
    "accounts",
    "active_accounts",
    "accounts_with_problems",
    "posts",
    "posts_before",
    "replies",
    "replies_before",
    "messages_received",
    "inbound",
    "inbound_before",
    "answered",
    "waiting",
    "response_rate",
    "response_rate_before",
    "median_first_response_seconds",
    "p90_first_response_seconds",
    "within_target_share",
    *(f"open_flags_{severity}" for severity in SEVERITIES),
)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _cells(row: UnitRollup, path: str, kind: str, rollup: Rollup) -> list[Cell]:
    counts, before = row.figures.counts, row.previous.counts
    response, response_before = row.figures.response, row.previous.response
    own = row.is_own  # the unit's own accounts: the response figures are only counted per subtree
    return [
        path,
        kind,
        rollup.period.start,
        rollup.period.end,
        counts.accounts,
        counts.active_accounts,
        counts.problem_accounts,
        counts.posts,
        before.posts,
        counts.replies,
        before.replies,
        counts.messages_received,
        None if own else response.inbound,
        None if own else response_before.inbound,
        None if own else response.answered,
        None if own else response.waiting,
        None if own else _share(response.response_rate),
        None if own else _share(response_before.response_rate),
        None if own else response.median_first_response_seconds,
        None if own else response.p90_first_response_seconds,
        None if own else _share(response.within_target_share),
        *(counts.flags.get(severity, 0) for severity in SEVERITIES),
    ]


def rollup_cells(rollup: Rollup, paths: dict[int, str]) -> Iterator[list[Cell]]:
    """`paths`: unit id → its path of names (`accounts_registry.selectors.unit_paths`)."""
    yield _cells(rollup.root, paths[rollup.root.unit.pk], "total", rollup)
    for child in rollup.children:
        yield _cells(child, paths[child.unit.pk], "sub-unit", rollup)
    if rollup.own is not None:
        yield _cells(rollup.own, paths[rollup.own.unit.pk], "own accounts", rollup)
