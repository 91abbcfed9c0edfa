"""The review queue and a flag's page: parse → authorize (policies.selectors) → call (services.review) → render.

htmx enhances, never requires: every action is a plain POST that redirects back (POST/redirect/GET);
with htmx the same POST answers with the queue row (when it came from the queue) or the review panel,
and an `HX-Trigger: policy-flag-changed` header so the status counts refresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from accounts_registry.capabilities import Action
from accounts_registry.models import AuditEvent
from accounts_registry.selectors import unit_paths, user_scope, visible_units
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.csv_export import csv_response
from common.filters import InvalidFilters, invalid_filters_response
from common.htmx import acting_user, render_page, wants_fragment
from monitoring.models import Message
from policies import selectors
from policies.forms import CoachingForm, FalsePositiveForm, FlagFilterForm
from policies.models import PolicyFlag, PolicyRule
from policies.queue import post_flags, queue_rows
from policies.services import review

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

QUEUE = "policies/queue.html"
FLAG = "policies/flag.html"
CHANGED_EVENT = "policy-flag-changed"
EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = ("id", "created_at", "rule", "severity", "status", "platform", "account", "unit", "excerpt")


# --- The queue -----------------------------------------------------------------------------------


def _require_queue(request: HttpRequest) -> None:
    scope = user_scope(request.user)
    if not scope.can_read_units and scope.member_id is None:
        raise PermissionDenied("The review queue is for supervisors, comms managers, admins and account holders.")


@require_safe
@login_required
def export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The queue's current filter as CSV (every page, up to EXPORT_MAX_ROWS flags), recorded as an export.
    A malformed filter is a 400 naming it, as the inbox's export answers."""
    _require_queue(request)
    form = FlagFilterForm(request.GET, user=request.user)
    try:
        form.parse()
    except InvalidFilters as invalid:
        return invalid_filters_response(invalid)
    filters, _after = form.queue_filters()
    flags = selectors.flag_queue(request.user, filters, limit=EXPORT_MAX_ROWS).flags
    paths = unit_paths({flag.account.unit for flag in flags})
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="policy-flags",
        label="Policy flags CSV",
        query=request.GET.urlencode(),
    )
    rows = (
        [
            flag.pk,
            flag.created_at,
            flag.rule.name,
            flag.rule.severity,
            flag.status,
            flag.account.platform,
            flag.account.handle,
            paths[flag.account.unit_id],
            flag.excerpt,
        ]
        for flag in flags
    )
    filename = f"chorus-policy-flags-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, columns=EXPORT_COLUMNS, rows=rows)


@require_safe
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """Flags of the accounts the user may see, most severe and newest first, filtered from the URL."""
    user = request.user
    scope = user_scope(user)
    _require_queue(request)
    filter_form = FlagFilterForm(request.GET, user=user)
    filters, after = filter_form.queue_filters()
    page = selectors.flag_queue(user, filters, after=after)
    counts = selectors.flag_status_counts(user, filters)
    units = list(visible_units(user).filter(is_active=True).order_by("path")) if scope.can_read_units else []
    paths = unit_paths(units)
    context = {
        "filters": filters,
        "filter_form": filter_form,
        "rows": queue_rows(
            page.flags, can_review={flag.account_id: scope.covers(flag.account.unit.path) for flag in page.flags}
        ),
        "next_cursor": page.next_cursor,
        "is_first_page": after is None,
        "status_label": PolicyFlag.Status(filters.status).label if filters.status else "",
        "status_tabs": [(value, label, counts[value]) for value, label in [("", "All"), *PolicyFlag.Status.choices]],
        "severities": PolicyRule.Severity.choices,
        "rules": [(rule.pk, rule.name) for rule in selectors.queue_rule_choices(user)],
        "units": [(unit.pk, paths[unit.pk]) for unit in units],
        "next_url": request.get_full_path(),
    }
    return render_page(request, f"{QUEUE}#queue" if wants_fragment(request) else QUEUE, context)


# --- One flag ------------------------------------------------------------------------------------


def _coaching_refusal(flag: PolicyFlag) -> str:
    """Why coaching cannot be sent on this flag, or "" when it can."""
    if flag.message is None:
        return "This flag is about the account itself: there is no post to leave coaching on."
    if flag.message.direction != Message.Direction.OUTBOUND:
        return "The flagged message was sent to the organization, not by it: there is nobody to coach."
    if flag.account.holder is None:
        return (
            "Nobody holds this account (it is a unit or corporate account), so there is no member to coach. "
            "Speak to the unit's supervisor instead."
        )
    return ""


def _review_context(request: HttpRequest, flag: PolicyFlag, **extra: Any) -> dict[str, Any]:
    can_review = selectors.user_can_review(request.user, flag.account)
    return {
        "flag": flag,
        "can_review": can_review,
        "coaching_refusal": _coaching_refusal(flag),
        "false_positive_form": FalsePositiveForm(),
        "coaching_form": CoachingForm(),
        "next_url": reverse("policies:flag", args=[flag.pk]),
        **extra,
    }


