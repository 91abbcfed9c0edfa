"""Reads for the monitoring pages, always through the registry's scoped querysets."""

from __future__ import annotations

import calendar
import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts_registry.models import OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import governance_problems, unit_paths, visible_accounts, visible_units
from monitoring.governance import DEFAULT_DORMANT_DAYS, dormant, last_active_days
from monitoring.models import Message, PlatformUsage, PollState, SkippedItem
from monitoring.search import highlight, message_search
from monitoring.services.polling import STALE_AFTER_INTERVALS, effective_poll_interval, is_stale

if TYPE_CHECKING:
    import datetime

    from django.db.models import Model, QuerySet
    from django.utils.safestring import SafeString

    from accounts_registry.selectors import AnyUser


def without_private[ModelT: Model](rows: QuerySet[ModelT], *, include_private: bool) -> QuerySet[ModelT]:
    """Rows of messages (or of items pointing at one through `message`) without private (direct) messages,
    unless `include_private`: exports, digests and the API leave them out unless asked for explicitly."""
    if include_private:
        return rows
    field = "visibility" if rows.model is Message else "message__visibility"
    return rows.exclude(**{field: Message.Visibility.DIRECT})


def skipped_items(account: SocialAccount, *, limit: int = 50) -> list[SkippedItem]:
    """The account's most recent unreadable items (the caller got `account` through the access selector)."""
    return list(SkippedItem.objects.filter(account=account).order_by("-skipped_at", "-pk")[:limit])


class Problem:
    """An account's polling state on the health page; OK is "none of the problems"."""

    FAILING = "failing"
    NEEDS_RECONNECT = "needs_reconnect"
    STALE = "stale"
    OK = "ok"
    ALL = (FAILING, NEEDS_RECONNECT, STALE)
    LABELS: ClassVar[dict[str, str]] = {
        FAILING: "Failing",
        NEEDS_RECONNECT: "Needs reconnecting",
        STALE: f"Stale (no success in {STALE_AFTER_INTERVALS} intervals)",
        OK: "OK",
    }


@dataclasses.dataclass
class AccountHealth:
    account: SocialAccount
    state: PollState | None
    unit_path: str
    problems: list[str]


def _problems(
    account: SocialAccount,
    state: PollState | None,
    now: datetime.datetime,
    *,
    interval: datetime.timedelta | None = None,
) -> list[str]:
    problems = []
    if account.status == SocialAccount.Status.NEEDS_RECONNECT:
        problems.append(Problem.NEEDS_RECONNECT)
    if account.status != SocialAccount.Status.ACTIVE:
        return problems
    if state is not None and state.consecutive_failures > 0:
        problems.append(Problem.FAILING)
    if is_stale(account, state, now=now, interval=interval):
        problems.append(Problem.STALE)
    return problems


def _stale_q(now: datetime.datetime) -> Q:
    """`polling.is_stale` in SQL: per platform and kind, the effective interval (the read-budget stretch
    included) times STALE_AFTER_INTERVALS; failing or rate-limited accounts are explained, not stale."""
    explained = Q(poll_state__consecutive_failures__gt=0) | Q(poll_state__rate_limit_reset_at__gt=now)
    other_kind = next(kind for kind in SocialAccount.Kind.values if kind != SocialAccount.Kind.CORPORATE)
    # The platforms that share a cutoff (most do: only a read budget stretches one) share one branch: the
    # condition's size, which the ORM pays for at every query, stays small.
    platforms: dict[tuple[str, datetime.datetime], list[str]] = defaultdict(list)
    for platform in Platform.values:
        for kind in (SocialAccount.Kind.CORPORATE, other_kind):
            probe = SocialAccount(platform=platform, kind=kind)
            platforms[kind, now - STALE_AFTER_INTERVALS * effective_poll_interval(probe)].append(platform)
    condition = Q(pk__in=[])
    for (kind, before), names in platforms.items():
        of_kind = Q(kind=kind) if kind == SocialAccount.Kind.CORPORATE else ~Q(kind=SocialAccount.Kind.CORPORATE)
        condition |= (
            Q(platform__in=names)
            & of_kind
            & (
                Q(poll_state__last_success_at__lt=before)
                | Q(poll_state__last_success_at__isnull=True, status_changed_at__lt=before)
            )
        )
    return condition & ~explained


def problem_q(problem: str, *, now: datetime.datetime) -> Q:
    """The SQL filter on accounts of one health problem, the same definitions as `_problems` (the overview
    counts problem accounts per subtree in SQL; the health page lists them in Python; a test keeps the two
    in step)."""
    active = Q(status=SocialAccount.Status.ACTIVE)
    if problem == Problem.NEEDS_RECONNECT:
        return Q(status=SocialAccount.Status.NEEDS_RECONNECT)
    if problem == Problem.FAILING:
        return active & Q(poll_state__consecutive_failures__gt=0)
    return active & _stale_q(now)


