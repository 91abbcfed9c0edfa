"""Reads for the organization pages (tree, unit, member, governance), built on the scoped querysets of selectors.

Every function takes the acting user and starts from `visible_*`, so nothing here widens what a user may
see. Each page is served in a fixed number of queries whatever the size of the organization.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, SocialAccount, Training
from accounts_registry.selectors import (
    GovernanceProblem,
    UnitNode,
    governance_problems,
    training_expiring_members,
    training_summary,
    unit_paths,
    unit_tree,
    user_scope,
    visible_accounts,
    visible_members,
    visible_units,
)

if TYPE_CHECKING:
    import datetime

    from accounts_registry.selectors import AnyUser

TRAINING_LABELS: dict[str, str] = {
    **{status.value: str(status.label) for status in Training.Status},
    "none": "No training",
}


def unit_node(user: AnyUser, unit: OrgUnit) -> UnitNode:
    """The unit with its children and counts rolled up over its subtree (three queries)."""
    nodes = unit_tree(user, root=unit)
    return nodes[0] if nodes else UnitNode(unit=unit)


def unit_breadcrumbs(user: AnyUser, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors the user may see, outermost first (one query)."""
    step = OrgUnit.steplen
    prefixes = [unit.path[: index * step] for index in range(1, len(unit.path) // step)]
    if not prefixes:
        return []
    return list(visible_units(user).filter(path__in=prefixes).order_by("path"))


@dataclasses.dataclass(frozen=True)
class MemberRow:
    member: Member
    training_status: str
    has_left: bool

    @property
    def training_label(self) -> str:
        return TRAINING_LABELS.get(self.training_status, self.training_status)


def _member_rows(members: list[Member], *, today: datetime.date) -> list[MemberRow]:
    summary = training_summary(members, today=today)
    return [
        MemberRow(member=member, training_status=summary.get(member.pk, "none"), has_left=member.has_left(today))
        for member in members
    ]


@dataclasses.dataclass(frozen=True)
class UnitPage:
    unit: OrgUnit
    node: UnitNode
    ancestors: list[OrgUnit]
    accounts: list[SocialAccount]
    members: list[MemberRow]


def unit_page(
    user: AnyUser, unit: OrgUnit, *, today: datetime.date | None = None, training_expiring: bool = False
) -> UnitPage:
    """Everything the unit page shows, for the unit's whole subtree, in seven queries; with
    `training_expiring`, only the members whose training is expiring (`training_expiring_members`)."""
    today = today or timezone.localdate()
    subtree = {"unit__path__startswith": unit.path}
    accounts = list(
        visible_accounts(user)
        .filter(**subtree)
        .select_related("unit", "holder")
        .order_by("unit__path", "platform", "handle")
    )
    members_shown = visible_members(user).filter(**subtree)
    if training_expiring:
        members_shown = members_shown.filter(pk__in=training_expiring_members(unit, today=today).values("pk"))
    members = list(
        members_shown.select_related("unit")
        .prefetch_related(Prefetch("trainings", queryset=Training.objects.order_by("-completed_on")))
        .order_by("full_name", "badge_number")
    )
    return UnitPage(
        unit=unit,
        node=unit_node(user, unit),
        ancestors=unit_breadcrumbs(user, unit),
        accounts=accounts,
        members=_member_rows(members, today=today),
    )


@dataclasses.dataclass(frozen=True)
class TrainingRow:
    training: Training
    status: str

    @property
    def status_label(self) -> str:
        return TRAINING_LABELS.get(self.status, self.status)


@dataclasses.dataclass(frozen=True)
class MemberPage:
    member: Member
    trainings: list[TrainingRow]
    accounts: list[SocialAccount]
    can_see_unit: bool


def member_page(user: AnyUser, member: Member, *, today: datetime.date | None = None) -> MemberPage:
    """The member's trainings and the accounts they hold that the user may see (two queries)."""
    today = today or timezone.localdate()
    trainings = [
        TrainingRow(training=training, status=training.status(today).value)
        for training in Training.objects.filter(member=member).order_by("-completed_on")
    ]
    accounts = list(visible_accounts(user).filter(holder=member).select_related("unit").order_by("platform", "handle"))
    return MemberPage(
        member=member,
        trainings=trainings,
        accounts=accounts,
        can_see_unit=user_scope(user).covers(member.unit.path),
    )


def unit_move_targets(user: AnyUser, unit: OrgUnit) -> QuerySet[OrgUnit]:
    """Active units the user administers that `unit` may move under: not its own subtree, not its parent."""
    parent_path = unit.path[: -OrgUnit.steplen]
    return (
        visible_units(user)
        .filter(user_scope(user).path_q("path", write=True), is_active=True)
        .exclude(path__startswith=unit.path)
        .exclude(path=parent_path)
        .order_by("path")
    )


@dataclasses.dataclass(frozen=True)
class GovernanceRow:
    problem: GovernanceProblem
    unit_path: str

    @property
    def account(self) -> SocialAccount:
        return self.problem.account

    @property
    def reason(self) -> str:
        return self.problem.reason


GOVERNANCE_SORTS = ("unit", "reason")


def governance_rows(user: AnyUser, *, sort: str = "unit", now: datetime.datetime | None = None) -> list[GovernanceRow]:
    """Governance problems with the owning unit's path, ordered by unit path (default) or by reason.

    Three queries: accounts, their holders' trainings, and the unit path names.
    """
    problems = governance_problems(user, now=now)
    paths = unit_paths(problem.account.unit for problem in problems)
    rows = [GovernanceRow(problem=problem, unit_path=paths[problem.account.unit_id]) for problem in problems]
    if sort == "reason":
        # Stable sort: within one reason, rows keep the selector's unit-path order.
        rows.sort(key=lambda row: row.reason)
    return rows
