"""The overview pages: each role's home at `/`, the tree's branches (htmx), and the activity sections of
the unit and account pages. Parse → authorize (access selectors) → call selectors → render."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts_registry.selectors import (
    get_account_for_user,
    get_member_for_user,
    get_unit_for_user,
    unit_paths,
    user_scope,
)
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.htmx import render_page, wants_fragment
from engagement.selectors.metrics import response_metrics_between
from overview import sorting
from overview.exports import ROLLUP_COLUMNS, rollup_cells
from overview.periods import PRESETS, period_from
from overview.rollup_rows import rows_html
from overview.selectors import pages
from overview.selectors.attention import attention
from overview.selectors.home import home_roots, member_home
from overview.selectors.report import daily_lines, report_lists
from overview.selectors.rollup import rollup

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

    from accounts_registry.models import OrgUnit
    from overview.periods import Period


@dataclasses.dataclass(frozen=True)
class Tree:
    """One overview table: a unit's children (and its own accounts), sorted as asked."""

    unit: OrgUnit
    rows: list[Any]
    rows_html: str  # the rows rendered (overview.rollup_rows)
    sort: str
    descending: bool
    query: str  # the period's URL parameters
    top: bool = True  # the page's own table (sorted in place), not an expanded branch (which can be hidden)


def _tree(request: HttpRequest, unit: OrgUnit, period: Period, *, top: bool = True) -> tuple[Any, Tree]:
    sort, descending = sorting.sort_from(request.GET)
    figures = rollup(unit, period)
    rows = sorting.sorted_rows(figures.children, sort=sort, descending=descending)
    if figures.own is not None:
        rows.append(figures.own)
    query = period.query()
    return figures, Tree(
        unit=unit,
        rows=rows,
        rows_html=rows_html(request, rows, query=query),
        sort=sort,
        descending=descending,
        query=query,
        top=top,
    )


def _period_context(period: Period) -> dict[str, Any]:
    return {"period": period, "presets": PRESETS, "period_query": period.query()}


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The organization overview for those who read units (from their top units down), a member's own
    page for members, and a word about roles for everyone else."""
    period = period_from(request.GET)
    context = _period_context(period)
    roots = home_roots(request.user)
    if roots:
        overviews = []
        for root in roots:
            figures, tree = _tree(request, root, period)
            counts = figures.root.figures.counts  # the attention counts share the roll-up's
            overviews.append({"rollup": figures, "tree": tree, "attention": attention(root, counts)})
        context["overviews"] = overviews
        return render_page(request, "overview/home.html", context)
    member_id = user_scope(request.user).member_id
    if member_id is not None:
        member = get_member_for_user(user=request.user, pk=member_id)
        context["home"] = member_home(request.user, member, period)
        return render_page(request, "overview/member_home.html", context)
    return render_page(request, "overview/no_role.html", context)


@require_GET
@login_required
def unit_children(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's children rolled up: the table an expanded (or re-sorted) branch of the overview shows.
    Without htmx there is no tree to patch: the unit's activity page has the same table."""
    unit = get_unit_for_user(user=request.user, pk=pk)
    period = period_from(request.GET)
    if request.GET.get("collapse"):
        return render_page(
            request, "overview/home.html", {"unit": unit, **_period_context(period)}, partial="collapsed"
        )
    if not wants_fragment(request):
        return redirect(f"{_unit_url(unit)}?{request.GET.urlencode()}")
    _, tree = _tree(request, unit, period, top=request.GET.get("top") == "1")
    return render_page(request, "overview/home.html", {"tree": tree, **_period_context(period)}, partial="subtree")


def _unit_url(unit: OrgUnit) -> str:
    return reverse("overview:unit", args=[unit.pk])


@require_GET
@login_required
def unit_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """The unit's roll-up, charts, top posts, open flags and poll health (the unit page loads it with htmx)."""
    unit = get_unit_for_user(user=request.user, pk=pk)
    period = period_from(request.GET)
    now = timezone.now()
    figures, tree = _tree(request, unit, period)
    accounts = pages.subtree_accounts(unit)
    context = {
        **_period_context(period),
        "unit": unit,
        "rollup": figures,
        "tree": tree,
        "charts": pages.activity_charts(accounts, period),
        "top_posts": pages.top_posts(accounts, period, now=now),
        "flags": pages.open_flags(accounts),
        "health": pages.poll_health(accounts, now=now),
    }
    return render_page(request, "overview/unit.html", context, partial="activity")


@require_GET
@login_required
def unit_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The printable report of a unit's subtree for a period (the period picker's): its roll-up by
    sub-unit compared with the period before, charts with their tables, top posts, flags by severity,
    accounts needing attention and members' training. The print stylesheet leaves the navigation out."""
    unit = get_unit_for_user(user=request.user, pk=pk)
    period = period_from(request.GET)
    now = timezone.now()
    figures, tree = _tree(request, unit, period)
    accounts = pages.subtree_accounts(unit)
    charts = pages.activity_charts(accounts, period)
    context = {
        **_period_context(period),
        "unit": unit,
        "unit_path": unit_paths([unit])[unit.pk],
        "generated_at": now,
        "rollup": figures,
        "tree": tree,
        "charts": charts,
        "daily": daily_lines(charts),
        "top_posts": pages.top_posts(accounts, period, now=now),
        "flags": pages.open_flags(accounts),
        "lists": report_lists(request.user, unit, figures, period, now=now, today=timezone.localdate(now)),
    }
    return render_page(request, "overview/report.html", context)


@require_GET
@login_required
def rollup_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The roll-up table of a unit (its total, each sub-unit, its own accounts) for the period as CSV,
    recorded as an export. The period is read like the pages' (anything invalid is the default)."""
    unit = get_unit_for_user(user=request.user, pk=pk)
    period = period_from(request.GET)
    figures = rollup(unit, period)
    paths = unit_paths([unit, *(child.unit for child in figures.children)])
    export_record(
        actor=request.user, ip=client_ip(request), export="rollup", label="Roll-up CSV", query=request.GET.urlencode()
    )
    filename = f"chorus-rollup-{unit.pk}-{period.start:%Y-%m-%d}-{period.end:%Y-%m-%d}.csv"
    return csv_response(filename=filename, columns=ROLLUP_COLUMNS, rows=rollup_cells(figures, paths))


@require_GET
@login_required
def account_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's charts, response metrics, top posts, flags, poll health and the feedback its holder got."""
    account = get_account_for_user(user=request.user, pk=pk)
    period = period_from(request.GET)
    now = timezone.now()
    accounts = pages.subtree_accounts(account.unit).filter(pk=account.pk)
    start, end = period.bounds(now=now)
    before_start, before_end = period.previous.bounds(now=now)
    context = {
        **_period_context(period),
        "account": account,
        "metrics": response_metrics_between(request.user, account=account, start=start, end=end),
        "previous": response_metrics_between(request.user, account=account, start=before_start, end=before_end),
        "charts": pages.activity_charts(accounts, period),
        "top_posts": pages.top_posts(accounts, period, now=now),
        "flags": pages.open_flags(accounts),
        "poll_state": pages.poll_state_of(account),
        "health": pages.poll_health(accounts, now=now),
        "feedback": pages.account_feedback(account),
    }
    return render_page(request, "overview/account.html", context, partial="activity")
