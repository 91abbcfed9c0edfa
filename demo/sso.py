"""The demo's single sign-on: a local OpenID Connect provider (doubles/oidc.py) on the loopback port of
CHORUS_OIDC_ISSUER, which `make demo` sets. It consents at once as the demo officer, so "Sign in with
Demo SSO" on the sign-in page goes through the real protocol to the officer's own home. Only the serving
process starts it (with the platform doubles); a non-loopback issuer is a real provider: nothing starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from accounts_registry.models import Member
from demo import data as demo_data

if TYPE_CHECKING:
    from doubles.oidc import OidcDouble

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


def demo_sso_claims(member: Member) -> dict[str, Any]:
    """What the demo provider says about the person who signs in (CHORUS_OIDC_CLAIM picks one)."""
    return {
        "sub": f"demo-sso-{member.badge_number}",
        "name": member.full_name,
        "email": member.email,
        "email_verified": True,
        "badge": member.badge_number,
    }


def start_demo_sso() -> OidcDouble | None:
    """Start the demo's provider, signing in as the demo officer; None when there is nothing to start."""
    issuer = settings.CHORUS_OIDC_ISSUER
    if not issuer or urlsplit(issuer).hostname not in LOOPBACK_HOSTS:
        return None
    officer = Member.objects.filter(badge_number=demo_data.DEMO_OFFICER.badge_number).first()
    if officer is None:
        return None
    from doubles.oidc import OidcDouble

    double = OidcDouble(
        client_id=settings.CHORUS_OIDC_CLIENT_ID,
        client_secret=settings.CHORUS_OIDC_CLIENT_SECRET,
        user=demo_sso_claims(officer),
    )
    return double.start(port=urlsplit(issuer).port or 0)
