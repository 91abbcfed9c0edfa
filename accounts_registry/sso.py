"""Single sign-on through the organization's OpenID Connect provider; off unless CHORUS_OIDC_ISSUER is set.

allauth's openid_connect provider runs the protocol: discovery, `state`, PKCE (S256), the code exchange,
the ID token's issuer, audience and expiry (and, where allauth checks one, its signature against the
provider's JWKS). This module adds what Chorus decides:

- One provider, built from the settings at each request (`sso_app`): never a database row, so never
  editable in the admin, and the client secret lives in the environment only (never logged, never shown).
- A `nonce` with every authorization request, required back in the ID token: allauth's generic provider
  sends none. Only the configured scopes and parameters: a request cannot add any.
- Every HTTP call to the provider goes through common.outbound: https, public addresses only (or the
  origins of CHORUS_OUTBOUND_ALLOWLIST, e.g. an internal Keycloak, the loopback double), no redirects.
- Who signed in (`sso_user_for`): the claim CHORUS_OIDC_CLAIM, matched to exactly one member by e-mail
  address or by badge number (CHORUS_OIDC_MATCH), who has not left and whose login is active. Nobody is
  created or linked; anyone else is refused with a page that says why and an `auth.sso_refused` event.
- What they may do comes from Chorus's role grants, never from the provider's claims. The second factor
  is Chorus's too: allauth asks for the code after single sign-on exactly as after a password, and
  admins and comms managers without one must enrol first (accounts_registry.middleware). The provider's
  `amr` claim is not trusted to replace it. Session limits apply unchanged.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import requests
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthProcess
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.conf import settings
from django.shortcuts import render

from accounts_registry.models import AuditEvent, Member
from accounts_registry.services.security import security_event_record
from accounts_registry.signin import client_ip
from common.outbound import outbound_session

if TYPE_CHECKING:
    from collections.abc import Mapping

    from allauth.socialaccount.models import SocialLogin
    from django.contrib.auth.models import User
    from django.http import HttpRequest, HttpResponse

PROVIDER_ID = "sso"  # in the redirect URI registered at the provider: /accounts/oidc/sso/login/callback/


def sso_enabled() -> bool:
    return bool(settings.CHORUS_OIDC_ISSUER)


def sso_app() -> SocialApp | None:
    """The one OpenID Connect client, from the settings; None when single sign-on is off."""
    if not sso_enabled():
        return None
    return SocialApp(
        provider="openid_connect",
        provider_id=PROVIDER_ID,
        name=settings.CHORUS_OIDC_NAME,
        client_id=settings.CHORUS_OIDC_CLIENT_ID,
        secret=settings.CHORUS_OIDC_CLIENT_SECRET,
        settings={"server_url": settings.CHORUS_OIDC_ISSUER, "scope": list(settings.CHORUS_OIDC_SCOPES)},
    )


class ChorusOpenIDConnectProvider(OpenIDConnectProvider):  # type: ignore[misc]  # allauth ships no types
    """allauth's provider, with a nonce and without request-chosen scopes or parameters."""

    package = "allauth.socialaccount.providers.openid_connect"  # its URLs are allauth's

    def get_scope_from_request(self, request: HttpRequest) -> list[str]:
        return list(self.get_scope())

    def get_auth_params_from_request(self, request: HttpRequest, action: str) -> dict[str, str]:
        return dict(self.get_auth_params())

    def redirect(
        self, request: HttpRequest, process: str, next_url: str | None = None, data: Any = None, **kwargs: Any
    ) -> HttpResponse:
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None) or self.get_auth_params()
        auth_params["nonce"] = nonce
        try:
            # The nonce is stashed with allauth's state (in the session) and checked in pre_social_login.
            response: HttpResponse = super().redirect(
                request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
            )
        except requests.RequestException as error:
            # The provider's discovery document is out of reach (down, or refused by common.outbound).
            response = render_authentication_error(request, self, exception=error)
        return response


