"""Roll-ups over the unit tree: for a unit and each of its children, figures over the whole subtree.

`rollup(scope_unit, period)` is the one function that computes them: the overview, the unit page and
(later) the digests call it. Everything is counted in SQL over the materialized paths (a subtree is one
path prefix): accounts, activity and flags are grouped by the prefix one step below the unit — its
children's paths, or the unit's own path for what sits on the unit itself — so each row of the subtree
counts exactly once in the unit and once in the child it descends from. Every figure over a period
reads at most one row per account per day.

Definitions, per subtree:
- accounts: not retired; active: status active; with problems: any health problem (failing, needs
  reconnecting, stale — `monitoring.selectors.problem_q`, the health page's definitions);
- posts, replies, messages received: sums of the accounts' daily statistics (DailyActivity) over the
  period's days, and per day for the sparkline (`monitoring.daily_sums.activity_by_day`, which the
  digests read too);
- inbound, answered, response rate, median/p90 first response, share within target, waiting, oldest
  wait: `engagement.selectors.daily_responses` — sums of the accounts' daily response statistics
  (DailyResponse) over the period's days, percentiles approximate (interpolated in fixed buckets), the
  waiting items counted live; the definitions of `engagement.selectors.metrics`, summed per account;
- open flags: flags not reviewed yet (status open), by the severity of their rule, now.

The sums of the daily rows (activity and response) are cached per day and recomputed only for the days
written since, or when the subtree's accounts moved (`monitoring.daily_sums`): the same sums, read from
the cache. Queries: seven whatever the size of the tree or of the history, five when no day changed.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

from accounts_registry.models import OrgUnit, SocialAccount
from engagement.selectors.daily_responses import ResponseTotals, grouped_responses
from engagement.selectors.metrics import Metrics
from monitoring.daily_sums import MEMBERSHIP_AGGREGATES, activity_by_day, membership_token_of
from monitoring.selectors import Problem, any_problem_q, problem_q
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    import datetime

    from overview.periods import Period

SEVERITIES = tuple(PolicyRule.Severity.values)


@dataclasses.dataclass(frozen=True)
class Day:
    day: datetime.date
    posts: int = 0
    replies: int = 0
    inbound: int = 0

    @property
    def total(self) -> int:
        return self.posts + self.replies + self.inbound


@dataclasses.dataclass(frozen=True)
class Counts:
    """The additive figures of a subtree (they sum from children into parents)."""

    accounts: int = 0
    active_accounts: int = 0
    problem_accounts: int = 0
    failing_accounts: int = 0
    reconnect_accounts: int = 0
    posts: int = 0
    replies: int = 0
    messages_received: int = 0
    open_flags: tuple[tuple[str, int], ...] = ()

    @property
    def flags(self) -> dict[str, int]:
        return dict(self.open_flags)

    @property
    def open_flags_total(self) -> int:
        return sum(number for _, number in self.open_flags)

    def __add__(self, other: Counts) -> Counts:
        flags = {severity: self.flags.get(severity, 0) + other.flags.get(severity, 0) for severity in SEVERITIES}
        return Counts(
            accounts=self.accounts + other.accounts,
            active_accounts=self.active_accounts + other.active_accounts,
            problem_accounts=self.problem_accounts + other.problem_accounts,
            failing_accounts=self.failing_accounts + other.failing_accounts,
            reconnect_accounts=self.reconnect_accounts + other.reconnect_accounts,
            posts=self.posts + other.posts,
            replies=self.replies + other.replies,
            messages_received=self.messages_received + other.messages_received,
            open_flags=tuple((severity, flags[severity]) for severity in SEVERITIES),
        )


@dataclasses.dataclass(frozen=True)
class Figures:
    counts: Counts
    response: Metrics
    daily: tuple[Day, ...]

    @property
    def daily_totals(self) -> list[int]:
        """Each day's posts, replies and messages received together (the sparkline's values)."""
        return [day.total for day in self.daily]


@dataclasses.dataclass(frozen=True)
class UnitRollup:
    unit: OrgUnit
    figures: Figures
    previous: Figures
    is_own: bool = False  # the accounts sitting on the scope unit itself, not in a child


@dataclasses.dataclass(frozen=True)
class Rollup:
    period: Period
    root: UnitRollup
    children: list[UnitRollup]
    own: UnitRollup | None  # the scope unit's own accounts, when it has any


def _empty_metrics() -> Metrics:
    return Metrics(0, 0, 0, None, None, None, 0, None, None)


def _account_counts(root: OrgUnit, key: Substr, now: datetime.datetime) -> tuple[dict[str, Counts], str]:
    """The accounts' counts per group, and the subtree's membership token (`monitoring.daily_sums`) read by
    the same query."""
    retired = Q(status=SocialAccount.Status.RETIRED)
    rows: list[Any] = list(
        SocialAccount.objects.filter(unit__path__startswith=root.path)
        .annotate(key=key)
        .values("key")
        .annotate(
            total=Count("pk", filter=~retired),
            active=Count("pk", filter=Q(status=SocialAccount.Status.ACTIVE)),
            problems=Count("pk", filter=any_problem_q(now=now) & ~retired),
            failing=Count("pk", filter=problem_q(Problem.FAILING, now=now) & ~retired),
            reconnect=Count("pk", filter=problem_q(Problem.NEEDS_RECONNECT, now=now) & ~retired),
            **MEMBERSHIP_AGGREGATES,
        )
        .order_by()
    )
    membership = membership_token_of(rows)
    counts = {
        row["key"]: Counts(
            accounts=row["total"],
            active_accounts=row["active"],
            problem_accounts=row["problems"],
            failing_accounts=row["failing"],
            reconnect_accounts=row["reconnect"],
        )
        for row in rows
        if row["total"]
    }
    return counts, membership


def _open_flags(root: OrgUnit, key: Substr) -> dict[str, dict[str, int]]:
    rows = (
        PolicyFlag.objects.filter(account__unit__path__startswith=root.path, status=PolicyFlag.Status.OPEN)
        .annotate(key=key)
        .values_list("key", "rule__severity")
        .annotate(number=Count("pk"))
        .order_by()
    )
    flags: dict[str, dict[str, int]] = defaultdict(dict)
    for group, severity, number in rows:
        flags[group][severity] = number
    return flags


def _with_flags(counts: Counts, flags: dict[str, int]) -> Counts:
    return dataclasses.replace(counts, open_flags=tuple((severity, flags.get(severity, 0)) for severity in SEVERITIES))


def subtree_counts(scope_unit: OrgUnit, *, now: datetime.datetime | None = None) -> Counts:
    """The accounts' and open flags' counts of `scope_unit`'s whole subtree (the caller authorized the unit),
    as `rollup` counts its root (without the period's activity). Two queries."""
    now = now or timezone.now()
    key_length = len(scope_unit.path)
    accounts, _ = _account_counts(scope_unit, Substr("unit__path", 1, key_length), now)
    flags = _open_flags(scope_unit, Substr("account__unit__path", 1, key_length))
    return _with_flags(accounts.get(scope_unit.path, Counts()), flags.get(scope_unit.path, {}))


DayFigures = tuple[int, int, int]  # posts, replies, inbound


def _figures(
    counts: Counts, days: dict[datetime.date, DayFigures], response: Metrics, day_list: list[datetime.date]
) -> Figures:
    empty = (0, 0, 0)
    series = tuple(Day(day, *days.get(day, empty)) for day in day_list)
    counts = dataclasses.replace(
        counts,
        posts=sum(day.posts for day in series),
        replies=sum(day.replies for day in series),
        messages_received=sum(day.inbound for day in series),
    )
    return Figures(counts=counts, response=response, daily=series)


def rollup(scope_unit: OrgUnit, period: Period, *, now: datetime.datetime | None = None) -> Rollup:
    """Figures of `scope_unit`'s subtree and of each child's subtree over `period`, with the previous
    period's for comparison. The caller has authorized `scope_unit` for the user; nothing above or beside
    it is read. Children are listed in path order (the view sorts them)."""
    now = now or timezone.now()
    root = scope_unit
    children = list(OrgUnit.objects.filter(path__startswith=root.path, depth=root.depth + 1).order_by("path"))
    key_length = len(root.path) + OrgUnit.steplen
    accounts, membership = _account_counts(root, Substr("unit__path", 1, key_length), now)
    previous = period.previous
    activity = activity_by_day(root.path, key_length, previous.start, period.end, membership=membership)
    current_days, previous_days = period.day_list(), previous.day_list()
    flags = _open_flags(root, Substr("account__unit__path", 1, key_length))
    responses = grouped_responses(
        root.path,
        key_length,
        current=(period.start, period.end),
        previous=(previous.start, previous.end),
        now=now,
        membership=membership,
    )

    def response(groups: list[str], name: str) -> Metrics:
        found = (responses[group][name] for group in groups if group in responses)
        return sum(found, ResponseTotals()).metrics()

    def group_counts(group: str) -> Counts:
        return _with_flags(accounts.get(group, Counts()), flags.get(group, {}))

    def group_rollup(
        unit: OrgUnit, groups: list[str], response: Metrics, before: Metrics, *, is_own: bool = False
    ) -> UnitRollup:
        counts = sum((group_counts(group) for group in groups), Counts())
        found = [activity[group] for group in groups if group in activity]
        days = found[0] if len(found) == 1 else {}
        if len(found) > 1:
            for group_days in found:
                for day, (posts, replies, inbound) in group_days.items():
                    seen = days.get(day, (0, 0, 0))
                    days[day] = (seen[0] + posts, seen[1] + replies, seen[2] + inbound)
        return UnitRollup(
            unit=unit,
            figures=_figures(counts, days, response, current_days),
            previous=_figures(counts, days, before, previous_days),
            is_own=is_own,
        )

    every_group = [root.path, *(child.path for child in children)]
    child_rollups = [
        group_rollup(child, [child.path], response([child.path], "current"), response([child.path], "previous"))
        for child in children
    ]
    own_present = root.path in accounts or root.path in activity or root.path in flags
    own = group_rollup(root, [root.path], _empty_metrics(), _empty_metrics(), is_own=True) if own_present else None
    return Rollup(
        period=period,
        root=group_rollup(root, every_group, response(every_group, "current"), response(every_group, "previous")),
        children=child_rollups,
        own=own,
    )
