"""Signing in with django-allauth: lockout, the second factor, re-authentication and their audit events.

- `AccountAdapter`: no self sign-up; failed-password throttling keyed on (username, client IP) plus a
  per-IP cap (settings.ACCOUNT_RATE_LIMITS); a lockout message that says what happened and for how long;
  audit events for failures and lockouts.
- `requires_second_factor` / `session_has_second_factor`: the rule the middleware enforces.
- `reauthentication_prompt`: password and (when enrolled) a second factor again before a sensitive action.
- `connect_audit_signals`: sign-in, sign-out and second-factor changes land in the audit trail.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from allauth.account import app_settings as account_settings
from allauth.account import signals as account_signals
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records, record_authentication
from allauth.account.internal.flows.reauthentication import suspend_request
from allauth.core import context
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from accounts_registry.capabilities import SECOND_FACTOR_ROLES
from accounts_registry.models import AuditEvent
from accounts_registry.selectors import user_scope
from accounts_registry.services.security import security_event_record

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest, HttpResponse


SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def client_ip(request: HttpRequest) -> str:
    """The client's address as allauth's throttling sees it (settings.CHORUS_TRUSTED_PROXY_COUNT)."""
    try:
        return str(DefaultAccountAdapter(request).get_client_ip(request))
    except PermissionDenied:
        return ""


def _login_of(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")[:150]


def _user_for_login(login: str) -> AbstractBaseUser | None:
    """The user a typed username or e-mail names, if any (only to file the event under their unit)."""
    if not login:
        return None
    return get_user_model().objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).first()


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]  # allauth ships no type information
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            f"Too many failed sign-ins for this username from your network address. Sign-in is paused for "
            f"up to {settings.CHORUS_LOGIN_LOCKOUT_MINUTES} minutes, even with the right password. If you "
            "did not make these attempts, tell an administrator."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # admins create users (`grant_role`); nobody signs themselves up

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys the per-"key" limit on the login alone, so anyone could lock an officer out from
        # anywhere. Keyed on (login, client IP), an attacker only locks their own address out.
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}@{client_ip(request)}"

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            login, ip = _login_of(credentials), client_ip(request)
            # One event per locked (login, IP) per window, not one per hammering request.
            marker = f"chorus:lockout-recorded:{login.lower()}@{ip}"
            if cache.add(marker, 1, timeout=settings.CHORUS_LOGIN_LOCKOUT_MINUTES * 60):
                security_event_record(
                    verb=AuditEvent.Verb.LOCKOUT,
                    actor=None,
                    subject=_user_for_login(login),
                    target_type="login",
                    target_id=login,
                    target_repr=login,
                    ip=ip,
                )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login = _login_of(credentials)
        security_event_record(
            verb=AuditEvent.Verb.LOGIN_FAILED,
            actor=None,
            subject=_user_for_login(login),
            target_type="login",
            target_id=login,
            target_repr=login,
            ip=client_ip(request),
        )

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        # Chorus's rule, for allauth's own sensitive pages too (second factor and recovery codes): the
        # password, and the code if the person has a second factor, given within the re-authentication
        # timeout — at sign-in or since. So enrolling right after signing in, and seeing the recovery
        # codes right after enrolling, ask for nothing twice.
        request = context.request
        if request.user.is_authenticated and recently_confirmed(request):
            return False
        return bool(super().is_reauthentication_required(app=app, **kwargs))


# --- The second factor --------------------------------------------------------------------------


def requires_second_factor(user: User | AnonymousUser) -> bool:
    """Admins, comms managers and Django staff must sign in with a second factor."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return bool(user_scope(user).roles & SECOND_FACTOR_ROLES)


def has_second_factor(user: AbstractBaseUser) -> bool:
    return bool(Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists())


