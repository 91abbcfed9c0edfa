from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_registry.models import SocialAccount
from accounts_registry.services.csv_io import registry_export


class Command(BaseCommand):
    help = (
        "Export every social account as CSV (the columns import_registry reads), one row per account, "
        "to standard output or to the file given with -o."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", help="Write to this file (UTF-8) instead of standard output.")

    def handle(self, *args: Any, output: str | None, **options: Any) -> None:
        # An operator tool: the whole registry, unscoped (web exports go through visible_accounts).
        accounts = SocialAccount.objects.all()
        if output is None:
            buffer = io.StringIO()
            registry_export(accounts_queryset=accounts, out=buffer)
            self.stdout.write(buffer.getvalue(), ending="")
            return
        try:
            with Path(output).open("w", encoding="utf-8", newline="") as handle:
                count = registry_export(accounts_queryset=accounts, out=handle)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}") from error
        self.stdout.write(f"Exported {count} account(s) to {output}.")
