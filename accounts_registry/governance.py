"""What makes an account a governance problem: one definition for the whole project.

Read by the `/org/governance/` page (accounts_registry.selectors.governance_problems, with the
org-wide defaults from settings) and by the daily governance rules (policies.services.governance,
each rule with its own options). Each check takes one account (holder and trainings prefetched, see
`accounts_to_check`) and returns the reason it is a problem, or None.

- holder_left: an account not retired whose holder has left the organization.
- training_expired: an account not retired, of one of `kinds` (default: personal), whose holder (still in
  the organization) has no current training for its platform.
- pending_too_long: pending for more than `days` days (default CHORUS_PENDING_GRACE_DAYS).
- needs_reconnect_too_long: needing reconnection for more than `days` days (default
  CHORUS_RECONNECT_GRACE_DAYS); the monitoring health page shows such an account at once, governance
  lists those nobody has fixed.
Dormancy needs monitoring's activity statistics: it is defined in monitoring.governance.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts_registry.models import SocialAccount, Training

if TYPE_CHECKING:
    from collections.abc import Collection

    from accounts_registry.models import Member

Status = SocialAccount.Status
DEFAULT_TRAINING_KINDS: tuple[str, ...] = (SocialAccount.Kind.PERSONAL.value,)


def pending_grace_days() -> int:
    return int(settings.CHORUS_PENDING_GRACE_DAYS)


def reconnect_grace_days() -> int:
    return int(settings.CHORUS_RECONNECT_GRACE_DAYS)


def accounts_to_check(accounts: QuerySet[SocialAccount]) -> QuerySet[SocialAccount]:
    """The accounts governance looks at (not retired), with what every check reads: two queries."""
    return (
        accounts.exclude(status=Status.RETIRED)
        .select_related("unit", "holder")
        .prefetch_related(Prefetch("holder__trainings", queryset=Training.objects.order_by("-completed_on")))
    )


def current_training_platforms(member: Member, *, today: datetime.date | None = None) -> set[str]:
    """Platforms the member is authorized for today (uses prefetched trainings when present)."""
    return {
        platform
        for training in member.trainings.all()
        if training.status(today) != Training.Status.EXPIRED
        for platform in training.platforms
    }


def holder_left(account: SocialAccount, *, today: datetime.date) -> str | None:
    holder = account.holder
    if account.status == Status.RETIRED or holder is None or not holder.has_left(today):
        return None
    return f"The holder, {holder.full_name}, left the organization on {holder.left_on}."


def training_expired(
    account: SocialAccount, *, today: datetime.date, kinds: Collection[str] = DEFAULT_TRAINING_KINDS
) -> str | None:
    holder = account.holder
    if account.status == Status.RETIRED or holder is None or holder.has_left(today):
        return None
    if kinds and account.kind not in kinds:
        return None
    if account.platform in current_training_platforms(holder, today=today):
        return None
    return f"{holder.full_name} has no current training for {account.get_platform_display()}."


def _in_status_too_long(
    account: SocialAccount, *, status: str, label: str, now: datetime.datetime, days: int
) -> str | None:
    # "More than N days": strictly older than the cutoff.
    if account.status != status or account.status_changed_at >= now - datetime.timedelta(days=days):
        return None
    return f"{label} since {timezone.localdate(account.status_changed_at)} (more than {days} days)."


def pending_too_long(account: SocialAccount, *, now: datetime.datetime, days: int | None = None) -> str | None:
    days = pending_grace_days() if days is None else days
    return _in_status_too_long(account, status=Status.PENDING, label="Pending", now=now, days=days)


def needs_reconnect_too_long(account: SocialAccount, *, now: datetime.datetime, days: int | None = None) -> str | None:
    days = reconnect_grace_days() if days is None else days
    return _in_status_too_long(account, status=Status.NEEDS_RECONNECT, label="Needs reconnecting", now=now, days=days)


def account_problems(account: SocialAccount, *, now: datetime.datetime) -> list[tuple[str, str]]:
    """(check, reason) for every problem of one account, each check with its org-wide default."""
    today = timezone.localdate(now)
    found = {
        "holder_left": holder_left(account, today=today),
        "training_expired": training_expired(account, today=today),
        "pending_too_long": pending_too_long(account, now=now),
        "needs_reconnect_too_long": needs_reconnect_too_long(account, now=now),
    }
    return [(check, reason) for check, reason in found.items() if reason is not None]
