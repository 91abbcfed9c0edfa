"""The inbox's bulk actions: on the selected items (`bulk`), and on every item matching the filters
(`bulk_matching`, "all N matching"). Both are all or nothing, audited item by item as one action each,
and a bulk handle or dismiss can be undone (the same items reopened, through `bulk`).

"All N matching" never takes ids from the client: the filters (`back`) are parsed strictly through
InboxFilterForm (common.filters: a unit or account outside the user's scope is a 404, a malformed value
refused), the server counts the matching items and asks to confirm with that number, signing the set it
counted (MatchingSelection). The action then applies to the items of that set that still match the
filters in the user's scope: none that arrived after the confirmation, none that stopped matching
meanwhile (those are counted and named in the result). More than MATCHING_MAX matching: refused, narrow
the filters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts_registry.capabilities import Action
from common.filters import InvalidFilters
from common.htmx import acting_user, render_page, wants_fragment
from engagement.forms import (
    BULK_ACTIONS,
    MATCHING_MAX,
    BulkForm,
    BulkMatchingForm,
    InboxFilterForm,
    MatchingSelection,
    back_filters,
)
from engagement.models import TriageItem
from engagement.selectors import inbox as selectors
from engagement.selectors import inbox_display, triage_access
from engagement.services import triage_actions as services
from engagement.services.triage_actions import BulkAction
from engagement.views.inbox import inbox_url, require_inbox, tabs_context
from engagement.views.inbox_rows import TEMPLATE, rows_html

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from engagement.selectors.inbox_filters import InboxFilters

BULK_CONFIRM_TEMPLATE = "engagement/inbox_bulk_confirm.html"

# What each bulk action asks of the capabilities table.
BULK_CAPABILITY = {
    BulkAction.ASSIGN_ME: Action.TRIAGE_ASSIGN,
    BulkAction.HANDLE: Action.TRIAGE_HANDLE,
    BulkAction.DISMISS: Action.TRIAGE_DISMISS,
    BulkAction.REOPEN: Action.TRIAGE_HANDLE,  # as reopening one item
}
SHOWN_MAX = 2 * selectors.PAGE_SIZE
LABELS = {**dict(BULK_ACTIONS), **dict(TriageItem.HandledReason.choices)}


def _action_label(action: str, reason: str) -> str:
    return str(LABELS[action]) + (f" ({LABELS[reason]})" if action == BulkAction.HANDLE else "")


def _refused(request: HttpRequest, error: str, query: str) -> HttpResponse:
    if wants_fragment(request):
        return render_page(request, f"{TEMPLATE}#bulk-result", {"bulk_error": error, "updated_html": ""})
    messages.error(request, error)
    return redirect(inbox_url(query))


def _shown(request: HttpRequest, name: str) -> list[int] | None:
    """The ids of the rows on the person's page (display only: which rows to swap in again out of band,
    never which items to act on); None when the form does not say."""
    if name not in request.POST:
        return None
    return sorted({int(value) for value in request.POST.getlist(name)[:SHOWN_MAX] if value.isdigit()})


def _done(
    request: HttpRequest,
    *,
    updated: list[TriageItem],
    action: str,
    filters: InboxFilters,
    left_alone: int = 0,
    shown: list[int] | None = None,
) -> HttpResponse:
    """The result: how many were updated (and left alone), the rows again out of band (those `shown` on the
    page, when the page said which), the counts, and the undo of a bulk handle or dismiss (the same items,
    reopened through `bulk`, each reopening audited)."""
    query = urlencode(filters.params())
    notice = f"{LABELS[action]}: {len(updated)} item{'s' if len(updated) != 1 else ''} updated."
    if left_alone:
        notice += f" {left_alone} no longer matched the filters and {'were' if left_alone != 1 else 'was'} left alone."
    undo_ids = [item.pk for item in updated] if action in {BulkAction.HANDLE, BulkAction.DISMISS} else []
    if wants_fragment(request):
        on_page = [item for item in updated if shown is None or item.pk in set(shown)]
        context = {
            "bulk_notice": notice,
            "undo_ids": undo_ids,
            "undo_shown": shown,
            "updated_html": rows_html(
                request, inbox_display.inbox_rows(on_page, now=timezone.now()), query=query, oob=True
            ),
            "query": query,
            **tabs_context(request, filters),
        }
        return render_page(request, f"{TEMPLATE}#bulk-result", context)
    messages.success(request, notice)
    return redirect(inbox_url(query))


@require_POST
@login_required
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected items, all or nothing: any item the user may not act on is a 404
    for the whole request, and nothing changes."""
    require_inbox(request)
    form = BulkForm(request.POST)
    filters = back_filters(request.POST.get("back", ""), user=request.user)
    query = urlencode(filters.params())
    if not form.is_valid():
        return _refused(request, " ".join(str(message) for errors in form.errors.values() for message in errors), query)
    items = triage_access.get_triage_items_for_user(
        user=request.user, pks=form.cleaned_data["items"], action=BULK_CAPABILITY[form.cleaned_data["action"]]
    )
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"]
    if form.needs_confirmation():
        context = {
            "action": action,
            "action_label": _action_label(action, reason),
            "reason": reason,
            "ids": [item.pk for item in items],
            "count": len(items),
            "confirm_url": reverse("inbox:bulk"),
            "query": query,
            "inbox_url": inbox_url(query),
        }
        return render_page(request, BULK_CONFIRM_TEMPLATE, context, partial="bulk-confirm")
    updated = services.triage_bulk(items=items, action=action, reason=reason, actor=acting_user(request))
    return _done(request, updated=updated, action=action, filters=filters, shown=_shown(request, "shown"))


