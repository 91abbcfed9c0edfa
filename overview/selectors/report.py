"""The printable unit report: what it adds to the unit page's sections (the roll-up, charts and top posts
are the unit page's own, `overview.selectors.pages`): the charts' numbers as one table, flags by severity
over the period, the accounts needing attention and the members' training status of the subtree.

The caller authorized the unit for the user (`get_unit_for_user`); the lists below are read as the user
(the registry's and monitoring's scoped selectors), narrowed to the unit's subtree.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q

from accounts_registry.models import Member, Training
from accounts_registry.selectors import training_summary, visible_members
from accounts_registry.selectors.pages import TRAINING_LABELS
from monitoring.selectors import DormantFilters, accounts_needing_attention, dormant_accounts
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    import datetime

    from accounts_registry.models import OrgUnit
    from accounts_registry.selectors import AnyUser
    from monitoring.selectors import AttentionRow, DormantRow
    from overview.periods import Period
    from overview.selectors.pages import ActivityCharts
    from overview.selectors.rollup import Rollup

# Least to most worrying; "none" is a member without any training recorded.
TRAINING_ORDER = (
    Training.Status.CURRENT.value,
    Training.Status.EXPIRING.value,
    Training.Status.EXPIRED.value,
    "none",
)


@dataclasses.dataclass(frozen=True)
class DailyLine:
    day: datetime.date
    posts: float | None
    inbound: float | None
    replies: float | None


def daily_lines(charts: ActivityCharts) -> list[DailyLine]:
    """The three charts' numbers side by side, one line per day: the report prints them as one table."""
    return [
        DailyLine(posts.day, posts.value, inbound.value, replies.value)
        for posts, inbound, replies in zip(charts.posts.bars, charts.inbound.bars, charts.replies.bars, strict=True)
    ]


@dataclasses.dataclass(frozen=True)
class SeverityLine:
    severity: str
    label: str
    open_now: int  # not reviewed yet (the roll-up's open flags)
    raised: int  # raised in the period, whatever their status now
    raised_before: int  # raised in the previous period


@dataclasses.dataclass(frozen=True)
class TrainingLine:
    member: Member
    status: str
    label: str


@dataclasses.dataclass(frozen=True)
class TrainingStatus:
    counts: list[tuple[str, str, int]]  # (status, label, members), in TRAINING_ORDER
    not_current: list[TrainingLine]  # members whose best training is not current, most worrying first


@dataclasses.dataclass(frozen=True)
class ReportLists:
    severities: list[SeverityLine]
    attention: list[AttentionRow]
    dormant: list[DormantRow]
    training: TrainingStatus


def flags_by_severity(unit: OrgUnit, figures: Rollup, period: Period, *, now: datetime.datetime) -> list[SeverityLine]:
    """Per severity: open flags now (from the roll-up) and flags raised in the period and the one before
    (one query)."""
    start, end = period.bounds(now=now)
    before_start, before_end = period.previous.bounds(now=now)
    raised = (
        PolicyFlag.objects.filter(account__unit__path__startswith=unit.path, created_at__gte=before_start)
        .values("rule__severity")
        .annotate(
            current=Count("pk", filter=Q(created_at__gte=start, created_at__lte=end)),
            before=Count("pk", filter=Q(created_at__gte=before_start, created_at__lte=before_end)),
        )
        .order_by()
    )
    by_severity: dict[str, tuple[int, int]] = {row["rule__severity"]: (row["current"], row["before"]) for row in raised}
    open_now = figures.root.figures.counts.flags
    return [
        SeverityLine(
            severity=severity.value,
            label=str(severity.label),
            open_now=open_now.get(severity.value, 0),
            raised=by_severity.get(severity.value, (0, 0))[0],
            raised_before=by_severity.get(severity.value, (0, 0))[1],
        )
        for severity in reversed(PolicyRule.Severity)  # critical first
    ]


def training_status(user: AnyUser, unit: OrgUnit, *, today: datetime.date) -> TrainingStatus:
    """The members of the subtree still in the organization, counted by their best training's status
    (`training_summary`, the unit page's), and those not current listed (two queries)."""
    members = list(
        visible_members(user)
        .filter(unit__path__startswith=unit.path, left_on__isnull=True)
        .select_related("unit")
        .prefetch_related(Prefetch("trainings", queryset=Training.objects.order_by("-completed_on")))
        .order_by("full_name", "badge_number")
    )
    summary = training_summary(members, today=today)
    statuses = {member.pk: summary.get(member.pk, "none") for member in members}
    counts = [
        (status, TRAINING_LABELS[status], sum(1 for value in statuses.values() if value == status))
        for status in TRAINING_ORDER
    ]
    rank = {status: index for index, status in enumerate(TRAINING_ORDER)}
    not_current = sorted(
        (
            TrainingLine(member, statuses[member.pk], TRAINING_LABELS[statuses[member.pk]])
            for member in members
            if statuses[member.pk] != Training.Status.CURRENT
        ),
        key=lambda line: -rank[line.status],
    )
    return TrainingStatus(counts=counts, not_current=not_current)


def report_lists(
    user: AnyUser, unit: OrgUnit, figures: Rollup, period: Period, *, now: datetime.datetime, today: datetime.date
) -> ReportLists:
    return ReportLists(
        severities=flags_by_severity(unit, figures, period, now=now),
        attention=accounts_needing_attention(user, unit, now=now),
        dormant=dormant_accounts(user, DormantFilters(unit=unit), today=today),
        training=training_status(user, unit, today=today),
    )
