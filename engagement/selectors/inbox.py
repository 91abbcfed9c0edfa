"""The inbox's page reader: listing, counts, the "N new" poll and the export, always scoped to the
acting user (who sees what: triage_access; filters and cursor: inbox_filters; rows: inbox_rows).

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

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts_registry.models import OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import unit_paths, visible_accounts, visible_units
from engagement.models import TriageItem
from monitoring.extensions import open_flag_exists
from monitoring.search import estimated_matches, message_search
from monitoring.selectors import without_private

if TYPE_CHECKING:
    from collections.abc import Iterator

    from accounts_registry.selectors import AnyUser

from engagement.selectors.inbox_display import ROW_VALUES, InboxRow, rows_from_values
from engagement.selectors.inbox_filters import (
    AgeFilter,
    AssignedFilter,
    Cursor,
    InboxFilters,
    OrderFilter,
    StatusFilter,
    response_target,
)
from engagement.selectors.triage_access import also_addressed, items_of

Status = TriageItem.Status
Priority = TriageItem.Priority

PAGE_SIZE = 50
# Counts above this show as "1000+": counting half a million waiting items on every page view would
# cost more than the page itself, and nobody triages by the exact figure.
COUNT_CAP = 1000
# A search's counts stop lower: each counted item is a message read and its folded text compared, not an
# index entry. And a search counts only the tab shown: a common word's count walks items until enough
# match, so four counts cost four walks (each tab is counted when it is opened).
SEARCH_COUNT_CAP = 100
# A search PostgreSQL expects to match more messages than this (organization-wide) is counted in a few
# accounts by walking their items (see _lateral_count_sql); a rarer one from the trigram index.
COMMON_WORD_MATCHES = 10_000
NEW_CAP = 100
# Up to this many accounts in scope, each is read along its own index range (see AccountScope), as
# long as the page stays within MAX_RANGES ranges (accounts x statuses x 4 branches).
NARROW_ACCOUNTS = 24
MAX_RANGES = 96
# Up to this many accounts (a station or a division), PostgreSQL reads each range per account with a
# LATERAL join (one index probe per account, limited to the page) instead of the ranges above.
LATERAL_ACCOUNTS = 64


@dataclasses.dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: Cursor | None


@dataclasses.dataclass(frozen=True)
class InboxSummary:
    """Per-status counts (capped at COUNT_CAP; with a search at SEARCH_COUNT_CAP, and only the statuses of
    the tab shown: `counts` has no entry for the others) and the newest item id, for the "N new" poll."""

    counts: dict[str, int]
    capped: frozenset[str]
    newest_id: int


# --- Listing -------------------------------------------------------------------------------------


def _filtered_accounts(user: AnyUser, filters: InboxFilters) -> QuerySet[SocialAccount]:
    """The user's accounts the unit, account and platform filters keep."""
    accounts = visible_accounts(user)
    if filters.unit is not None:
        accounts = accounts.filter(unit__path__startswith=filters.unit.path)
    if filters.account_id is not None:
        accounts = accounts.filter(pk=filters.account_id)
    if filters.platform:
        accounts = accounts.filter(platform=filters.platform)
    return accounts


def _item_filters(
    items: QuerySet[TriageItem], user: AnyUser, filters: InboxFilters, *, now: datetime.datetime
) -> QuerySet[TriageItem]:
    """Every filter on the item itself except the status."""
    if filters.category:
        items = items.filter(category=filters.category)
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
        items = items.filter(open_flag_exists(OuterRef("message_id")))
    if filters.search:
        items = items.filter(message_search(filters.search, message="message"))
    return items


def _statuses(filters: InboxFilters) -> list[str]:
    return list(Status.values) if filters.status == StatusFilter.ALL else [filters.status]


def filtered_items(
    user: AnyUser, filters: InboxFilters, *, now: datetime.datetime, with_status: bool = True
) -> QuerySet[TriageItem]:
    """The user's items matching the filters (the status filter too unless `with_status` is False)."""
    items = _item_filters(items_of(_filtered_accounts(user, filters)), user, filters, now=now)
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
    accounts = _filtered_accounts(user, filters)
    most = max(NARROW_ACCOUNTS, LATERAL_ACCOUNTS)
    ids = list(accounts.order_by("pk").values_list("pk", flat=True)[: most + 1])
    return AccountScope(ids=ids if len(ids) <= most else None)