class SsoRefused(Exception):
    """Single sign-on reached the provider and back, but Chorus will not sign this person in."""

    def __init__(self, reason: str, message: str, *, member: Member | None = None, value: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.member = member
        self.value = value


def _claim_label() -> str:
    return "e-mail address" if settings.CHORUS_OIDC_MATCH == "email" else "badge number"


def sso_user_for(claims: Mapping[str, Any]) -> User:
    """The Chorus login of the member the provider's claims name, or SsoRefused with the reason.

    The claim CHORUS_OIDC_CLAIM must name exactly one member (e-mail address, case-insensitive, or badge
    number, exact); when that claim is `email`, the provider must also say it verified the address.
    """
    label = _claim_label()
    raw = claims.get(settings.CHORUS_OIDC_CLAIM)
    value = raw.strip() if isinstance(raw, str) else ""
    if not value:
        raise SsoRefused(
            "claim_missing",
            f"Your organization's sign-in did not give your {label}, so Chorus cannot tell who you are. "
            "Tell your Chorus administrator.",
        )
    if settings.CHORUS_OIDC_MATCH == "email":
        if settings.CHORUS_OIDC_CLAIM == "email" and claims.get("email_verified") not in (True, "true"):
            raise SsoRefused(
                "email_unverified",
                "Your organization's sign-in says your e-mail address is not verified. Chorus signs in "
                "verified addresses only.",
                value=value,
            )
        members = Member.objects.filter(email__iexact=value)
    else:
        members = Member.objects.filter(badge_number=value)
    found = list(members.select_related("user")[:2])
    if not found:
        raise SsoRefused(
            "unknown",
            f"No member of Chorus has the {label} {value}. Chorus does not create logins at sign-in: ask a "
            "Chorus administrator to add you, or to correct your member record.",
            value=value,
        )
    if len(found) > 1:
        raise SsoRefused(
            "ambiguous",
            f"More than one member of Chorus has the {label} {value}. Ask a Chorus administrator to correct "
            "the member records.",
            value=value,
        )
    member = found[0]
    if member.has_left():
        raise SsoRefused(
            "left", "Your member record says you have left the organization: Chorus is closed to you.", member=member
        )
    if member.user is None:
        raise SsoRefused(
            "no_login",
            "You are a member of Chorus but have no login yet. Ask a Chorus administrator for an invitation.",
            member=member,
        )
    if not member.user.is_active:
        raise SsoRefused(
            "inactive", "Your Chorus login is deactivated. Ask a Chorus administrator.", member=member, value=value
        )
    return member.user


def _identify(sociallogin: SocialLogin) -> User:
    """Check what allauth leaves to the application, then map the claims to a member."""
    state: dict[str, Any] = sociallogin.state or {}
    if state.get("process") != AuthProcess.LOGIN:
        # Connecting a provider account to a signed-in user would be a second way in: there is none.
        raise SsoRefused("process", "Single sign-on only signs people in.")
    data = sociallogin.account.extra_data or {}
    id_token, userinfo = data.get("id_token"), data.get("userinfo") or {}
    expected_nonce = state.get("nonce")
    if (
        not isinstance(id_token, dict)
        or not isinstance(expected_nonce, str)
        or not secrets.compare_digest(str(id_token.get("nonce", "")), expected_nonce)
    ):
        raise SsoRefused("nonce", "The answer of your organization's sign-in did not match this sign-in. Try again.")
    if userinfo and userinfo.get("sub") != id_token.get("sub"):
        raise SsoRefused("subject", "Your organization's sign-in described two different people. Try again.")
    # The ID token's claims win over userinfo's (the token is what the issuer vouched for).
    return sso_user_for({**userinfo, **id_token})


class SocialAccountAdapter(DefaultSocialAccountAdapter):  # type: ignore[misc]  # allauth ships no types
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False  # single sign-on never creates a login

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        app = sso_app()
        if app is None or (provider and provider not in {app.provider, app.provider_id}):
            return []
        if client_id and client_id != app.client_id:
            return []
        return [app]

    def get_requests_session(self) -> requests.Session:
        return outbound_session(timeout=float(settings.SOCIALACCOUNT_REQUESTS_TIMEOUT))

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        # The provider's access token has served (userinfo): it is not kept, not even in the session
        # while the second factor is asked.
        sociallogin.token = None
        try:
            user = _identify(sociallogin)
        except SsoRefused as refusal:
            security_event_record(
                verb=AuditEvent.Verb.SSO_REFUSED,
                actor=None,
                subject=refusal.member.user if refusal.member is not None else None,
                target=refusal.member,
                target_type="" if refusal.member is not None else "login",
                target_repr="" if refusal.member is not None else refusal.value[:150],
                ip=client_ip(request),
                details={"reason": refusal.reason, "claim": settings.CHORUS_OIDC_CLAIM},
            )
            raise ImmediateHttpResponse(self._refusal_page(request, refusal.message)) from refusal
        sociallogin.user = user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: BaseException | None = None,
        extra_context: Mapping[str, Any] | None = None,
    ) -> None:
        # A missing or unknown state, the provider's error, a refused code exchange or ID token. The
        # exception's text is not recorded: allauth puts the token endpoint's answer in some of them.
        security_event_record(
            verb=AuditEvent.Verb.SSO_REFUSED,
            actor=None,
            target_type="login",
            target_repr=settings.CHORUS_OIDC_NAME,
            ip=client_ip(request),
            details={
                "reason": "protocol",
                "error": str(error or "unknown"),
                **({"exception": type(exception).__name__} if exception is not None else {}),
            },
        )

    @staticmethod
    def _refusal_page(request: HttpRequest, message: str) -> HttpResponse:
        return render(
            request,
            "accounts_registry/sso_refused.html",
            {"message": message, "provider_name": settings.CHORUS_OIDC_NAME},
            status=403,
        )
