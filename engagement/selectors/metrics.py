"""Response metrics: how fast and how often the organization answers, per account, unit subtree or
the whole organization, and the units leaderboard. Reads only, always scoped to the acting user.

Definitions (the period is [now - period_days, now]; an item is "of the period" when the inbound
message that opened it was posted in the period):
- inbound: items of the period (one per inbound message that opened a triage item);
- questions: items of the period detected as questions;
- answered: items of the period with a public reply recorded (`answered_at`), whatever their status
  now — a person may have closed an item that was also answered;
- response_rate: answered / inbound (None when inbound == 0);
- median / p90 first response: percentiles (linear interpolation, like PostgreSQL's percentile_cont)
  of `first_response_seconds` over the answered items of the period, rounded to whole seconds;
- waiting: items of the period still waiting now;
- oldest_waiting_created_at: the oldest item waiting now in scope, of any age (not only the period);
- within_target_share: items of the period answered within settings.CHORUS_RESPONSE_TARGET_HOURS,
  divided by inbound (None when inbound == 0).

Percentiles: on PostgreSQL they are computed in the same aggregate query (`percentile_cont ... WITHIN
GROUP`, with FILTER). SQLite (the demo) has no ordered-set aggregates, so there the answered items'
response times are fetched in one more query and interpolated in Python — fine at demo scale. Either
way the number of queries does not depend on the amount of data.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Min, Q
from django.db.models.functions import Substr
from django.utils import timezone

from accounts_registry.models import OrgUnit, SocialAccount
from accounts_registry.selectors import (
    get_account_for_user,
    get_unit_for_user,
    unit_paths,
    visible_accounts,
    visible_units,
)
from engagement.models import TriageItem

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    AnyUser = User | AnonymousUser

PERIODS: dict[str, int] = {"7d": 7, "30d": 30, "90d": 90}
DEFAULT_PERIOD = "30d"


def period_days_from(value: str | None) -> int:
    """Days of a period parameter ("7d", "30d", "90d"); anything else is the default (30 days)."""
    return PERIODS.get(value or "", PERIODS[DEFAULT_PERIOD])


def period_key(period_days: int) -> str:
    """The parameter value of a period length ("30d"), the default's for an unknown length."""
    return next((key for key, days in PERIODS.items() if days == period_days), DEFAULT_PERIOD)


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Response metrics of one scope over one period. See the module docstring for definitions."""

    inbound: int
    questions: int
    answered: int
    response_rate: float | None
    median_first_response_seconds: int | None
    p90_first_response_seconds: int | None
    waiting: int
    oldest_waiting_created_at: datetime.datetime | None
    within_target_share: float | None


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `percentile_cont(f) WITHIN GROUP (ORDER BY expr)`."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        # The fraction is our own float constant, never user input, so it is safe to inline.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _database_has_percentiles() -> bool:
    return connection.vendor == "postgresql"


def percentile(sorted_values: list[int], fraction: float) -> float | None:
    """Linear-interpolation percentile of sorted values, exactly like PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


def _whole_seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclasses.dataclass(frozen=True)
class _Window:
    start: datetime.datetime
    end: datetime.datetime
    target_seconds: int

    @classmethod
    def of(cls, *, period_days: int, now: datetime.datetime | None) -> _Window:
        if period_days <= 0:
            raise ValueError("period_days must be positive")
        end = now or timezone.now()
        target_seconds = round(settings.CHORUS_RESPONSE_TARGET_HOURS * 3600)
        return cls(start=end - datetime.timedelta(days=period_days), end=end, target_seconds=target_seconds)

    @property
    def in_period(self) -> Q:
        return Q(created_at__gte=self.start, created_at__lte=self.end)

    @property
    def rows(self) -> Q:
        """Items any metric reads: those of the period, and every item waiting now (for the oldest)."""
        return self.in_period | Q(status=TriageItem.Status.WAITING)


def _aggregates(window: _Window, *, with_percentiles: bool) -> dict[str, Aggregate]:
    period = window.in_period
    responded = period & Q(first_response_seconds__isnull=False)
    aggregates: dict[str, Aggregate] = {
        "inbound": Count("pk", filter=period),
        "questions": Count("pk", filter=period & Q(is_question=True)),
        "answered": Count("pk", filter=period & Q(answered_at__isnull=False)),
        "within_target": Count("pk", filter=responded & Q(first_response_seconds__lte=window.target_seconds)),
        "waiting": Count("pk", filter=period & Q(status=TriageItem.Status.WAITING)),
        "oldest_waiting": Min("created_at", filter=Q(status=TriageItem.Status.WAITING)),
    }
    if with_percentiles:
        aggregates["median"] = PercentileCont("first_response_seconds", fraction=0.5, filter=responded)
        aggregates["p90"] = PercentileCont("first_response_seconds", fraction=0.9, filter=responded)
    return aggregates


def _metrics(row: Mapping[str, Any], response_seconds: list[int] | None = None) -> Metrics:
    """Build Metrics from one aggregate row; `response_seconds` (sorted) when percentiles were not in SQL."""
    if response_seconds is not None:
        median, p90 = percentile(response_seconds, 0.5), percentile(response_seconds, 0.9)
    else:
        median, p90 = row.get("median"), row.get("p90")
    inbound = row.get("inbound") or 0
    return Metrics(
        inbound=inbound,
        questions=row.get("questions") or 0,
        answered=row.get("answered") or 0,
        response_rate=_share(row.get("answered") or 0, inbound),
        median_first_response_seconds=_whole_seconds(median),
        p90_first_response_seconds=_whole_seconds(p90),
        waiting=row.get("waiting") or 0,
        oldest_waiting_created_at=row.get("oldest_waiting"),
        within_target_share=_share(row.get("within_target") or 0, inbound),
    )


