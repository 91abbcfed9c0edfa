"""Human triage actions from the inbox: assign, mark handled, dismiss, reopen, add a note, in bulk too;
and presence ("who else has this item open").

Every action that changes something writes one audit event (verb `triage.<action>`, before/after).
Repeating an action is a no-op without an audit row (assigning to the current assignee, handling with
the same reason, dismissing a dismissed item, reopening a waiting item); notes always add a note.
Each action locks the item's row for its transaction, so two people acting at once apply one after
the other and the audit trail records what each of them actually changed.

Callers must have the item from `get_triage_item_for_user(..., action=...)`: these functions check the
state transition and the assignee's scope, not the actor's access.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts_registry.models import AuditEvent, SocialAccount
from accounts_registry.services.audit import audit_record
from engagement.models import CategoryCorrection, TriageItem, TriageNote
from engagement.selectors.inbox import inbox_matching_ids
from engagement.selectors.triage_access import get_triage_items_for_user, visible_triage_items
from engagement.services.auto_triage import priority_for

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from django.contrib.auth.models import User

    from accounts_registry.capabilities import Action
    from accounts_registry.selectors import AnyUser
    from engagement.selectors.inbox_filters import InboxFilters

Status = TriageItem.Status
NOTE_MAX_LENGTH = TriageNote._meta.get_field("text").max_length or 4000
Reason = TriageItem.HandledReason


def _state(item: TriageItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "assignee": item.assignee.get_username() if item.assignee is not None else None,
        "handled_reason": item.handled_reason,
    }


def _lock(item: TriageItem) -> dict[str, Any]:
    """Re-read the item under a row lock (its state may have changed since the page was shown)."""
    item.refresh_from_db(
        from_queryset=TriageItem.objects.select_for_update(),
        fields=["status", "assignee", "handled_reason", "closed_by", "closed_at", "updated_at"],
    )
    return _state(item)


def _record(*, item: TriageItem, actor: User, verb: AuditEvent.Verb, before: dict[str, Any], fields: list[str]) -> None:
    item.updated_at = timezone.now()
    item.save(update_fields=[*fields, "updated_at"])
    audit_record(actor=actor, verb=verb, target=item, unit=item.account.unit, before=before, after=_state(item))


@transaction.atomic
def triage_assign(*, item: TriageItem, assignee: User | None, actor: User) -> TriageItem:
    """Assign the item (None: unassign). The assignee must be able to see the item. Idempotent."""
    before = _lock(item)
    if item.assignee_id == (assignee.pk if assignee is not None else None):
        return item
    if assignee is not None and not visible_triage_items(assignee).filter(pk=item.pk).exists():
        raise ValidationError("This person cannot see this item.")
    item.assignee = assignee
    _record(item=item, actor=actor, verb=AuditEvent.Verb.TRIAGE_ASSIGN, before=before, fields=["assignee"])
    return item


def _close(*, item: TriageItem, actor: User, status: Status, reason: str) -> None:
    item.status = status
    item.handled_reason = reason
    item.closed_by = actor
    item.closed_at = timezone.now()


@transaction.atomic
def triage_handle(*, item: TriageItem, reason: str, actor: User) -> TriageItem:
    """Close the item without a public reply, with a reason. Handling again with another reason
    changes the reason; with the same one, nothing happens. Works from any status."""
    if reason not in Reason.values:
        raise ValidationError("Choose a reason.")
    before = _lock(item)
    if item.status == Status.HANDLED and item.handled_reason == reason:
        return item
    _close(item=item, actor=actor, status=Status.HANDLED, reason=reason)
    _record(
        item=item,
        actor=actor,
        verb=AuditEvent.Verb.TRIAGE_HANDLE,
        before=before,
        fields=["status", "handled_reason", "closed_by", "closed_at"],
    )
    return item


@transaction.atomic
def triage_dismiss(*, item: TriageItem, actor: User) -> TriageItem:
    """Close the item as not needing anything. Idempotent."""
    before = _lock(item)
    if item.status == Status.DISMISSED:
        return item
    _close(item=item, actor=actor, status=Status.DISMISSED, reason="")
    _record(
        item=item,
        actor=actor,
        verb=AuditEvent.Verb.TRIAGE_DISMISS,
        before=before,
        fields=["status", "handled_reason", "closed_by", "closed_at"],
    )
    return item


@transaction.atomic
def triage_reopen(*, item: TriageItem, actor: User) -> TriageItem:
    """Back to waiting, clearing who closed it and why. An answered item can be reopened too (the
    answer and first-response time stay on record: the organization did reply). Idempotent."""
    before = _lock(item)
    if item.status == Status.WAITING:
        return item
    item.status = Status.WAITING
    item.handled_reason = ""
    item.closed_by = None
    item.closed_at = None
    _record(
        item=item,
        actor=actor,
        verb=AuditEvent.Verb.TRIAGE_REOPEN,
        before=before,
        fields=["status", "handled_reason", "closed_by", "closed_at"],
    )
    return item


@transaction.atomic
def triage_note_add(*, item: TriageItem, text: str, actor: User) -> TriageNote:
    """Add an internal note (never posted to the platform). Not idempotent: each call adds a note."""
    note = TriageNote(item=item, author=actor, text=text.strip())
    note.full_clean(exclude=["item", "author"])
    if len(note.text) > NOTE_MAX_LENGTH:  # a TextField's max_length is not a validator
        raise ValidationError(f"A note holds at most {NOTE_MAX_LENGTH} characters.")
    note.save()
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.TRIAGE_NOTE,
        target=item,
        unit=item.account.unit,
        after={"note_id": note.pk, "length": len(note.text)},
    )
    return note


@transaction.atomic
def triage_categorize(*, item: TriageItem, category: str, actor: User) -> TriageItem:
    """A person sets the item's category: the item is re-ranked (a possible emergency first), the
    correction is kept as labelled data for the classifier's evaluation, and re-classification never
    overrides it. Any status. Setting the current category again is a no-op."""
    if category not in TriageItem.Category.values:
        raise ValidationError("Choose one of the categories.")
    item.refresh_from_db(
        from_queryset=TriageItem.objects.select_for_update(), fields=["category", "priority", "category_reason"]
    )
    if item.category == category:
        return item
    before = {"category": item.category, "priority": item.priority}
    CategoryCorrection.objects.create(
        item=item, text=item.message.text, previous=item.category, category=category, actor=actor
    )
    item.category = category
    item.priority = priority_for(
        category=category,
        is_question=item.is_question,
        is_corporate=item.account.kind == SocialAccount.Kind.CORPORATE,
    )
    item.category_reason = f"set by {actor.get_username()}"[:300]
    item.updated_at = timezone.now()
    item.save(update_fields=["category", "priority", "category_reason", "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.TRIAGE_CATEGORIZE,
        target=item,
        unit=item.account.unit,
        before=before,
        after={"category": item.category, "priority": item.priority},
    )
    return item


class BulkAction:
    ASSIGN_ME = "assign_me"
    HANDLE = "handle"
    DISMISS = "dismiss"
    REOPEN = "reopen"  # also the undo of a bulk handle or dismiss
    ALL = (ASSIGN_ME, HANDLE, DISMISS, REOPEN)


@transaction.atomic
def triage_bulk(*, items: Iterable[TriageItem], action: str, actor: User, reason: str = "") -> list[TriageItem]:
    """Apply one action to every item, all or nothing (one transaction; any error rolls back all).
    Each item gets its own audit event, as if acted on one by one."""
    if action not in BulkAction.ALL:
        raise ValidationError("Unknown action.")
    if action == BulkAction.HANDLE and reason not in Reason.values:
        raise ValidationError("Choose a reason.")
    done: list[TriageItem] = []
    for item in items:
        if action == BulkAction.ASSIGN_ME:
            done.append(triage_assign(item=item, assignee=actor, actor=actor))
        elif action == BulkAction.HANDLE:
            done.append(triage_handle(item=item, reason=reason, actor=actor))
        elif action == BulkAction.REOPEN:
            done.append(triage_reopen(item=item, actor=actor))
        else:
            done.append(triage_dismiss(item=item, actor=actor))
    return done


@dataclasses.dataclass(frozen=True)
class BulkMatchingResult:
    updated: list[TriageItem]
    confirmed: int  # the items the person confirmed
    left_alone: int  # confirmed, but no longer matching the filters when the action ran


def triage_bulk_matching(
    *,
    user: AnyUser,
    filters: InboxFilters,
    confirmed_ids: list[int],
    action: str,
    capability: Action,
    actor: User,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> BulkMatchingResult:
    """ "All N matching": the action on the items the person confirmed (`confirmed_ids`, the matching set
    when they were counted) that still match the filters in the user's scope now. An item that arrived
    since is not among them; one that stopped matching meanwhile (someone handled it, it was moved out of
    scope) is left alone and counted. The filters are the parsed ones (common.filters): the ids only
    narrow them, never widen. Then exactly as triage_bulk (all or nothing, one audit event per item);
    403 if `capability` is refused on any of them."""
    still = inbox_matching_ids(user, filters, now=now or timezone.now(), limit=len(confirmed_ids), among=confirmed_ids)
    updated: list[TriageItem] = []
    if still:
        items = get_triage_items_for_user(user=user, pks=still, action=capability)
        updated = triage_bulk(items=items, action=action, actor=actor, reason=reason)
    return BulkMatchingResult(
        updated=updated, confirmed=len(confirmed_ids), left_alone=len(confirmed_ids) - len(updated)
    )


# --- Presence ------------------------------------------------------------------------------------


def _presence_key(item_id: int) -> str:
    return f"chorus:inbox:presence:{item_id}"


def presence_touch(*, item_id: int, user: User) -> list[str]:
    """Record that `user` has the item open (for CHORUS_PRESENCE_SECONDS) and return the usernames of
    the others who have it open. Best effort: two people opening at the same instant may each miss
    the other until the next refresh (the open item's fragment refreshes it every 30 seconds)."""
    ttl = settings.CHORUS_PRESENCE_SECONDS
    now = timezone.now().timestamp()
    key = _presence_key(item_id)
    viewers: dict[str, list[Any]] = cache.get(key) or {}
    viewers = {
        user_id: entry
        for user_id, entry in viewers.items()
        if isinstance(entry, list) and len(entry) == 2 and entry[1] > now
    }
    viewers[str(user.pk)] = [user.get_username(), now + ttl]
    cache.set(key, viewers, timeout=ttl)
    return sorted(str(name) for user_id, (name, _expires) in viewers.items() if user_id != str(user.pk))


def triage_release_assigned(*, user: User, actor: User) -> int:
    """Return the waiting items assigned to `user` to the queue (they left): CHORUS_MEMBER_LEFT_HOOKS.
    Each unassignment is audited like any other; idempotent."""
    items = list(TriageItem.objects.filter(assignee=user, status=Status.WAITING).order_by("pk"))
    for item in items:
        triage_assign(item=item, assignee=None, actor=actor)
    return len(items)
