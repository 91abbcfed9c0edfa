"""API tokens: create (the key is shown once), revoke, and authenticate a request's key.

Only the SHA-256 of a key is stored, so a database dump does not hand out API access; the first
characters are kept as `prefix` so people can tell their tokens apart. A key is 32 random bytes, so an
unsalted fast hash is enough (there is nothing to brute-force). Audit rows never contain the key.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts_registry.models import AuditEvent
from accounts_registry.services.security import security_event_record
from engagement.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PREFIX_LENGTH = 8
# last_used_at is written at most once per interval, so an API client does not cause a write per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str, actor: User | None = None) -> tuple[ApiToken, str]:
    """Create a token for `user` and return it with its plaintext key, which is never retrievable again.

    `actor` is who asked for it (the user on the token page; None for a shell command, audited as system).
    Raises ValidationError for an empty or too-long name.
    """
    key = secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip(), key_hash=api_key_hash(key), prefix=key[:PREFIX_LENGTH])
    token.full_clean()
    token.save()
    security_event_record(
        verb=AuditEvent.Verb.API_TOKEN_CREATE,
        actor=actor,
        subject=user,
        target=token,
        details={"user": user.get_username(), "name": token.name, "prefix": token.prefix},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke a token; it stops working on the next request. Idempotent: revoking twice is a no-op.

    The caller has checked that `actor` may revoke it (its owner, through the access selector).
    """
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    security_event_record(
        verb=AuditEvent.Verb.API_TOKEN_REVOKE,
        actor=actor,
        subject=token.user,
        target=token,
        details={"revoked_at": token.revoked_at.isoformat()},
    )
    return token


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The live token for `key` (owner loaded), or None if unknown, revoked or its owner is inactive.

    Records use in `last_used_at`, at most once per LAST_USED_RESOLUTION: the conditional UPDATE also
    keeps concurrent requests from writing the same minute twice.
    """
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=api_key_hash(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    stale_before = now - LAST_USED_RESOLUTION
    if token.last_used_at is None or token.last_used_at < stale_before:
        ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before), pk=token.pk).update(
            last_used_at=now
        )
        token.last_used_at = now
    return token


def api_tokens_revoke_for_user(*, user: User, actor: User) -> int:
    """Revoke every live token of `user` (their login was deactivated): CHORUS_LOGIN_DEACTIVATED_HOOKS."""
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).select_related("user"))
    for token in tokens:
        api_token_revoke(token=token, actor=actor)
    return len(tokens)
