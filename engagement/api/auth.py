"""The API's token authentication (common.api.auth) over engagement's API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.api.auth import TokenAuthentication
from engagement.services.tokens import api_token_authenticate

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from engagement.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    def lookup(self, key: str) -> tuple[User, ApiToken] | None:
        token = api_token_authenticate(key=key)
        return None if token is None else (token.user, token)
