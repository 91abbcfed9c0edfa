"""The triage inbox: the list of people still waiting for an answer, and the actions on them.

One page (engagement/inbox.html) with its fragments as partials: `results` (counts, rows, pager),
`row`, `detail` (the opened item), `presence`, `new` (the "N new" poll) and `bulk-result`. Every
action works without JavaScript (POST, then redirect back to the inbox with its filters) and, with
htmx, re-renders the row in place. Items come only through the access selectors: an outsider gets
404 on any item id, and the lists, counts and exports hold only what the user may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts_registry.capabilities import Action
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.filters import ChoiceFilter, InvalidFilters, invalid_filters_response
from common.htmx import acting_user, render_page, wants_fragment
from engagement.forms import (
    BULK_ACTIONS,
    AssignForm,
    CategoryForm,
    HandleForm,
    InboxFilterForm,
    NoteForm,
    back_filters,
    back_query,
)
from engagement.models import TriageItem
from engagement.selectors import inbox as selectors
from engagement.selectors import inbox_display, inbox_filters, triage_access, triage_item
from engagement.services import triage_actions as services
from engagement.views.inbox_rows import TEMPLATE, options_html, reason_options, rows_html

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

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


def require_inbox(request: HttpRequest) -> None:
    if not triage_access.inbox_available(request.user):
        raise PermissionDenied("The inbox is for comms managers, supervisors, admins and account holders.")


def inbox_url(query: str) -> str:
    return reverse("inbox:index") + (f"?{query}" if query else "")


def _item_url(pk: int, query: str) -> str:
    return reverse("inbox:item", args=[pk]) + (f"?{urlencode({'back': query})}" if query else "")


# --- The list ------------------------------------------------------------------------------------


def _filter_chips(form: InboxFilterForm, filters: inbox_filters.InboxFilters) -> list[dict[str, str]]:
    """The filters applied (but the status: the tabs show it), each with the query that removes it."""
    params = filters.params()
    params.pop("status", None)
    chips = []
    for name in params:
        field = form.fields[name]
        if name == "unit" and filters.unit is not None:
            value = filters.unit.name
        elif name == "account":
            value = dict(form.fields["account"].widget.choices).get(filters.account_id or 0, params[name])
        elif isinstance(field, ChoiceFilter):
            value = str(dict(field.valid_choices()).get(params[name], params[name]))
        elif name == "q":
            value = f"“{params[name]}”"
        else:
            value = ""
        label = str(field.label or name.capitalize())
        rest = {key: value for key, value in filters.params().items() if key != name}
        chips.append({"label": f"{label}: {value}" if value else label, "query": urlencode(rest)})
    return chips


def _orders(filters: inbox_filters.InboxFilters) -> dict[str, Any]:
    """The orders the person can choose (links keeping the filters), and the oldest waiting question
    in one click: waiting questions of the same unit, account and platform, oldest first."""
    links = []
    for value, label in inbox_filters.OrderFilter.offered(search=bool(filters.search)):
        params = {**filters.params(), "order": value}
        links.append(
            {
                "label": label,
                "query": urlencode({k: v for k, v in params.items() if v}),
                "is_current": value == filters.order,
            }
        )
    keep = {name: value for name, value in filters.params().items() if name in {"unit", "account", "platform"}}
    oldest = urlencode({**keep, "question": "1", "order": inbox_filters.OrderFilter.OLDEST})
    return {"links": links, "oldest_question_query": oldest}


def _page_banners(rows: list[inbox_display.InboxRow]) -> list[dict[str, Any]]:
    """One banner per category that has one (possible emergencies: call 911), with how many waiting rows
    of the page it concerns — instead of a banner on every row."""
    banners: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.banner and row.status == TriageItem.Status.WAITING:
            banner = banners.setdefault(row.category, {"text": row.banner, "count": 0, "label": row.category_label})
            banner["is_emergency"] = row.is_emergency
            banner["count"] += 1
    return sorted(banners.values(), key=lambda banner: not banner["is_emergency"])


def tabs_context(request: HttpRequest, filters: inbox_filters.InboxFilters) -> dict[str, Any]:
    """The status tabs again, for an action's response to swap in out of band (the counts stay true)."""
    summary = selectors.inbox_summary(request.user, filters, now=timezone.now())
    return {"tabs": _status_tabs(filters, summary), "tabs_oob": True}


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
                "count": summary.counts.get(value),  # None: not counted (a search counts the tab shown)
                "is_capped": value in summary.capped,
                "query": urlencode(params),
                "is_current": value == filters.status,
            }
        )
    return tabs


