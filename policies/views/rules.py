"""Rule pages, for admins: list with statistics, create/edit per kind, enable/disable, delete, rescan history.

Access (policies.selectors): the pages are for admins (403 for everyone else); an admin sees the rules that
apply in their subtree and changes those scoped inside it (organization-wide rules: admins of the whole
organization). Statistics count only the flags the admin may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common.htmx import acting_user, render_page, wants_fragment
from policies import selectors
from policies.forms import RULE_FORMS, RescanForm, RuleForm
from policies.models import PolicyRule
from policies.services import rescan, rules

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

RULES = "policies/rules.html"
RULE_FORM = "policies/rule_form.html"


def _require_rule_admin(request: HttpRequest) -> None:
    if not selectors.user_can_manage_rules(request.user):
        raise PermissionDenied("Rules are managed by admins.")


# --- The list ------------------------------------------------------------------------------------


@require_safe
@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _require_rule_admin(request)
    user = request.user
    rule_rows = list(selectors.visible_rules(user).select_related("unit").order_by("name"))
    stats = selectors.rule_stats(user, [rule.pk for rule in rule_rows])
    context = {
        "rows": [
            (rule, stats.get(rule.pk, selectors.RuleStats()), selectors.user_can_manage_rule(user, rule))
            for rule in rule_rows
        ],
        "kinds": PolicyRule.Kind.choices,
        "stats_days": selectors.STATS_RECENT_DAYS,
    }
    return render_page(request, RULES, context)


@require_POST
@login_required
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable (POST is_enabled=1 or 0); htmx gets the rule's row back."""
    rule = selectors.get_rule_for_user(user=request.user, pk=pk, write=True)
    is_enabled = request.POST.get("is_enabled") == "1"
    rules.rule_set_enabled(rule=rule, is_enabled=is_enabled, actor=acting_user(request))
    notice = f"{rule.name} is {'enabled' if is_enabled else 'disabled'}."
    if wants_fragment(request):
        stats = selectors.rule_stats(request.user, [rule.pk]).get(rule.pk, selectors.RuleStats())
        context = {"rule": rule, "stats": stats, "can_manage": True, "row_notice": notice}
        return render_page(request, f"{RULES}#rule-row", context)
    messages.success(request, notice)
    return redirect("policies:rules")


# --- Create and edit -----------------------------------------------------------------------------


def _form(request: HttpRequest, kind: str, *, rule: PolicyRule | None = None, data: Any = None) -> RuleForm:
    form_class = RULE_FORMS[kind]
    allow_organization = selectors.user_can_manage_organization_rules(request.user)
    initial = form_class.initial_from(rule) if rule is not None else None
    return form_class(
        data, initial=initial, units=selectors.manageable_units(request.user), allow_organization=allow_organization
    )


def _apply_errors(form: RuleForm, refusal: ValidationError) -> None:
    """The service's errors on the fields they name ("pattern: RE2 cannot compile..." lands on `pattern`)."""
    error_dict = refusal.message_dict if hasattr(refusal, "error_dict") else {"config": refusal.messages}
    for field, field_messages in error_dict.items():
        for message in field_messages:
            name, separator, rest = message.partition(": ")
            if field == "config" and separator and name in form.fields:
                form.add_error(name, rest)
            elif field in form.fields:
                form.add_error(field, message)
            else:
                form.add_error(None, message)


