"""Role grants: a user holds a role over a unit; a grant covers the unit's subtree."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts_registry.models import AuditEvent, OrgUnit, Role, RoleGrant
from accounts_registry.services.audit import audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def role_grant(*, username: str, role: Role, unit: OrgUnit, actor: User | None) -> tuple[RoleGrant, bool]:
    """Grant `role` on `unit`'s subtree, creating the user (no usable password) if needed. Idempotent."""
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(username=username)
    if user_created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    grant, created = RoleGrant.objects.get_or_create(user=user, unit=unit, role=role)
    if created:
        audit_record(
            actor=actor,
            verb=AuditEvent.Verb.ROLE_GRANT,
            target=grant,
            unit=unit,
            after={"user": username, "role": role},
        )
    return grant, created


@transaction.atomic
def role_revoke(*, username: str, role: Role, unit: OrgUnit, actor: User | None) -> bool:
    """Take a grant back. Returns False if there was none. Takes effect on the user's next request."""
    grant = RoleGrant.objects.filter(user__username=username, unit=unit, role=role).first()
    if grant is None:
        return False
    audit_record(
        actor=actor, verb=AuditEvent.Verb.ROLE_REVOKE, target=grant, unit=unit, before={"user": username, "role": role}
    )
    grant.delete()
    return True
