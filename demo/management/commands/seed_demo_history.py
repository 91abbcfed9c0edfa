"""`manage.py seed_demo_history`: 90 days of past activity for the demo organization (see demo.history).

Idempotent: written once, after `seed_demo`; `make demo` runs it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from demo.history import DAYS, history_write


class Command(BaseCommand):
    help = f"Write {DAYS} days of realistic past activity for the demo organization (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            report = history_write()
        if report is None:
            self.stdout.write("Demo history already written; nothing changed.")
            return
        self.stdout.write(
            f"Wrote {DAYS} days of history: {report.messages:,} messages, {report.items:,} triage items, "
            f"{report.account_days:,} account-days of statistics."
        )
