"""Inbox rows for display: labels, ages, links and dates computed once per page, not per row in templates."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import OrgUnit, Platform
from accounts_registry.selectors import unit_paths
from engagement.models import CATEGORY_BANNERS, TriageItem
from engagement.selectors.inbox_filters import response_target
from monitoring.models import Message
from monitoring.search import matched_field

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Iterable

    from django.utils.safestring import SafeString


Status = TriageItem.Status
Priority = TriageItem.Priority


@dataclasses.dataclass(frozen=True, slots=True)
class InboxRow:
    """What a row shows, in plain values: from a page's query (`ROW_VALUES`, no model instances) or from an
    item fetched with message, account__unit, assignee and closed_by (one row again after an action)."""

    pk: int
    status: str
    category: str
    category_reason: str
    is_question: bool
    is_private: bool
    author_name: str
    author_handle: str
    text: str
    account_handle: str
    assignee_id: int | None
    assignee_name: str  # "" when unassigned
    closed_by_name: str  # "" when no one closed it
    version: str  # the state the person saw: actions carry it back, and refuse if the item changed since
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
    banner: str = ""
    platform_label: str = ""
    handled_reason_label: str = ""
    created_iso: str = ""
    created_title: str = ""
    # With a search (monitoring.search): where it matched ("text" or "author"), the text with every match marked.
    search_match: str = ""
    highlighted: SafeString | None = None

    @property
    def is_emergency(self) -> bool:
        return self.category == TriageItem.Category.EMERGENCY


# A page's rows as values() (engagement.selectors.inbox.inbox_page): name in a row's values -> lookup. Fifty
# rows of five model instances each (item, message, account, unit, people) were a tenth of the page's time.
_USERNAME = get_user_model().USERNAME_FIELD
ROW_VALUES = {
    **{name: name for name in ("pk", "status", "category", "category_reason", "is_question", "platform")},
    **{name: name for name in ("created_at", "updated_at", "handled_reason", "assignee_id")},
    **{name: f"message__{name}" for name in ("text", "author_name", "author_handle", "url", "visibility")},
    "account_handle": "account__handle",
    "unit_id": "account__unit_id",
    "unit_path": "account__unit__path",
    "assignee_name": f"assignee__{_USERNAME}",
    "closed_by_name": f"closed_by__{_USERNAME}",
}


def _values_of(item: TriageItem) -> dict[str, Any]:
    """An item's ROW_VALUES, read from the instance along the same lookups (fetched with its message,
    account__unit and people; a missing person reads None, as values() gives)."""
    values = {}
    for name, lookup in ROW_VALUES.items():
        value: Any = item
        for attribute in lookup.split("__"):
            value = None if value is None else getattr(value, attribute)
        values[name] = value
    return values


def item_version(item: TriageItem) -> str:
    return version_of(item.updated_at)


def version_of(updated_at: datetime.datetime) -> str:
    return str(round(updated_at.timestamp() * 1_000_000))


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
    """Rows for items fetched with message, account__unit, assignee and closed_by (one query for unit paths)."""
    return rows_from_values([_values_of(item) for item in items], now=now)


def rows_from_values(items: list[dict[str, Any]], *, now: datetime.datetime) -> list[InboxRow]:
    """Rows for ROW_VALUES of items (one query for unit paths)."""
    status_label, category_label, platform_label, reason_label = (
        _choice_labels(choices)
        for choices in (Status.choices, TriageItem.Category.choices, Platform.choices, TriageItem.HandledReason.choices)
    )
    units = {item["unit_id"]: item["unit_path"] for item in items}
    paths = unit_paths(OrgUnit(pk=pk, path=path) for pk, path in units.items())
    banners: dict[str, str] = {str(category): str(banner) for category, banner in CATEGORY_BANNERS.items()}
    cutoff = now - response_target()
    url, assign, handle, dismiss, reopen = (
        _item_url_builder(f"inbox:{name}") for name in ("item", "assign", "handle", "dismiss", "reopen")
    )
    direct = Message.Visibility.DIRECT
    rows = []
    for item in items:
        pk, status, category, created_at = item["pk"], item["status"], item["category"], item["created_at"]
        created = timezone.localtime(created_at)
        rows.append(
            InboxRow(
                pk=pk,
                status=status,
                category=category,
                category_reason=item["category_reason"],
                is_question=item["is_question"],
                is_private=item["visibility"] == direct,
                author_name=item["author_name"],
                author_handle=item["author_handle"],
                text=item["text"],
                account_handle=item["account_handle"],
                assignee_id=item["assignee_id"],
                assignee_name=item["assignee_name"] or "",
                closed_by_name=item["closed_by_name"] or "",
                version=version_of(item["updated_at"]),
                unit_path=paths.get(item["unit_id"], ""),
                age=age_label(created_at, now),
                is_over_target=status == Status.WAITING and created_at < cutoff,
                platform_url=safe_platform_url(item["url"]),
                url=url(pk),
                assign_url=assign(pk),
                handle_url=handle(pk),
                dismiss_url=dismiss(pk),
                reopen_url=reopen(pk),
                status_label=status_label(status),
                category_label=category_label(category),
                banner=banners.get(category, ""),
                platform_label=platform_label(item["platform"]),
                handled_reason_label=reason_label(item["handled_reason"]),
                # As the |date filter renders it: in the current time zone, "c" and "Y-m-d H:i".
                created_iso=created.isoformat(),
                created_title=created.strftime("%Y-%m-%d %H:%M"),
            )
        )
    return rows


def with_search(rows: list[InboxRow], term: str) -> list[InboxRow]:
    """The rows with where the search matched: the text (every match highlighted) or else the author."""
    if not term:
        return rows
    marked = []
    for row in rows:
        match, highlighted = matched_field(row.text, term)
        marked.append(dataclasses.replace(row, search_match=match, highlighted=highlighted))
    return marked
