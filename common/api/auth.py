"""`Authorization: Token <key>` authentication for the read-only API (no sessions, so no CSRF surface).

The header parsing lives here; where keys are kept is the subclass's `lookup` (engagement's API tokens,
engagement/api/auth.py), so this package imports no app.

A missing header leaves the request anonymous, which the default IsAuthenticated permission answers
with 401; a malformed, unknown or revoked key, or an inactive owner, is a 401 right away. DRF renders
both as JSON (`{"detail": ...}`) with a `WWW-Authenticate: Token` header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

KEYWORD = "Token"
# token_urlsafe(32) keys are 43 characters; anything far longer is not one of ours.
MAX_KEY_LENGTH = 200


class TokenAuthentication(BaseAuthentication):
    def lookup(self, key: str) -> tuple[User, Any] | None:
        """The active key's (user, token), or None for an unknown, revoked or inactive one."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> tuple[User, Any] | None:
        # Read as text: DRF's get_authorization_header() raises (a 500) on characters outside latin-1.
        parts = str(request.META.get("HTTP_AUTHORIZATION", "")).split()
        if not parts or parts[0].lower() != KEYWORD.lower():
            return None
        if len(parts) != 2 or len(parts[1]) > MAX_KEY_LENGTH:
            raise AuthenticationFailed("Malformed Authorization header: expected 'Token <key>'.")
        key = parts[1]
        if not key.isascii():
            raise AuthenticationFailed("Invalid token.")
        found = self.lookup(key)
        if found is None:
            raise AuthenticationFailed("Invalid token.")
        return found

    def authenticate_header(self, request: Request) -> str:
        # A value here makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return KEYWORD


# drf-spectacular's extension base registers subclasses in an untyped __init_subclass__.
class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes the token header in the OpenAPI schema."""

    target_class = TokenAuthentication
    match_subclasses = True
    name = "TokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create keys on the API tokens page or with `manage.py create_api_token`.",
        }
