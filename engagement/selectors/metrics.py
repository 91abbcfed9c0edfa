"""Response metrics: how fast and how often the organization answers, per account, unit subtree or
the whole organization, and the units leaderboard. Reads only, always scoped to the acting user.

Definitions (the period is [now - period_days, now]; an item is "of the period" when the inbound
message that opened it was posted in the period; an item is in a scope when its message belongs to an
account of the scope — stored under it or addressing it (see monitoring.models.MessageAddressee) — so a
message addressing two accounts counts once for each account, once for each unit whose subtree holds
either, and once in the organization's total):
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
from monitoring.models import MessageAddressee, addressed_to

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

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
    def between(cls, start: datetime.datetime, end: datetime.datetime) -> _Window:
        """An arbitrary window (a custom period of the overview), with the same response target."""
        return cls(start=start, end=end, target_seconds=round(settings.CHORUS_RESPONSE_TARGET_HOURS * 3600))

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


def _aggregates(window: _Window, *, with_percentiles: bool, within: Q | None = None) -> dict[str, Aggregate]:
    """The aggregates of Metrics, over the rows matching `within` when given (one unit of a leaderboard)."""
    period = window.in_period if within is None else window.in_period & within
    responded = period & Q(first_response_seconds__isnull=False)
    aggregates: dict[str, Aggregate] = {
        "inbound": Count("pk", filter=period),
        "questions": Count("pk", filter=period & Q(is_question=True)),
        "answered": Count("pk", filter=period & Q(answered_at__isnull=False)),
        "within_target": Count("pk", filter=responded & Q(first_response_seconds__lte=window.target_seconds)),
        "waiting": Count("pk", filter=period & Q(status=TriageItem.Status.WAITING)),
        "oldest_waiting": Min(
            "created_at", filter=Q(status=TriageItem.Status.WAITING) & (within if within is not None else Q())
        ),
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
    accounts = visible_accounts(user)
    if unit is not None:
        unit_pk = unit.pk if isinstance(unit, OrgUnit) else unit
        # Re-checked even for a unit object: visibility is decided here, not by the caller.
        visible_unit = get_unit_for_user(user=user, pk=unit_pk)
        accounts = accounts.filter(unit__path__startswith=visible_unit.path)
    if account is not None:
        account_pk = account.pk if isinstance(account, SocialAccount) else account
        accounts = accounts.filter(pk=get_account_for_user(user=user, pk=account_pk).pk)
    # A message addressing several accounts counts once in every scope holding at least one of them.
    return TriageItem.objects.filter(addressed_to(accounts, message_field="message_id"))


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
    return _scope_metrics(user, window, unit=unit, account=account)


def response_metrics_between(
    user: AnyUser,
    *,
    start: datetime.datetime,
    end: datetime.datetime,
    unit: OrgUnit | int | None = None,
    account: SocialAccount | int | None = None,
) -> Metrics:
    """`response_metrics` over an arbitrary window [start, end] (the overview's periods)."""
    return _scope_metrics(user, _Window.between(start, end), unit=unit, account=account)


def _scope_metrics(
    user: AnyUser, window: _Window, *, unit: OrgUnit | int | None, account: SocialAccount | int | None
) -> Metrics:
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


def subtree_metrics(
    units: Sequence[OrgUnit], *, start: datetime.datetime, end: datetime.datetime
) -> dict[int, Metrics]:
    """Response metrics over [start, end] for each unit's whole subtree, by unit id — the definitions of
    `response_metrics` (the module docstring), so a unit's figures here equal the API's for the same
    window. The caller has authorized the units (the overview passes a visible unit and its children).

    One aggregate query with one FILTER per unit and figure (units may nest: each counts its own subtree),
    plus two on SQLite for the percentiles. A message addressing accounts of several of the units counts
    once in each of them.
    """
    units = list(units)
    if not units:
        return {}
    window = _Window.between(start, end)
    accounts = SocialAccount.objects.filter(_subtrees_q(units, "unit__path"))
    items = TriageItem.objects.filter(addressed_to(accounts, message_field="message_id")).filter(window.rows)
    in_sql = _database_has_percentiles()
    aggregates = {
        f"{index}_{name}": aggregate
        for index, unit in enumerate(units)
        for name, aggregate in _aggregates(window, with_percentiles=in_sql, within=_unit_items_q(unit)).items()
    }
    totals = items.aggregate(**aggregates)
    rows = [
        {name.split("_", 1)[1]: value for name, value in totals.items() if name.startswith(f"{index}_")}
        for index in range(len(units))
    ]
    if in_sql:
        return {unit.pk: _metrics(row) for unit, row in zip(units, rows, strict=True)}
    # SQLite (the demo): the window's response times with every unit path each item belongs to.
    answered = items.filter(window.in_period, first_response_seconds__isnull=False)
    paths: defaultdict[int, set[str]] = defaultdict(set)
    for message_id, path in MessageAddressee.objects.filter(message_id__in=answered.values("message_id")).values_list(
        "message_id", "account__unit__path"
    ):
        paths[message_id].add(path)
    seconds_by_unit: dict[int, list[int]] = {unit.pk: [] for unit in units}
    for message_id, home, seconds in answered.values_list(
        "message_id", "account__unit__path", "first_response_seconds"
    ):
        for unit in units:
            if seconds is not None and any(path.startswith(unit.path) for path in {home} | paths[message_id]):
                seconds_by_unit[unit.pk].append(seconds)
    return {unit.pk: _metrics(row, sorted(seconds_by_unit[unit.pk])) for unit, row in zip(units, rows, strict=True)}


def _subtrees_q(units: Iterable[OrgUnit], field: str) -> Q:
    condition = Q(pk__in=[])
    for unit in units:
        condition |= Q(**{f"{field}__startswith": unit.path})
    return condition


def _unit_items_q(unit: OrgUnit) -> Q:
    """Items of a unit's subtree: stored under one of its accounts, or addressing one (a filter, not a join)."""
    also = MessageAddressee.objects.filter(account__unit__path__startswith=unit.path).values("message_id")
    return Q(account__unit__path__startswith=unit.path) | Q(message_id__in=also)


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

    Items are counted in SQL per unit (one FILTER per unit and figure) by the prefix of their account's
    unit path at that depth, or by an addressed account in the unit's subtree (materialized
    paths: a unit's subtree shares its path as prefix), so the percentiles are exact per subtree.
    Accounts that sit above the chosen depth (e.g. the corporate account on the service itself) belong
    to no listed unit and are left out. Queries: the scope (memoized), the depths when `depth` is not
    given, the units, their labels, one aggregate — plus two on SQLite. None grow with data.
    """
    window = _Window.of(period_days=period_days, now=now)
    if depth is None:
        depth = default_leaderboard_depth(leaderboard_levels(user))
        if depth is None:
            return []
    units = list(visible_units(user).filter(is_active=True, depth=depth).order_by("path"))
    if not units:
        return []
    # A unit's items: those of the messages belonging to an account of its subtree (stored under it or
    # addressing it), so a message addressing accounts of two units counts in both, once in each. Home
    # accounts are matched by their unit path's prefix; the few messages addressing further accounts
    # through the addressee table. A listed unit is visible, so is every account of its subtree.
    prefix_length = depth * OrgUnit.steplen
    items = (
        TriageItem.objects.filter(addressed_to(visible_accounts(user), message_field="message_id"))
        .filter(window.rows)
        .annotate(unit_prefix=Substr("account__unit__path", 1, prefix_length))
    )
    in_sql = _database_has_percentiles()
    aggregates = {
        f"{index}_{name}": aggregate
        for index, unit in enumerate(units)
        for name, aggregate in _aggregates(
            window,
            with_percentiles=in_sql,
            within=Q(unit_prefix=unit.path)
            | Q(
                message_id__in=MessageAddressee.objects.filter(account__unit__path__startswith=unit.path).values(
                    "message_id"
                )
            ),
        ).items()
    }
    totals = items.aggregate(**aggregates)
    rows = {
        unit.path: {name.split("_", 1)[1]: value for name, value in totals.items() if name.startswith(f"{index}_")}
        for index, unit in enumerate(units)
    }
    response_seconds: dict[str, list[int]] | None = None
    if not in_sql:  # SQLite (the demo): the period's response times, each under every unit it counts in
        answered = items.filter(window.in_period, first_response_seconds__isnull=False)
        also: defaultdict[int, set[str]] = defaultdict(set)
        for message_id, prefix in (
            MessageAddressee.objects.filter(message_id__in=answered.values("message_id"))
            .annotate(prefix=Substr("account__unit__path", 1, prefix_length))
            .values_list("message_id", "prefix")
        ):
            also[message_id].add(prefix)
        response_seconds = defaultdict(list)
        for message_id, home_prefix, seconds in answered.values_list(
            "message_id", "unit_prefix", "first_response_seconds"
        ):
            for prefix in {home_prefix} | also[message_id]:
                if seconds is not None:
                    response_seconds[prefix].append(seconds)
        for values in response_seconds.values():
            values.sort()
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
