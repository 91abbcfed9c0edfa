"""Deployment checks Django's own `check --deploy` does not make (it does not notice a missing CSP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from common.outbound import is_allowlisted


@register(Tags.security, deploy=True)
def chorus_deploy_checks(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    if "django.middleware.csp.ContentSecurityPolicyMiddleware" not in settings.MIDDLEWARE or not getattr(
        settings, "SECURE_CSP", None
    ):
        messages.append(Error("No enforced Content-Security-Policy.", id="chorus.E001"))
    if not settings.FERNET_KEYS:
        messages.append(Error("CHORUS_FERNET_KEYS is empty: platform credentials cannot be stored.", id="chorus.E002"))
    if list(settings.CELERY_ACCEPT_CONTENT) != ["json"]:
        messages.append(Error("Celery must accept JSON only (never pickle).", id="chorus.E003"))
    if settings.REDIS_URL and not urlsplit(settings.REDIS_URL).password:
        messages.append(Warning("REDIS_URL has no password.", id="chorus.W001"))
    issuer = settings.CHORUS_OIDC_ISSUER
    if issuer and urlsplit(issuer).scheme != "https" and not is_allowlisted(issuer):
        messages.append(
            Error("CHORUS_OIDC_ISSUER must be an https URL (single sign-on would be refused).", id="chorus.E004")
        )
    if settings.EMBEDDED:
        messages.append(
            Warning("REDIS_URL is not set: tasks run in-process (demo mode), not on workers.", id="chorus.W002")
        )
    return messages