def _save(request: HttpRequest, form: RuleForm, *, rule: PolicyRule | None) -> PolicyRule | None:
    """The saved rule, or None with the refusal on the form (nothing written)."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    fields = {
        "name": data["name"],
        "explanation": data["explanation"],
        "severity": data["severity"],
        "direction": data.get("direction", PolicyRule.Direction.BOTH),
        "platforms": list(data["platforms"]),
        "unit": data["unit"],
        "is_enabled": data["is_enabled"],
        "kind": form.kind,
        "config": form.config(),
    }
    try:
        if rule is None:
            return rules.rule_create(actor=acting_user(request), **fields)
        return rules.rule_update(rule=rule, actor=acting_user(request), **fields)
    except ValidationError as refusal:
        _apply_errors(form, refusal)
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def rule_new(request: HttpRequest) -> HttpResponse:
    """Pick a kind (GET without ?kind=), then fill its form. An invalid form re-renders with 200."""
    _require_rule_admin(request)
    kind = request.GET.get("kind", "")
    if kind not in RULE_FORMS:
        return render_page(request, RULE_FORM, {"kinds": PolicyRule.Kind.choices, "rule": None})
    form = _form(request, kind, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        rule = _save(request, form, rule=None)
        if rule is not None:
            messages.success(request, f"Rule “{rule.name}” created. Rescan history below to flag past posts.")
            return redirect("policies:rule", pk=rule.pk)
    context = {"form": form, "rule": None, "kind_label": PolicyRule.Kind(kind).label}
    return render_page(request, RULE_FORM, context)


def _rule_context(request: HttpRequest, rule: PolicyRule, **extra: Any) -> dict[str, Any]:
    stats = selectors.rule_stats(request.user, [rule.pk]).get(rule.pk, selectors.RuleStats())
    return {
        "rule": rule,
        "stats": stats,
        "stats_days": selectors.STATS_RECENT_DAYS,
        "kind_label": rule.get_kind_display(),
        "can_manage": selectors.user_can_manage_rule(request.user, rule),
        "can_rescan": rule.kind != PolicyRule.Kind.GOVERNANCE,
        "rescan_form": RescanForm(),
        "job": selectors.latest_rescan(request.user, rule),
        **extra,
    }


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule's settings (editable by who may change it), its statistics and its rescans."""
    rule = selectors.get_rule_for_user(user=request.user, pk=pk, write=request.method == "POST")
    form = _form(request, rule.kind, rule=rule, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        saved = _save(request, form, rule=rule)
        if saved is not None:
            messages.success(request, f"Rule “{saved.name}” saved. Rescan history to apply it to past posts.")
            return redirect("policies:rule", pk=saved.pk)
    if not selectors.user_can_manage_rule(request.user, rule):
        for field in form.fields.values():
            field.disabled = True
    return render_page(request, RULE_FORM, _rule_context(request, rule, form=form))


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (GET), then delete with its flags (POST)."""
    rule = selectors.get_rule_for_user(user=request.user, pk=pk, write=True)
    if request.method == "POST":
        name = rule.name
        rules.rule_delete(rule=rule, actor=acting_user(request))
        messages.success(request, f"Rule “{name}” and its flags were deleted.")
        return redirect("policies:rules")
    context = {"rule": rule, "flag_count": rule.flags.count(), "confirm_delete": True}
    return render_page(request, "policies/rule_delete.html", context)


# --- Rescans -------------------------------------------------------------------------------------


@require_POST
@login_required
def rule_rescan(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a rescan of the chosen period; htmx gets the progress fragment, which polls until done."""
    rule = selectors.get_rule_for_user(user=request.user, pk=pk, write=True)
    form = RescanForm(request.POST)
    error = ""
    if form.is_valid():
        since, until = form.period()
        try:
            rescan.rescan_request(rule=rule, since=since, until=until, actor=acting_user(request))
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
    else:
        error = "Choose one of the periods offered."
    if wants_fragment(request):
        context = _rule_context(request, rule, rescan_error=error, rescan_form=form)
        return render_page(request, f"{RULE_FORM}#rescan", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Rescan queued: its progress shows below.")
    return redirect("policies:rule", pk=rule.pk)


@require_safe
@login_required
def rescan_progress(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    """The one polled fragment: a <progress> bar, polling every 2 s while the job is queued or running."""
    rule = selectors.get_rule_for_user(user=request.user, pk=pk)
    job = selectors.get_rescan(user=request.user, rule=rule, pk=job_pk)
    if not wants_fragment(request):
        return redirect("policies:rule", pk=rule.pk)
    return render_page(request, f"{RULE_FORM}#rescan-progress", {"rule": rule, "job": job})
