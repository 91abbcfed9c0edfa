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
    target: models.Model | None,
    unit: OrgUnit | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
) -> AuditEvent:
    """Append one audit event. Call inside the transaction of the change it records.

    `target` is the changed object; events about no stored object (a failed sign-in, a refused id)
    pass None and describe it with `target_type`/`target_id`/`target_repr`.
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "",
        verb=verb,
        target_type=target._meta.label_lower if target is not None else target_type,
        target_id=str(target.pk) if target is not None else target_id[:80],
        target_repr=(str(target) if target is not None else target_repr)[:300],
        unit=unit,
        before=before or {},
        after=after or {},
    )
