"""Daily account-level checks (governance rules): one flag per rule and account while the problem is open.

Checks (`config.check`, with their options beside it in `config`):
- dormant: an active account with no outbound post or reply for `days` days (default 30), counted from
  its latest active day in monitoring's DailyActivity, or from its onboarding if it never posted since.
  `kinds` (account kinds, empty: all) sets it per kind: e.g. 30 days for personal, 14 for unit accounts.
- holder_left: an active account whose holder has left the organization.
- training_expired: an active account whose holder (still in the organization) has no current training
  for its platform (accounts_registry.selectors.current_training_platforms). `kinds` defaults to personal.
- pending_too_long: an account pending for more than `days` days (default 14).
- needs_reconnect_too_long: an account needing reconnection for more than `days` days (default 7).
Not available: a profile missing a required disclaimer — Chorus stores no account profile (bio), so it
cannot be checked; such a rule is refused with that reason.

Rule scope applies to accounts: platforms and unit subtree (direction does not matter).

Flags have no message. The partial unique constraint (one open or acknowledged flag per rule and
account) plus bulk_create(ignore_conflicts=True) make a re-run create nothing new. A problem that has gone
away is NOT resolved automatically: its flag stays for a human to close (the review shows the current
state of the account). Once a flag is resolved, a problem still present is raised again on the next run;
one marked false positive is not, as long as that is the latest word on it (a person said it is fine).
Every run writes a JobRun row.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from accounts_registry.models import SocialAccount, Training
from accounts_registry.selectors import current_training_platforms
from monitoring.models import DailyActivity, JobRun
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

Status = SocialAccount.Status


@dataclasses.dataclass(frozen=True)
class CheckKind:
    label: str
    options: dict[str, Any]  # accepted options and their defaults


CHECKS: dict[str, CheckKind] = {
    "dormant": CheckKind("Dormant account", {"days": 30, "kinds": []}),
    "holder_left": CheckKind("Holder has left", {}),
    "training_expired": CheckKind("Holder's training expired", {"kinds": [SocialAccount.Kind.PERSONAL.value]}),
    "pending_too_long": CheckKind("Pending too long", {"days": 14}),
    "needs_reconnect_too_long": CheckKind("Needs reconnecting too long", {"days": 7}),
}
GOVERNANCE_OPTIONS = frozenset().union(*(kind.options for kind in CHECKS.values()))
UNSUPPORTED_CHECKS = {
    "missing_disclaimer": ("Chorus does not store account profiles (bios), so a missing disclaimer cannot be checked."),
}


def governance_check_errors(check: object, options: Mapping[str, Any]) -> list[str]:
    if isinstance(check, str) and check in UNSUPPORTED_CHECKS:
        return [f"check: {UNSUPPORTED_CHECKS[check]}"]
    if not isinstance(check, str) or check not in CHECKS:
        return [f"check: “{check}” is not one of {', '.join(CHECKS)}."]
    accepted = CHECKS[check].options
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        return [
            f"{', '.join(unknown)}: not an option of the {check} check (its options: {', '.join(accepted) or 'none'})."
        ]
    errors = []
    days = options.get("days", 1)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        errors.append("days: a whole number of days between 1 and 3650.")
    kinds = options.get("kinds", [])
    if not isinstance(kinds, list) or not all(kind in SocialAccount.Kind.values for kind in kinds):
        errors.append(f"kinds: a list among {', '.join(SocialAccount.Kind.values)} (empty: all).")
    return errors


def _option(rule: PolicyRule, name: str) -> Any:
    return rule.config.get(name, CHECKS[rule.config["check"]].options[name])


@dataclasses.dataclass(frozen=True)
class _Facts:
    today: datetime.date
    now: datetime.datetime
    last_active: dict[int, datetime.date]


def _dormant(rule: PolicyRule, account: SocialAccount, facts: _Facts) -> str | None:
    kinds = _option(rule, "kinds")
    if account.status != Status.ACTIVE or (kinds and account.kind not in kinds):
        return None
    onboarded = timezone.localdate(account.onboarded_at)
    last = facts.last_active.get(account.pk)
    since = max(last, onboarded) if last is not None else onboarded
    idle = (facts.today - since).days
    if idle < _option(rule, "days"):
        return None
    if last is None or last < onboarded:
        return f"No post since it was onboarded on {onboarded} ({idle} days)."
    return f"No post since {last} ({idle} days)."


def _holder_left(rule: PolicyRule, account: SocialAccount, facts: _Facts) -> str | None:
    holder = account.holder
    if account.status != Status.ACTIVE or holder is None or not holder.has_left(facts.today):
        return None
    return f"The holder, {holder.full_name}, left the organization on {holder.left_on}; the account is still active."


def _training_expired(rule: PolicyRule, account: SocialAccount, facts: _Facts) -> str | None:
    kinds = _option(rule, "kinds")
    holder = account.holder
    if account.status != Status.ACTIVE or holder is None or holder.has_left(facts.today):
        return None
    if kinds and account.kind not in kinds:
        return None
    if account.platform in current_training_platforms(holder, today=facts.today):
        return None
    return f"{holder.full_name} has no current training for {account.get_platform_display()}."


def _status_too_long(status: str, label: str) -> Callable[[PolicyRule, SocialAccount, _Facts], str | None]:
    def check(rule: PolicyRule, account: SocialAccount, facts: _Facts) -> str | None:
        if account.status != status:
            return None
        days = _option(rule, "days")
        if account.status_changed_at > facts.now - datetime.timedelta(days=days):
            return None
        return f"{label} since {timezone.localdate(account.status_changed_at)} (more than {days} days)."

    return check


_CHECK_FUNCTIONS: dict[str, Callable[[PolicyRule, SocialAccount, _Facts], str | None]] = {
    "dormant": _dormant,
    "holder_left": _holder_left,
    "training_expired": _training_expired,
    "pending_too_long": _status_too_long(Status.PENDING, "Pending"),
    "needs_reconnect_too_long": _status_too_long(Status.NEEDS_RECONNECT, "Needs reconnecting"),
}


@dataclasses.dataclass(frozen=True)
class GovernanceResult:
    rules: int
    accounts: int
    problems: int  # found today, flagged before or not
    flags_created: int


def _applies(rule: PolicyRule, account: SocialAccount) -> bool:
    unit_path = rule.unit.path if rule.unit is not None else ""
    return (not rule.platforms or account.platform in rule.platforms) and account.unit.path.startswith(unit_path)


def governance_run(*, now: datetime.datetime | None = None) -> GovernanceResult:
    """Run every enabled governance rule over every account not retired; flag the new problems.

    Idempotent (see the module docstring). A fixed number of queries whatever the number of accounts.
    Called daily by policies.tasks.run_governance_checks; writes a JobRun row.
    """
    job = JobRun.objects.create(task="policies_governance")
    try:
        result = _run(now=now or timezone.now())
    except Exception as error:
        JobRun.objects.filter(pk=job.pk).update(
            status=JobRun.Status.FAILED, finished_at=timezone.now(), error=repr(error)[:2000]
        )
        raise
    JobRun.objects.filter(pk=job.pk).update(
        status=JobRun.Status.OK, finished_at=timezone.now(), detail=dataclasses.asdict(result)
    )
    return result


def _run(*, now: datetime.datetime) -> GovernanceResult:
    rules = [
        rule
        for rule in PolicyRule.objects.filter(is_enabled=True, kind=PolicyRule.Kind.GOVERNANCE).select_related("unit")
        if rule.config.get("check") in _CHECK_FUNCTIONS
    ]
    if not rules:
        return GovernanceResult(rules=0, accounts=0, problems=0, flags_created=0)
    accounts = list(
        SocialAccount.objects.exclude(status=Status.RETIRED)
        .select_related("unit", "holder")
        .prefetch_related(Prefetch("holder__trainings", queryset=Training.objects.order_by("-completed_on")))
        .order_by("pk")
    )
    last_active: dict[int, datetime.date] = {}
    if any(rule.config["check"] == "dormant" for rule in rules):
        last_active = dict(
            DailyActivity.objects.filter(Q(posts__gt=0) | Q(replies__gt=0))
            .values("account_id")
            .annotate(last=Max("day"))
            .values_list("account_id", "last")
        )
    facts = _Facts(today=timezone.localdate(now), now=now, last_active=last_active)
    # The latest word of a human on each (rule, account): a false positive is not raised again.
    settled = _settled_pairs(rules)
    flags = []
    problems = 0
    for rule in rules:
        check = _CHECK_FUNCTIONS[rule.config["check"]]
        for account in accounts:
            if not _applies(rule, account):
                continue
            reason = check(rule, account, facts)
            if reason is None:
                continue
            problems += 1
            if (rule.pk, account.pk) not in settled:
                flags.append(PolicyFlag(rule=rule, account=account, excerpt=reason[:500], spans=[], created_at=now))
    # ignore_conflicts: a concurrent run's flag for the same open problem wins, no duplicate.
    PolicyFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return GovernanceResult(rules=len(rules), accounts=len(accounts), problems=problems, flags_created=len(flags))


def _settled_pairs(rules: list[PolicyRule]) -> set[tuple[int, int]]:
    """(rule, account) pairs not to flag now: an open or acknowledged flag exists, or the latest flag was
    marked a false positive. One query; the latest flag of each pair wins (portable to the SQLite demo,
    and account-level flags are few: one per account and rule at most per problem)."""
    latest: dict[tuple[int, int], str] = {}
    for rule_id, account_id, status in (
        PolicyFlag.objects.filter(message__isnull=True, rule__in=rules)
        .order_by("created_at", "pk")
        .values_list("rule_id", "account_id", "status")
    ):
        latest[(rule_id, account_id)] = status
    quiet = {PolicyFlag.Status.OPEN, PolicyFlag.Status.ACKNOWLEDGED, PolicyFlag.Status.FALSE_POSITIVE}
    return {pair for pair, status in latest.items() if status in quiet}
