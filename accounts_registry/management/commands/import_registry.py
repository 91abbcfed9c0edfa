from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_registry.services.csv_io import REGISTRY_COLUMNS, registry_import


class Command(BaseCommand):
    help = (
        "Import social accounts from a UTF-8 CSV file, one row per account, with the columns "
        f"{', '.join(REGISTRY_COLUMNS)} (external_id and status optional). Units and members are created as "
        "needed. All or nothing: with any bad row nothing is written; importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the CSV file (UTF-8, with or without a byte order mark).")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing.")

    def handle(self, *args: Any, file: str, dry_run: bool, **options: Any) -> None:
        path = Path(file)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {file}") from error
        except IsADirectoryError as error:
            raise CommandError(f"{file} is a directory, not a CSV file.") from error
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{file} is not UTF-8 text (byte {error.start} cannot be decoded). "
                "Save it as “CSV UTF-8” and try again."
            ) from error
        # Operators on the command line may import anywhere; the audit trail records no user.
        report = registry_import(source=text, actor=None, dry_run=dry_run)
        for line in report.summary_lines():
            self.stdout.write(line)
        if report.errors:
            for line_number, message in report.errors:
                self.stderr.write(f"line {line_number}: {message}")
            raise CommandError(f"{len(report.errors)} error(s); nothing was imported.")
