"""Reads of the triage inbox, always scoped to the acting user.

Access rule (the one place it is decided, used by the inbox, the feedback pages and the API):
a user sees a triage item when they see its account (`visible_accounts`): admins, comms managers and
supervisors see the accounts of their subtree, a member the accounts they hold. Whoever sees an item
may also act on it (assign, handle, dismiss, note, reopen) — supervisors act within their subtree and
members on the items of the accounts they hold — so `write=True` asks for nothing more than visibility
today; it is kept so that callers state their intent and a stricter rule can land in one place.
Outsiders get 404, never 403, so an item id reveals nothing.

Ordering: priority, then age (oldest first), where a normal item older than the response target
(`CHORUS_RESPONSE_TARGET_HOURS`) ranks with the high-priority ones. The list is walked in three
segments, each read in (created_at, id) order along the (status, priority, created_at, id) index:

1. priority 0 (possible emergencies);
2. priority 1, merged with priority 2 older than the cutoff (two index ranges, merged by age);
3. priority 2 newer than the cutoff.

Pages use keyset pagination (no OFFSET): the cursor holds (segment, created_at, id) of the last row
shown and the cutoff the walk started with, so an item crossing the target while someone pages
through the list is neither repeated nor skipped. A page is one query, whatever the page size or the
data volume: a UNION ALL of the remaining index ranges — per branch, per status ("all" is four), and
per account when the scope holds only a few (see AccountScope; on PostgreSQL a LATERAL join per range
up to LATERAL_ACCOUNTS accounts) — each ordered and limited to the page size, merged in Python.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import OrgUnit, Platform, RoleGrant
from accounts_registry.selectors import (
    READ_ROLES,
    refused,
    unit_paths,
    user_scope,
    visible_accounts,
    visible_units,
)
from engagement.models import TriageItem, TriageNote
from monitoring.models import Message
from monitoring.selectors import without_private
from policies.models import PolicyFlag

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from django.contrib.auth.models import User

    from accounts_registry.selectors import AnyUser

Status = TriageItem.Status
Priority = TriageItem.Priority

PAGE_SIZE = 50
# Counts above this show as "1000+": counting half a million waiting items on every page view would
# cost more than the page itself, and nobody triages by the exact figure.
COUNT_CAP = 1000
NEW_CAP = 100
THREAD_LIMIT = 100
# Up to this many accounts in scope, each is read along its own index range (see AccountScope), as
# long as the page stays within MAX_RANGES ranges (accounts x statuses x 4 branches).
NARROW_ACCOUNTS = 24
MAX_RANGES = 96
# Up to this many accounts (a station or a division), PostgreSQL reads each range per account with a
# LATERAL join (one index probe per account, limited to the page) instead of the ranges above.
LATERAL_ACCOUNTS = 64
CURSOR_SALT = "engagement.inbox.cursor"


class StatusFilter:
    ALL = "all"
    CHOICES = (*((status.value, status.label) for status in Status), (ALL, "All"))


class AgeFilter:
    OVER_TARGET = "over_target"
    UNDER_1H = "1h"
    UNDER_24H = "24h"
    OLDER = "older"
    CHOICES = (
        ("", "Any age"),
        (OVER_TARGET, "Over the response target"),
        (UNDER_1H, "Less than 1 hour"),
        (UNDER_24H, "Less than 24 hours"),
        (OLDER, "Older than 24 hours"),
    )


class AssignedFilter:
    ME = "me"
    ANYONE = "anyone"
    NO_ONE = "none"
    CHOICES = (("", "Assigned or not"), (ME, "Assigned to me"), (ANYONE, "Assigned to anyone"), (NO_ONE, "Unassigned"))


@dataclasses.dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows. Every field has a default; the form maps invalid input to the default."""

    status: str = Status.WAITING
    unit: OrgUnit | None = None
    account_id: int | None = None
    platform: str = ""
    questions_only: bool = False
    age: str = ""
    assigned: str = ""
    has_policy_flag: bool = False
    search: str = ""

    def params(self) -> dict[str, str]:
        """The filters as GET parameters (defaults left out), for links that keep them."""
        values = {
            "status": self.status if self.status != Status.WAITING else "",
            "unit": str(self.unit.pk) if self.unit is not None else "",
            "account": str(self.account_id) if self.account_id is not None else "",
            "platform": self.platform,
            "question": "1" if self.questions_only else "",
            "age": self.age,
            "assigned": self.assigned,
            "flagged": "1" if self.has_policy_flag else "",
            "q": self.search,
        }
        return {name: value for name, value in values.items() if value}


