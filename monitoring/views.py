"""Monitoring pages: polling health across the hierarchy, and an account's messages as threads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts_registry.models import Platform
from accounts_registry.selectors import get_account_for_user, get_unit_for_user, sees_whole_organization, user_scope
from common.htmx import render_page
from monitoring import selectors

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


HEALTH_PAGE_SIZE = 50


def _health_filters(request: HttpRequest) -> selectors.HealthFilters:
    """The accounts table's filters from the URL: an unknown platform or state shows every account; a unit
    outside the user's scope is refused like any other object (404)."""
    platform = request.GET.get("platform", "")
    problem = request.GET.get("problem", "")
    unit_id = request.GET.get("unit", "")
    return selectors.HealthFilters(
        platform=platform if platform in Platform.values else "",
        problem=problem if problem in selectors.Problem.LABELS else "",
        unit=get_unit_for_user(user=request.user, pk=int(unit_id)) if unit_id.isdigit() else None,
    )


@require_GET
@login_required
def health(request: HttpRequest) -> HttpResponse:
    scope = user_scope(request.user)
    if not scope.can_read_units:
        raise PermissionDenied("The health page is for supervisors, comms managers and admins.")
    filters = _health_filters(request)
    all_rows = selectors.account_health(request.user)
    rows = [row for row in all_rows if filters.keeps(row)]
    page = Paginator(rows, HEALTH_PAGE_SIZE).get_page(request.GET.get("page"))
    units = selectors.unit_health(request.user, all_rows)
    context = {
        "page": page,
        "filters": filters,
        "problem": filters.problem,
        "problems": selectors.Problem.LABELS.items(),
        "platforms": Platform.choices,
        "units": units,
        "units_with_problems": sum(1 for item in units if any(item.counts.values())),
        # Platform usage and cost are organization-wide figures: only for who sees the whole organization.
        "budget": selectors.read_budget() if sees_whole_organization(request.user) else None,
    }
    return render_page(request, "monitoring/health.html", context, partial="accounts")


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


@require_GET
@login_required
def first_poll(request: HttpRequest) -> HttpResponse:
    """The "first poll in progress" notice every page loads (htmx): how many of the user's accounts were
    never polled; it polls itself until there are none, then goes blank (and stops)."""
    context = {"pending": selectors.never_polled_count(request.user), "backfill_days": settings.CHORUS_BACKFILL_DAYS}
    return render_page(request, "monitoring/first_poll.html", context)
