"""The inbox's rows: one Jinja2 template (engagement/jinja2/engagement/inbox_rows.html, common/jinja.py)
for a page's fifty, the bulk result's and one row again after an action — the Django template language's
per-variable cost, fifty rows a page, was most of the page's time (benchmarks/README.md, "Triage inbox").
What every row shares is computed once per response, not per row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.template.loader import render_to_string

from common.jinja import render_fragment
from engagement.models import TriageItem

if TYPE_CHECKING:
    from django.http import HttpRequest

    from common.jinja import Fragment
    from engagement.selectors.inbox_display import InboxRow

TEMPLATE = "engagement/inbox.html"
ROWS_TEMPLATE = "engagement/inbox_rows.html"
OPTIONS_TEMPLATE = "engagement/select_options.html"  # the unit and account filters' hundreds of options


def reason_options(request: HttpRequest) -> str:
    """The handled-reason <option>s (the page's `reason-options` partial): the bulk bar's and every row's."""
    reasons = {"reasons": TriageItem.HandledReason.choices}
    return render_to_string(f"{TEMPLATE}#reason-options", reasons, request=request)


def options_html(request: HttpRequest, options: list[tuple[str, str, bool]]) -> Fragment:
    """A select's (value, label, selected) options (the unit and account filters: hundreds of them)."""
    return render_fragment(request, OPTIONS_TEMPLATE, {"options": options})


def _row_extras(request: HttpRequest, query: str) -> dict[str, Any]:
    """What every row of a response shares, computed once per response rather than once per row: the
    handled-reason <option>s (the template's `reason-options` partial, rendered once) and the `?back=`
    of the rows' Open links (as `{{ query|urlencode }}` would encode it)."""
    return {
        "reason_options": reason_options(request),
        "back_param": f"?back={quote(query, safe='/')}" if query else "",
    }


def rows_html(
    request: HttpRequest,
    rows: list[InboxRow],
    *,
    query: str,
    oob: bool = False,
    detail: bool = False,
    detail_html: str = "",
    **row_messages: Any,
) -> Fragment:
    """The rows rendered by the one row template: a page's fifty, or one again after an action (with its
    opened part, `detail_html`, and the action's `row_error`, `row_notice` or `row_conflict`)."""
    context = {
        "rows": rows,
        "query": query,
        "user_pk": request.user.pk,
        "oob": oob,
        "detail": detail,
        "detail_html": detail_html,
        "row_error": "",
        "row_notice": "",
        "row_conflict": None,
        **_row_extras(request, query),
        **row_messages,
    }
    return render_fragment(request, ROWS_TEMPLATE, context)
