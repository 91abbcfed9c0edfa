from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts_registry.models import AuditEvent, OrgUnit

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db import models


def audit_record(
    *,
    actor: User | None,
    verb: AuditEvent.Verb,
    target: models.Model,
    unit: OrgUnit | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Call inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "",
        verb=verb,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:300],
        unit=unit,
        before=before or {},
        after=after or {},
    )