@require_safe
@login_required
def flag_detail(request: HttpRequest, pk: int) -> HttpResponse:
    flag = selectors.get_flag_for_user(user=request.user, pk=pk)
    context = _review_context(request, flag)
    context |= {
        "segments": selectors.highlight_segments(flag.message.text, flag.spans) if flag.message else [],
        "thread": selectors.flag_thread(request.user, flag),
        "history": _history(flag),
        "post_flags": post_flags(flag),
    }
    return render_page(request, FLAG, context)


def _history(flag: PolicyFlag) -> list[tuple[AuditEvent, str]]:
    return [(event, HISTORY_LABELS.get(event.verb, event.verb)) for event in selectors.flag_history(flag)]


def _back(request: HttpRequest, flag: PolicyFlag, *, anchor: str = "") -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("policies:flag", args=[flag.pk])
    return redirect(f"{target}{anchor}" if anchor and "#" not in target else target)


def _respond(
    request: HttpRequest, flag: PolicyFlag, *, notice: str = "", error: str = "", **forms: Any
) -> HttpResponse:
    """The row (from the queue), the review panel (from the flag's page), or a redirect without htmx."""
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
            return redirect(f"{reverse('policies:flag', args=[flag.pk])}#review")
        messages.success(request, notice)
        return _back(request, flag)
    if request.headers.get("HX-Target") == f"flag-row-{flag.pk}":
        context = {
            "row": queue_rows([flag], can_review={flag.account_id: True})[0],
            "next_url": request.POST.get("next", ""),
            "row_error": error,
            "row_notice": notice,
        }
        response = render_page(request, f"{QUEUE}#flag-row", context)
    else:
        # The review panel, and the history below it out of band: what was just done shows at once.
        context = _review_context(request, flag, review_error=error, review_notice=notice, **forms)
        context |= {"history": _history(flag), "history_oob": True}
        response = render_page(request, f"{FLAG}#review", context)
        response.content += render_to_string(f"{FLAG}#history", context, request=request).encode()
    if not error:
        response["HX-Trigger"] = CHANGED_EVENT
    return response


HISTORY_LABELS: dict[str, str] = {
    AuditEvent.Verb.POLICY_FLAG_ACKNOWLEDGE: "acknowledged it",
    AuditEvent.Verb.POLICY_FLAG_RESOLVE: "resolved it",
    AuditEvent.Verb.POLICY_FLAG_FALSE_POSITIVE: "marked it a false positive",
    AuditEvent.Verb.POLICY_FLAG_REOPEN: "reopened it",
    AuditEvent.Verb.POLICY_FLAG_COACH: "sent coaching to the member",
}
ACTIONS = {
    "acknowledge": "acknowledged",
    "resolve": "resolved",
    "false-positive": "marked a false positive",
    "reopen": "reopened",
}


@require_POST
@login_required
def flag_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Acknowledge, resolve, mark false positive (note required) or reopen one flag."""
    if action not in ACTIONS:
        raise PermissionDenied("Unknown action.")
    flag = selectors.get_flag_for_user(user=request.user, pk=pk, action=Action.FLAG_REVIEW)
    actor = acting_user(request)
    forms: dict[str, Any] = {}
    try:
        if action == "acknowledge":
            review.flag_acknowledge(flag=flag, actor=actor)
        elif action == "resolve":
            review.flag_resolve(flag=flag, actor=actor, note=request.POST.get("note", ""))
        elif action == "false-positive":
            form = FalsePositiveForm(request.POST)
            forms["false_positive_form"] = form
            if not form.is_valid():
                raise ValidationError(list(form.errors["note"]))
            review.flag_mark_false_positive(flag=flag, actor=actor, note=form.cleaned_data["note"])
        else:
            review.flag_reopen(flag=flag, actor=actor)
    except ValidationError as refusal:
        return _respond(request, flag, error=" ".join(refusal.messages), **forms)
    return _respond(request, flag, notice=f"Flag {ACTIONS[action]}: {flag.rule.name} on {flag.account.handle}.")


@require_POST
@login_required
def flag_coach(request: HttpRequest, pk: int) -> HttpResponse:
    """Send coaching to the member who holds the flagged post's account."""
    flag = selectors.get_flag_for_user(user=request.user, pk=pk, action=Action.COACH)
    form = CoachingForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(list(form.errors["text"]))
        feedback = review.flag_coach(
            flag=flag,
            actor=acting_user(request),
            text=form.cleaned_data["text"],
            site_url=request.build_absolute_uri("/"),
        )
    except ValidationError as refusal:
        return _respond(request, flag, error=" ".join(refusal.messages), coaching_form=form)
    return _respond(request, flag, notice=f"Coaching sent to {feedback.member_name}.")
