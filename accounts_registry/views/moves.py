"""A member's moves in the browser: transfer, departure, and the holder change of an account. Thin views
over services.lifecycle; admins of the member's (or account's) unit only, and of the destination unit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts_registry import selectors
from accounts_registry.forms.people import DepartureForm, HolderForm, UnitForm
from accounts_registry.selectors import people as people_selectors
from accounts_registry.services import lifecycle
from common.htmx import acting_user

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@require_http_methods(["GET", "POST"])
@login_required
def member_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    units = [(pk_, path) for pk_, path in people_selectors.unit_choices(request.user) if pk_ != member.unit_id]
    form = UnitForm(request.POST or None, units=units)
    transfer = None
    if request.method == "POST" and form.is_valid():
        unit = selectors.get_unit_for_user(user=request.user, pk=form.cleaned_data["unit"], write=True)
        try:
            transfer = lifecycle.member_transfer(member=member, unit=unit, actor=acting_user(request))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"{member.full_name} moved from {transfer.old_unit.name} to {unit.name} with "
                f"{len(transfer.accounts_moved)} personal account(s); supervisors of both units are told.",
            )
            if not transfer.old_grants:
                return redirect("registry:member", pk=member.pk)
    context = {"member": member, "form": form, "transfer": transfer}
    return render(request, "accounts_registry/member_transfer.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def member_departure(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.get_member_for_user(user=request.user, pk=pk, write=True)
    accounts = people_selectors.held_accounts(member)
    candidates = people_selectors.successor_candidates(request.user, member)
    form = DepartureForm(request.POST or None, accounts=accounts, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.member_depart(
                member=member,
                left_on=form.cleaned_data["left_on"],
                successors=form.successors(),
                actor=acting_user(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{member.full_name} has left; their login is deactivated.")
            return redirect("registry:member", pk=member.pk)
    context = {"member": member, "form": form, "accounts": accounts}
    return render(request, "accounts_registry/member_departure.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def account_holder(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.get_account_for_user(user=request.user, pk=pk, write=True)
    candidates = people_selectors.successor_candidates(request.user, account.holder)
    form = HolderForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.account_change_holder(
                account=account, holder=form.cleaned_data["holder"], actor=acting_user(request)
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{account.handle} is now held by {form.cleaned_data['holder'].full_name}.")
            return redirect("registry:account", pk=account.pk)
    return render(request, "accounts_registry/account_holder.html", {"account": account, "form": form})
