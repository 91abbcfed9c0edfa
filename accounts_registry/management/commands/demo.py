"""`manage.py demo`: migrate, seed the demo organization, print the logins and serve it.

Run by `make demo`, which also provides the demo's Fernet key (CHORUS_FERNET_KEYS_FILE).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

from accounts_registry import demo_data

DEFAULT_ADDRPORT = "127.0.0.1:8000"


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
        # The autoreloader runs this command again in a child process: only the parent prepares the data.
        if os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            call_command("migrate", interactive=False, verbosity=0)
            call_command("seed_demo", "--no-logins", stdout=self.stdout, stderr=self.stderr)
            host, _, port = addrport.rpartition(":")
            url = f"http://{host or '127.0.0.1'}:{port}/"
            self.stdout.write(self.style.SUCCESS(f"\nChorus demo: {url}"))
            self.stdout.write(f"Log in as any of:\n{demo_data.logins_table()}\n")
        if options["no_serve"]:
            return
        call_command("runserver", addrport, use_reloader=not options["noreload"])
