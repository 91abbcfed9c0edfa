"""Monitoring pages: polling health across the hierarchy, the dormant accounts, and an account's messages as threads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts_registry.models import Platform, SocialAccount
from accounts_registry.selectors import (
    get_account_for_user,
    require_unit_reader,
    sees_whole_organization,
    unit_paths,
    visible_units,
)
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.filters import InvalidFilters, invalid_filters_response
from common.htmx import render_page
from monitoring import selectors
from monitoring.forms import DormantFilterForm, HealthFilterForm, MessageSearchForm
from monitoring.governance import DEFAULT_DORMANT_DAYS

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
    require_unit_reader(request.user)
    filter_form = HealthFilterForm(request.GET, user=request.user)
    filters = filter_form.page_filters()
    all_rows = selectors.account_health(request.user)
    rows = [row for row in all_rows if filters.keeps(row)]
    page = Paginator(rows, HEALTH_PAGE_SIZE).get_page(request.GET.get("page"))
    units = selectors.unit_health(request.user, all_rows)
    context = {
        "page": page,
        "filters": filters,
        "filter_form": filter_form,
        "problem": filters.problem,
        "problems": selectors.Problem.LABELS.items(),
        "platforms": Platform.choices,
        "units": units,
        "unit_options": [(item.unit.pk, item.path) for item in units],
        "units_with_problems": sum(1 for item in units if any(item.counts.values())),
        # Platform usage and cost are organization-wide figures: only for who sees the whole organization.
        "budget": selectors.read_budget() if sees_whole_organization(request.user) else None,
    }
    return render_page(request, "monitoring/health.html", context, partial="accounts")


@require_GET
@login_required
def health_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every visible account's polling health as CSV (the page's filters), recorded as an export. A
    malformed filter is a 400 naming it, as every export answers."""
    require_unit_reader(request.user)
    try:
        filters = HealthFilterForm(request.GET, user=request.user).strict_filters()
    except InvalidFilters as invalid:
        return invalid_filters_response(invalid)
    rows = [row for row in selectors.account_health(request.user) if filters.keeps(row)]
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="health",
        label="Health CSV",
        query=request.GET.urlencode(),
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


DORMANT_PAGE_SIZE = 50
DORMANT_EXPORT_COLUMNS = ("platform", "account", "kind", "unit", "holder", "onboarded_on", "last_active_on", "reason")


@require_GET
@login_required
def dormant(request: HttpRequest) -> HttpResponse:
    """The visible dormant accounts (monitoring.governance.dormant), filtered like every list: the overview's
    "dormant accounts" count links here with its unit."""
    require_unit_reader(request.user)
    filter_form = DormantFilterForm(request.GET, user=request.user)
    filters = filter_form.page_filters()
    rows = selectors.dormant_accounts(request.user, filters)
    units = list(visible_units(request.user).filter(depth__lte=3).order_by("path"))
    if filters.unit is not None and filters.unit not in units:
        units.append(filters.unit)
    paths = unit_paths(units)
    context = {
        "page": Paginator(rows, DORMANT_PAGE_SIZE).get_page(request.GET.get("page")),
        "filters": filters,
        "filter_form": filter_form,
        "platforms": Platform.choices,
        "kinds": SocialAccount.Kind.choices,
        "unit_options": sorted(((unit.pk, paths[unit.pk]) for unit in units), key=lambda option: option[1]),
        "days": DEFAULT_DORMANT_DAYS,
    }
    return render_page(request, "monitoring/dormant.html", context, partial="accounts")


@require_GET
@login_required
def dormant_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The dormant list as CSV (the page's filters), recorded as an export; a malformed filter is a 400."""
    require_unit_reader(request.user)
    try:
        filters = DormantFilterForm(request.GET, user=request.user).strict_filters()
    except InvalidFilters as invalid:
        return invalid_filters_response(invalid)
    rows = selectors.dormant_accounts(request.user, filters)
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="dormant",
        label="Dormant accounts CSV",
        query=request.GET.urlencode(),
    )
    cells = (
        [
            row.account.platform,
            row.account.handle,
            row.account.kind,
            row.unit_path,
            row.account.holder.full_name if row.account.holder else "",
            timezone.localdate(row.account.onboarded_at),
            row.last_active,
            row.reason,
        ]
        for row in rows
    )
    filename = f"chorus-dormant-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, columns=DORMANT_EXPORT_COLUMNS, rows=cells)


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
    """The account's recent conversations, its own posts included; `q` searches them (monitoring.search)."""
    account = get_account_for_user(user=request.user, pk=pk)
    form = MessageSearchForm(request.GET, user=request.user)
    search = form.valid_values().get("q") or ""
    context = {
        "account": account,
        "form": form,
        "search": search,
        "threads": selectors.account_threads(account, search=search),
    }
    return render(request, "monitoring/account_messages.html", context)


@require_GET
@login_required
def first_poll(request: HttpRequest) -> HttpResponse:
    """The "first poll in progress" notice every page loads (htmx): how many of the user's accounts were
    never polled; it polls itself until there are none, then goes blank (and stops)."""
    context = {"pending": selectors.never_polled_count(request.user), "backfill_days": settings.CHORUS_BACKFILL_DAYS}
    return render_page(request, "monitoring/first_poll.html", context)
