from typing import Any

from django.core.management.base import BaseCommand

from policies.services.governance import governance_run


class Command(BaseCommand):
    help = "Run the account governance rules now (beat runs them daily) and print what was flagged."

    def handle(self, *args: Any, **options: Any) -> None:
        result = governance_run()
        self.stdout.write(
            f"{result.rules} governance rule(s) over {result.accounts} account(s): "
            f"{result.problems} problem(s), {result.flags_created} new flag(s)."
        )
