"""The audit log for admins: the changes recorded in the units they administer, newest first.

Scoped like the security events page: an admin sees the events filed under a unit of their subtrees;
organization-wide admins also see events filed under no unit (policy rules of the whole organization,
alert preferences). Security events (sign-ins, exports, refusals...) stay on their own page.
Keyset pages on (created_at, id) through the one cursor of common/cursors.py.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from accounts_registry.models import SECURITY_VERBS, AuditEvent
from accounts_registry.selectors import sees_whole_organization, user_scope
from common.cursors import InvalidCursor, cursor_decode, cursor_encode, integer, moment

if TYPE_CHECKING:
    import datetime

    from accounts_registry.selectors import AnyUser

CURSOR_SALT = "registry.audit.cursor"
AUDIT_PAGE_SIZE = 50
AUDIT_EXPORT_MAX_ROWS = 100_000
AUDIT_VERB_CHOICES = [(verb.value, verb.label) for verb in AuditEvent.Verb if verb not in SECURITY_VERBS]


@dataclasses.dataclass(frozen=True)
class AuditFilters:
    verb: str = ""
    actor: str = ""  # a username, exactly
    since: datetime.date | None = None
    until: datetime.date | None = None

    def params(self) -> dict[str, str]:
        values = {
            "verb": self.verb,
            "actor": self.actor,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value}


def visible_audit_events(user: AnyUser, filters: AuditFilters | None = None) -> QuerySet[AuditEvent]:
    """The changes an admin may see (none for anyone who administers nothing), filtered."""
    scope = user_scope(user)
    if not scope.can_administer:
        return AuditEvent.objects.none()
    condition = Q() if sees_whole_organization(user, write=True) else scope.path_q("unit__path", write=True)
    events = AuditEvent.objects.changes().filter(condition)
    filters = filters or AuditFilters()
    if filters.verb:
        events = events.filter(verb=filters.verb)
    if filters.actor:
        events = events.filter(actor_name=filters.actor)
    if filters.since:
        events = events.filter(created_at__date__gte=filters.since)
    if filters.until:
        events = events.filter(created_at__date__lte=filters.until)
    return events.select_related("unit").order_by("-created_at", "-id")


def encode_position(event: AuditEvent) -> str:
    return cursor_encode([event.created_at, event.pk], salt=CURSOR_SALT)


def decode_position(token: str) -> tuple[datetime.datetime, int] | None:
    """A cursor this server signed for the audit log, or None (the first page) for anything else."""
    try:
        created_at, pk = cursor_decode(token, salt=CURSOR_SALT, length=2)
        return moment(created_at), integer(pk)
    except InvalidCursor:
        return None


@dataclasses.dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


def audit_page(user: AnyUser, filters: AuditFilters, *, after: str = "", limit: int = AUDIT_PAGE_SIZE) -> AuditPage:
    """One page (one query after the scope): a row added meanwhile never shifts the next page."""
    events = visible_audit_events(user, filters)
    position = decode_position(after) if after else None
    if position is not None:
        created_at, pk = position
        events = events.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(events[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return AuditPage(rows, encode_position(rows[-1]))
    return AuditPage(rows, None)
