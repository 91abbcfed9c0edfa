"""Whose home is what: the units a user's overview starts from, and a member's own page."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, SocialAccount, Training
from accounts_registry.selectors import user_scope
from engagement.models import Feedback, TriageItem
from engagement.selectors.feedback import member_feedback
from engagement.selectors.metrics import Metrics, response_metrics_between
from engagement.selectors.triage_access import items_of
from policies.models import PolicyFlag

if TYPE_CHECKING:
    import datetime

    from accounts_registry.selectors import AnyUser
    from overview.periods import Period

WAITING_SHOWN = 10
FLAGS_SHOWN = 10


def home_roots(user: AnyUser) -> list[OrgUnit]:
    """The top units of the user's read scope (their grants' units; every service for an organization-wide
    admin): each is the root of an overview, and nothing above or beside them is read. One query."""
    scope = user_scope(user)
    if scope.is_everything:
        return list(OrgUnit.objects.filter(depth=1).order_by("path"))
    if not scope.read_paths:
        return []
    return list(OrgUnit.objects.filter(path__in=scope.read_paths, is_active=True).order_by("path"))


@dataclasses.dataclass(frozen=True)
class MemberHome:
    member: Member
    accounts: list[SocialAccount]
    waiting: list[TriageItem]
    waiting_count: int
    metrics: Metrics
    previous: Metrics
    feedback: list[Feedback]
    flags: list[PolicyFlag]
    trainings: list[tuple[Training, str]]


def member_home(user: AnyUser, member: Member, period: Period, *, now: datetime.datetime | None = None) -> MemberHome:
    """A member's own accounts and what concerns them: items waiting on those accounts (oldest first),
    the response metrics of what they may see (their accounts) for the period and the one before, the
    feedback they received, flags on their accounts' posts still to be dealt with, their trainings."""
    now = now or timezone.now()
    accounts = list(
        SocialAccount.objects.filter(holder=member)
        .exclude(status=SocialAccount.Status.RETIRED)
        .order_by("platform", "handle")
    )
    waiting = items_of([account.pk for account in accounts]).filter(status=TriageItem.Status.WAITING)
    start, end = period.bounds(now=now)
    before_start, before_end = period.previous.bounds(now=now)
    today = timezone.localdate(now)
    return MemberHome(
        member=member,
        accounts=accounts,
        waiting=list(waiting.select_related("message", "account").order_by("created_at", "pk")[:WAITING_SHOWN]),
        waiting_count=waiting.count(),
        metrics=response_metrics_between(user, start=start, end=end),
        previous=response_metrics_between(user, start=before_start, end=before_end),
        feedback=member_feedback(member, limit=5),
        flags=list(
            PolicyFlag.objects.filter(
                account__holder=member, status__in=[PolicyFlag.Status.OPEN, PolicyFlag.Status.ACKNOWLEDGED]
            )
            .select_related("rule", "account")
            .order_by("-created_at")[:FLAGS_SHOWN]
        ),
        trainings=[(training, training.status(today).label) for training in member.trainings.order_by("-completed_on")],
    )
