from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from monitoring.services.activity import activity_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the per-account daily statistics (posts, replies, inbound) from the stored messages, "
        "from --since (YYYY-MM-DD) or for every day. Idempotent: ingest keeps them up to date; this repairs them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=datetime.date.fromisoformat, help="First day to rebuild (YYYY-MM-DD); default: every day."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = activity_rebuild(since=options["since"])
        self.stdout.write(f"Rebuilt {result.rows} account-days; {result.zeroed} left without messages set to zero.")
