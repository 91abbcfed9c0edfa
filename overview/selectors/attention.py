"""What needs attention now in a subtree: the counts on top of the organization overview.

Each count uses the definition of the page it links to:
- possible emergencies waiting, questions waiting past the response target (and the oldest of them):
  the inbox's (`engagement.selectors.triage_access.items_of`, `inbox_filters.response_target`);
- critical flags not reviewed yet, and all flags not reviewed yet: the policy queue's (status open);
- accounts failing to poll, accounts needing reconnection: the health page's (`monitoring.selectors.problem_q`);
  these and the flags are the subtree's roll-up counts (`overview.selectors.rollup`), which the overview
  has already read: the same numbers as its totals, never counted a second time;
- dormant accounts: the governance rule's (`monitoring.governance.dormant`, default 30 days, counted in SQL
  by its condition `dormant_q`);
- members whose training expires within the warning window (CHORUS_TRAINING_EXPIRY_WARNING_DAYS, 30
  days): the best of their trainings is "expiring" (`accounts_registry.selectors.training_expiring_members`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts_registry.models import SocialAccount
from accounts_registry.selectors import training_expiring_members
from engagement.models import TriageItem
from engagement.selectors.inbox_filters import response_target
from engagement.selectors.triage_access import items_of
from monitoring.governance import DEFAULT_DORMANT_DAYS, dormant_q
from overview.selectors.rollup import subtree_counts
from policies.models import PolicyRule

if TYPE_CHECKING:
    import datetime

    from accounts_registry.models import OrgUnit
    from overview.selectors.rollup import Counts


@dataclasses.dataclass(frozen=True)
class Attention:
    emergencies_waiting: int
    questions_over_target: int
    oldest_question_waiting: datetime.datetime | None
    critical_flags_open: int
    flags_open: int
    accounts_failing: int
    accounts_reconnect: int
    accounts_dormant: int
    training_expiring: int
    target: datetime.timedelta

    @property
    def target_seconds(self) -> int:
        return int(self.target.total_seconds())

    @property
    def oldest_question_wait(self) -> datetime.timedelta | None:
        return None if self.oldest_question_waiting is None else timezone.now() - self.oldest_question_waiting


def attention(scope_unit: OrgUnit, counts: Counts | None = None, *, now: datetime.datetime | None = None) -> Attention:
    """The needs-attention counts of `scope_unit`'s subtree (the caller authorized the unit). `counts` are
    the subtree's roll-up counts when the caller has them (`Rollup.root`), else they are read
    (`subtree_counts`, two queries). Three queries more."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = counts if counts is not None else subtree_counts(scope_unit, now=now)
    accounts = SocialAccount.objects.filter(unit__path__startswith=scope_unit.path)
    waiting = items_of(accounts).filter(status=TriageItem.Status.WAITING)
    overdue = Q(is_question=True, created_at__lt=now - response_target())
    items = waiting.aggregate(
        emergencies=Count("pk", filter=Q(category=TriageItem.Category.EMERGENCY)),
        questions=Count("pk", filter=overdue),
        oldest=Min("created_at", filter=Q(is_question=True)),
    )
    dormant = accounts.filter(dormant_q(today=today, days=DEFAULT_DORMANT_DAYS)).count()
    return Attention(
        emergencies_waiting=items["emergencies"],
        questions_over_target=items["questions"],
        oldest_question_waiting=items["oldest"],
        critical_flags_open=counts.flags.get(PolicyRule.Severity.CRITICAL, 0),
        flags_open=counts.open_flags_total,
        accounts_failing=counts.failing_accounts,
        accounts_reconnect=counts.reconnect_accounts,
        accounts_dormant=dormant,
        training_expiring=training_expiring_members(scope_unit, today=today).count(),
        target=response_target(),
    )
