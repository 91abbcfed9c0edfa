"""Changing a person's alert preferences (one row per kind they changed), audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from alerts.models import ALERT_KINDS, AlertPreference, Timing
from alerts.selectors import alert_preferences, can_turn_off

if TYPE_CHECKING:
    from collections.abc import Mapping

    from django.contrib.auth.models import User


@transaction.atomic
def alert_preferences_set(*, user: User, timings: Mapping[str, str]) -> list[str]:
    """Set the user's timing per kind (kinds not given keep theirs). Refuses "off" for an alert the
    user may not turn off, and unknown kinds or timings. Returns the kinds changed (none: no audit)."""
    known = {kind.value for kind in ALERT_KINDS}
    for kind, timing in timings.items():
        if kind not in known or timing not in Timing.values:
            raise ValidationError("Unknown alert or timing.")
        if timing == Timing.OFF and not can_turn_off(user, kind):
            raise ValidationError("Comms managers cannot turn off possible-emergency alerts.")
    before = {row.kind: row.timing for row in alert_preferences(user)}
    changed = [kind for kind, timing in timings.items() if before[kind] != timing]
    for kind in changed:
        AlertPreference.objects.update_or_create(user=user, kind=kind, defaults={"timing": timings[kind]})
    if changed:
        audit_record(
            actor=user,
            verb=AuditEvent.Verb.ALERT_PREFERENCES,
            target=user,
            before={kind: before[kind] for kind in changed},
            after={kind: timings[kind] for kind in changed},
        )
    return changed