def session_has_second_factor(request: HttpRequest) -> bool:
    """This session's sign-in (or a later re-authentication) included a second factor."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


def signed_in_at_of(request: HttpRequest) -> float | None:
    """When this session signed in (allauth's first authentication record), as a Unix time."""
    records: list[dict[str, Any]] = get_authentication_records(request, request.user)
    return float(records[0]["at"]) if records else None


def _authenticated_recently(request: HttpRequest, *, method: str) -> bool:
    now = time.time()
    return any(
        record.get("method") == method and now - float(record.get("at", 0)) < account_settings.REAUTHENTICATION_TIMEOUT
        for record in get_authentication_records(request, request.user)
    )


def recently_confirmed(request: HttpRequest) -> bool:
    """The password (if the user has one) and the second factor (if enrolled) were given within
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT, at sign-in or at a re-authentication."""
    user = request.user
    if not user.is_authenticated:
        return False
    if user.has_usable_password() and not _authenticated_recently(request, method="password"):
        return False
    return not (is_mfa_enabled(user) and not _authenticated_recently(request, method="mfa"))


def reauthentication_prompt(request: HttpRequest) -> HttpResponse | None:
    """Before a sensitive POST (after the view has authorized the object, so outsiders still get 404):
    None when the person entered their password, and their second factor if they have one, within
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT (signing in counts); else the response that asks again.

    Views: `if (prompt := reauthentication_prompt(request)) is not None: return prompt`.
    """
    user = request.user
    if request.method != "POST" or not user.is_authenticated:
        return None
    if user.has_usable_password() and not _authenticated_recently(request, method="password"):
        return _reauthenticate(request, "account_reauthenticate")
    if is_mfa_enabled(user) and not _authenticated_recently(request, method="mfa"):
        return _reauthenticate(request, "mfa_reauthenticate")
    return None


def _reauthenticate(request: HttpRequest, url_name: str) -> HttpResponse:
    """Send the person to re-authenticate. A plain POST is kept and replayed afterwards (allauth); an
    htmx POST reloads the whole page to the prompt and comes back to the page it was sent from."""
    htmx = getattr(request, "htmx", None)
    if htmx:
        back = htmx.current_url_abs_path or "/"
        return HttpResponseClientRedirect(f"{reverse(url_name)}?{urlencode({REDIRECT_FIELD_NAME: back})}")
    response: HttpResponse = suspend_request(request, reverse(url_name))
    return response


# --- Audit events from allauth's and Django's signals ---------------------------------------------


def _on_logged_in(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    methods = sorted({str(record.get("method")) for record in get_authentication_records(request, user)})
    security_event_record(
        verb=AuditEvent.Verb.LOGIN, actor=user, target=user, ip=client_ip(request), details={"methods": methods}
    )


def _on_logged_out(sender: object, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        security_event_record(verb=AuditEvent.Verb.LOGOUT, actor=user, target=user, ip=client_ip(request))


def _mfa_receiver(verb: AuditEvent.Verb) -> Callable[..., None]:
    def receiver(sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any) -> None:
        security_event_record(
            verb=verb,
            actor=user,
            target=user,
            ip=client_ip(request),
            details={"authenticator": authenticator.type},
        )
        if verb == AuditEvent.Verb.MFA_ENROL and authenticator.type in SECOND_FACTOR_TYPES:
            # Enrolling proved a fresh code: this session now has its second factor.
            record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)

    return receiver


_RECEIVERS = {
    AuditEvent.Verb.MFA_ENROL: _mfa_receiver(AuditEvent.Verb.MFA_ENROL),
    AuditEvent.Verb.MFA_REMOVE: _mfa_receiver(AuditEvent.Verb.MFA_REMOVE),
    AuditEvent.Verb.MFA_RESET: _mfa_receiver(AuditEvent.Verb.MFA_RESET),
    AuditEvent.Verb.MFA_FAILED: _mfa_receiver(AuditEvent.Verb.MFA_FAILED),
}


def connect_audit_signals() -> None:
    # allauth's signal, sent by a real sign-in (password, then the code if any) — not by `force_login`.
    account_signals.user_logged_in.connect(_on_logged_in, dispatch_uid="chorus-audit-login")
    user_logged_out.connect(_on_logged_out, dispatch_uid="chorus-audit-logout")
    mfa_signals.authenticator_added.connect(_RECEIVERS[AuditEvent.Verb.MFA_ENROL], dispatch_uid="chorus-audit-mfa-add")
    mfa_signals.authenticator_removed.connect(
        _RECEIVERS[AuditEvent.Verb.MFA_REMOVE], dispatch_uid="chorus-audit-mfa-rm"
    )
    mfa_signals.authenticator_reset.connect(
        _RECEIVERS[AuditEvent.Verb.MFA_RESET], dispatch_uid="chorus-audit-mfa-reset"
    )
    mfa_signals.authentication_failed.connect(
        _RECEIVERS[AuditEvent.Verb.MFA_FAILED], dispatch_uid="chorus-audit-mfa-fail"
    )
