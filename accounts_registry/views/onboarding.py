"""Onboarding: an admin registers an account in two steps, details then confirmation.

Step one (`step=review`) checks the request with services.accounts.onboarding_errors and shows what
would be created; step two (`step=confirm`) carries the same non-secret values in hidden fields, asks
for the credentials there (they are never put in a hidden field) and calls account_onboard.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts_registry.forms.accounts import CredentialsForm, OnboardingForm
from accounts_registry.models import Member, OrgUnit, Platform, SocialAccount, Training
from accounts_registry.selectors import user_can_administer
from accounts_registry.services.accounts import (
    OnboardingRequest,
    account_onboard,
    instance_url_for,
    missing_credentials,
    normalize_handle,
    onboarding_errors,
)
from common.htmx import acting_user

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

TEMPLATE = "accounts_registry/onboard.html"


@dataclasses.dataclass(frozen=True)
class Summary:
    """What confirming will create, in the words of the confirmation page."""

    holder: Member | None
    trainings: list[Training]
    unit: OrgUnit
    platform_label: str
    handle: str
    kind_label: str
    external_id: str
    instance_url: str
    missing_credentials: list[str]


def _summary(onboarding: OnboardingRequest) -> Summary:
    holder = onboarding.holder
    unit = onboarding.unit or (holder.unit if holder is not None else None)
    assert unit is not None  # onboarding_errors refuses a request with neither
    today = timezone.localdate()
    trainings = (
        [training for training in holder.trainings.all() if training.authorizes(onboarding.platform, today)]
        if holder is not None
        else []
    )
    return Summary(
        holder=holder,
        trainings=trainings,
        unit=unit,
        platform_label=Platform(onboarding.platform).label,
        handle=normalize_handle(onboarding.platform, onboarding.handle),
        kind_label=SocialAccount.Kind(onboarding.kind).label,
        external_id=onboarding.external_id,
        instance_url=instance_url_for(onboarding),
        missing_credentials=missing_credentials(onboarding.platform, {}),
    )


def _render_details(request: HttpRequest, form: OnboardingForm, *, refusals: list[str] | None = None) -> HttpResponse:
    return render(request, TEMPLATE, {"step": "details", "form": form, "refusals": refusals or []})


def _render_confirm(
    request: HttpRequest, form: OnboardingForm, onboarding: OnboardingRequest, *, credentials_error: str = ""
) -> HttpResponse:
    context: dict[str, Any] = {
        "step": "confirm",
        "form": form,
        "summary": _summary(onboarding),
        # Always unbound: a secret typed on this step is never echoed back into the page.
        "credentials_form": CredentialsForm(platform=onboarding.platform, require_needed=False),
        "credentials_error": credentials_error,
    }
    return render(request, TEMPLATE, context)


def _initial(request: HttpRequest) -> dict[str, Any]:
    """`?member=<id>` preselects a member (the form only offers members the user administers)."""
    member = request.GET.get("member", "")
    return {"member": int(member)} if member.isdigit() else {}


@require_http_methods(["GET", "POST"])
@login_required
def onboard(request: HttpRequest) -> HttpResponse:
    if not user_can_administer(request.user):
        raise PermissionDenied("Only an admin of a unit may onboard accounts.")
    if request.method == "GET":
        return _render_details(request, OnboardingForm(user=request.user, initial=_initial(request)))

    form = OnboardingForm(request.POST, user=request.user)
    step = request.POST.get("step", "review")
    if not form.is_valid() or step not in {"review", "confirm"}:
        return _render_details(request, form)  # also "back and change": the values come back as typed
    onboarding = form.onboarding_request()
    if step == "review":
        refusals = onboarding_errors(onboarding, actor=acting_user(request))
        if refusals:
            return _render_details(request, form, refusals=refusals)
        return _render_confirm(request, form, onboarding)

    credentials_form = CredentialsForm(request.POST, platform=onboarding.platform, require_needed=False)
    if not credentials_form.is_valid():
        return _render_confirm(
            request, form, onboarding, credentials_error="A credential is too long; nothing was saved."
        )
    onboarding.credentials = credentials_form.credentials()
    try:
        account = account_onboard(request=onboarding, actor=acting_user(request))
    except ValidationError as refusal:
        return _render_details(request, form, refusals=refusal.messages)
    messages.success(
        request,
        f"{account.get_platform_display()} {account.handle} is onboarded; "
        f"status: {account.get_status_display().lower()}.",
    )
    return redirect("registry:account", pk=account.pk)
