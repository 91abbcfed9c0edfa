"""People pages: add and edit members, the training catalogue, completions, invitations, logins and roles.

Thin: parse → authorize (access selectors; 404 outside the subtree, 403 without the capability) → call a
service → redirect. Transfers, departures and holder changes are in views/moves.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts_registry import selectors
from accounts_registry.capabilities import Action
from accounts_registry.forms.people import CompletionForm, CourseForm, GrantForm, MemberForm, MemberNewForm
from accounts_registry.models import Member, Role, RoleGrant, TrainingCourse
from accounts_registry.selectors import people as people_selectors
from accounts_registry.services import people as people_services
from accounts_registry.services.members import member_create
from accounts_registry.services.roles import role_grant, role_revoke
from common.htmx import acting_user

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def require_capability(request: HttpRequest, action: Action) -> None:
    """403 for a signed-in user whose roles allow `action` nowhere (role-gated pages, before any lookup)."""
    if not selectors.user_scope(request.user).allows(action):
        raise PermissionDenied("Your role does not allow this.")


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_http_methods(["GET", "POST"])
@login_required
def member_new(request: HttpRequest) -> HttpResponse:
    require_capability(request, Action.PEOPLE_ADMIN)
    units = people_selectors.unit_choices(request.user)
    form = MemberNewForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        unit = selectors.get_unit_for_user(user=request.user, pk=form.cleaned_data["unit"], write=True)
        data = {key: form.cleaned_data[key] for key in ("full_name", "badge_number", "rank", "email")}
        try:
            member = member_create(unit=unit, actor=acting_user(request), **data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{member.full_name} is added to {unit.name}.")
            return redirect("registry:member", pk=member.pk)
    return render(request, "accounts_registry/member_form.html", {"form": form, "member": None})


@require_http_methods(["GET", "POST"])
@login_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    initial = {field: getattr(member, field) for field in people_services.MEMBER_FIELDS}
    form = MemberForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            people_services.member_update(member=member, actor=acting_user(request), **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{member.full_name} is updated.")
            return redirect("registry:member", pk=member.pk)
    return render(request, "accounts_registry/member_form.html", {"form": form, "member": member})


@require_http_methods(["GET", "POST"])
@login_required
def courses(request: HttpRequest) -> HttpResponse:
    """The organization's training catalogue (admins only; courses are not unit data)."""
    require_capability(request, Action.PEOPLE_ADMIN)
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = people_services.training_course_create(actor=acting_user(request), **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"“{course.name}” is in the catalogue.")
            return redirect("registry:courses")
    context = {"form": form, "courses": TrainingCourse.objects.order_by("name")}
    return render(request, "accounts_registry/courses.html", context)


@require_POST
@login_required
def member_training(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    form = CompletionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a course and the completion date.")
        return redirect("registry:member", pk=member.pk)
    try:
        training = people_services.training_complete(member=member, actor=acting_user(request), **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        expiry = training.expires_on.isoformat() if training.expires_on else "never"
        messages.success(request, f"{training.course} recorded; it expires: {expiry}.")
    return redirect("registry:member", pk=member.pk)


@require_POST
@login_required
def member_invite(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    try:
        user = people_services.member_invite(
            member=member, actor=acting_user(request), site_url=request.build_absolute_uri("/")
        )
    except ValidationError as error:
        messages.error(request, _errors(error))
    else:
        messages.success(request, f"Invitation sent to {member.email} (username {user.get_username()}).")
    return redirect("registry:member", pk=member.pk)


@require_POST
@login_required
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    people_services.member_login_deactivate(member=member, actor=acting_user(request))
    messages.success(request, f"{member.full_name}'s login is deactivated: sessions ended, API tokens revoked.")
    return redirect("registry:member", pk=member.pk)


def _grant_or_revoke(request: HttpRequest, member: Member) -> str:
    """Grant a role on a unit the actor administers, or revoke one of the member's grants on such a unit."""
    actor = acting_user(request)
    if member.user is None:
        raise ValidationError("Invite the member first: roles are given to a login.")
    username = member.user.get_username()
    revoke = request.POST.get("revoke", "")
    if revoke.isdigit():
        grant = RoleGrant.objects.filter(pk=int(revoke), user=member.user).select_related("unit").first()
        if grant is None or not selectors.user_scope(actor).allows(Action.ROLE_ADMIN, grant.unit.path):
            raise selectors.refused(user=actor, target_type="role_grant", pk=revoke, message="No such grant.")
        role_revoke(username=username, role=Role(grant.role), unit=grant.unit, actor=actor)
        return f"{grant.get_role_display()} of {grant.unit.name} is revoked."
    form = GrantForm(request.POST, units=people_selectors.unit_choices(actor))
    if not form.is_valid():
        raise ValidationError("Choose a role and one of your units.")
    unit = selectors.get_unit_for_user(user=actor, pk=form.cleaned_data["unit"], write=True)
    role = Role(form.cleaned_data["role"])
    role_grant(username=username, role=role, unit=unit, actor=actor)
    return f"{member.full_name} is now {role.label} of {unit.name}."


@require_POST
@login_required
def member_roles(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk)
    selectors.authorize(request.user, Action.ROLE_ADMIN, path=member.unit.path, target_type="member", pk=member.pk)
    try:
        messages.success(request, _grant_or_revoke(request, member))
    except ValidationError as error:
        messages.error(request, _errors(error))
    return redirect("registry:member", pk=member.pk)
