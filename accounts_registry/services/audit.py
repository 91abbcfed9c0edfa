from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accounts_registry.models import AuditEvent, OrgUnit
from common.bulk import copy_insert

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.db import models


def audit_event(
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
    """One audit event, not saved yet: audit_record saves it, audit_record_many saves many at once.

    `target` is the changed object; events about no stored object (a failed sign-in, a refused id)
    pass None and describe it with `target_type`/`target_id`/`target_repr`.
    """
    return AuditEvent(
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
    """Append one audit event (see audit_event). Call inside the transaction of the change it records."""
    event = audit_event(
        actor=actor,
        verb=verb,
        target=target,
        unit=unit,
        before=before,
        after=after,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Append audit events built with audit_event at once (a bulk import's trail: one COPY). Call inside
    the transaction of the changes they record; the targets must be saved already (their ids are kept)."""
    events = list(events)
    copy_insert(AuditEvent, events)
    return events