def _scoped(
    user: AnyUser, filters: InboxFilters, accounts: AccountScope, *, now: datetime.datetime
) -> QuerySet[TriageItem]:
    """Items in scope and matching every filter but the status."""
    # ids were read through visible_accounts: already scoped
    base = items_of(accounts.ids if accounts.ids is not None else _filtered_accounts(user, filters))
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
        return _merged(keys, cutoff, limit)
    if in_one_query and ids is not None and len(ids) <= NARROW_ACCOUNTS and len(ids) * len(statuses) * 4 <= MAX_RANGES:
        bases = [
            _item_filters(TriageItem.objects.filter(account_id=account_id), user, filters, now=now)
            for account_id in ids
        ]
        # Plus the items stored under another account that address one of these: a range of their own.
        if ids:
            bases.append(_item_filters(also_addressed(ids), user, filters, now=now))
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
    return _merged(keys, cutoff, limit)


def _merged(
    keys: list[tuple[int, datetime.datetime, int]], cutoff: datetime.datetime, limit: int
) -> list[tuple[int, datetime.datetime, int]]:
    """The first `limit` keys in list order, each once: an item addressing two accounts of the scope is
    found in the ranges of both. Each range holds its first `limit` rows, so the merge loses none."""
    unique = list(dict.fromkeys(keys))
    unique.sort(key=lambda key: (_segment(key[0], key[1], cutoff), key[1], key[2]))
    return unique[:limit]


def _lateral_keys(
    user: AnyUser,
    filters: InboxFilters,
    ids: list[int],
    conditions: list[Q],
    *,
    now: datetime.datetime,
    limit: int,
    newest: bool = False,
) -> list[tuple[int, datetime.datetime, int]]:
    """PostgreSQL: per range, the first `limit` rows of each account (a LATERAL join over the account
    ids, each an index probe on (account, status, priority, created_at, id), or on (account, created_at)
    for a range in time order alone), then the first `limit` of those, oldest first (`newest`: newest
    first); the ranges in one UNION ALL. The ORM compiles each range with every filter, so the rows are
    exactly those of the other paths. Items stored under another account that address one of these
    are read by one more range per condition (few rows: only messages addressing several accounts)."""
    account = RawSQL("a.id", ())  # the account of the LATERAL join below
    ordering = ("-created_at", "-pk") if newest else ("created_at", "pk")
    direction = "DESC" if newest else "ASC"
    parts: list[str] = []
    params: list[Any] = []
    for condition in conditions:
        if ids:
            also = (
                _item_filters(also_addressed(ids).filter(condition), user, filters, now=now)
                .order_by(*ordering)
                .values_list("priority", "created_at", "pk")[:limit]
            )
            also_sql, also_params = also.query.sql_with_params()
            parts.append(f"({also_sql})")
            params += also_params
        inner = (
            _item_filters(TriageItem.objects.filter(condition, account_id=account), user, filters, now=now)
            .order_by(*ordering)
            .values_list("priority", "created_at", "pk")[:limit]
        )
        sql, inner_params = inner.query.sql_with_params()
        parts.append(
            "(SELECT k.priority, k.created_at, k.id FROM unnest(%s::bigint[]) AS a(id)"  # noqa: S608 — ORM-compiled SQL, values as params
            f" CROSS JOIN LATERAL ({sql}) AS k(priority, created_at, id)"
            f" ORDER BY k.created_at {direction}, k.id {direction} LIMIT %s)"
        )
        params += [ids, *inner_params, limit]
    with connection.cursor() as db:
        db.execute(" UNION ALL ".join(parts), params)
        return [(int(priority), created_at, int(pk)) for priority, created_at, pk in db.fetchall()]