def _matching(
    filters: inbox_filters.InboxFilters, summary: selectors.InboxSummary, *, on_page: int
) -> dict[str, Any] | None:
    """How many items match the filters (every page), for the bulk bar's "all N matching", when there are
    more than the page shows."""
    statuses = list(TriageItem.Status.values) if filters.status == inbox_filters.StatusFilter.ALL else [filters.status]
    count = sum(summary.counts.get(status, 0) for status in statuses)
    if count <= on_page:
        return None
    return {"count": count, "is_capped": any(status in summary.capped for status in statuses)}


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The inbox page; for htmx (the "N new" link) only its `results` fragment."""
    require_inbox(request)
    now = timezone.now()
    full_page = not wants_fragment(request)
    filter_form = InboxFilterForm(request.GET, user=request.user)
    filters, cursor = filter_form.page_filters()
    accounts = selectors.inbox_accounts(request.user, filters)
    page = selectors.inbox_page(request.user, filters, after=cursor, now=now, accounts=accounts)
    summary = selectors.inbox_summary(request.user, filters, now=now, accounts=accounts)
    query = urlencode(filters.params())
    rows = inbox_display.with_search(page.rows, filters.search)
    context: dict[str, Any] = {
        "rows": rows,
        "rows_html": rows_html(request, rows, query=query),
        "filters": filters,
        "query": query,
        "next_query": urlencode({**filters.params(), "after": page.next_cursor.encode()}) if page.next_cursor else "",
        "is_first_page": cursor is None,
        "summary": summary,
        "tabs": _status_tabs(filters, summary),
        "banners": _page_banners(page.rows),
        "since": summary.newest_id,
        "new_count": 0,
        "reason_options": reason_options(request),
        "bulk_actions": BULK_ACTIONS,
        "matching": _matching(filters, summary, on_page=len(rows)),
        "target_hours": inbox_filters.response_target().total_seconds() / 3600,
    }
    if not full_page:
        return render_page(request, f"{TEMPLATE}#results", context)
    unit_choices, account_choices = selectors.inbox_filter_choices(request.user)
    context["has_unit_choices"] = bool(unit_choices)
    filter_form.set_choices(units=unit_choices, accounts=account_choices)
    context["filter_form"] = filter_form
    for name, options in (("unit_options", filter_form.unit_options), ("account_options", filter_form.account_options)):
        context[name] = options_html(request, options)
    context["chips"] = _filter_chips(filter_form, filters)
    context["orders"] = _orders(filters)
    return render_page(request, TEMPLATE, context)


@require_GET
@login_required
def new_items(request: HttpRequest) -> HttpResponse:
    """The "N new" fragment, polled every 30 seconds: items matching the filters added since the page."""
    require_inbox(request)
    if not wants_fragment(request):
        return redirect(inbox_url(urlencode(request.GET)))
    filters, _cursor = InboxFilterForm(request.GET, user=request.user).page_filters()
    since_raw = request.GET.get("since", "")
    since = int(since_raw) if since_raw.isdigit() else None
    count = selectors.new_items_count(request.user, filters, since_id=since) if since is not None else 0
    context = {"query": urlencode(filters.params()), "since": since or 0, "new_count": count}
    return render_page(request, f"{TEMPLATE}#new", context)


@require_GET
@login_required
def export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The current filter as CSV (every page, up to EXPORT_MAX_ROWS rows), streamed. Cells a
    spreadsheet would run as a formula are neutralised. Four queries whatever the size."""
    require_inbox(request)
    try:
        filters, _cursor = InboxFilterForm(request.GET, user=request.user).strict_filters()
    except InvalidFilters as invalid:
        return invalid_filters_response(invalid)
    items, paths = selectors.inbox_export(
        request.user,
        filters,
        now=timezone.now(),
        limit=EXPORT_MAX_ROWS,
        include_private=request.GET.get("include_private") == "1",  # private messages only when asked for
    )
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="inbox",
        label="Inbox CSV",
        query=request.GET.urlencode(),
    )
    rows = (
        [
            item.pk,
            item.status,
            item.platform,
            item.message.external_id,
            item.account.handle,
            paths.get(item.account.unit_id, ""),
            item.message.author_handle,
            item.message.author_name,
            item.message.text,
            item.created_at,
            item.category,
            item.is_question,
            item.first_response_seconds,
            item.assignee.get_username() if item.assignee else "",
        ]
        for item in items
    )
    return csv_response(filename=f"chorus-inbox-{timezone.localdate():%Y-%m-%d}.csv", columns=EXPORT_COLUMNS, rows=rows)


