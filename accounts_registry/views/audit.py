"""The audit log: changes to the organization's records, for the admins of the units they were made in."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts_registry.forms.audit import AuditFilterForm
from accounts_registry.selectors import user_scope
from accounts_registry.selectors.audit import (
    AUDIT_EXPORT_MAX_ROWS,
    AUDIT_VERB_CHOICES,
    audit_page,
    visible_audit_events,
)
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.filters import InvalidFilters, invalid_filters_response

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

EXPORT_COLUMNS = ("when", "verb", "actor", "target_type", "target_id", "target", "unit", "before", "after")


def _require_admin(request: HttpRequest) -> None:
    if not user_scope(request.user).can_administer:
        raise PermissionDenied("The audit log is shown to admins.")


@require_GET
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    filter_form = AuditFilterForm(request.GET, user=request.user)
    filters = filter_form.page_filters()
    page = audit_page(request.user, filters, after=request.GET.get("after", ""))
    query = urlencode(filters.params())
    context = {
        "events": page.events,
        "filters": filters,
        "filter_form": filter_form,
        "verbs": AUDIT_VERB_CHOICES,
        "query": query,
        "next_query": urlencode({**filters.params(), "after": page.next_cursor}) if page.next_cursor else "",
    }
    return render(request, "accounts_registry/audit_log.html", context)


@require_GET
@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered audit log as CSV (up to AUDIT_EXPORT_MAX_ROWS rows), recorded as an export. A
    malformed filter is a 400 naming it, as every export answers."""
    _require_admin(request)
    try:
        filters = AuditFilterForm(request.GET, user=request.user).strict_filters()
    except InvalidFilters as invalid:
        return invalid_filters_response(invalid)
    events = visible_audit_events(request.user, filters)[:AUDIT_EXPORT_MAX_ROWS]
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="audit",
        label="Audit log CSV",
        query=request.GET.urlencode(),
    )
    rows = (
        [
            event.created_at,
            event.verb,
            event.actor_name,
            event.target_type,
            event.target_id,
            event.target_repr,
            event.unit.name if event.unit else "",
            str(event.before) if event.before else "",
            str(event.after) if event.after else "",
        ]
        for event in events.iterator(chunk_size=2000)
    )
    return csv_response(filename=f"chorus-audit-{timezone.localdate():%Y-%m-%d}.csv", columns=EXPORT_COLUMNS, rows=rows)
