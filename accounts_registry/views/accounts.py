"""The account page: details, lifecycle status, credentials (write-only) and recent activity."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts_registry.forms.accounts import AccountStatusForm, CredentialsForm
from accounts_registry.governance import current_training_platforms
from accounts_registry.models import AuditEvent, SocialAccount, Training
from accounts_registry.selectors import get_account_for_user, user_can_administer
from accounts_registry.services.accounts import REQUIRED_CREDENTIALS, account_set_credentials, account_set_status
from accounts_registry.signin import reauthentication_prompt
from common.htmx import acting_user, render_page, wants_fragment

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

TEMPLATE = "accounts_registry/account_detail.html"
ACTIVITY_LIMIT = 20


@dataclasses.dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclasses.dataclass(frozen=True)
class ActivityRow:
    event: AuditEvent
    changes: list[Change]


def _describe(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def _activity(account: SocialAccount) -> list[ActivityRow]:
    """The account's newest audit events, with their before/after as readable field changes."""
    events = AuditEvent.objects.filter(target_type=SocialAccount._meta.label_lower, target_id=str(account.pk)).order_by(
        "-created_at", "-id"
    )[:ACTIVITY_LIMIT]
    rows = []
    for event in events:
        before = event.before if isinstance(event.before, dict) else {}
        after = event.after if isinstance(event.after, dict) else {}
        fields = list(dict.fromkeys([*before, *after]))
        changes = [Change(field, _describe(before.get(field)), _describe(after.get(field))) for field in fields]
        rows.append(ActivityRow(event=event, changes=changes))
    return rows


def _status_context(
    request: HttpRequest, account: SocialAccount, *, form: AccountStatusForm | None = None, **extra: Any
) -> dict[str, Any]:
    can_administer = user_can_administer(request.user, account.unit)
    return {
        "account": account,
        "can_administer": can_administer,
        "status_form": (form or AccountStatusForm(account=account)) if can_administer else None,
        **extra,
    }


def _credentials_context(
    request: HttpRequest, account: SocialAccount, *, form: CredentialsForm | None = None, **extra: Any
) -> dict[str, Any]:
    can_administer = user_can_administer(request.user, account.unit)
    show_form = can_administer and account.status != SocialAccount.Status.RETIRED
    return {
        "account": account,
        "can_administer": can_administer,
        "required_credentials": REQUIRED_CREDENTIALS.get(account.platform, ()),
        # A fresh form after every POST: the inputs never carry back what was typed.
        "credentials_form": (form or CredentialsForm(platform=account.platform, require_needed=True))
        if show_form
        else None,
        **extra,
    }


def _holder_trainings(account: SocialAccount) -> tuple[list[tuple[Training, Training.Status]], bool]:
    """The holder's courses that cover this platform (with their status today), and whether one is current."""
    if account.holder is None:
        return [], False
    today = timezone.localdate()
    trainings = list(account.holder.trainings.all())
    covering = [(training, training.status(today)) for training in trainings if account.platform in training.platforms]
    return covering, account.platform in current_training_platforms(account.holder, today=today)


@require_safe
@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(user=request.user, pk=pk)
    holder_trainings, holder_is_trained = _holder_trainings(account)
    context = {
        **_status_context(request, account),
        **_credentials_context(request, account),
        "holder_trainings": holder_trainings,
        "holder_is_trained": holder_is_trained,
        "activity": _activity(account),
    }
    return render_page(request, TEMPLATE, context)


@require_POST
@login_required
def account_status(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_user(user=request.user, pk=pk, write=True)
    form = AccountStatusForm(request.POST, account=account)
    error = notice = ""
    if form.is_valid():
        try:
            account = account_set_status(
                account=account,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                actor=acting_user(request),
            )
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            notice = f"{account.handle} is now {account.get_status_display().lower()}."
            account = get_account_for_user(user=request.user, pk=pk)
            form = AccountStatusForm(account=account)
    else:
        error = "Choose one of the statuses offered, and keep the reason short."
    if wants_fragment(request):
        context = _status_context(request, account, form=form, status_error=error, status_notice=notice)
        return render_page(request, f"{TEMPLATE}#status", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("registry:account", pk=account.pk)


@require_POST
@login_required
def account_credentials(request: HttpRequest, pk: int) -> HttpResponse:
    """Store credentials. Neither the response nor any message ever contains a submitted value."""
    account = get_account_for_user(user=request.user, pk=pk, write=True)
    # Replacing an account's credentials: the password (and second factor) again first.
    if (prompt := reauthentication_prompt(request)) is not None:
        return prompt
    form = CredentialsForm(request.POST, platform=account.platform, require_needed=True)
    error = notice = ""
    if form.is_valid():
        try:
            account_set_credentials(account=account, credentials=form.credentials(), actor=acting_user(request))
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            account = get_account_for_user(user=request.user, pk=pk)
            notice = f"Credentials stored (encrypted) for {account.handle}."
    else:
        needed = ", ".join(REQUIRED_CREDENTIALS.get(account.platform, ())) or "at least one credential"
        error = f"Nothing was stored: enter {needed}."
    if wants_fragment(request):
        context = {
            **_status_context(request, account, status_oob=not error),
            # An unbound form: what was typed is never sent back, even when it was refused.
            **_credentials_context(request, account, credentials_error=error, credentials_notice=notice),
        }
        return render_page(request, f"{TEMPLATE}#credentials", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect("registry:account", pk=account.pk)
