"""`manage.py seed_demo`: build the demo organization (see demo.seed).

Idempotent: if the root unit exists the command reports "already seeded" and writes nothing; `--reset`
deletes the registry first.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts_registry.models import Platform
from demo import data as demo_data
from demo.seed import Seeder, Status, demo_user, is_seeded, registry_reset


class Command(BaseCommand):
    help = "Seed the demo organization (a large city police service). Idempotent; --reset starts over."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete all registry data (units, members, accounts) first."
        )
        parser.add_argument("--no-logins", action="store_true", help="Do not print the table of demo logins.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.FERNET_KEYS:
            raise CommandError(
                "CHORUS_FERNET_KEYS is empty, so the demo accounts' credentials cannot be stored encrypted. "
                "Run `make demo`, which creates var/demo-fernet.key, or set CHORUS_FERNET_KEYS_FILE to a file "
                "holding a key from: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            )
        with transaction.atomic():
            if options["reset"]:
                registry_reset()
                self.stdout.write("Deleted the registry data and the demo logins.")
            elif is_seeded():
                self.stdout.write(
                    f"Demo organization already seeded ({demo_data.ROOT_NAME} exists); nothing changed. "
                    "Use --reset to start over."
                )
                self._print_logins(options)
                return
            admin = demo_user("admin", is_superuser=True)
            report = Seeder(actor=admin, today=timezone.localdate()).run()
        platforms = ", ".join(f"{Platform(p).label} {n}" for p, n in sorted(report.accounts.items()))
        statuses = ", ".join(f"{Status(s).label.lower()} {n}" for s, n in sorted(report.statuses.items()))
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {demo_data.ROOT_NAME} in {report.seconds:.1f}s: ")
            + f"{report.units} units, {report.members} members ({report.trained} trained), "
            f"{report.accounts.total()} accounts ({platforms}; {statuses})."
        )
        self._print_logins(options)

    def _print_logins(self, options: dict[str, Any]) -> None:
        if not options["no_logins"]:
            self.stdout.write(f"\nDemo logins:\n{demo_data.logins_table()}")
