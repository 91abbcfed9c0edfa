from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from policies.services.portability import policies_import_json


class Command(BaseCommand):
    help = (
        "Import policy rules from a JSON file (the format of export_policies). Rules are matched by name: "
        "new ones are created, changed ones updated, others left alone. All or nothing: with any bad rule "
        "nothing is written; importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the JSON file (UTF-8).")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")

    def handle(self, *args: Any, file: str, dry_run: bool, **options: Any) -> None:
        try:
            text = Path(file).read_bytes().decode("utf-8-sig")
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {file}") from error
        except IsADirectoryError as error:
            raise CommandError(f"{file} is a directory, not a JSON file.") from error
        except UnicodeDecodeError as error:
            raise CommandError(f"{file} is not UTF-8 text (byte {error.start} cannot be decoded).") from error
        # Operators on the command line may import anything; the audit trail records no user.
        result = policies_import_json(text=text, actor=None, dry_run=dry_run)
        if result.errors:
            for message in result.errors:
                self.stderr.write(message)
            raise CommandError(f"{len(result.errors)} error(s); nothing was imported.")
        summary = f"{len(result.created)} created, {len(result.updated)} updated, {len(result.unchanged)} unchanged."
        self.stdout.write(f"Dry run, nothing written: {summary}" if dry_run else summary)
        for name in result.created:
            self.stdout.write(f"  created: {name}")
        for name in result.updated:
            self.stdout.write(f"  updated: {name}")
