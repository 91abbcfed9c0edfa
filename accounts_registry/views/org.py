"""The organization pages: the unit tree, a unit, its edit page, a member, and the governance list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from accounts_registry import selectors
from accounts_registry.capabilities import Action
from accounts_registry.forms.people import CompletionForm, GrantForm
from accounts_registry.forms.units import UnitMembersFilterForm, UnitMoveForm, UnitRenameForm
from accounts_registry.models import TrainingCourse
from accounts_registry.selectors import pages as selectors_pages
from accounts_registry.selectors import people as people_selectors
from accounts_registry.services import units as unit_services
from common.htmx import wants_fragment

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse, QueryDict

    from accounts_registry.models import OrgUnit


@require_GET
@login_required
def tree(request: HttpRequest) -> HttpResponse:
    scope = selectors.user_scope(request.user)
    context = {
        "can_read_units": scope.can_read_units,
        "can_administer": scope.can_administer,
        "member_id": scope.member_id,
        "roots": selectors.unit_tree(request.user) if scope.can_read_units else [],
    }
    return render(request, "accounts_registry/tree.html", context)


@require_GET
@login_required
def unit_children(request: HttpRequest, pk: int) -> HttpResponse:
    """The children of a unit with their counts: the htmx fragment a collapsed tree branch loads when opened."""
    unit = selectors.get_unit_for_user(user=request.user, pk=pk)
    response: HttpResponse
    if wants_fragment(request):
        node = selectors_pages.unit_node(request.user, unit)
        response = render(request, "accounts_registry/tree.html#children", {"nodes": node.children})
    else:
        # Without htmx there is no tree to patch; the unit page lists the same sub-units.
        response = redirect("registry:unit", pk=unit.pk)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = selectors.get_unit_for_user(user=request.user, pk=pk)
    members_form = UnitMembersFilterForm(request.GET, user=request.user)
    training_expiring = members_form.valid_values().get("training") == UnitMembersFilterForm.EXPIRING
    context = {
        "unit": unit,
        "page": selectors_pages.unit_page(request.user, unit, training_expiring=training_expiring),
        "can_edit": selectors.user_can_administer(request.user, unit),
        "training_expiring": training_expiring,
        "members_form": members_form,
        "warning_days": settings.CHORUS_TRAINING_EXPIRY_WARNING_DAYS,
    }
    return render(request, "accounts_registry/unit_detail.html", context)


def _move_form(request: HttpRequest, unit: OrgUnit, data: QueryDict | None = None) -> UnitMoveForm:
    targets = selectors_pages.unit_move_targets(request.user, unit)
    return UnitMoveForm(data, targets=targets, paths=selectors.unit_paths(targets))


@require_http_methods(["GET", "POST"])
@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, move, deactivate or reactivate a unit. Admins of the unit only (and of the new parent, to move)."""
    unit = selectors.get_unit_for_user(user=request.user, pk=pk, write=True)
    actor = request.user
    if isinstance(actor, AnonymousUser):  # login_required has sent anonymous users away already
        raise PermissionDenied
    rename_form = UnitRenameForm(initial={"name": unit.name})
    move_form = _move_form(request, unit)
    action = request.POST.get("action", "")
    if request.method == "POST":
        try:
            if action == "rename":
                rename_form = UnitRenameForm(request.POST)
                if rename_form.is_valid():
                    old_name = unit.name
                    unit_services.unit_rename(unit=unit, name=rename_form.cleaned_data["name"], actor=actor)
                    messages.success(request, f"“{old_name}” is now called “{unit.name}”.")
                    return redirect("registry:unit", pk=unit.pk)
            elif action == "move":
                move_form = _move_form(request, unit, request.POST)
                if move_form.is_valid():
                    parent = move_form.cleaned_data["parent"]
                    unit_services.unit_move(unit=unit, new_parent=parent, actor=actor)
                    messages.success(request, f"“{unit.name}” now sits under “{parent.name}”.")
                    return redirect("registry:unit", pk=unit.pk)
            elif action in {"deactivate", "reactivate"}:
                is_active = action == "reactivate"
                unit_services.unit_set_active(unit=unit, is_active=is_active, actor=actor)
                state = "reactivated" if is_active else "deactivated"
                messages.success(request, f"“{unit.name}” and its sub-units are {state}.")
                # A user whose grant sits on this unit loses sight of it once it is inactive.
                if not selectors.scope_for(actor).covers(unit.path):
                    return redirect("registry:tree")
                return redirect("registry:unit", pk=unit.pk)
            else:
                messages.error(request, "Unknown action: nothing was changed.")
        except ValidationError as error:
            (move_form if action == "move" else rename_form).add_error(None, error)
    context = {"unit": unit, "rename_form": rename_form, "move_form": move_form, "action": action}
    return render(request, "accounts_registry/unit_edit.html", context)


@require_GET
@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk)
    page = selectors_pages.member_page(request.user, member)
    scope = selectors.user_scope(request.user)
    can_edit = scope.allows(Action.PEOPLE_ADMIN, member.unit.path)
    context = {
        "member": member,
        "page": page,
        "platforms": people_selectors.training_by_platform(member),
        "can_edit": can_edit,
        "can_grant": scope.allows(Action.ROLE_ADMIN, member.unit.path),
    }
    if can_edit:
        units = people_selectors.unit_choices(request.user)
        context |= {
            "grants": people_selectors.member_grants(member),
            "timeline": people_selectors.member_timeline(member),
            "completion_form": CompletionForm(),
            "grant_form": GrantForm(units=units),
            "has_courses": TrainingCourse.objects.exists(),
        }
    return render(request, "accounts_registry/member_detail.html", context)


@require_GET
@login_required
def governance(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "unit")
    if sort not in selectors_pages.GOVERNANCE_SORTS:
        sort = "unit"
    context = {"rows": selectors_pages.governance_rows(request.user, sort=sort), "sort": sort}
    return render(request, "accounts_registry/governance.html", context)
