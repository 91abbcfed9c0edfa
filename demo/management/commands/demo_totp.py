"""Print the demo admin's current authenticator code (demo databases only: the secret is public)."""

import time
from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand

from demo import data as demo_data


class Command(BaseCommand):
    help = "Print the current second-factor code of the demo admin (its secret is the demo's, printed openly)."

    def handle(self, *args: Any, **options: Any) -> None:
        period = settings.MFA_TOTP_PERIOD
        now = time.time()
        code = format_hotp_value(hotp_value(demo_data.DEMO_TOTP_SECRET, int(now) // period))
        remaining = period - int(now) % period
        self.stdout.write(f"{code}  (valid for {remaining} more seconds; each code is accepted once)")
