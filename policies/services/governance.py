"""Daily account-level checks (governance rules): one flag per rule and account while the problem is open.

Checks (`config.check`, with their options beside it in `config`). What each one means is defined once,
in accounts_registry.governance (and monitoring.governance for dormancy), which the /org/governance/
page reads too; a rule only sets the options:
- dormant: `days` (default 30), `kinds` (account kinds, empty: all), e.g. 30 days for personal accounts,
  14 for unit accounts.
- holder_left: no options.
- training_expired: `kinds`, default personal.
- pending_too_long: `days` (default CHORUS_PENDING_GRACE_DAYS, 14).
- needs_reconnect_too_long: `days` (default CHORUS_RECONNECT_GRACE_DAYS, 7).
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
import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from accounts_registry import governance
from accounts_registry.models import SocialAccount
from monitoring import governance as monitoring_governance
from monitoring.jobs import job_run
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CheckKind:
    label: str
    options: dict[str, Any]  # accepted options and their defaults


CHECKS: dict[str, CheckKind] = {
    "dormant": CheckKind("Dormant account", {"days": monitoring_governance.DEFAULT_DORMANT_DAYS, "kinds": []}),
    "holder_left": CheckKind("Holder has left", {}),
    "training_expired": CheckKind("Holder's training expired", {"kinds": list(governance.DEFAULT_TRAINING_KINDS)}),
    # days: None, the org-wide default (settings) of accounts_registry.governance.
    "pending_too_long": CheckKind("Pending too long", {"days": None}),
    "needs_reconnect_too_long": CheckKind("Needs reconnecting too long", {"days": None}),
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


_CHECK_FUNCTIONS: dict[str, Callable[[PolicyRule, SocialAccount, _Facts], str | None]] = {
    "dormant": lambda rule, account, facts: monitoring_governance.dormant(
        account,
        today=facts.today,
        last_active=facts.last_active,
        days=_option(rule, "days"),
        kinds=_option(rule, "kinds"),
    ),
    "holder_left": lambda rule, account, facts: governance.holder_left(account, today=facts.today),
    "training_expired": lambda rule, account, facts: governance.training_expired(
        account, today=facts.today, kinds=_option(rule, "kinds")
    ),
    "pending_too_long": lambda rule, account, facts: governance.pending_too_long(
        account, now=facts.now, days=_option(rule, "days")
    ),
    "needs_reconnect_too_long": lambda rule, account, facts: governance.needs_reconnect_too_long(
        account, now=facts.now, days=_option(rule, "days")
    ),
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
    with job_run("policies_governance") as job:
        result = _run(now=now or timezone.now())
        job.detail = dataclasses.asdict(result)
    return result


def _run(*, now: datetime.datetime) -> GovernanceResult:
    rules = [
        rule
        for rule in PolicyRule.objects.filter(is_enabled=True, kind=PolicyRule.Kind.GOVERNANCE).select_related("unit")
        if rule.config.get("check") in _CHECK_FUNCTIONS
    ]
    if not rules:
        return GovernanceResult(rules=0, accounts=0, problems=0, flags_created=0)
    accounts = list(governance.accounts_to_check(SocialAccount.objects.all()).order_by("pk"))
    last_active: dict[int, datetime.date] = {}
    if any(rule.config["check"] == "dormant" for rule in rules):
        last_active = monitoring_governance.last_active_days()
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
