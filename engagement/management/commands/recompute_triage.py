import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from engagement.services.auto_triage import triage_recompute


def _date(value: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from error
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class Command(BaseCommand):
    help = (
        "Re-run triage for messages posted from --since to --until (dates, until exclusive): open missing "
        "items, re-classify waiting items with the current rules, detect answers. Human decisions stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, type=_date)
        parser.add_argument("--until", type=_date, default=None, help="default: tomorrow")

    def handle(self, *args: Any, since: datetime.datetime, until: datetime.datetime | None, **options: Any) -> None:
        until = until or _date((timezone.localdate() + datetime.timedelta(days=1)).isoformat())
        if until <= since:
            raise CommandError("--until must be after --since.")
        figures = triage_recompute(since=since, until=until)
        self.stdout.write(
            f"{figures['messages']} message(s): {figures['opened']} item(s) opened, "
            f"{figures['answered']} answered, {figures['reclassified']} re-classified."
        )
