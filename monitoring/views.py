"""Monitoring pages: polling health across the hierarchy, and an account's messages as threads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts_registry.models import AuditEvent
from accounts_registry.selectors import get_account_for_user, sees_whole_organization, user_scope
from accounts_registry.services.security import security_event_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.htmx import render_page
from monitoring import selectors

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse


HEALTH_PAGE_SIZE = 50
HEALTH_EXPORT_COLUMNS = (
    "platform",
    "account",
    "unit",
    "status",
    "problems",
    "last_success_at",
    "last_error_at",
    "last_error_kind",
    "last_error",
    "consecutive_failures",
)


@require_GET
@login_required
def health(request: HttpRequest) -> HttpResponse:
    if not user_scope(request.user).can_read_units:
        raise PermissionDenied("The health page is for supervisors, comms managers and admins.")
    problem = request.GET.get("problem", "")
    if problem not in selectors.Problem.ALL:
        problem = ""
    all_rows = selectors.account_health(request.user)
    rows = [row for row in all_rows if not problem or problem in row.problems]
    page = Paginator(rows, HEALTH_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "problem": problem,
        "problems": selectors.Problem.ALL,
        "units": selectors.unit_health(request.user, all_rows),
        # Platform usage and cost are organization-wide figures: only for who sees the whole organization.
        "budget": selectors.read_budget() if sees_whole_organization(request.user) else None,
    }
    return render_page(request, "monitoring/health.html", context, partial="accounts")


@require_GET
@login_required
def health_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every visible account's polling health as CSV (the page's filter), recorded as an export."""
    if not user_scope(request.user).can_read_units:
        raise PermissionDenied("The health page is for supervisors, comms managers and admins.")
    problem = request.GET.get("problem", "")
    rows = selectors.account_health(request.user, problem=problem if problem in selectors.Problem.ALL else "")
    security_event_record(
        verb=AuditEvent.Verb.EXPORT,
        actor=request.user,
        target_type="export",
        target_id="health",
        target_repr="Health CSV",
        ip=client_ip(request),
        details={"filters": request.GET.urlencode()[:500]},
    )
    cells = (
        [
            row.account.platform,
            row.account.handle,
            row.unit_path,
            row.account.status,
            " ".join(row.problems),
            row.state.last_success_at if row.state else None,
            row.state.last_error_at if row.state else None,
            row.state.last_error_kind if row.state else "",
            row.state.last_error if row.state else "",
            row.state.consecutive_failures if row.state else 0,
        ]
        for row in rows
    )
    filename = f"chorus-health-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, columns=HEALTH_EXPORT_COLUMNS, rows=cells)


@require_GET
@login_required
def account_skipped(request: HttpRequest, pk: int) -> HttpResponse:
    """The items polls of the account could not read, raw as the platform sent them (escaped)."""
    account = get_account_for_user(user=request.user, pk=pk)
    items = [(item, json.dumps(item.raw, indent=2, ensure_ascii=False)) for item in selectors.skipped_items(account)]
    return render(request, "monitoring/account_skipped.html", {"account": account, "items": items})


@require_GET
@login_required
def account_messages(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(user=request.user, pk=pk)
    context = {"account": account, "threads": selectors.account_threads(account)}
    return render(request, "monitoring/account_messages.html", context)
