"""Sums of the per-account daily statistics over a subtree, grouped by unit-path prefix and day, cached per day.

The roll-ups (the overview, the unit page, the digests) read the per-account daily rows (DailyActivity
here, engagement's DailyResponse) of a whole subtree for a period and the one before: 60,000 rows for a
30-day view of 1,000 accounts. Summing them is the same work at every request, although a closed day
rarely changes. So the sums of one day, grouped by the prefix a roll-up asks for, are kept in the cache
(Redis in production) and recomputed only when they may have changed:

- every day of every model has a version, a random token in the cache. Whatever writes the rows of a
  day bumps it, now and again after its transaction commits (`daily_statistics_changed`), so a reader
  that summed the rows between the two sees its entry invalidated; a rebuild bumps the epoch shared by
  every day (`daily_statistics_reset`). A version that is missing (never set, evicted) is replaced by a
  new token, so it can never match an entry written before;
- which accounts a prefix groups depends on the tree: an entry also holds the subtree's membership token
  (`membership_token`: per prefix, its accounts and the unit each is in). A transfer, a holder change or
  a unit move changes it, and the entries are recomputed — a unit's past figures are those of the
  accounts it holds now (their history moves with them), as in the inbox and the API, which also read
  accounts by their current unit;
- entries expire after ENTRY_SECONDS anyway, which bounds what a lost bump (cache unreachable at that
  moment) could leave stale. An unreachable cache is never an error: the sums are then read from SQL.

The figures are the sums of the rows, exactly: a cached day is the same SQL sum stored. Queries: at most
one per call, over the missing days only (an index on day keeps "today" cheap).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import Substr

from accounts_registry.models import SocialAccount
from monitoring.models import DailyActivity

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from django.db.models import Model

logger = logging.getLogger(__name__)

ENTRY_SECONDS = 15 * 60
PREFIX = "chorus:daily"
ACTIVITY_FIELDS = ("posts", "replies", "inbound")

# {unit-path prefix: (sum of each field, in the order asked)}
DaySums = dict[str, tuple[int, ...]]


def _token() -> str:
    return secrets.token_hex(8)


def _prefix() -> str:
    """Keys name the database too: two databases sharing one cache (a test run beside a demo) never mix."""
    return f"{PREFIX}:{connection.settings_dict['NAME']}"


def epoch_key() -> str:
    return f"{_prefix()}:epoch"


def _version_key(model: type[Model], day: datetime.date, *, prefix: str = "") -> str:
    """`prefix` is `_prefix()` when the caller has it (a range of days asks for many keys)."""
    return f"{prefix or _prefix()}:{model._meta.label_lower}:v:{day.isoformat()}"


def versions_renew(keys: Iterable[str]) -> None:
    """New tokens for these version keys (run now and again after the writer's commit)."""
    try:
        cache.set_many({key: _token() for key in keys}, timeout=None)
    except Exception:  # the cache is an optimization: entries expire (ENTRY_SECONDS) anyway
        logger.warning("daily statistics: could not bump versions in the cache", exc_info=True)


def _bump(keys: list[str]) -> None:
    versions_renew(keys)
    transaction.on_commit(functools.partial(versions_renew, keys))


def daily_statistics_changed(model: type[Model], days: Iterable[datetime.date]) -> None:
    """The rows of `model` on these days were written: their cached sums are stale (now and after commit)."""
    keys = sorted({_version_key(model, day) for day in days})
    if keys:
        _bump(keys)


def daily_statistics_reset() -> None:
    """Every day of every model may have changed (a rebuild): every cached sum is stale."""
    _bump([epoch_key()])


MEMBERSHIP_AGGREGATES: dict[str, Any] = {
    "accounts": Count("pk"),
    "placement": Sum(F("pk") * F("unit_id")),  # moves when an account changes unit
}


def membership_token(path: str, key_length: int) -> str:
    """What grouping a subtree's rows by unit-path prefix depends on: per prefix, how many accounts (retired
    ones too: their rows count) and which accounts in which units. A transfer, a holder change or a unit
    move that changes a prefix's accounts changes it (an account moving deeper inside a prefix changes it
    too: a needless recomputation, never a stale sum). One query."""
    rows = (
        SocialAccount.objects.filter(unit__path__startswith=path)
        .annotate(key=Substr("unit__path", 1, key_length))
        .values("key")
        .annotate(**MEMBERSHIP_AGGREGATES)
        .order_by()
    )
    return membership_token_of(rows)


def membership_token_of(rows: Iterable[Mapping[str, Any]]) -> str:
    """The token of `membership_token` from rows of `key` and MEMBERSHIP_AGGREGATES, for a caller that reads
    them with its own grouped query."""
    parts = sorted(f"{row['key']}:{row['accounts']}:{row['placement'] or 0}" for row in rows)
    return hashlib.blake2s(";".join(parts).encode(), digest_size=12).hexdigest()


def _read(versions: list[str], entries: list[str]) -> tuple[dict[str, str | None], dict[str, Any]]:
    """The versions (a missing one replaced by a new token) and the entries, in one round trip mostly."""
    found: dict[str, Any] = cache.get_many([*versions, *entries])
    missing = [key for key in versions if key not in found]
    for key in missing:
        cache.add(key, _token(), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    return {key: found.get(key) for key in versions}, {key: found[key] for key in entries if key in found}


def _sql_sums(
    model: type[Model], fields: Sequence[str], path: str, key_length: int, days: list[datetime.date]
) -> dict[datetime.date, DaySums]:
    rows: Any = (
        model._default_manager.filter(account__unit__path__startswith=path, day__in=days)
        .annotate(key=Substr("account__unit__path", 1, key_length))
        .values("key", "day")
        .annotate(**{f"sum_{field}": Sum(field) for field in fields})
        .order_by()
    )
    sums: dict[datetime.date, DaySums] = {day: {} for day in days}
    for row in rows:
        sums[row["day"]][row["key"]] = tuple(row[f"sum_{field}"] or 0 for field in fields)
    return sums


def grouped_daily_sums(
    model: type[Model],
    fields: Sequence[str],
    path: str,
    key_length: int,
    days: Sequence[datetime.date],
    *,
    membership: str | None = None,
) -> dict[datetime.date, DaySums]:
    """{day: {unit-path prefix of `key_length`: sums of `fields`}} of the rows of `model` (an `account`
    and a `day` column) whose account's unit path starts with `path` (a subtree the caller authorized),
    for each of `days`. Days without rows map to {}. `membership` is the subtree's `membership_token`
    when the caller already has it (else one query computes it). Cached per day (module docstring)."""
    days = list(dict.fromkeys(days))
    if not days:
        return {}
    label = model._meta.label_lower
    what = hashlib.blake2s(",".join(fields).encode(), digest_size=6).hexdigest()
    prefix = _prefix()
    entry_keys = {day: f"{prefix}:{label}:{what}:{path}:{key_length}:{day.isoformat()}" for day in days}
    version_keys = {day: _version_key(model, day, prefix=prefix) for day in days}
    epoch = epoch_key()
    try:
        tokens, entries = _read([epoch, *version_keys.values()], list(entry_keys.values()))
    except Exception:
        logger.warning("daily statistics: cache unreachable, summing in SQL", exc_info=True)
        return _sql_sums(model, fields, path, key_length, days)
    membership = membership if membership is not None else membership_token(path, key_length)
    expected = {day: (tokens.get(epoch), tokens.get(version_keys[day]), membership) for day in days}
    result: dict[datetime.date, DaySums] = {}
    for day in days:
        entry = entries.get(entry_keys[day])
        if entry is not None and entry[0] == expected[day]:
            result[day] = entry[1]
    missing = [day for day in days if day not in result]
    if missing:
        computed = _sql_sums(model, fields, path, key_length, missing)
        result.update(computed)
        try:
            cache.set_many({entry_keys[day]: (expected[day], computed[day]) for day in missing}, timeout=ENTRY_SECONDS)
        except Exception:
            logger.warning("daily statistics: could not store sums in the cache", exc_info=True)
    return result


def activity_by_day(
    path: str,
    key_length: int,
    first: datetime.date,
    last: datetime.date,
    *,
    membership: str | None = None,
) -> dict[str, dict[datetime.date, tuple[int, int, int]]]:
    """{unit-path prefix: {day: (posts, replies, inbound)}} of the subtree's accounts (DailyActivity), for
    the days from `first` to `last`; days without activity are left out."""
    days = [first + datetime.timedelta(days=offset) for offset in range((last - first).days + 1)]
    result: dict[str, dict[datetime.date, tuple[int, int, int]]] = {}
    for day, groups in grouped_daily_sums(
        DailyActivity, ACTIVITY_FIELDS, path, key_length, days, membership=membership
    ).items():
        for key, (posts, replies, inbound) in groups.items():
            result.setdefault(key, {})[day] = (posts, replies, inbound)
    return result


def subtree_activity(path: str, first: datetime.date, last: datetime.date) -> tuple[int, int, int]:
    """(posts, replies, inbound) of the subtree's accounts from `first` to `last`: the roll-ups' sums."""
    totals = [0, 0, 0]
    for days in activity_by_day(path, len(path), first, last).values():
        for figures in days.values():
            for index, value in enumerate(figures):
                totals[index] += value
    return totals[0], totals[1], totals[2]
