from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from engagement.services.daily_response import responses_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the per-account daily response statistics (inbound, answered, first-response buckets) "
        "from the triage items, from --since (YYYY-MM-DD) or for every day. Idempotent: triage keeps them up "
        "to date; this repairs them, and must follow a change of the response target."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=datetime.date.fromisoformat, help="First day to rebuild (YYYY-MM-DD); default: every day."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = responses_rebuild(since=options["since"])
        self.stdout.write(f"Rebuilt {result.rows} account-days; {result.zeroed} left without items set to zero.")
