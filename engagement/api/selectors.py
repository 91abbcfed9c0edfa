"""Reads behind the API and the token page, always scoped to the acting user.

Every queryset starts from accounts_registry.selectors (`visible_accounts`, `visible_units`), so a
token sees exactly what its owner sees on the pages: a supervisor their subtree, a member the items of
the accounts they hold. `unit` and `account` arguments are objects the caller already got through
`get_unit_for_user` / `get_account_for_user` (404 for what the user cannot see).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts_registry.selectors import refused, visible_accounts, visible_units
from engagement.models import ApiToken, TriageItem
from monitoring.models import addressed_to
from monitoring.search import message_search
from monitoring.selectors import without_private

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    from accounts_registry.models import OrgUnit, SocialAccount

    AnyUser = User | AnonymousUser


def api_triage_items(
    user: AnyUser,
    *,
    status: str | None = None,
    unit: OrgUnit | None = None,
    account: SocialAccount | None = None,
    platform: str | None = None,
    category: str | None = None,
    is_question: bool | None = None,
    since: datetime.datetime | None = None,
    include_private: bool = False,
    search: str = "",
) -> QuerySet[TriageItem]:
    """The user's triage items with what a list row needs joined in (one query per page). Private (direct)
    messages are left out unless `include_private`. `search`: as the inbox searches (monitoring.search)."""
    accounts = visible_accounts(user)
    if unit is not None:
        accounts = accounts.filter(unit__path__startswith=unit.path)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    if platform is not None:
        accounts = accounts.filter(platform=platform)
    # Items of every message belonging to those accounts, including those stored under another account.
    items = without_private(
        TriageItem.objects.filter(addressed_to(accounts, message_field="message_id")), include_private=include_private
    )
    if status is not None:
        items = items.filter(status=status)
    if category is not None:
        items = items.filter(category=category)
    if is_question is not None:
        items = items.filter(is_question=is_question)
    if since is not None:
        items = items.filter(created_at__gte=since)
    if search:
        items = items.filter(message_search(search, message="message"))
    return items.select_related("message", "account__unit", "assignee").defer(
        "message__metrics", "account__credentials_ciphertext"
    )


def api_accounts(
    user: AnyUser, *, unit: OrgUnit | None = None, platform: str | None = None, status: str | None = None
) -> QuerySet[SocialAccount]:
    accounts = visible_accounts(user)
    if unit is not None:
        accounts = accounts.filter(unit__path__startswith=unit.path)
    if platform is not None:
        accounts = accounts.filter(platform=platform)
    if status is not None:
        accounts = accounts.filter(status=status)
    return accounts.select_related("unit", "holder").defer("credentials_ciphertext")


def api_units(user: AnyUser, *, unit: OrgUnit | None = None) -> QuerySet[OrgUnit]:
    units = visible_units(user)
    if unit is not None:
        units = units.filter(path__startswith=unit.path)
    return units


# --- Tokens: a user sees and revokes only their own ---------------------------------------------


def api_tokens_for_user(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def get_api_token_for_user(*, user: User, pk: int) -> ApiToken:
    """The user's own token; 404 for anyone else's (an admin revokes others' tokens in the Django admin)."""
    token = ApiToken.objects.filter(user=user, pk=pk).first()
    if token is None:
        raise refused(user=user, target_type="api_token", pk=pk, message="No such token.")
    return token