def any_problem_q(*, now: datetime.datetime) -> Q:
    condition = Q(pk__in=[])
    for problem in Problem.ALL:
        condition |= problem_q(problem, now=now)
    return condition


@dataclasses.dataclass(frozen=True)
class HealthFilters:
    """What the accounts table is narrowed to; `unit` came through the access selector (in scope)."""

    platform: str = ""
    problem: str = ""  # a Problem value, Problem.OK for none of them, "" for every account
    unit: OrgUnit | None = None

    def keeps(self, row: AccountHealth) -> bool:
        if self.platform and row.account.platform != self.platform:
            return False
        if self.unit is not None and not row.account.unit.path.startswith(self.unit.path):
            return False
        if self.problem == Problem.OK:
            return not row.problems
        return not self.problem or self.problem in row.problems


def account_health(
    user: AnyUser, *, unit: OrgUnit | None = None, now: datetime.datetime | None = None
) -> list[AccountHealth]:
    """Every visible, non-retired account (of `unit`'s subtree when given, a unit the caller authorized) with
    its polling state and problems (three queries, plus one per platform with a read budget when the budget
    stretch is not cached)."""
    now = now or timezone.now()
    visible = visible_accounts(user)
    if unit is not None:
        visible = visible.filter(unit__path__startswith=unit.path)
    accounts = list(
        visible.exclude(status=SocialAccount.Status.RETIRED)
        .select_related("unit", "poll_state")
        .defer("credentials_ciphertext")
        .order_by("unit__path", "platform", "handle")
    )
    paths = unit_paths({account.unit for account in accounts})
    # The effective interval depends on the platform and on being corporate or not: read once for each.
    intervals: dict[tuple[str, bool], datetime.timedelta] = {}
    rows = []
    for account in accounts:
        state = getattr(account, "poll_state", None)
        kind = (account.platform, account.kind == SocialAccount.Kind.CORPORATE)
        if kind not in intervals:
            intervals[kind] = effective_poll_interval(account)
        problems = _problems(account, state, now, interval=intervals[kind])
        rows.append(AccountHealth(account, state, paths[account.unit_id], problems))
    return rows


@dataclasses.dataclass(frozen=True)
class AttentionRow:
    account: SocialAccount
    unit_path: str
    reasons: list[str]


def accounts_needing_attention(user: AnyUser, unit: OrgUnit, *, now: datetime.datetime) -> list[AttentionRow]:
    """The accounts of `unit`'s subtree (a unit the caller authorized) with a governance problem (the
    governance page's) or a polling problem (the health page's), each with its reasons: what the digests,
    the monthly report and the printable unit report list as "accounts needing attention"."""
    reasons: dict[int, list[str]] = {}
    accounts: dict[int, SocialAccount] = {}
    for problem in governance_problems(user, now=now, unit=unit):
        accounts[problem.account.pk] = problem.account
        reasons.setdefault(problem.account.pk, []).append(problem.reason)
    for health in account_health(user, unit=unit, now=now):
        if health.problems:
            accounts.setdefault(health.account.pk, health.account)
            reasons.setdefault(health.account.pk, []).extend(
                problem.replace("_", " ").capitalize() for problem in health.problems
            )
    paths = unit_paths({account.unit for account in accounts.values()})
    rows = [AttentionRow(account, paths[account.unit_id], reasons[pk]) for pk, account in accounts.items()]
    return sorted(rows, key=lambda row: (row.unit_path, row.account.platform, row.account.handle))


@dataclasses.dataclass(frozen=True)
class DormantFilters:
    """What the dormant list is narrowed to; `unit` came through the access selector (in scope)."""

    platform: str = ""
    kind: str = ""
    unit: OrgUnit | None = None


@dataclasses.dataclass(frozen=True)
class DormantRow:
    account: SocialAccount
    unit_path: str
    last_active: datetime.date | None  # the latest day it posted or replied, None if never
    reason: str


