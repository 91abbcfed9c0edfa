"""Who sees which triage item: the one place it is decided, used by the inbox, the feedback pages and the API.

A user sees a triage item when they see an account its message belongs to (`visible_accounts` and
`monitoring.models.addressed_to`: the account it is stored under, or another org account it addresses):
admins, comms managers and supervisors see the accounts of their subtree, a member the accounts they
hold. An item is one per message, whoever it addresses: one decision, shown in every addressed scope.
What they may do with it is
the capabilities table's answer (accounts_registry.capabilities): callers name the `action`; a member
may handle, reopen and annotate the items of the accounts they hold, but not dismiss, assign or
re-categorize them (403). Outsiders get 404, never 403, so an item id reveals nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts_registry.selectors import authorize, refused, user_scope, visible_accounts
from engagement.models import TriageItem
from monitoring.models import MessageAddressee, addressed_to

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.db.models import QuerySet

    from accounts_registry.capabilities import Action
    from accounts_registry.models import SocialAccount
    from accounts_registry.selectors import AnyUser


Status = TriageItem.Status
Priority = TriageItem.Priority


def visible_triage_items(user: AnyUser) -> QuerySet[TriageItem]:
    return items_of(visible_accounts(user))


def items_of(accounts: QuerySet[SocialAccount] | list[int]) -> QuerySet[TriageItem]:
    """Items whose message belongs to any of the accounts (stored under one, or addressing one)."""
    return TriageItem.objects.filter(addressed_to(accounts, message_field="message_id"))


def also_addressed(ids: list[int] | QuerySet[SocialAccount]) -> QuerySet[TriageItem]:
    """Items addressing one of the accounts without being stored under it (the few that address several)."""
    return TriageItem.objects.filter(
        message_id__in=MessageAddressee.objects.filter(account_id__in=ids).values("message_id")
    )


def _authorize(user: AnyUser, item: TriageItem, action: Action) -> None:
    account = item.account
    is_own = account.holder_id is not None and account.holder_id == user_scope(user).member_id
    authorize(user, action, path=account.unit.path, is_own=is_own, target_type="triage_item", pk=item.pk)


def get_triage_item_for_user(*, user: AnyUser, pk: int, action: Action | None = None) -> TriageItem:
    """The item, with what its row shows, or 404; 403 when the user's role does not allow `action` on it."""
    item = (
        visible_triage_items(user)
        .select_related("message", "account__unit", "assignee", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise refused(user=user, target_type="triage_item", pk=pk, message="No such item.")
    if action is not None:
        _authorize(user, item, action)
    return item


def get_triage_items_for_user(*, user: AnyUser, pks: Iterable[int], action: Action | None = None) -> list[TriageItem]:
    """All the given items or 404 (403 if `action` is refused on any) for the whole request: a bulk
    action never half-applies."""
    wanted = set(pks)
    items = list(
        visible_triage_items(user).select_related("message", "account__unit", "assignee").filter(pk__in=wanted)
    )
    if not wanted or len(items) != len(wanted):
        missing = sorted(wanted - {item.pk for item in items})
        raise refused(user=user, target_type="triage_item", pk=",".join(map(str, missing)), message="No such item.")
    if action is not None:
        for item in items:
            _authorize(user, item, action)
    return sorted(items, key=lambda item: item.pk)


def inbox_available(user: AnyUser) -> bool:
    """The inbox page is for users with a role over a unit and for members (who see their accounts)."""
    scope = user_scope(user)
    return scope.can_read_units or scope.member_id is not None
