from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts_registry.models import SocialAccount
from monitoring.services.polling import accounts_poll_now, poll_states_ensure
from monitoring.tasks import poll_account


class Command(BaseCommand):
    help = (
        "Poll accounts now: --all or --account ID ...; in the foreground with --sync (exit status 1 when any "
        "poll failed, each failure named), else via the workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int, nargs="+", dest="account_ids", metavar="ID")
        target.add_argument("--all", action="store_true", help="every active account")
        parser.add_argument("--sync", action="store_true", help="poll in this process and print a summary")

    def handle(self, *args: Any, account_ids: list[int] | None, all: bool, sync: bool, **options: Any) -> None:
        active = SocialAccount.objects.filter(status=SocialAccount.Status.ACTIVE)
        ids = list(active.values_list("pk", flat=True).order_by("pk")) if all else list(account_ids or [])
        unknown = sorted(set(ids) - set(active.filter(pk__in=ids).values_list("pk", flat=True)))
        if unknown:
            raise CommandError(f"Not active or not found: {', '.join(map(str, unknown))}.")
        if not sync:
            poll_states_ensure()
            for account_id in ids:
                poll_account.delay(account_id)
            self.stdout.write(f"Enqueued {len(ids)} poll(s).")
            return
        summaries = accounts_poll_now(account_ids=ids)
        for summary in summaries:
            self.stdout.write(summary.line())
        outcomes = Counter(summary.outcome for summary in summaries)
        new = sum(summary.items_new for summary in summaries)
        by_outcome = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        self.stdout.write(f"Polled {len(summaries)} account(s): {new} new message(s); {by_outcome}")
        failures = [summary for summary in summaries if summary.is_failure]
        if failures:  # exit status 1: scripts and CI notice, and each failure is named
            lines = "\n".join(f"  {summary.failure_line()}" for summary in failures)
            raise CommandError(f"{len(failures)} of {len(summaries)} poll(s) failed:\n{lines}")
