"""Telling people about critical flags: email to the account's comms managers and admins, and a chat webhook.

Recipients: the active users holding a role that receives emergencies (accounts_registry.capabilities:
comms managers and admins) on the account's unit or an ancestor of it, who have an email address;
each gets one email listing their flags. The webhook, when
settings.CHORUS_POLICY_WEBHOOK_URL is set, receives one JSON `{"text": ...}` POST (the format of Slack and
Microsoft Teams incoming webhooks). Only that configured URL is ever fetched — never a URL taken from a
post (no SSRF: see docs/architecture.md) — without following redirects, with a timeout.

Best effort: a failing mail server or webhook is logged, never raised (this runs after the ingest
commits, from a task). Not deduplicated: a retried task may send twice, so the task does not retry.
The texts are plain (no HTML): the post excerpt is untrusted.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.core.mail import send_mail

from accounts_registry.capabilities import Action, roles_allowing
from accounts_registry.models import RoleGrant
from common.outbound import outbound_session
from policies.models import PolicyFlag

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

EXCERPT_IN_NOTICE = 200


def _line(flag: PolicyFlag) -> str:
    account = flag.account
    excerpt = " ".join(flag.excerpt.split())[:EXCERPT_IN_NOTICE]
    return f"- [{flag.rule.name}] {account.get_platform_display()} {account.handle}: {excerpt}"


def _recipient_emails(flags: Iterable[PolicyFlag]) -> dict[str, list[PolicyFlag]]:
    """Email address → the flags on accounts in units that person receives emergencies for (one query)."""
    flags = list(flags)
    paths = {flag.account.unit.path for flag in flags}
    grants = list(
        RoleGrant.objects.filter(
            role__in=roles_allowing(Action.EMERGENCY_RECEIVE), user__is_active=True, unit__is_active=True
        )
        .exclude(user__email="")
        .values_list("unit__path", "user__email")
    )
    emails_by_path: dict[str, set[str]] = {
        path: {email for prefix, email in grants if path.startswith(prefix)} for path in paths
    }
    recipients: dict[str, list[PolicyFlag]] = defaultdict(list)
    for flag in flags:
        for email in sorted(emails_by_path[flag.account.unit.path]):
            recipients[email].append(flag)
    return dict(recipients)


def critical_flags_notify(*, flag_ids: list[int]) -> None:
    """Email the comms managers and admins of the flagged accounts and post to the webhook if configured. Never raises
    for delivery problems; missing flags (deleted since) are skipped."""
    flags = list(
        PolicyFlag.objects.filter(pk__in=flag_ids, rule__severity="critical")
        .select_related("rule", "account__unit")
        .order_by("pk")
    )
    if not flags:
        return
    for email, theirs in _recipient_emails(flags).items():
        subject = f"Chorus: {len(theirs)} critical policy flag{'s' if len(theirs) != 1 else ''}"
        body = "Critical policy flags on accounts of your units:\n\n" + "\n".join(_line(flag) for flag in theirs)
        try:
            send_mail(subject, body + "\n\nReview them in Chorus under Policies.\n", None, [email])
        except OSError as error:  # SMTP errors are OSErrors
            logger.warning("critical flags %s: email failed: %s", [flag.pk for flag in theirs], error)
    _webhook_post(flags)


def _webhook_post(flags: list[PolicyFlag]) -> None:
    url = getattr(settings, "CHORUS_POLICY_WEBHOOK_URL", "")
    if not url:
        return
    text = f"{len(flags)} critical policy flag{'s' if len(flags) != 1 else ''}:\n" + "\n".join(
        _line(flag) for flag in flags
    )
    try:
        # Through the outbound guard: https, a public address checked at connect time, no redirects.
        with outbound_session() as session:
            response = session.post(url, json={"text": text}, timeout=settings.CHORUS_HTTP_TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as error:
        # The URL is a secret (incoming webhook URLs carry their token): log the kind of failure only.
        logger.warning("critical flags webhook failed: %s", type(error).__name__)
