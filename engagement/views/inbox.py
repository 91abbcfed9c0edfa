"""The triage inbox: the list of people still waiting for an answer, and the actions on them.

One page (engagement/inbox.html) with its fragments as partials: `results` (counts, rows, pager),
`row`, `detail` (the opened item), `presence`, `new` (the "N new" poll) and `bulk-result`. Every
action works without JavaScript (POST, then redirect back to the inbox with its filters) and, with
htmx, re-renders the row in place. Items come only through the access selectors: an outsider gets
404 on any item id, and the lists, counts and exports hold only what the user may see.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts_registry.capabilities import Action
from accounts_registry.models import AuditEvent
from accounts_registry.services.csv_io import neutralise_cell
from accounts_registry.services.security import security_event_record
from accounts_registry.signin import client_ip
from common.htmx import acting_user, render_page, wants_fragment
from engagement.forms import (
    BULK_ACTIONS,
    AssignForm,
    BulkForm,
    CategoryForm,
    HandleForm,
    InboxFilterForm,
    NoteForm,
    back_query,
    filter_initial,
)
from engagement.models import TriageItem
from engagement.selectors import inbox as selectors
from engagement.selectors import inbox_display, inbox_filters, triage_access, triage_item
from engagement.services import triage_actions as services
from engagement.services.triage_actions import BulkAction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.http import HttpRequest

TEMPLATE = "engagement/inbox.html"
ITEM_TEMPLATE = "engagement/inbox_item.html"
EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = (
    "id",
    "status",
    "platform",
    "external_id",
    "account",
    "unit_path",
    "author_handle",
    "author_name",
    "text",
    "created_at",
    "category",
    "is_question",
    "first_response_seconds",
    "assignee",
)

# What each bulk action asks of the capabilities table.
BULK_CAPABILITY = {
    BulkAction.ASSIGN_ME: Action.TRIAGE_ASSIGN,
    BulkAction.HANDLE: Action.TRIAGE_HANDLE,
    BulkAction.DISMISS: Action.TRIAGE_DISMISS,
}


def _require_inbox(request: HttpRequest) -> None:
    if not triage_access.inbox_available(request.user):
        raise PermissionDenied("The inbox is for comms managers, supervisors, admins and account holders.")


def _inbox_url(query: str) -> str:
    return reverse("inbox:index") + (f"?{query}" if query else "")


def _row_extras(request: HttpRequest, query: str) -> dict[str, Any]:
    """What every row of a response shares, computed once per response rather than once per row: the
    handled-reason <option>s (the template's `reason-options` partial, rendered once) and the `?back=`
    of the rows' Open links (as `{{ query|urlencode }}` would encode it)."""
    reasons = {"reasons": TriageItem.HandledReason.choices, "default_reason": TriageItem.HandledReason.NO_REPLY_NEEDED}
    return {
        "reason_options": render_to_string(f"{TEMPLATE}#reason-options", reasons, request=request),
        "back_param": f"?back={quote(query, safe='/')}" if query else "",
    }


def _item_url(pk: int, query: str) -> str:
    return reverse("inbox:item", args=[pk]) + (f"?{urlencode({'back': query})}" if query else "")


# --- The list ------------------------------------------------------------------------------------


class _Echo:
    """A file-like object that hands back what the csv writer writes, for a streamed response."""

    def write(self, value: str) -> str:
        return value


def _status_tabs(filters: inbox_filters.InboxFilters, summary: selectors.InboxSummary) -> list[dict[str, Any]]:
    tabs = []
    for value, label in inbox_filters.StatusFilter.CHOICES:
        params = {**filters.params(), "status": value}
        if value == TriageItem.Status.WAITING:
            params.pop("status")
        tabs.append(
            {
                "value": value,
                "label": label,
                "count": summary.counts.get(value, 0),
                "is_capped": value in summary.capped,
                "query": urlencode(params),
                "is_current": value == filters.status,
            }
        )
    return tabs


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The inbox page; for htmx (the "N new" link) only its `results` fragment."""
    _require_inbox(request)
    now = timezone.now()
    full_page = not wants_fragment(request)
    filters, cursor = InboxFilterForm(request.GET, user=request.user).parsed()
    accounts = selectors.inbox_accounts(request.user, filters)
    page = selectors.inbox_page(request.user, filters, after=cursor, now=now, accounts=accounts)
    summary = selectors.inbox_summary(request.user, filters, now=now, accounts=accounts)
    query = urlencode(filters.params())
    context: dict[str, Any] = {
        "rows": page.rows,
        "filters": filters,
        "query": query,
        "next_query": urlencode({**filters.params(), "after": page.next_cursor.encode()}) if page.next_cursor else "",
        "is_first_page": cursor is None,
        "summary": summary,
        "tabs": _status_tabs(filters, summary),
        "since": summary.newest_id,
        "new_count": 0,
        **_row_extras(request, query),
        "bulk_actions": BULK_ACTIONS,
        "target_hours": inbox_filters.response_target().total_seconds() / 3600,
    }
    if not full_page:
        return render_page(request, f"{TEMPLATE}#results", context)
    unit_choices, account_choices = selectors.inbox_filter_choices(request.user)
    context["has_unit_choices"] = bool(unit_choices)
    context["filter_form"] = InboxFilterForm(
        user=request.user,
        initial=filter_initial(filters),
        unit_choices=unit_choices,
        account_choices=account_choices,
    )
    return render_page(request, TEMPLATE, context)


@require_GET
@login_required
def new_items(request: HttpRequest) -> HttpResponse:
    """The "N new" fragment, polled every 30 seconds: items matching the filters added since the page."""
    _require_inbox(request)
    if not wants_fragment(request):
        return redirect(_inbox_url(urlencode(request.GET)))
    filters, _cursor = InboxFilterForm(request.GET, user=request.user).parsed()
    since_raw = request.GET.get("since", "")
    since = int(since_raw) if since_raw.isdigit() else None
    count = selectors.new_items_count(request.user, filters, since_id=since) if since is not None else 0
    context = {"query": urlencode(filters.params()), "since": since or 0, "new_count": count}
    return render_page(request, f"{TEMPLATE}#new", context)


@require_GET
@login_required
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The current filter as CSV (every page, up to EXPORT_MAX_ROWS rows), streamed. Cells a
    spreadsheet would run as a formula are neutralised. Four queries whatever the size."""
    _require_inbox(request)
    filters, _cursor = InboxFilterForm(request.GET, user=request.user).parsed()
    items, paths = selectors.inbox_export(
        request.user,
        filters,
        now=timezone.now(),
        limit=EXPORT_MAX_ROWS,
        include_private=request.GET.get("include_private") == "1",  # private messages only when asked for
    )
    security_event_record(
        verb=AuditEvent.Verb.EXPORT,
        actor=request.user,
        target_type="export",
        target_id="inbox",
        target_repr="Inbox CSV",
        ip=client_ip(request),
        details={"filters": request.GET.urlencode()[:500]},
    )
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheets open the file as UTF-8
        yield writer.writerow(EXPORT_COLUMNS)
        for item in items:
            message = item.message
            yield writer.writerow(
                [
                    item.pk,
                    item.status,
                    item.platform,
                    neutralise_cell(message.external_id),
                    neutralise_cell(item.account.handle),
                    neutralise_cell(paths.get(item.account.unit_id, "")),
                    neutralise_cell(message.author_handle),
                    neutralise_cell(message.author_name),
                    neutralise_cell(message.text),
                    item.created_at.isoformat(),
                    item.category,
                    "true" if item.is_question else "false",
                    "" if item.first_response_seconds is None else item.first_response_seconds,
                    neutralise_cell(item.assignee.get_username()) if item.assignee else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="chorus-inbox-{timezone.localdate():%Y-%m-%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


# --- One item ------------------------------------------------------------------------------------


def _row_context(
    request: HttpRequest, item: TriageItem, *, query: str, with_detail: bool, **extra: Any
) -> dict[str, Any]:
    (row,) = inbox_display.inbox_rows([item], now=timezone.now())
    context: dict[str, Any] = {
        "row": row,
        "query": query,
        "detail": with_detail,
        **_row_extras(request, query),
        **extra,
    }
    if with_detail:
        context.update(_detail_context(request, item, query=query))
    return context


def _detail_context(request: HttpRequest, item: TriageItem, *, query: str) -> dict[str, Any]:
    return {
        "item": item,
        "query": query,
        "thread": triage_item.item_thread(request.user, item),
        "notes": triage_item.item_notes(item),
        "candidates": triage_item.assignable_users(item),
        "others": services.presence_touch(item_id=item.pk, user=acting_user(request)),
        "note_form": NoteForm(auto_id=f"item-{item.pk}-%s"),
        "categories": TriageItem.Category.choices,
    }


@require_GET
@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An item opened: its conversation, notes, assignment and who else has it open. htmx loads the
    `detail` fragment into the row; without JavaScript this is a page of its own."""
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk)
    query = back_query(request.GET.get("back", ""), user=request.user)
    if wants_fragment(request):
        return render_page(request, f"{TEMPLATE}#detail", _detail_context(request, item, query=query))
    context = _row_context(request, item, query=query, with_detail=True, inbox_url=_inbox_url(query))
    return render_page(request, ITEM_TEMPLATE, context)


@require_GET
@login_required
def item_presence(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled by an open item: refreshes the user's presence and lists who else has it open."""
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk)
    context = {"item": item, "others": services.presence_touch(item_id=item.pk, user=acting_user(request))}
    return render_page(request, f"{TEMPLATE}#presence", context)


def _respond(request: HttpRequest, item: TriageItem, *, notice: str, error: str = "") -> HttpResponse:
    """htmx: the row again, in place (with its opened part if it was open); otherwise back to where
    the action came from, keeping the inbox filters."""
    query = back_query(request.POST.get("back", ""), user=request.user)
    is_open = request.POST.get("open") == "1"
    if wants_fragment(request):
        context = _row_context(request, item, query=query, with_detail=is_open, row_error=error, row_notice=notice)
        return render_page(request, f"{TEMPLATE}#row", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_item_url(item.pk, query) if is_open else _inbox_url(query))


@require_POST
@login_required
def item_assign(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_ASSIGN)
    actor = acting_user(request)
    wants_someone_else = request.POST.get("assignee", "") not in {"", AssignForm.ME, str(actor.pk)}
    candidates = triage_item.assignable_users(item) if wants_someone_else else []
    form = AssignForm(request.POST, actor=actor, candidates=candidates)
    if not form.is_valid():
        return _respond(request, item, notice="", error="Choose someone who can see this item.")
    assignee = form.cleaned_data["assignee"]
    try:
        services.triage_assign(item=item, assignee=assignee, actor=actor)
    except ValidationError as refusal:
        return _respond(request, item, notice="", error=" ".join(refusal.messages))
    who = "you" if assignee == actor else (assignee.get_username() if assignee else "no one")
    return _respond(request, item, notice=f"Item {item.pk} is assigned to {who}.")


@require_POST
@login_required
def item_handle(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_HANDLE)
    form = HandleForm(request.POST)
    if not form.is_valid():
        return _respond(request, item, notice="", error="Choose one of the reasons offered.")
    services.triage_handle(item=item, reason=form.cleaned_data["reason"], actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is handled ({item.get_handled_reason_display()}).")


@require_POST
@login_required
def item_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_DISMISS)
    services.triage_dismiss(item=item, actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is dismissed.")


@require_POST
@login_required
def item_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_HANDLE)
    services.triage_reopen(item=item, actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is waiting again.")


@require_POST
@login_required
def item_categorize(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the item's category; the correction is kept for the classifier's evaluation."""
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_ASSIGN)
    form = CategoryForm(request.POST)
    if not form.is_valid():
        return _respond(request, item, notice="", error="Choose one of the categories.")
    services.triage_categorize(item=item, category=form.cleaned_data["category"], actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is now: {item.get_category_display()}.")


@require_POST
@login_required
def item_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an internal note. htmx: the opened item again (with the form's errors, status 200)."""
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_HANDLE)
    form = NoteForm(request.POST, auto_id=f"item-{item.pk}-%s")
    query = back_query(request.POST.get("back", ""), user=request.user)
    error = ""
    if form.is_valid():
        try:
            services.triage_note_add(item=item, text=form.cleaned_data["text"], actor=acting_user(request))
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
    else:
        error = "Write a note of at most 4000 characters."
    if wants_fragment(request):
        context = _detail_context(request, item, query=query)
        if error:
            context["note_form"] = form
        else:
            context["note_notice"] = "Note added."
        return render_page(request, f"{TEMPLATE}#detail", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Note added.")
    return redirect(_item_url(item.pk, query))


@require_POST
@login_required
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected items, all or nothing: any item the user may not act on is a 404
    for the whole request, and nothing changes."""
    _require_inbox(request)
    form = BulkForm(request.POST)
    query = back_query(request.POST.get("back", ""), user=request.user)
    if not form.is_valid():
        error = " ".join(str(message) for errors in form.errors.values() for message in errors)
        if wants_fragment(request):
            return render_page(request, f"{TEMPLATE}#bulk-result", {"bulk_error": error, "updated": []})
        messages.error(request, error)
        return redirect(_inbox_url(query))
    items = triage_access.get_triage_items_for_user(
        user=request.user, pks=form.cleaned_data["items"], action=BULK_CAPABILITY[form.cleaned_data["action"]]
    )
    updated = services.triage_bulk(
        items=items, action=form.cleaned_data["action"], reason=form.cleaned_data["reason"], actor=acting_user(request)
    )
    notice = f"{len(updated)} item{'s' if len(updated) != 1 else ''} updated."
    if wants_fragment(request):
        context = {
            "bulk_notice": notice,
            "updated": inbox_display.inbox_rows(updated, now=timezone.now()),
            "query": query,
            **_row_extras(request, query),
        }
        return render_page(request, f"{TEMPLATE}#bulk-result", context)
    messages.success(request, notice)
    return redirect(_inbox_url(query))
