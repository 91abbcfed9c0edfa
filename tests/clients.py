"""A test client whose `force_login` stands for a complete sign-in: password and second factor.

Production requires a second factor of admins and comms managers (RequireSecondFactorMiddleware) and
a recent password (and code) before sensitive actions; views tested for other behaviour get a session
that has both, recorded the way allauth records a real sign-in. The sign-in itself — lockout, codes,
enrolment, re-authentication — is tested with the plain Django client in tests/accounts_registry/test_signin.py.
"""

from django.test import Client

from benchmarks.world import mark_fully_signed_in  # the one record of a complete sign-in (benchmarks too)


class SignedInClient(Client):
    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        mark_fully_signed_in(self, user)
