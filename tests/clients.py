"""A test client whose `force_login` stands for a complete sign-in: password and second factor.

Production requires a second factor of admins and comms managers (RequireSecondFactorMiddleware) and
a recent password (and code) before sensitive actions; views tested for other behaviour get a session
that has both, recorded the way allauth records a real sign-in. The sign-in itself — lockout, codes,
enrolment, re-authentication — is tested with the plain Django client in tests/accounts_registry/test_signin.py.
"""

import time

from allauth.account.internal.flows.login import (
    _AUTHENTICATION_METHODS_USER_SESSION_KEY,
    AUTHENTICATION_METHODS_SESSION_KEY,
)
from django.test import Client

from accounts_registry.middleware import LAST_SEEN_AT, SIGNED_IN_AT


def mark_fully_signed_in(client: Client, user) -> None:
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "username": user.get_username()},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    # Stamped as the first request after a sign-in would, so query budgets see the steady state.
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = now
    session.save()


class SignedInClient(Client):
    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        mark_fully_signed_in(self, user)
