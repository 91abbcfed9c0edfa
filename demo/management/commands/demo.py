"""`manage.py demo`: migrate, seed the demo organization, print the logins and serve it, monitored live.

Run by `make demo`, which also provides the demo's Fernet key (CHORUS_FERNET_KEYS_FILE) and points the
platform settings at loopback (CHORUS_X_API_BASE, CHORUS_FACEBOOK_API_BASE, CHORUS_BLUESKY_API_BASE,
CHORUS_DEMO_MASTODON_URL, CHORUS_X_BEARER_TOKEN). The serving process starts the platform API doubles
there, fed with generated traffic, and a scheduler thread that polls them through the real connectors.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from demo import data as demo_data
from demo.alerts import demo_alert_preferences, demo_alerts
from demo.platforms import SCHEDULER_INTERVAL, DemoUnavailable, start_demo_platforms, start_demo_scheduler
from demo.sso import start_demo_sso

DEFAULT_ADDRPORT = "127.0.0.1:8000"
STARTER_POLICY = Path(__file__).resolve().parents[3] / "policies" / "starter_policy.json"
SERVER_START_TIMEOUT = 60.0  # seconds to wait for runserver before printing the logins anyway


def demo_url(addrport: str) -> str:
    host, _, port = addrport.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port}/"


PLATFORM_LABELS = {"x": "X", "facebook": "Facebook, Instagram", "bluesky": "Bluesky", "mastodon": "Mastodon"}


class Command(BaseCommand):
    help = "Migrate, seed the demo organization (once), print the demo logins and run the dev server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addrport", default=DEFAULT_ADDRPORT, help=f"Where to serve (default {DEFAULT_ADDRPORT})."
        )
        parser.add_argument("--no-serve", action="store_true", help="Migrate and seed only; do not run the server.")
        parser.add_argument("--noreload", action="store_true", help="Run the server without the autoreloader.")

    def handle(self, *args: Any, **options: Any) -> None:
        addrport: str = options["addrport"]
        # The autoreloader runs this command again in a child process: only the parent prepares the data,
        # and only the process that serves (the child, or the one process with --noreload) runs the platforms.
        is_reloader_child = os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if not is_reloader_child:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_demo", "--no-logins", stdout=self.stdout, stderr=self.stderr)
            call_command("seed_demo_history", stdout=self.stdout, stderr=self.stderr)
            self._install_starter_policy()
        if options["no_serve"]:
            self._print_logins(addrport)
            return
        if is_reloader_child or options["noreload"]:
            self._start_live_platforms()
            self._start_sso()
            # The logins come last, once the server answers: after runserver's own banner, so they are the
            # last thing on the console rather than scrolled away.
            threading.Thread(target=self._print_logins_when_serving, args=(addrport,), daemon=True).start()
        call_command("runserver", addrport, use_reloader=not options["noreload"])

    def _print_logins(self, addrport: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nChorus demo: {demo_url(addrport)}"))
        self.stdout.write(f"Log in as any of:\n{demo_data.logins_table()}\n")
        if settings.CHORUS_OIDC_ISSUER:
            self.stdout.write(
                f"  Or 'Sign in with {settings.CHORUS_OIDC_NAME}' (single sign-on): the officer, without a password.\n"
            )
        self.stdout.write(
            "The first poll of every account runs now (pages show a notice until it is done). Quit with CONTROL-C.\n"
        )

    def _print_logins_when_serving(self, addrport: str) -> None:
        host, _, port = addrport.rpartition(":")
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        time.sleep(0.2)  # let runserver finish its banner
        self._print_logins(addrport)

    def _install_starter_policy(self) -> None:
        """The realistic starter policy; rules are matched by name, so a second import changes nothing
        (and leaves an admin's edits to other rules alone)."""
        # One line for the whole starter policy, not one per rule: the console is for the logins.
        imported, governance = io.StringIO(), io.StringIO()
        call_command("import_policies", str(STARTER_POLICY), stdout=imported, stderr=self.stderr)
        call_command("check_governance", stdout=governance, stderr=self.stderr)
        summary = imported.getvalue().splitlines()[0] if imported.getvalue() else ""
        self.stdout.write(f"Starter policy ({STARTER_POLICY.name}): {summary}")
        demo_alert_preferences()
        sent = demo_alerts()
        self.stdout.write(
            f"Alerts and reports: {sent} new (with `make demo`, the mail is in var/outbox/, one file per email)."
        )

    def _start_live_platforms(self) -> None:
        try:
            platforms = start_demo_platforms()
        except DemoUnavailable as error:
            self.stderr.write(
                self.style.WARNING(f"Live monitoring is off: {error}. `make demo` sets these for the platform doubles.")
            )
            return
        except OSError as error:
            raise CommandError(f"Cannot start the platform API doubles: {error}. Is another demo running?") from error
        start_demo_scheduler()
        doubles = ", ".join(f"{label} {platforms.url(name)}" for name, label in PLATFORM_LABELS.items())
        self.stdout.write(f"Platform API doubles, fed with generated traffic: {doubles}")
        self.stdout.write(
            f"Due accounts are polled every {SCHEDULER_INTERVAL:.0f}s in this process "
            "(quietly: LOG_LEVEL=DEBUG logs every sweep)."
        )

    def _start_sso(self) -> None:
        try:
            provider = start_demo_sso()
        except OSError as error:
            self.stderr.write(self.style.WARNING(f"Single sign-on is off: its provider cannot start ({error})."))
            return
        if provider is not None:
            self.stdout.write(
                f"Single sign-on: 'Sign in with {settings.CHORUS_OIDC_NAME}' on the sign-in page goes through a local "
                f"OpenID Connect provider ({provider.url}) that signs in as {provider.user['name']}, the officer."
            )
