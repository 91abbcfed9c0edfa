"""Inbox rows for display: labels, ages, links and dates computed once per page, not per row in templates."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import Platform
from accounts_registry.selectors import unit_paths
from engagement.models import CATEGORY_BANNERS, TriageItem
from engagement.selectors.inbox_filters import response_target
from monitoring.search import matched_field

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Iterable

    from django.utils.safestring import SafeString


Status = TriageItem.Status
Priority = TriageItem.Priority


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
        return self.item.category == TriageItem.Category.EMERGENCY

    @property
    def version(self) -> str:
        """The state the person saw: actions carry it back, and refuse if the item changed since."""
        return item_version(self.item)


def item_version(item: TriageItem) -> str:
    return str(round(item.updated_at.timestamp() * 1_000_000))


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
    banners: dict[str, str] = {str(category): str(banner) for category, banner in CATEGORY_BANNERS.items()}
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
            banner=banners.get(item.category, ""),
            platform_label=platform_label(item.platform),
            handled_reason_label=reason_label(item.handled_reason),
            # As the |date filter renders it: in the current time zone, "c" and "Y-m-d H:i".
            created_iso=(created := timezone.localtime(item.created_at)).isoformat(),
            created_title=created.strftime("%Y-%m-%d %H:%M"),
        )
        for item in items
    ]


def with_search(rows: list[InboxRow], term: str) -> list[InboxRow]:
    """The rows with where the search matched: the text (every match highlighted) or else the author."""
    if not term:
        return rows
    marked = []
    for row in rows:
        match, highlighted = matched_field(row.item.message.text, term)
        marked.append(dataclasses.replace(row, search_match=match, highlighted=highlighted))
    return marked