@dataclasses.dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's segment, created_at and id, and the walk's cutoff."""

    segment: int
    created_at: datetime.datetime
    pk: int
    cutoff: datetime.datetime

    def encode(self) -> str:
        return signing.dumps(
            [self.segment, self.created_at.isoformat(), self.pk, self.cutoff.isoformat()],
            salt=CURSOR_SALT,
            compress=True,
        )

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises ValueError for anything but a cursor this server signed."""
        try:
            segment, created_at, pk, cutoff = signing.loads(token, salt=CURSOR_SALT)
            cursor = cls(
                segment=int(segment),
                created_at=datetime.datetime.fromisoformat(created_at),
                pk=int(pk),
                cutoff=datetime.datetime.fromisoformat(cutoff),
            )
        except (signing.BadSignature, TypeError, ValueError) as error:
            raise ValueError("not an inbox cursor") from error
        if cursor.segment not in (1, 2, 3):
            raise ValueError("not an inbox cursor")
        return cursor


@dataclasses.dataclass(frozen=True)
class InboxRow:
    item: TriageItem
    unit_path: str
    age: str
    is_over_target: bool
    platform_url: str
    # The row's links, built once here rather than by a dozen {% url %} tags per row.
    url: str = ""
    assign_url: str = ""
    handle_url: str = ""
    dismiss_url: str = ""
    reopen_url: str = ""
    # Display values computed once per page, not by get_FOO_display()/|date per row.
    status_label: str = ""
    category_label: str = ""
    platform_label: str = ""
    handled_reason_label: str = ""
    created_iso: str = ""
    created_title: str = ""

    @property
    def is_emergency(self) -> bool:
        return self.item.category == TriageItem.Category.EMERGENCY


@dataclasses.dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: Cursor | None


@dataclasses.dataclass(frozen=True)
class InboxSummary:
    """Per-status counts (capped at COUNT_CAP) and the newest item id, for the "N new" poll."""

    counts: dict[str, int]
    capped: frozenset[str]
    newest_id: int


# --- Access --------------------------------------------------------------------------------------


def visible_triage_items(user: AnyUser) -> QuerySet[TriageItem]:
    return TriageItem.objects.filter(account__in=visible_accounts(user))