def dormant_accounts(
    user: AnyUser, filters: DormantFilters = DormantFilters(), *, today: datetime.date | None = None
) -> list[DormantRow]:
    """The visible accounts that are dormant by the governance definition (`monitoring.governance.dormant`,
    DEFAULT_DORMANT_DAYS: active, no post or reply for that long), narrowed by `filters`, by unit path then
    platform and handle. Three queries whatever the number of accounts."""
    today = today or timezone.localdate()
    accounts = visible_accounts(user).filter(status=SocialAccount.Status.ACTIVE)
    if filters.unit is not None:
        accounts = accounts.filter(unit__path__startswith=filters.unit.path)
    if filters.platform:
        accounts = accounts.filter(platform=filters.platform)
    if filters.kind:
        accounts = accounts.filter(kind=filters.kind)
    active = list(
        accounts.select_related("unit", "holder")
        .defer("credentials_ciphertext")
        .order_by("unit__path", "platform", "handle")
    )
    last_active = last_active_days([account.pk for account in active])
    found = [
        (account, reason)
        for account in active
        if (reason := dormant(account, today=today, last_active=last_active, days=DEFAULT_DORMANT_DAYS))
    ]
    paths = unit_paths({account.unit for account, _ in found})
    return [
        DormantRow(account, paths[account.unit_id], last_active.get(account.pk), reason) for account, reason in found
    ]


def never_polled_count(user: AnyUser) -> int:
    """Active accounts the user may see that no poll has read yet: the first poll (the backfill) is still
    running for them (one query)."""
    return (
        visible_accounts(user)
        .filter(status=SocialAccount.Status.ACTIVE)
        .filter(Q(poll_state__isnull=True) | Q(poll_state__last_success_at__isnull=True))
        .count()
    )


@dataclasses.dataclass
class UnitHealth:
    unit: OrgUnit
    path: str
    accounts: int = 0
    counts: dict[str, int] = dataclasses.field(default_factory=lambda: defaultdict(int))


def unit_health(user: AnyUser, rows: list[AccountHealth]) -> list[UnitHealth]:
    """Problem counts rolled up over each visible unit's subtree, for units down to the third level."""
    units = list(visible_units(user).filter(depth__lte=3).order_by("path"))
    summary = {unit.path: UnitHealth(unit, "") for unit in units}
    paths = unit_paths(units)
    for item in summary.values():
        item.path = paths[item.unit.pk]
    step = OrgUnit.steplen
    for row in rows:
        path = row.account.unit.path
        for length in range(step, len(path) + 1, step):
            ancestor = summary.get(path[:length])
            if ancestor is not None:
                ancestor.accounts += 1
                for problem in row.problems:
                    ancestor.counts[problem] += 1
    return list(summary.values())


@dataclasses.dataclass(frozen=True)
class BudgetLine:
    platform: str
    requests: int
    reads: int
    projected: int
    budget: int | None
    cost: float | None
    projected_cost: float | None


def read_budget(*, today: datetime.date | None = None) -> list[BudgetLine]:
    """This month's reads per platform, projected to the month's end, with their cost."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    elapsed = max(today.day, 1) / days_in_month
    lines = []
    for usage in PlatformUsage.objects.filter(month=month).order_by("platform"):
        projected = round(usage.reads / elapsed)
        price = settings.CHORUS_READ_PRICES.get(usage.platform)
        lines.append(
            BudgetLine(
                platform=usage.platform,
                requests=usage.requests,
                reads=usage.reads,
                projected=projected,
                budget=settings.CHORUS_READ_BUDGETS.get(usage.platform),
                cost=usage.reads * price if price is not None else None,
                projected_cost=projected * price if price is not None else None,
            )
        )
    return lines


@dataclasses.dataclass
class Thread:
    conversation_id: str
    messages: list[Message]
    search: str = ""

    @property
    def latest(self) -> datetime.datetime:
        return max(message.created_at for message in self.messages)

    @property
    def entries(self) -> list[tuple[Message, SafeString | None]]:
        """Each message with its text highlighted where the search matched (None: no search, or the
        match was the author)."""
        if not self.search:
            return [(message, None) for message in self.messages]
        return [(message, highlight(message.text, self.search, lead=None)) for message in self.messages]


def account_threads(account: SocialAccount, *, limit: int = 200, search: str = "") -> list[Thread]:
    """The account's recent messages (those addressing it too, stored under another account) grouped by
    conversation: newest thread first, oldest message first. With `search`, only the messages it finds
    (monitoring.search: inbound and the account's own posts alike), each match highlighted."""
    # Two index-ordered reads rather than one OR, which would sort every message of a busy account.
    own = Message.objects.filter(account=account)
    also = Message.objects.filter(addressees__account=account)
    if search:
        own, also = own.filter(message_search(search)), also.filter(message_search(search))
    recent = sorted(
        [*own.order_by("-created_at")[:limit], *also.order_by("-created_at")[:limit]],
        key=lambda message: message.created_at,
        reverse=True,
    )[:limit]
    threads: dict[str, Thread] = {}
    for message in reversed(recent):
        key = message.conversation_id or message.external_id
        threads.setdefault(key, Thread(key, [], search)).messages.append(message)
    return sorted(threads.values(), key=lambda thread: thread.latest, reverse=True)
