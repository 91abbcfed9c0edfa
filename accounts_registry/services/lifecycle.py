"""A member's moves: transfer to another unit, departure, and the holder change of an account.

Who may call: views that got the member (or account) through the access selectors with `write=True`
and checked that the actor administers the destination too. Every step is audited with before/after and
`"member": <pk>` (the member page's timeline). One definition of "trained for a platform today":
accounts_registry.governance.current_training_platforms, as onboarding and the CSV import use it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts_registry import extensions
from accounts_registry.governance import current_training_platforms
from accounts_registry.models import AuditEvent, Member, OrgUnit, Role, RoleGrant, SocialAccount
from accounts_registry.services.accounts import ALLOWED_TRANSITIONS, account_set_status
from accounts_registry.services.audit import audit_record
from accounts_registry.services.members import member_mark_left
from accounts_registry.services.people import member_login_deactivate

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)
Status = SocialAccount.Status
NEEDS_HOLDER = "Its holder left: choose a new holder to resume polling."


def holder_refusal(account: SocialAccount, holder: Member, *, today: datetime.date | None = None) -> str | None:
    """Why `holder` may not hold `account`, in words an admin can act on; None when they may."""
    if holder.has_left(today):
        return f"{holder.full_name} left the organization on {holder.left_on}; they cannot hold an account."
    if account.kind == SocialAccount.Kind.PERSONAL and account.platform not in current_training_platforms(
        holder, today=today
    ):
        return f"{holder.full_name} has no current training that authorizes {account.get_platform_display()}."
    return None


@transaction.atomic
def account_change_holder(*, account: SocialAccount, holder: Member, actor: User) -> SocialAccount:
    """Hand the account to `holder`, with the training check onboarding applies. A personal account
    moves to the new holder's unit (history stays with the account). An account paused because its
    holder left resumes when its credentials allow. Idempotent."""
    account = SocialAccount.objects.select_for_update(of=("self",)).select_related("holder", "unit").get(pk=account.pk)
    if account.holder_id == holder.pk:
        return account
    if account.status == Status.RETIRED:
        raise ValidationError(f"{account.handle} is retired: it has no holder any more.")
    refusal = holder_refusal(account, holder)
    if refusal is not None:
        raise ValidationError(refusal)
    previous = account.holder
    before = {"holder": previous.badge_number if previous else None, "unit": account.unit.name, "member": None}
    account.holder = holder
    fields = ["holder", "updated_at"]
    if account.kind == SocialAccount.Kind.PERSONAL and account.unit_id != holder.unit_id:
        account.unit = holder.unit
        fields.append("unit")
    account.save(update_fields=fields)
    for member in {previous, holder} - {None}:
        assert member is not None
        audit_record(
            actor=actor,
            verb=AuditEvent.Verb.ACCOUNT_HOLDER,
            target=account,
            unit=account.unit,
            before={**before, "member": member.pk},
            after={"holder": holder.badge_number, "unit": account.unit.name, "member": member.pk},
        )
    if account.status == Status.PAUSED and account.status_reason == NEEDS_HOLDER:
        try:
            with transaction.atomic():
                account = account_set_status(account=account, status=Status.ACTIVE, actor=actor)
        except ValidationError:
            pass  # e.g. missing credentials: stays paused, the account page says why
    return account


@dataclasses.dataclass(frozen=True)
class Transfer:
    member: Member
    old_unit: OrgUnit
    accounts_moved: list[SocialAccount]
    old_grants: list[RoleGrant]  # the member's grants covering the old unit but not the new: keep or revoke


def _people_to_tell(units: list[OrgUnit], *, member: Member) -> list[str]:
    """E-mail addresses of the supervisors whose grant covers any of the units (not the member's own)."""
    covering = Q()
    for unit in units:
        ancestors = [unit.path[:length] for length in range(OrgUnit.steplen, len(unit.path) + 1, OrgUnit.steplen)]
        covering |= Q(unit__path__in=ancestors)
    grants = RoleGrant.objects.filter(covering, role=Role.SUPERVISOR, user__is_active=True).exclude(user__email="")
    if member.user_id is not None:
        grants = grants.exclude(user_id=member.user_id)
    return sorted(set(grants.values_list("user__email", flat=True)))


@transaction.atomic
def member_transfer(*, member: Member, unit: OrgUnit, actor: User) -> Transfer:
    """Move the member to `unit`; their personal accounts (not retired) move with them. Supervisors of
    both units are told by e-mail after commit. Returns what the admin must decide next (old grants)."""
    old_unit = member.unit
    if unit.pk == old_unit.pk:
        raise ValidationError(f"{member.full_name} is already in {unit.name}.")
    if member.has_left():
        raise ValidationError(f"{member.full_name} has left the organization.")
    accounts = list(
        SocialAccount.objects.select_for_update(of=("self",))
        .filter(holder=member, kind=SocialAccount.Kind.PERSONAL)
        .exclude(status=Status.RETIRED)
        .order_by("pk")
    )
    member.unit = unit
    member.save(update_fields=["unit", "updated_at"])
    for account in accounts:
        account.unit = unit
        account.save(update_fields=["unit", "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.MEMBER_TRANSFER,
        target=member,
        unit=unit,
        before={"unit": old_unit.name, "unit_id": old_unit.pk},
        after={
            "member": member.pk,
            "unit": unit.name,
            "unit_id": unit.pk,
            "accounts": [f"{account.get_platform_display()} {account.handle}" for account in accounts],
        },
    )
    old_grants = (
        [
            grant
            for grant in RoleGrant.objects.filter(user=member.user).select_related("unit").order_by("unit__path")
            if old_unit.path.startswith(grant.unit.path) and not unit.path.startswith(grant.unit.path)
        ]
        if member.user_id
        else []
    )
    recipients = _people_to_tell([old_unit, unit], member=member)
    body = (
        f"{member.full_name} ({member.badge_number}) moved from {old_unit.name} to {unit.name} "
        f"on {timezone.localdate()}, with {len(accounts)} personal account(s).\n"
    )
    if recipients:
        transaction.on_commit(lambda: _mail(f"Chorus: {member.full_name} transferred", body, recipients))
    return Transfer(member=member, old_unit=old_unit, accounts_moved=accounts, old_grants=old_grants)


def _mail(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(subject, body, None, recipients)
    except OSError as error:  # best effort: the transfer is done and audited
        logger.warning("transfer notice failed: %s", error)


@transaction.atomic
def member_depart(
    *, member: Member, left_on: datetime.date, successors: dict[int, Member | None], actor: User
) -> Member:
    """The member leaves on `left_on`. `successors` names, for each of their personal accounts (not
    retired), the member who takes it over (None: retire it); one missing or refused successor refuses
    the whole departure with the reason, and nothing changes. Unit accounts they held lose their holder
    and are paused until a new one is chosen. Their login is deactivated (sessions, tokens) and their
    waiting triage items return to the queue."""
    held = list(SocialAccount.objects.filter(holder=member).exclude(status=Status.RETIRED).order_by("pk"))
    personal = [account for account in held if account.kind == SocialAccount.Kind.PERSONAL]
    errors = []
    for account in personal:
        if account.pk not in successors:
            errors.append(f"Choose a successor for {account.handle}, or retire it.")
            continue
        successor = successors[account.pk]
        if successor is not None and (refusal := holder_refusal(account, successor)) is not None:
            errors.append(f"{account.handle}: {refusal}")
    if errors:
        raise ValidationError(errors)
    for account in personal:
        successor = successors[account.pk]
        if successor is None:
            account_set_status(account=account, status=Status.RETIRED, actor=actor, reason=f"{member.full_name} left.")
        else:
            account_change_holder(account=account, holder=successor, actor=actor)
    for account in held:
        if account.kind == SocialAccount.Kind.PERSONAL:
            continue
        before = {"holder": member.badge_number, "status": account.status, "member": member.pk}
        account.holder = None
        account.save(update_fields=["holder", "updated_at"])
        if Status.PAUSED in ALLOWED_TRANSITIONS.get(account.status, frozenset()):
            account = account_set_status(account=account, status=Status.PAUSED, actor=actor, reason=NEEDS_HOLDER)
        audit_record(
            actor=actor,
            verb=AuditEvent.Verb.ACCOUNT_HOLDER,
            target=account,
            unit=account.unit,
            before=before,
            after={"holder": None, "status": account.status, "member": member.pk},
        )
    member_mark_left(member=member, left_on=left_on, actor=actor)
    if member.user is not None:
        member_login_deactivate(member=member, actor=actor)
        extensions.member_left(user=member.user, actor=actor)
    return member