def get_triage_item_for_user(*, user: AnyUser, pk: int, write: bool = False) -> TriageItem:
    """The item, with what its row shows, or 404. See the module docstring for the rule."""
    del write  # whoever sees an item may act on it (module docstring)
    item = (
        visible_triage_items(user)
        .select_related("message", "account__unit", "assignee", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise refused(user=user, target_type="triage_item", pk=pk, message="No such item.")
    return item


def get_triage_items_for_user(*, user: AnyUser, pks: Iterable[int], write: bool = False) -> list[TriageItem]:
    """All the given items or 404 for the whole request: a bulk action never half-applies."""
    del write
    wanted = set(pks)
    items = list(
        visible_triage_items(user).select_related("message", "account__unit", "assignee").filter(pk__in=wanted)
    )
    if not wanted or len(items) != len(wanted):
        missing = sorted(wanted - {item.pk for item in items})
        raise refused(user=user, target_type="triage_item", pk=",".join(map(str, missing)), message="No such item.")
    return sorted(items, key=lambda item: item.pk)


def inbox_available(user: AnyUser) -> bool:
    """The inbox page is for users with a role over a unit and for members (who see their accounts)."""
    scope = user_scope(user)
    return scope.can_read_units or scope.member_id is not None


# --- Listing -------------------------------------------------------------------------------------


def response_target() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.CHORUS_RESPONSE_TARGET_HOURS)


def _account_filters(items: QuerySet[TriageItem], filters: InboxFilters) -> QuerySet[TriageItem]:
    if filters.unit is not None:
        items = items.filter(account__unit__path__startswith=filters.unit.path)
    if filters.account_id is not None:
        items = items.filter(account_id=filters.account_id)
    if filters.platform:
        items = items.filter(platform=filters.platform)
    return items


def _item_filters(
    items: QuerySet[TriageItem], user: AnyUser, filters: InboxFilters, *, now: datetime.datetime
) -> QuerySet[TriageItem]:
    """Every filter on the item itself except the status."""
    if filters.questions_only:
        items = items.filter(is_question=True)
    if filters.age == AgeFilter.OVER_TARGET:
        items = items.filter(created_at__lt=now - response_target())
    elif filters.age == AgeFilter.UNDER_1H:
        items = items.filter(created_at__gte=now - datetime.timedelta(hours=1))
    elif filters.age == AgeFilter.UNDER_24H:
        items = items.filter(created_at__gte=now - datetime.timedelta(hours=24))
    elif filters.age == AgeFilter.OLDER:
        items = items.filter(created_at__lt=now - datetime.timedelta(hours=24))
    if filters.assigned == AssignedFilter.ME:
        items = items.filter(assignee_id=user.pk)
    elif filters.assigned == AssignedFilter.ANYONE:
        items = items.filter(assignee__isnull=False)
    elif filters.assigned == AssignedFilter.NO_ONE:
        items = items.filter(assignee__isnull=True)
    if filters.has_policy_flag:
        # A flag still to be dealt with (open or acknowledged) on the inbound message.
        items = items.filter(
            Exists(
                PolicyFlag.objects.filter(
                    message_id=OuterRef("message_id"),
                    status__in=[PolicyFlag.Status.OPEN, PolicyFlag.Status.ACKNOWLEDGED],
                )
            )
        )
    if filters.search:
        # icontains keeps the demo on SQLite working; the text is small enough per row.
        term = filters.search.removeprefix("@") or filters.search
        items = items.filter(
            Q(message__text__icontains=filters.search)
            | Q(message__author_handle__icontains=term)
            | Q(message__author_name__icontains=filters.search)
        )
    return items


def _statuses(filters: InboxFilters) -> list[str]:
    return list(Status.values) if filters.status == StatusFilter.ALL else [filters.status]


def filtered_items(
    user: AnyUser, filters: InboxFilters, *, now: datetime.datetime, with_status: bool = True
) -> QuerySet[TriageItem]:
    """The user's items matching the filters (the status filter too unless `with_status` is False)."""
    items = _item_filters(_account_filters(visible_triage_items(user), filters), user, filters, now=now)
    if with_status and filters.status != StatusFilter.ALL:
        items = items.filter(status=filters.status)
    return items


@dataclasses.dataclass(frozen=True)
class AccountScope:
    """The accounts a listing covers: their ids when few (a station, a member's accounts), so each is
    read along its own (account, status, priority, created_at, id) index range — a quiet station in a
    busy organization then costs a few index probes, not a scan of everyone's backlog; None when many
    (the scoped subquery, along the organization-wide index)."""

    ids: list[int] | None


def inbox_accounts(user: AnyUser, filters: InboxFilters) -> AccountScope:
    """One query, reading at most max(NARROW_ACCOUNTS, LATERAL_ACCOUNTS) + 1 ids."""
    accounts = visible_accounts(user)
    if filters.unit is not None:
        accounts = accounts.filter(unit__path__startswith=filters.unit.path)
    if filters.account_id is not None:
        accounts = accounts.filter(pk=filters.account_id)
    if filters.platform:
        accounts = accounts.filter(platform=filters.platform)
    most = max(NARROW_ACCOUNTS, LATERAL_ACCOUNTS)
    ids = list(accounts.order_by("pk").values_list("pk", flat=True)[: most + 1])
    return AccountScope(ids=ids if len(ids) <= most else None)


def _scoped(
    user: AnyUser, filters: InboxFilters, accounts: AccountScope, *, now: datetime.datetime
) -> QuerySet[TriageItem]:
    """Items in scope and matching every filter but the status."""
    if accounts.ids is not None:  # ids read through visible_accounts: already scoped
        base = TriageItem.objects.filter(account_id__in=accounts.ids)
    else:
        base = _account_filters(visible_triage_items(user), filters)
    return _item_filters(base, user, filters, now=now)


def _segment(priority: int, created_at: datetime.datetime, cutoff: datetime.datetime) -> int:
    if priority == Priority.URGENT:
        return 1
    if priority == Priority.HIGH or created_at < cutoff:
        return 2
    return 3


def _branches(cutoff: datetime.datetime) -> list[tuple[int, Q]]:
    """The index ranges of the three segments, in order."""
    return [
        (1, Q(priority=Priority.URGENT)),
        (2, Q(priority=Priority.HIGH)),
        (2, Q(priority=Priority.NORMAL, created_at__lt=cutoff)),
        (3, Q(priority=Priority.NORMAL, created_at__gte=cutoff)),
    ]


def _after(cursor: Cursor) -> Q:
    """(created_at, id) > cursor, with a plain range condition the index can start from."""
    return Q(created_at__gte=cursor.created_at) & (Q(created_at__gt=cursor.created_at) | Q(pk__gt=cursor.pk))


def _page_keys(
    user: AnyUser,
    filters: InboxFilters,
    accounts: AccountScope,
    *,
    now: datetime.datetime,
    cursor: Cursor | None,
    cutoff: datetime.datetime,
    limit: int,
) -> list[tuple[int, datetime.datetime, int]]:
    """(priority, created_at, id) of the next `limit` rows, in one query: a UNION ALL of index ranges
    (per status, per branch, and per account when there are few), each ordered and limited, merged here."""
    statuses = _statuses(filters)
    conditions: list[Q] = []
    for segment, condition in _branches(cutoff):
        if cursor is not None and segment < cursor.segment:
            continue
        if cursor is not None and segment == cursor.segment:
            condition &= _after(cursor)
        conditions += [condition & Q(status=status) for status in statuses]
    if not conditions:
        return []
    ids = accounts.ids
    in_one_query = connection.features.supports_slicing_ordering_in_compound
    if connection.vendor == "postgresql" and ids is not None and len(ids) <= LATERAL_ACCOUNTS:
        # One compiled range per branch and status rather than one per account too: the ORM's Python
        # time for dozens of ranges cost more than the query.
        keys = _lateral_keys(user, filters, ids, conditions, now=now, limit=limit)
        keys.sort(key=lambda key: (_segment(key[0], key[1], cutoff), key[1], key[2]))
        return keys[:limit]
    if in_one_query and ids is not None and len(ids) <= NARROW_ACCOUNTS and len(ids) * len(statuses) * 4 <= MAX_RANGES:
        bases = [
            _item_filters(TriageItem.objects.filter(account_id=account_id), user, filters, now=now)
            for account_id in ids
        ]
    else:
        bases = [_scoped(user, filters, accounts, now=now)]
    ranges = [
        base.filter(condition).order_by("created_at", "pk").values_list("priority", "created_at", "pk")[:limit]
        for condition in conditions
        for base in bases
    ]
    if not ranges:  # no account in scope
        return []
    if in_one_query:
        keys = list(ranges[0].union(*ranges[1:], all=True)) if len(ranges) > 1 else list(ranges[0])
    else:  # SQLite (the demo) cannot limit the parts of a UNION: a query per range (4, or 16 for "all")
        keys = [key for queryset in ranges for key in queryset]
    keys.sort(key=lambda key: (_segment(key[0], key[1], cutoff), key[1], key[2]))
    return keys[:limit]


def _lateral_keys(
    user: AnyUser,
    filters: InboxFilters,
    ids: list[int],
    conditions: list[Q],
    *,
    now: datetime.datetime,
    limit: int,
) -> list[tuple[int, datetime.datetime, int]]:
    """PostgreSQL: per range, the first `limit` rows of each account (a LATERAL join over the account
    ids, each an index probe on (account, status, priority, created_at, id)), then the first `limit` of
    those; the ranges in one UNION ALL. The ORM compiles each range with every filter, so the rows are
    exactly those of the other paths."""
    account = RawSQL("a.id", ())  # the account of the LATERAL join below
    parts: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        inner = (
            _item_filters(TriageItem.objects.filter(condition, account_id=account), user, filters, now=now)
            .order_by("created_at", "pk")
            .values_list("priority", "created_at", "pk")[:limit]
        )
        sql, inner_params = inner.query.sql_with_params()
        parts.append(
            "(SELECT k.priority, k.created_at, k.id FROM unnest(%s::bigint[]) AS a(id)"
            f" CROSS JOIN LATERAL ({sql}) AS k(priority, created_at, id) ORDER BY k.created_at, k.id LIMIT %s)"
        )
        params += [ids, *inner_params, limit]
    with connection.cursor() as db:
        db.execute(" UNION ALL ".join(parts), params)
        return [(int(priority), created_at, int(pk)) for priority, created_at, pk in db.fetchall()]


def age_label(created_at: datetime.datetime, now: datetime.datetime) -> str:
    seconds = max(int((now - created_at).total_seconds()), 0)
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def safe_platform_url(url: str) -> str:
    """Only http(s) links reach a page: a `javascript:` URL from a platform payload is dropped."""
    return url if url.lower().startswith(("https://", "http://")) else ""


# Reversed with this pk, then the pk swapped in: one reverse() per link, not per row and link.
_URL_PLACEHOLDER = 9_876_543_210


def _item_url_builder(name: str) -> Callable[[int], str]:
    prefix, _placeholder, suffix = reverse(name, args=[_URL_PLACEHOLDER]).rpartition(str(_URL_PLACEHOLDER))
    return lambda pk: f"{prefix}{pk}{suffix}"


def _choice_labels(choices: list[tuple[str, Any]]) -> Callable[[str], str]:
    """What TriageItem.get_<field>_display() gives for these choices, the (lazy) labels resolved once."""
    labels = {value: str(label) for value, label in choices}
    return lambda value: labels.get(value, value)


def inbox_rows(items: Iterable[TriageItem], *, now: datetime.datetime) -> list[InboxRow]:
    """Rows for items fetched with message, account__unit and assignee (one query for unit paths)."""
    items = list(items)
    status_label, category_label, platform_label, reason_label = (
        _choice_labels(choices)
        for choices in (Status.choices, TriageItem.Category.choices, Platform.choices, TriageItem.HandledReason.choices)
    )
    paths = unit_paths({item.account.unit for item in items})
    cutoff = now - response_target()
    url, assign, handle, dismiss, reopen = (
        _item_url_builder(f"inbox:{name}") for name in ("item", "assign", "handle", "dismiss", "reopen")
    )
    return [
        InboxRow(
            item=item,
            unit_path=paths.get(item.account.unit_id, ""),
            age=age_label(item.created_at, now),
            is_over_target=item.status == Status.WAITING and item.created_at < cutoff,
            platform_url=safe_platform_url(item.message.url),
            url=url(item.pk),
            assign_url=assign(item.pk),
            handle_url=handle(item.pk),
            dismiss_url=dismiss(item.pk),
            reopen_url=reopen(item.pk),
            status_label=status_label(item.status),
            category_label=category_label(item.category),
            platform_label=platform_label(item.platform),
            handled_reason_label=reason_label(item.handled_reason),
            # As the |date filter renders it: in the current time zone, "c" and "Y-m-d H:i".
            created_iso=(created := timezone.localtime(item.created_at)).isoformat(),
            created_title=created.strftime("%Y-%m-%d %H:%M"),
        )
        for item in items
    ]


def inbox_page(
    user: AnyUser,
    filters: InboxFilters,
    *,
    after: Cursor | None = None,
    page_size: int = PAGE_SIZE,
    now: datetime.datetime | None = None,
    accounts: AccountScope | None = None,
) -> InboxPage:
    """One page of the inbox in three queries (keys, rows, unit paths) whatever its size, plus one
    for the accounts unless the caller passes them (see inbox_accounts)."""
    now = now or timezone.now()
    accounts = accounts or inbox_accounts(user, filters)
    cutoff = after.cutoff if after is not None else now - response_target()
    keys = _page_keys(user, filters, accounts, now=now, cursor=after, cutoff=cutoff, limit=page_size + 1)
    has_next = len(keys) > page_size
    keys = keys[:page_size]
    if not keys:
        return InboxPage(rows=[], next_cursor=None)
    by_pk = TriageItem.objects.select_related("message", "account__unit", "assignee").in_bulk([key[2] for key in keys])
    rows = inbox_rows([by_pk[key[2]] for key in keys if key[2] in by_pk], now=now)
    next_cursor = None
    if has_next:
        priority, created_at, pk = keys[-1]
        segment = _segment(priority, created_at, cutoff)
        next_cursor = Cursor(segment=segment, created_at=created_at, pk=pk, cutoff=cutoff)
    return InboxPage(rows=rows, next_cursor=next_cursor)


def _summary_sql(scoped: QuerySet[TriageItem]) -> tuple[str, list[Any]]:
    """SELECT (capped count per status), (newest item id): the ORM compiles each subquery."""
    parts: list[str] = []
    params: list[Any] = []
    for status in Status:
        sql, status_params = scoped.filter(status=status).values("pk")[: COUNT_CAP + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{status.value})")
        params.extend(status_params)
    # The newest item the user may see (any status): an organization-wide id would tell a sub-unit user
    # how much the rest of the organization receives.
    sql, newest_params = scoped.order_by("-pk").values("pk")[:1].query.sql_with_params()
    parts.append(f"({sql})")
    params.extend(newest_params)
    return "SELECT " + ", ".join(parts), params


def inbox_summary(
    user: AnyUser,
    filters: InboxFilters,
    *,
    now: datetime.datetime | None = None,
    accounts: AccountScope | None = None,
) -> InboxSummary:
    """Counts per status (same filters except the status) and the newest item id in scope, in one query
    (plus one for the accounts unless passed). Each count reads at most COUNT_CAP + 1 index entries, so its
    cost does not grow with the backlog. The newest id is the watermark of the "N new" poll: anything
    created after this page was rendered."""
    now = now or timezone.now()
    accounts = accounts or inbox_accounts(user, filters)
    try:
        sql, params = _summary_sql(_scoped(user, filters, accounts, now=now))
    except EmptyResultSet:  # no account in scope at all
        row: tuple[Any, ...] | None = None
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    raw = {status.value: int(row[index]) if row else 0 for index, status in enumerate(Status)}
    capped = {status for status, count in raw.items() if count > COUNT_CAP}
    counts = {status: min(count, COUNT_CAP) for status, count in raw.items()}
    counts[StatusFilter.ALL] = sum(counts.values())
    if capped:
        capped.add(StatusFilter.ALL)
    newest_id = int(row[-1]) if row and row[-1] is not None else 0
    return InboxSummary(counts=counts, capped=frozenset(capped), newest_id=newest_id)


def new_items_count(
    user: AnyUser, filters: InboxFilters, *, since_id: int, now: datetime.datetime | None = None
) -> int:
    """Items matching the filters added after `since_id` (capped at NEW_CAP), in one query."""
    now = now or timezone.now()
    return filtered_items(user, filters, now=now).filter(pk__gt=since_id).values("pk")[:NEW_CAP].count()


def inbox_filter_choices(user: AnyUser) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The units (with their paths) and accounts the filter form offers, in three queries."""
    units = list(visible_units(user).order_by("path"))
    paths = unit_paths(units)
    labels = dict(Platform.choices)
    accounts = visible_accounts(user).order_by("platform", "handle").values_list("pk", "platform", "handle")
    return (
        [(unit.pk, paths[unit.pk]) for unit in units],
        [(pk, f"{labels.get(platform, platform)} {handle}") for pk, platform, handle in accounts],
    )


def inbox_export(
    user: AnyUser, filters: InboxFilters, *, now: datetime.datetime, limit: int, include_private: bool = False
) -> tuple[Iterator[TriageItem], dict[int, str]]:
    """Every item of the filter (oldest first, at most `limit`) streamed from the database, and the
    paths of the units of the user's accounts: four queries whatever the size. Private (direct) messages
    are left out unless `include_private`."""
    units = OrgUnit.objects.filter(pk__in=visible_accounts(user).values("unit_id"))
    paths = unit_paths(units)
    items = (
        without_private(filtered_items(user, filters, now=now), include_private=include_private)
        .select_related("message", "account", "assignee")
        .order_by("created_at", "pk")[:limit]
    )
    return items.iterator(chunk_size=2000), paths


# --- One item ------------------------------------------------------------------------------------


def item_thread(user: AnyUser, item: TriageItem) -> list[Message]:
    """The conversation around the item: inbound and the org's replies the user may see, oldest first."""
    messages = Message.objects.filter(account__in=visible_accounts(user), platform=item.platform)
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
    """Users who may be assigned the item: a reading role over its unit, or the account's holder."""
    from django.contrib.auth import get_user_model

    path = item.account.unit.path
    step = OrgUnit.steplen
    ancestors = [path[: index * step] for index in range(1, len(path) // step + 1)]
    granted = RoleGrant.objects.filter(unit__path__in=ancestors, unit__is_active=True, role__in=READ_ROLES)
    condition = Q(pk__in=granted.values("user_id"))
    if item.account.holder_id is not None:
        condition |= Q(member__pk=item.account.holder_id)
    user_model = get_user_model()
    return list(user_model.objects.filter(condition, is_active=True).order_by("username"))