def _chronological_keys(
    user: AnyUser,
    filters: InboxFilters,
    accounts: AccountScope,
    *,
    now: datetime.datetime,
    cursor: Cursor | None,
    limit: int,
) -> list[tuple[int, datetime.datetime, int]]:
    """(priority, created_at, id) of the next `limit` rows by age alone, oldest or newest first: one
    query along the (created_at, id) order; on PostgreSQL in a few accounts (a station), along each
    account's (account, created_at) index (a LATERAL join, as `_lateral_keys`): the organization's time
    order would read everyone's items to find a station's."""
    newest = filters.order == OrderFilter.NEWEST
    condition = Q(status__in=_statuses(filters))
    if cursor is not None:
        if newest:
            condition &= Q(created_at__lt=cursor.created_at) | Q(created_at=cursor.created_at, pk__lt=cursor.pk)
        else:
            condition &= Q(created_at__gt=cursor.created_at) | Q(created_at=cursor.created_at, pk__gt=cursor.pk)
    ids = accounts.ids
    if connection.vendor == "postgresql" and ids is not None and len(ids) <= LATERAL_ACCOUNTS:
        # An item addressing two accounts of the scope is found in the ranges of both: each once.
        found = list(dict.fromkeys(_lateral_keys(user, filters, ids, [condition], now=now, limit=limit, newest=newest)))
        found.sort(key=lambda key: (key[1], key[2]), reverse=newest)
        return found[:limit]
    ordering = ("-created_at", "-pk") if newest else ("created_at", "pk")
    items = _scoped(user, filters, accounts, now=now).filter(condition)
    keys = items.order_by(*ordering).values_list("priority", "created_at", "pk")[:limit]
    return [(int(priority), created_at, int(pk)) for priority, created_at, pk in keys]


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
    plain_segment = OrderFilter.SEGMENTS.get(filters.order)
    expected = {plain_segment} if plain_segment is not None else {1, 2, 3}
    if after is not None and after.segment not in expected:
        after = None  # a page link of another order: start over
    cutoff = after.cutoff if after is not None else now - response_target()
    if plain_segment is not None:
        keys = _chronological_keys(user, filters, accounts, now=now, cursor=after, limit=page_size + 1)
    else:
        keys = _page_keys(user, filters, accounts, now=now, cursor=after, cutoff=cutoff, limit=page_size + 1)
    has_next = len(keys) > page_size
    keys = keys[:page_size]
    if not keys:
        return InboxPage(rows=[], next_cursor=None)
    names = list(ROW_VALUES)
    values = TriageItem.objects.filter(pk__in=[key[2] for key in keys]).values_list(*ROW_VALUES.values())
    by_pk = {item["pk"]: item for item in (dict(zip(names, row, strict=True)) for row in values)}
    rows = rows_from_values([by_pk[key[2]] for key in keys if key[2] in by_pk], now=now)
    next_cursor = None
    if has_next:
        priority, created_at, pk = keys[-1]
        segment = _segment(priority, created_at, cutoff) if plain_segment is None else plain_segment
        next_cursor = Cursor(segment=segment, created_at=created_at, pk=pk, cutoff=cutoff)
    return InboxPage(rows=rows, next_cursor=next_cursor)


def _summary_sql(
    user: AnyUser, filters: InboxFilters, accounts: AccountScope, *, now: datetime.datetime, cap: int
) -> tuple[str, list[Any]]:
    """SELECT (capped count per status), (newest item id): the ORM compiles each subquery. With two bases
    (PostgreSQL, a few accounts: the items stored under them, and those addressing them from another
    account) each is counted along its own index and the union deduplicated — an OR of the two in one
    WHERE made PostgreSQL scan the whole table for a station. A common searched word in a few accounts is
    counted by walking each account's items instead (`_lateral_count_sql`)."""
    bases = _summary_bases(user, filters, accounts, now=now)
    parts: list[str] = []
    params: list[Any] = []
    walk = False
    if filters.search and accounts.ids is not None:
        estimate = estimated_matches(filters.search)
        walk = estimate is not None and estimate > COMMON_WORD_MATCHES
    for status in _counted_statuses(filters):
        status_params: list[Any]
        if walk and accounts.ids is not None:
            union, status_params = _lateral_count_sql(user, filters, accounts.ids, status, now=now, cap=cap)
        else:
            compiled = [base.filter(status=status).values("pk")[: cap + 1].query.sql_with_params() for base in bases]
            # One base as it is (SQLite, the demo, takes no parenthesized SELECT in a FROM's union)
            union = compiled[0][0] if len(compiled) == 1 else " UNION ".join(f"({sql})" for sql, _params in compiled)
            status_params = [param for _sql, base_params in compiled for param in base_params]
        parts.append(f"(SELECT COUNT(*) FROM ({union}) AS capped_{status})")  # noqa: S608 — ORM SQL, values as params; status is an enum value
        params.extend(status_params)
    # The newest item the user may see (any status): an organization-wide id would tell a sub-unit user
    # how much the rest of the organization receives. Without the search: any newer item is newer, and
    # the search would read every message of the scope for a word it does not find.
    unsearched = _summary_bases(user, dataclasses.replace(filters, search=""), accounts, now=now)
    newest = [base.order_by("-pk").values("pk")[:1].query.sql_with_params() for base in unsearched]
    if len(newest) == 1:
        parts.append(f"({newest[0][0]})")
    else:
        parts.append("GREATEST(" + ", ".join(f"({sql})" for sql, _params in newest) + ")")
    params.extend(param for _sql, newest_params in newest for param in newest_params)
    return "SELECT " + ", ".join(parts), params