# --- One item ------------------------------------------------------------------------------------


def _row_context(
    request: HttpRequest,
    item: TriageItem,
    *,
    query: str,
    with_detail: bool,
    row_messages: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row again (with its opened part if `with_detail`), the action's `row_messages` on it."""
    row_messages = row_messages or {}
    (row,) = inbox_display.inbox_rows([item], now=timezone.now())
    detail_html = ""
    if with_detail:
        detail_context = _detail_context(request, item, query=query)
        detail_html = render_to_string(f"{TEMPLATE}#detail", detail_context, request=request)
    return {
        "row": row,
        "rows_html": rows_html(
            request, [row], query=query, detail=with_detail, detail_html=detail_html, **row_messages
        ),
        **extra,
    }


def _detail_context(request: HttpRequest, item: TriageItem, *, query: str) -> dict[str, Any]:
    (row,) = inbox_display.inbox_rows([item], now=timezone.now())
    thread = triage_item.item_thread(request.user, item)
    # A comment without a permalink of its own (Instagram's) links to the post it is under.
    root = item.message.conversation_id
    post_url = next((message.url for message in thread if root and message.external_id == root and message.url), "")
    return {
        "item": item,
        "row": row,
        "view_url": row.platform_url or inbox_display.safe_platform_url(post_url),
        "view_is_post": not row.platform_url,
        "query": query,
        "thread": thread,
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
    context = _row_context(request, item, query=query, with_detail=True, inbox_url=inbox_url(query))
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
    filters = back_filters(request.POST.get("back", ""), user=request.user)
    query = urlencode(filters.params())
    is_open = request.POST.get("open") == "1"
    if wants_fragment(request):
        context = _row_context(
            request, item, query=query, with_detail=is_open, row_messages={"row_error": error, "row_notice": notice}
        )
        if not error:
            context |= tabs_context(request, filters)
        return render_page(request, f"{TEMPLATE}#row-response", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(_item_url(item.pk, query) if is_open else inbox_url(query))


def _changed_meanwhile(request: HttpRequest, item: TriageItem) -> HttpResponse | None:
    """Optimistic concurrency: the action's form carries the version of the item the person saw
    (`seen`). If someone acted on the item since, nothing is done: htmx gets the row as it is now with
    who changed it (409), a plain form a message and the way back."""
    seen = request.POST.get("seen", "")
    if not seen or seen == inbox_display.item_version(item):
        return None
    change = triage_item.item_last_change(item)
    conflict = {
        "actor": (change.actor_name or "someone") if change else "",
        "what": str(change.get_verb_display()).lower() if change else "",
    }
    if wants_fragment(request):
        filters = back_filters(request.POST.get("back", ""), user=request.user)
        query = urlencode(filters.params())
        context = _row_context(
            request,
            item,
            query=query,
            with_detail=request.POST.get("open") == "1",
            row_messages={"row_conflict": conflict},
        )
        context |= tabs_context(request, filters)
        return render_page(request, f"{TEMPLATE}#row-response", context, status=409)
    messages.warning(
        request, f"Item {item.pk} changed a moment ago ({conflict['actor']}: {conflict['what']}): look again."
    )
    return redirect(_item_url(item.pk, back_query(request.POST.get("back", ""), user=request.user)))


@require_POST
@login_required
def item_assign(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_ASSIGN)
    if conflict := _changed_meanwhile(request, item):
        return conflict
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
    if conflict := _changed_meanwhile(request, item):
        return conflict
    form = HandleForm(request.POST)
    if not form.is_valid():
        return _respond(request, item, notice="", error="Choose one of the reasons offered.")
    services.triage_handle(item=item, reason=form.cleaned_data["reason"], actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is handled ({item.get_handled_reason_display()}).")


@require_POST
@login_required
def item_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_DISMISS)
    if conflict := _changed_meanwhile(request, item):
        return conflict
    services.triage_dismiss(item=item, actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is dismissed.")


@require_POST
@login_required
def item_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_HANDLE)
    if conflict := _changed_meanwhile(request, item):
        return conflict
    services.triage_reopen(item=item, actor=acting_user(request))
    return _respond(request, item, notice=f"Item {item.pk} is waiting again.")


@require_POST
@login_required
def item_categorize(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the item's category; the correction is kept for the classifier's evaluation."""
    item = triage_access.get_triage_item_for_user(user=request.user, pk=pk, action=Action.TRIAGE_ASSIGN)
    if conflict := _changed_meanwhile(request, item):
        return conflict
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