def _scoped_items(
    user: AnyUser, *, unit: OrgUnit | int | None, account: SocialAccount | int | None
) -> QuerySet[TriageItem]:
    """Triage items of the user's visible accounts, narrowed to a visible unit's subtree or account.

    Raises Http404 when the unit or account is not visible to the user.
    """
    items = TriageItem.objects.filter(account__in=visible_accounts(user))
    if unit is not None:
        unit_pk = unit.pk if isinstance(unit, OrgUnit) else unit
        # Re-checked even for a unit object: visibility is decided here, not by the caller.
        visible_unit = get_unit_for_user(user=user, pk=unit_pk)
        items = items.filter(account__unit__path__startswith=visible_unit.path)
    if account is not None:
        account_pk = account.pk if isinstance(account, SocialAccount) else account
        items = items.filter(account=get_account_for_user(user=user, pk=account_pk))
    return items


def response_metrics(
    user: AnyUser,
    *,
    unit: OrgUnit | int | None = None,
    account: SocialAccount | int | None = None,
    period_days: int,
    now: datetime.datetime | None = None,
) -> Metrics:
    """Response metrics over the period for what the user may see: one account, one unit's subtree,
    or (neither given) everything visible to the user.

    Raises Http404 when `unit` or `account` is not visible. Queries: the user's scope (memoized per
    user object), one to check the unit/account when given, one aggregate — plus one on SQLite.
    """
    window = _Window.of(period_days=period_days, now=now)
    items = _scoped_items(user, unit=unit, account=account).filter(window.rows)
    in_sql = _database_has_percentiles()
    row = items.aggregate(**_aggregates(window, with_percentiles=in_sql))
    if in_sql:
        return _metrics(row)
    response_seconds = (
        items.filter(window.in_period, first_response_seconds__isnull=False)
        .order_by("first_response_seconds")
        .values_list("first_response_seconds", flat=True)
    )
    return _metrics(row, [seconds for seconds in response_seconds if seconds is not None])


# --- Leaderboard -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LeaderboardRow:
    unit: OrgUnit
    label: str  # the unit's human path ("Service/Division")
    metrics: Metrics


def leaderboard_levels(user: AnyUser) -> dict[int, list[str]]:
    """Tree depths the user may rank units at (1 = the service), shallowest first, each with the kinds
    of unit found there ("Division", "Station, Team"). One query."""
    kinds: dict[int, set[str]] = defaultdict(set)
    for depth, kind in visible_units(user).filter(is_active=True).values_list("depth", "kind").distinct():
        kinds[depth].add(OrgUnit.Kind(kind).label if kind in OrgUnit.Kind.values else kind)
    return {depth: sorted(kinds[depth]) for depth in sorted(kinds)}


def default_leaderboard_depth(depths: Iterable[int]) -> int | None:
    """The children of the user's top visible units, or the top units themselves if they have none."""
    depths = sorted(depths)
    if not depths:
        return None
    return depths[1] if len(depths) > 1 else depths[0]


def _rank_key(row: LeaderboardRow) -> tuple[bool, float, bool, int, str]:
    """Best first: highest response rate, then fastest median; units without data last."""
    rate = row.metrics.response_rate
    median = row.metrics.median_first_response_seconds
    return (rate is None, -(rate or 0.0), median is None, median or 0, row.label)


def units_leaderboard(
    user: AnyUser, *, period_days: int, depth: int | None = None, now: datetime.datetime | None = None
) -> list[LeaderboardRow]:
    """Every visible active unit at `depth` (default: see default_leaderboard_depth), with metrics
    rolled up over its subtree, best first.

    Items are grouped in SQL by the prefix of their account's unit path at that depth (materialized
    paths: a unit's subtree shares its path as prefix), so the percentiles are exact per subtree.
    Accounts that sit above the chosen depth (e.g. the corporate account on the service itself) belong
    to no listed unit and are left out. Queries: the scope (memoized), the depths when `depth` is not
    given, the units, their labels, one grouped aggregate — plus one on SQLite. None grow with data.
    """
    window = _Window.of(period_days=period_days, now=now)
    if depth is None:
        depth = default_leaderboard_depth(leaderboard_levels(user))
        if depth is None:
            return []
    units = list(visible_units(user).filter(is_active=True, depth=depth).order_by("path"))
    if not units:
        return []
    prefix_length = depth * OrgUnit.steplen
    items = (
        TriageItem.objects.filter(account__in=visible_accounts(user))
        .filter(window.rows)
        .annotate(unit_prefix=Substr("account__unit__path", 1, prefix_length))
        .filter(unit_prefix__in=[unit.path for unit in units])
    )
    in_sql = _database_has_percentiles()
    rows = {
        row["unit_prefix"]: row
        for row in items.values("unit_prefix")
        .annotate(**_aggregates(window, with_percentiles=in_sql))
        .order_by("unit_prefix")
    }
    response_seconds: dict[str, list[int]] | None = None
    if not in_sql:
        response_seconds = defaultdict(list)
        for prefix, seconds in (
            items.filter(window.in_period, first_response_seconds__isnull=False)
            .order_by("first_response_seconds")
            .values_list("unit_prefix", "first_response_seconds")
        ):
            if seconds is not None:
                response_seconds[prefix].append(seconds)
    labels = unit_paths(units)
    board = [
        LeaderboardRow(
            unit=unit,
            label=labels[unit.pk],
            metrics=_metrics(
                rows.get(unit.path, {}), response_seconds.get(unit.path, []) if response_seconds is not None else None
            ),
        )
        for unit in units
    ]
    return sorted(board, key=_rank_key)