def _counted_statuses(filters: InboxFilters) -> list[str]:
    """Every status; with a search, those of the tab shown (see SEARCH_COUNT_CAP)."""
    return _statuses(filters) if filters.search else list(Status.values)


def _summary_bases(
    user: AnyUser, filters: InboxFilters, accounts: AccountScope, *, now: datetime.datetime
) -> list[QuerySet[TriageItem]]:
    if connection.vendor == "postgresql" and accounts.ids != []:
        # ids read through visible_accounts: already scoped; else the scoped subquery
        scope = accounts.ids if accounts.ids is not None else _filtered_accounts(user, filters)
        return [
            _item_filters(TriageItem.objects.filter(account_id__in=scope), user, filters, now=now),
            _item_filters(also_addressed(scope), user, filters, now=now),
        ]
    return [_scoped(user, filters, accounts, now=now)]


def _lateral_count_sql(
    user: AnyUser, filters: InboxFilters, ids: list[int], status: str, *, now: datetime.datetime, cap: int
) -> tuple[str, list[Any]]:
    """The `cap + 1` first items of a status matching a search in a few accounts: per account along its
    (account, status, ...) index (a LATERAL join over the ids), then those addressing one of them from
    another account. Left to itself the planner reads every message the word matches organization-wide
    (the trigram index) and keeps the scope's: seconds for a common word in a station."""
    account = RawSQL("a.id", ())
    inner = _item_filters(TriageItem.objects.filter(status=status, account_id=account), user, filters, now=now)
    inner_sql, inner_params = inner.values("pk")[: cap + 1].query.sql_with_params()
    also = _item_filters(also_addressed(ids).exclude(account_id__in=ids).filter(status=status), user, filters, now=now)
    also_sql, also_params = also.values("pk")[: cap + 1].query.sql_with_params()
    sql = (
        "(SELECT k.id FROM unnest(%s::bigint[]) AS a(id)"  # noqa: S608 — ORM-compiled SQL, values as params
        f" CROSS JOIN LATERAL ({inner_sql}) AS k(id) LIMIT %s) UNION ALL ({also_sql})"
    )
    return sql, [ids, *inner_params, cap + 1, *also_params]


def inbox_summary(
    user: AnyUser,
    filters: InboxFilters,
    *,
    now: datetime.datetime | None = None,
    accounts: AccountScope | None = None,
) -> InboxSummary:
    """Counts per status (same filters except the status; with a search, the shown tab's statuses only) and
    the newest item id in scope, in one query (plus one for the accounts unless passed, and one for how
    common a searched word is). Each count reads at most COUNT_CAP + 1 index entries, so its cost does not
    grow with the backlog. The newest id is the watermark of the "N new" poll: anything created after this
    page was rendered."""
    now = now or timezone.now()
    accounts = accounts or inbox_accounts(user, filters)
    cap = SEARCH_COUNT_CAP if filters.search else COUNT_CAP
    try:
        sql, params = _summary_sql(user, filters, accounts, now=now, cap=cap)
    except EmptyResultSet:  # no account in scope at all
        row: tuple[Any, ...] | None = None
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    counted = _counted_statuses(filters)
    raw = {status: int(row[index]) if row else 0 for index, status in enumerate(counted)}
    capped = {status for status, count in raw.items() if count > cap}
    counts = {status: min(count, cap) for status, count in raw.items()}
    if len(counted) == len(Status):
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


def inbox_matching_ids(
    user: AnyUser, filters: InboxFilters, *, now: datetime.datetime, limit: int, among: list[int] | None = None
) -> list[int]:
    """The ids of the user's items matching the filters, status included (every page of the list), lowest
    first, at most `limit`; only those `among` the given ids if given (one query either way)."""
    items = filtered_items(user, filters, now=now)
    if among is not None:
        items = items.filter(pk__in=among)
    return list(items.order_by("pk").values_list("pk", flat=True)[:limit])


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
