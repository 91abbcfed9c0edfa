"""The alert preferences page and the reports' browser preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts_registry.selectors import get_unit_for_user, require_unit_reader, user_scope, visible_units
from alerts.forms import PreferencesForm
from alerts.selectors import ReportKind, alert_preferences, report_build
from alerts.services.preferences import alert_preferences_set
from alerts.services.reports import report_text

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated  # narrows the type after @login_required
    rows = alert_preferences(request.user)
    form = PreferencesForm(request.POST or None, rows=rows)
    if request.method == "POST" and form.is_valid():
        try:
            alert_preferences_set(user=request.user, timings=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Your alert preferences are saved.")
            return redirect("alerts:preferences")
    return render(request, "alerts/preferences.html", {"form": form})


@require_GET
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """The units the user may preview reports of: the top of each of their subtrees."""
    require_unit_reader(request.user)
    scope = user_scope(request.user)
    units = list(visible_units(request.user).filter(depth=1) if scope.is_everything else
                 visible_units(request.user).filter(path__in=scope.read_paths))  # fmt: skip
    return render(request, "alerts/reports.html", {"units": units, "kinds": ReportKind.CHOICES})


@require_GET
@login_required
def report(request: HttpRequest, pk: int) -> HttpResponse:
    """A report as it would be emailed now, for a unit the user can see (404 otherwise)."""
    require_unit_reader(request.user)
    unit = get_unit_for_user(user=request.user, pk=pk)
    kind = request.GET.get("kind", ReportKind.WEEKLY)
    if kind not in dict(ReportKind.CHOICES):
        kind = ReportKind.WEEKLY
    built = report_build(request.user, unit=unit, kind=kind)
    context = {"report": built, "text": report_text(built), "kinds": ReportKind.CHOICES}
    return render(request, "alerts/report.html", context)
