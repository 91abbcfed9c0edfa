"""Security events: sign-ins, second factor changes, exports, tokens and refused access, in the audit trail.

Each event is one AuditEvent with a verb from AuditEvent.Verb. Its unit is the unit of the person it is
about (their member record, else their highest role grant), so a unit's admins see their own people's
events on the security page and organization-wide admins see all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts_registry.models import AuditEvent, Member, OrgUnit, RoleGrant
from accounts_registry.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
    from django.db import models


def _unit_of(user: AbstractBaseUser | AnonymousUser | None) -> OrgUnit | None:
    if user is None or not user.is_authenticated:
        return None
    member = Member.objects.filter(user_id=user.pk).select_related("unit").first()
    if member is not None:
        return member.unit
    grant = RoleGrant.objects.filter(user_id=user.pk).select_related("unit").order_by("unit__depth").first()
    return grant.unit if grant is not None else None


def security_event_record(
    *,
    verb: AuditEvent.Verb,
    actor: User | AnonymousUser | None,
    subject: AbstractBaseUser | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one security event. `subject` is the person it is about when that is not the actor
    (the account a failed sign-in tried); the event's unit is the subject's or the actor's.

    Strings from the request (a typed username) are stored as given and only ever rendered escaped.
    """
    person = subject if subject is not None else actor
    return audit_record(
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        target=target,
        unit=_unit_of(person),
        after={**({"ip": ip} if ip else {}), **(details or {})},
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
    )


def access_refused_record(*, user: User | AnonymousUser, target_type: str, target_id: object) -> None:
    """A scoped access selector refused an object (404 or 403): who asked for what."""
    if not user.is_authenticated:
        return
    security_event_record(
        verb=AuditEvent.Verb.ACCESS_REFUSED,
        actor=user,
        target_type=target_type,
        target_id=str(target_id),
        target_repr=f"{target_type} #{target_id}",
    )


def user_sessions_end(*, user: AbstractBaseUser) -> int:
    """Delete every live session of `user` from the session table; returns how many ended.

    Scans the unexpired sessions (their user id is inside the encoded data): proportional to the
    number of people signed in, which is small for one organization.
    """
    ended = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None, ip: str = "") -> User:
    """Deactivate a login and end all its sessions at once (it is refused on its next request anyway;
    this removes the sessions themselves). Idempotent. Role grants and the member record stay."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = user_sessions_end(user=user)
    security_event_record(
        verb=AuditEvent.Verb.USER_DEACTIVATE,
        actor=actor,
        subject=user,
        target=user,
        ip=ip,
        details={"sessions_ended": ended},
    )
    return user


def export_record(*, actor: User | AnonymousUser, ip: str, export: str, label: str, query: str = "") -> AuditEvent:
    """Record that `actor` downloaded an export (`export`: its short name; `query`: the filters it was
    taken with, kept to 500 characters): every CSV of Chorus is recorded the same way."""
    return security_event_record(
        verb=AuditEvent.Verb.EXPORT,
        actor=actor,
        target_type="export",
        target_id=export,
        target_repr=label,
        ip=ip,
        details={"filters": query[:500]} if query else None,
    )
