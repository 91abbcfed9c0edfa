"""One triage item in context: its thread, its notes and who may be assigned it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from accounts_registry.models import AuditEvent, OrgUnit, RoleGrant
from accounts_registry.selectors import READ_ROLES, visible_accounts
from engagement.models import TriageItem, TriageNote
from monitoring.models import Message, MessageAddressee, addressed_to

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from accounts_registry.selectors import AnyUser


Status = TriageItem.Status
Priority = TriageItem.Priority


THREAD_LIMIT = 100


def item_thread(user: AnyUser, item: TriageItem) -> list[Message]:
    """The conversation around the item: inbound and the org's replies the user may see, oldest first."""
    messages = Message.objects.filter(addressed_to(visible_accounts(user)), platform=item.platform)
    if item.conversation_id:
        messages = messages.filter(conversation_id=item.conversation_id)
    else:
        messages = messages.filter(pk=item.message_id)
    # With their edit history (earlier texts), so a changed message shows what it said before.
    thread = messages.select_related("account").prefetch_related("edits").order_by("created_at", "pk")
    return list(thread[:THREAD_LIMIT])


def item_notes(item: TriageItem) -> list[TriageNote]:
    return list(item.notes.select_related("author").order_by("created_at", "pk"))


def assignable_users(item: TriageItem) -> list[User]:
    """Users who may be assigned the item: a reading role over the unit of an account its message belongs
    to (stored under it or addressing it), or such an account's holder."""
    from django.contrib.auth import get_user_model

    addressed = MessageAddressee.objects.filter(message_id=item.message_id)
    accounts = [
        (item.account.unit.path, item.account.holder_id),
        *addressed.values_list("account__unit__path", "account__holder_id"),
    ]
    step = OrgUnit.steplen
    ancestors = {path[: index * step] for path, _ in accounts for index in range(1, len(path) // step + 1)}
    granted = RoleGrant.objects.filter(unit__path__in=ancestors, unit__is_active=True, role__in=READ_ROLES)
    condition = Q(pk__in=granted.values("user_id"))
    holders = {holder for _, holder in accounts if holder is not None}
    if holders:
        condition |= Q(member__pk__in=holders)
    user_model = get_user_model()
    return list(user_model.objects.filter(condition, is_active=True).order_by("username"))


def item_last_change(item: TriageItem) -> AuditEvent | None:
    """The item's latest audited change: who acted on it, and how (for "someone acted a moment ago")."""
    events = AuditEvent.objects.filter(target_type=TriageItem._meta.label_lower, target_id=str(item.pk))
    return events.order_by("-created_at", "-id").first()
