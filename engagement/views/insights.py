"""Insights pages: response metrics (unit and account fragments, the units leaderboard) and feedback to
members (give it on an outbound post, read a member's feedback).

Every view: parse → authorize (access selectors) → call → render. Fragments are partials of the same
templates, chosen by the HX-Request header (hence `Vary: HX-Request`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts_registry.selectors import (
    get_account_for_user,
    get_member_for_user,
    get_unit_for_user,
    require_unit_reader,
)
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.htmx import acting_user, render_page, wants_fragment
from engagement.models import Feedback
from engagement.selectors.feedback import get_message_for_feedback, member_feedback, message_feedback
from engagement.selectors.metrics import (
    PERIODS,
    default_leaderboard_depth,
    leaderboard_levels,
    period_days_from,
    period_key,
    response_metrics,
    units_leaderboard,
)
from engagement.services.feedback import TEXT_MAX_LENGTH, feedback_give

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

    from engagement.selectors.metrics import Metrics

PERIOD_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days"}
LEADERBOARD_EXPORT_COLUMNS = (
    "rank",
    "unit",
    "period_days",
    "inbound",
    "questions",
    "answered",
    "response_rate",
    "median_first_response_seconds",
    "p90_first_response_seconds",
    "waiting",
    "oldest_waiting_created_at",
    "within_target_share",
)


# --- Presentation helpers ---------------------------------------------------------------------


def format_duration(seconds: int | None) -> str:
    """A response time as people say it: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def format_share(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


@dataclasses.dataclass(frozen=True)
class MetricsDisplay:
    """Metrics with their human-readable values, for templates."""

    metrics: Metrics

    @property
    def response_rate(self) -> str:
        return format_share(self.metrics.response_rate)

    @property
    def within_target(self) -> str:
        return format_share(self.metrics.within_target_share)

    @property
    def median(self) -> str:
        return format_duration(self.metrics.median_first_response_seconds)

    @property
    def p90(self) -> str:
        return format_duration(self.metrics.p90_first_response_seconds)


def _period_context(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    period_days = period_days_from(request.GET.get("period"))
    context = {
        "period": period_key(period_days),
        "periods": [(key, PERIOD_LABELS[key]) for key in PERIODS],
        "target_hours": settings.CHORUS_RESPONSE_TARGET_HOURS,
    }
    return period_days, context


# --- Response metrics -------------------------------------------------------------------------


@require_GET
@login_required
def unit_metrics(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's metrics, rolled up over its subtree: a fragment the unit page loads, or a page."""
    unit = get_unit_for_user(user=request.user, pk=pk)
    period_days, context = _period_context(request)
    metrics = response_metrics(request.user, unit=unit, period_days=period_days)
    context |= {
        "subject": unit.name,
        "scope_note": "this unit and its sub-units",
        "shown": MetricsDisplay(metrics),
        "metrics": metrics,
        "url": reverse("insights:unit-metrics", args=[unit.pk]),
        "back_url": reverse("registry:unit", args=[unit.pk]),
    }
    return render_page(request, "engagement/metrics.html", context, partial="metrics")


@require_GET
@login_required
def account_metrics(request: HttpRequest, pk: int) -> HttpResponse:
    """One account's metrics: a fragment the account page loads, or a page."""
    account = get_account_for_user(user=request.user, pk=pk)
    period_days, context = _period_context(request)
    metrics = response_metrics(request.user, account=account, period_days=period_days)
    context |= {
        "subject": f"{account.get_platform_display()} {account.handle}",
        "scope_note": "this account",
        "shown": MetricsDisplay(metrics),
        "metrics": metrics,
        "url": reverse("insights:account-metrics", args=[account.pk]),
        "back_url": reverse("registry:account", args=[account.pk]),
    }
    return render_page(request, "engagement/metrics.html", context, partial="metrics")


@require_GET
@login_required
def leaderboard(request: HttpRequest) -> HttpResponse:
    """Units at one level of the tree ranked by response rate, then median first response."""
    require_unit_reader(request.user)
    period_days, context = _period_context(request)
    levels = leaderboard_levels(request.user)
    try:
        depth: int | None = int(request.GET.get("level", ""))
    except ValueError:
        depth = None
    if depth not in levels:
        depth = default_leaderboard_depth(levels)
    rows = units_leaderboard(request.user, period_days=period_days, depth=depth) if depth is not None else []
    context |= {
        "rows": [(row, MetricsDisplay(row.metrics)) for row in rows],
        "levels": [(level, ", ".join(kinds)) for level, kinds in levels.items()],
        "level": depth,
    }
    return render_page(request, "engagement/leaderboard.html", context, partial="board")


@require_GET
@login_required
def leaderboard_export(request: HttpRequest) -> StreamingHttpResponse:
    """The leaderboard's rows (the page's period and level) as CSV, recorded as an export."""
    require_unit_reader(request.user)
    period_days = period_days_from(request.GET.get("period"))
    levels = leaderboard_levels(request.user)
    try:
        depth: int | None = int(request.GET.get("level", ""))
    except ValueError:
        depth = None
    if depth not in levels:
        depth = default_leaderboard_depth(levels)
    rows = units_leaderboard(request.user, period_days=period_days, depth=depth) if depth is not None else []
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="leaderboard",
        label="Leaderboard CSV",
        query=request.GET.urlencode(),
    )
    cells = (
        [
            rank,
            row.label,
            period_days,
            row.metrics.inbound,
            row.metrics.questions,
            row.metrics.answered,
            row.metrics.response_rate,
            row.metrics.median_first_response_seconds,
            row.metrics.p90_first_response_seconds,
            row.metrics.waiting,
            row.metrics.oldest_waiting_created_at,
            row.metrics.within_target_share,
        ]
        for rank, row in enumerate(rows, start=1)
    )
    filename = f"chorus-leaderboard-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, columns=LEADERBOARD_EXPORT_COLUMNS, rows=cells)


# --- Feedback to members ----------------------------------------------------------------------


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(choices=Feedback.Kind.choices, widget=forms.RadioSelect, initial=Feedback.Kind.KUDOS)
    text = forms.CharField(
        label="Feedback",
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The member sees this on their page and receives it by email.",
    )


@require_http_methods(["GET", "POST"])
@login_required
def message_feedback_give(request: HttpRequest, pk: int) -> HttpResponse:
    """Show an outbound post with its feedback, and give kudos or coaching to the member who holds it."""
    message = get_message_for_feedback(user=request.user, pk=pk)
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    notice = ""
    if request.method == "POST" and form.is_valid():
        try:
            feedback = feedback_give(
                message=message,
                kind=form.cleaned_data["kind"],
                text=form.cleaned_data["text"],
                actor=acting_user(request),
                site_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            notice = f"{feedback.get_kind_display()} sent to {feedback.member.full_name}."
            if not wants_fragment(request):
                messages.success(request, notice)
                return redirect("insights:message-feedback", pk=message.pk)
            form = FeedbackForm()
    context = {
        "message": message,
        "account": message.account,
        "holder": message.account.holder,
        "form": form,
        "notice": notice,
        "given": list(message_feedback(message)),
    }
    return render_page(request, "engagement/feedback.html", context, partial="feedback-panel")


@require_GET
@login_required
def member_feedback_list(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's feedback: for the member themself and whoever oversees their unit (others 404)."""
    member = get_member_for_user(user=request.user, pk=pk)
    context = {"member": member, "feedback": member_feedback(member)}
    return render_page(request, "engagement/member_feedback.html", context, partial="feedback-list")
