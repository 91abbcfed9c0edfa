"""What each kind of alert says and who gets it. One builder per kind; each reads what it needs for all
its events in a constant number of queries (recipients through `alerts.recipients`).

- Possible emergency waiting → the roles the capabilities table gives `emergency.receive` (comms managers)
  covering the account (and the webhook).
- Account needs reconnecting, or failing for more than CHORUS_ALERT_FAILING_POLLS polls in a row → its
  holder and the admins of its unit.
- Training expiring within CHORUS_TRAINING_EXPIRY_WARNING_DAYS, or expired → the member and their
  supervisors.
- Critical policy flag → the roles with `flag.receive` (supervisors, comms managers) covering the
  account (and the webhook).

Event keys name the incident, so a new incident alerts again: an account reconnected and broken again
has a new `status_changed_at`, a failing streak is counted from the last success.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from accounts_registry.capabilities import Action, roles_allowing
from accounts_registry.models import Role
from alerts.models import AlertKind
from alerts.recipients import grantees_covering
from alerts.services.deliveries import AlertEvent

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from accounts_registry.models import SocialAccount, Training
    from engagement.models import TriageItem
    from monitoring.models import PollState
    from policies.models import PolicyFlag

EXCERPT_IN_ALERT = 200


def _excerpt(text: str) -> str:
    return " ".join(text.split())[:EXCERPT_IN_ALERT]


def _link(name: str, pk: int) -> str:
    return f"{settings.CHORUS_SITE_URL.rstrip('/')}{reverse(name, args=[pk])}"


def _account_label(account: SocialAccount) -> str:
    return f"{account.get_platform_display()} {account.handle}"


def emergency_events(items: Iterable[TriageItem]) -> list[AlertEvent]:
    """Items with `account__unit` and `message` selected."""
    items = list(items)
    managers = grantees_covering({item.account.unit.path for item in items}, roles_allowing(Action.EMERGENCY_RECEIVE))
    return [
        AlertEvent(
            kind=AlertKind.EMERGENCY,
            key=f"triage:{item.pk}",
            unit=item.account.unit,
            subject=f"Chorus: possible emergency waiting on {_account_label(item.account)}",
            body=(
                f"{item.message.author_handle} wrote to {_account_label(item.account)}:\n"
                f"{_excerpt(item.message.text)}\n\nOpen it: {_link('inbox:item', item.pk)}\n"
                "If someone may be in danger, tell them to call 911 now."
            ),
            user_ids=frozenset(managers[item.account.unit.path]),
        )
        for item in items
    ]


def critical_flag_events(flags: Iterable[PolicyFlag]) -> list[AlertEvent]:
    """Flags with `rule` and `account__unit` selected."""
    flags = list(flags)
    reviewers = grantees_covering(
        {flag.account.unit.path for flag in flags}, roles_allowing(Action.CRITICAL_FLAG_RECEIVE)
    )
    return [
        AlertEvent(
            kind=AlertKind.CRITICAL_FLAG,
            key=f"flag:{flag.pk}",
            unit=flag.account.unit,
            subject=f"Chorus: critical policy flag on {_account_label(flag.account)}",
            body=(
                f"[{flag.rule.name}] {_account_label(flag.account)}: {_excerpt(flag.excerpt)}\n\n"
                f"Review it: {_link('policies:flag', flag.pk)}"
            ),
            user_ids=frozenset(reviewers[flag.account.unit.path]),
        )
        for flag in flags
    ]


def _holder_user(account: SocialAccount) -> set[int]:
    holder = account.holder
    user = holder.user if holder is not None else None
    return {user.pk} if user is not None and user.is_active and user.email else set()


def account_problem_events(reconnect: Iterable[SocialAccount], failing: Iterable[PollState]) -> list[AlertEvent]:
    """Accounts needing reconnection, and poll states of failing accounts (`account__unit`,
    `account__holder__user` selected)."""
    reconnect = list(reconnect)
    failing = list(failing)
    accounts = reconnect + [state.account for state in failing]
    admins = grantees_covering({account.unit.path for account in accounts}, roles_allowing(Action.ACCOUNT_ADMIN))
    events = []
    for account in reconnect:
        events.append(
            AlertEvent(
                kind=AlertKind.ACCOUNT_PROBLEM,
                key=f"reconnect:{account.pk}:{account.status_changed_at.isoformat()}",
                unit=account.unit,
                subject=f"Chorus: {_account_label(account)} needs reconnecting",
                body=(
                    f"{_account_label(account)} can no longer be read and needs reconnecting"
                    f"{': ' + account.status_reason if account.status_reason else '.'}\n\n"
                    f"Open it: {_link('registry:account', account.pk)}"
                ),
                user_ids=frozenset(admins[account.unit.path] | _holder_user(account)),
            )
        )
    for state in failing:
        account = state.account
        since = state.last_success_at.isoformat() if state.last_success_at else "never"
        events.append(
            AlertEvent(
                kind=AlertKind.ACCOUNT_PROBLEM,
                key=f"failing:{account.pk}:{since}",
                unit=account.unit,
                subject=f"Chorus: {_account_label(account)} keeps failing to poll",
                body=(
                    f"The last {state.consecutive_failures} polls of {_account_label(account)} failed"
                    f" ({state.get_last_error_kind_display() or 'error'}).\n\n"
                    f"Open the health page: {settings.CHORUS_SITE_URL.rstrip('/')}{reverse('monitoring:health')}"
                ),
                user_ids=frozenset(admins[account.unit.path] | _holder_user(account)),
            )
        )
    return events


def training_events(trainings: Iterable[Training], *, today: datetime.date) -> list[AlertEvent]:
    """Trainings expiring soon or expired (`member__unit`, `member__user` selected)."""
    trainings = list(trainings)
    supervisors = grantees_covering({training.member.unit.path for training in trainings}, [Role.SUPERVISOR])
    events = []
    for training in trainings:
        member = training.member
        expired = training.expires_on is not None and training.expires_on < today
        user = member.user
        own = {user.pk} if user is not None and user.is_active and user.email else set()
        state = "expired" if expired else "expiring"
        events.append(
            AlertEvent(
                kind=AlertKind.TRAINING,
                key=f"training:{training.pk}:{state}",
                unit=member.unit,
                subject=f"Chorus: {member.full_name}'s training {training.course} "
                + ("has expired" if expired else f"expires on {training.expires_on}"),
                body=(
                    f"{member.full_name}'s training {training.course} "
                    + (f"expired on {training.expires_on}" if expired else f"expires on {training.expires_on}")
                    + ". Accounts it authorizes cannot be held without it.\n\n"
                    f"Open the member: {_link('registry:member', member.pk)}"
                ),
                user_ids=frozenset(supervisors[member.unit.path] | own),
            )
        )
    return events
