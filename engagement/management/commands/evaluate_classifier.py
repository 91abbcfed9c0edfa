from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from engagement.evaluation import classifier_report


class Command(BaseCommand):
    help = (
        "Measure the classifier (the enabled rules in the database) on the labelled set in "
        "engagement/evaluation/labelled.csv: precision and recall per category and the confusion matrix, "
        "for the train and holdout splits and overall."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--include-corrections", action="store_true", help="also measure on the categories people set in the inbox"
        )
        parser.add_argument("--errors", action="store_true", help="list each misclassified message and why")

    def handle(self, *args: Any, include_corrections: bool, errors: bool, **options: Any) -> None:
        for line in classifier_report(include_corrections=include_corrections, show_errors=errors):
            self.stdout.write(line)
