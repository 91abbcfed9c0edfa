"""Dormancy: the governance check that needs monitoring's activity statistics (the others are in
accounts_registry.governance, which owns the data they read).

dormant: an active account with no outbound post or reply for `days` days or more, counted from its
latest active day in DailyActivity, or from its onboarding if it has not posted since. Only active
accounts: a paused or pending account is not expected to post.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from accounts_registry.models import SocialAccount
from monitoring.models import DailyActivity

if TYPE_CHECKING:
    from collections.abc import Collection

DEFAULT_DORMANT_DAYS = 30


def last_active_days(account_ids: Collection[int] | None = None) -> dict[int, datetime.date]:
    """Per account id (of `account_ids`, or every account): the latest day it posted or replied. One query."""
    rows = DailyActivity.objects.filter(Q(posts__gt=0) | Q(replies__gt=0))
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    return dict(rows.values("account_id").annotate(last=Max("day")).values_list("account_id", "last"))


def dormant(
    account: SocialAccount,
    *,
    today: datetime.date,
    last_active: dict[int, datetime.date],
    days: int = DEFAULT_DORMANT_DAYS,
    kinds: Collection[str] = (),
) -> str | None:
    if account.status != SocialAccount.Status.ACTIVE or (kinds and account.kind not in kinds):
        return None
    onboarded = timezone.localdate(account.onboarded_at)
    last = last_active.get(account.pk)
    since = max(last, onboarded) if last is not None else onboarded
    idle = (today - since).days
    if idle < days:
        return None
    if last is None or last < onboarded:
        return f"No post since it was onboarded on {onboarded} ({idle} days)."
    return f"No post since {last} ({idle} days)."


def dormant_q(*, today: datetime.date, days: int = DEFAULT_DORMANT_DAYS) -> Q:
    """`dormant` as a condition on SocialAccount, for counting in SQL (kinds aside): active, onboarded at
    least `days` days ago, and no active day (a post or a reply) since then."""
    cutoff = today - datetime.timedelta(days=days)
    after_cutoff = timezone.make_aware(
        datetime.datetime.combine(cutoff + datetime.timedelta(days=1), datetime.time.min),
        timezone.get_current_timezone(),
    )
    active_since = DailyActivity.objects.filter(account=OuterRef("pk"), day__gt=cutoff).filter(
        Q(posts__gt=0) | Q(replies__gt=0)
    )
    return Q(Q(status=SocialAccount.Status.ACTIVE, onboarded_at__lt=after_cutoff), ~Exists(active_since))
