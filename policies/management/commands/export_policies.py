from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.services.portability import policies_export, policies_export_json


class Command(BaseCommand):
    help = (
        "Export every policy rule as JSON (the format documented in policies/services/portability.py), "
        "to standard output or to a file. `import_policies` reads it back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("-o", "--output", help="Write to this file instead of standard output.")

    def handle(self, *args: Any, output: str | None, **options: Any) -> None:
        rules = policies_export()
        text = policies_export_json(rules)
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}") from error
        self.stdout.write(f"Exported {len(rules)} rule(s) to {output}.")
