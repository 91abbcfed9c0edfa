"""The audit log: changes to the organization's records, for the admins of the units they were made in."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts_registry.models import AuditEvent
from accounts_registry.selectors import user_scope
from accounts_registry.selectors.audit import (
    AUDIT_EXPORT_MAX_ROWS,
    AUDIT_VERB_CHOICES,
    AuditFilters,
    audit_page,
    visible_audit_events,
)
from accounts_registry.services.security import security_event_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response

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
    filters = AuditFilters.parse(request.GET.dict())
    page = audit_page(request.user, filters, after=request.GET.get("after", ""))
    query = urlencode(filters.params())
    context = {
        "events": page.events,
        "filters": filters,
        "verbs": AUDIT_VERB_CHOICES,
        "query": query,
        "next_query": urlencode({**filters.params(), "after": page.next_cursor}) if page.next_cursor else "",
    }
    return render(request, "accounts_registry/audit_log.html", context)


@require_GET
@login_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered audit log as CSV (up to AUDIT_EXPORT_MAX_ROWS rows), recorded as an export."""
    _require_admin(request)
    filters = AuditFilters.parse(request.GET.dict())
    events = visible_audit_events(request.user, filters)[:AUDIT_EXPORT_MAX_ROWS]
    security_event_record(
        verb=AuditEvent.Verb.EXPORT,
        actor=request.user,
        target_type="export",
        target_id="audit",
        target_repr="Audit log CSV",
        ip=client_ip(request),
        details={"filters": request.GET.urlencode()[:500]},
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