@require_POST
@login_required
def bulk_matching(request: HttpRequest) -> HttpResponse:
    """ "All N matching": without a selection, count the items matching the filters and ask to confirm
    with the number; with the selection signed then, act on those of them that still match."""
    require_inbox(request)
    back = request.POST.get("back", "")
    form = BulkMatchingForm(request.POST)
    try:
        # Strictly, unlike an action's way back: a filter dropped here would widen the set acted on.
        filters, _cursor = InboxFilterForm(QueryDict(back), user=request.user).strict_filters()
    except InvalidFilters as invalid:
        return _refused(request, f"These filters are not valid — {invalid}", "")
    query = urlencode(filters.params())
    if not form.is_valid():
        return _refused(request, " ".join(str(message) for errors in form.errors.values() for message in errors), query)
    action, reason = form.cleaned_data["action"], form.cleaned_data["reason"] or ""
    capability = BULK_CAPABILITY[action]
    selection: MatchingSelection | None = form.cleaned_data["selection"]
    if selection is not None and (selection.user_id != request.user.pk or selection.query != query):
        selection = None  # signed for someone else or other filters: count again
    if selection is None:
        now = timezone.now()
        ids = selectors.inbox_matching_ids(request.user, filters, now=now, limit=MATCHING_MAX + 1)
        if not ids:
            return _refused(request, "No item matches these filters.", query)
        if len(ids) > MATCHING_MAX:
            return _refused(
                request, f"More than {MATCHING_MAX} items match: narrow the filters to act on them at once.", query
            )
        triage_access.get_triage_items_for_user(user=request.user, pks=ids, action=capability)  # 403 before asking
        signed = MatchingSelection(user_id=acting_user(request).pk, query=query, issued_at=now, ids=ids)
        context: dict[str, Any] = {
            "action": action,
            "action_label": _action_label(action, reason),
            "reason": reason,
            "count": len(ids),
            "selection": signed.encode(),
            "shown": _shown(request, "items") or [],  # the page's rows, checked
            "is_matching": True,
            "confirm_url": reverse("inbox:bulk-matching"),
            "query": query,
            "inbox_url": inbox_url(query),
        }
        return render_page(request, BULK_CONFIRM_TEMPLATE, context, partial="bulk-confirm")
    result = services.triage_bulk_matching(
        user=request.user,
        filters=filters,
        confirmed_ids=selection.ids,
        action=action,
        capability=capability,
        actor=acting_user(request),
        reason=reason,
    )
    return _done(
        request,
        updated=result.updated,
        action=action,
        filters=filters,
        left_alone=result.left_alone,
        shown=_shown(request, "shown") or [],
    )
