"""The classifier on the project's labelled set (engagement/evaluation/labelled.csv), with the default rules
the migrations install: precision and recall per category, the confusion matrix, and the issue's targets
(question precision and recall >= 0.9; possible emergency recall >= 0.95 with precision >= 0.8; a crime
report is never classified as a possible emergency, so it never alerts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.harness import Figure

if TYPE_CHECKING:
    from pathlib import Path

SCENARIO = "classifier"


def run(workdir: Path) -> list[Figure]:
    del workdir
    from engagement.classify import current_classifier
    from engagement.evaluation import classifier_report, evaluate, labelled_examples
    from engagement.models import TriageItem

    for line in classifier_report():
        print(line)
    Category = TriageItem.Category
    classifier = current_classifier()
    examples = labelled_examples()
    evaluation = evaluate(examples, lambda text: classifier.classify(text).category, Category.values)
    holdout = evaluate(
        [example for example in examples if example.split == "holdout"],
        lambda text: classifier.classify(text).category,
        Category.values,
    )
    figures = []
    for name, result in (("all", evaluation), ("holdout", holdout)):
        question, emergency = result.figures(Category.QUESTION), result.figures(Category.EMERGENCY)
        checks = (
            ("question precision", question.precision, 0.9),
            ("question recall", question.recall, 0.9),
            ("emergency precision", emergency.precision, 0.8),
            ("emergency recall", emergency.recall, 0.95),
        )
        for label, value, target in checks:
            figures.append(
                Figure(
                    SCENARIO,
                    f"{label} ({name})",
                    value,
                    "",
                    target=f">= {target}",
                    met=value is not None and value >= target,
                    digits=2,
                )
            )
        alerts = result.confusion[Category.CRIME][Category.EMERGENCY]
        figures.append(
            Figure(
                SCENARIO,
                f"crime reports filed as emergencies ({name})",
                alerts,
                "",
                target="0",
                met=alerts == 0,
                digits=0,
            )
        )
    return figures
