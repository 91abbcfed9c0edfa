from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, Unpack

from accounts_registry.models import AuditEvent, OrgUnit
from common.bulk import copy_insert

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.db import models


class AuditFields(TypedDict):
    """What one audit event records, the keyword arguments of audit_event and audit_record.

    `target` is the changed object; events about no stored object (a failed sign-in, a refused id)
    pass None and describe it with `target_type`/`target_id`/`target_repr`.
    """

    actor: User | None
    verb: AuditEvent.Verb
    target: models.Model | None
    unit: NotRequired[OrgUnit | None]
    before: NotRequired[dict[str, Any] | None]
    after: NotRequired[dict[str, Any] | None]
    target_type: NotRequired[str]
    target_id: NotRequired[str]
    target_repr: NotRequired[str]


def audit_event(**fields: Unpack[AuditFields]) -> AuditEvent:
    """One audit event, not saved yet: audit_record saves it, audit_record_many saves many at once."""
    actor, target = fields["actor"], fields["target"]
    return AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None and actor.is_authenticated else "",
        verb=fields["verb"],
        target_type=target._meta.label_lower if target is not None else fields.get("target_type", ""),
        target_id=str(target.pk) if target is not None else fields.get("target_id", "")[:80],
        target_repr=(str(target) if target is not None else fields.get("target_repr", ""))[:300],
        unit=fields.get("unit"),
        before=fields.get("before") or {},
        after=fields.get("after") or {},
    )


def audit_record(**fields: Unpack[AuditFields]) -> AuditEvent:
    """Append one audit event (see audit_event). Call inside the transaction of the change it records."""
    event = audit_event(**fields)
    event.save(force_insert=True)
    return event


def audit_record_many(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Append audit events built with audit_event at once (a bulk import's trail: one COPY). Call inside
    the transaction of the changes they record; the targets must be saved already (their ids are kept)."""
    events = list(events)
    copy_insert(AuditEvent, events)
    return events
