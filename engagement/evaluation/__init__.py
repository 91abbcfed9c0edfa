"""Measuring the classifier on the project's own labelled messages (`labelled.csv` beside this file).

The set was written for Chorus: realistic police-service traffic in English and French, one category
per message, with the traps that single trigger words fall into. Its `split` column is fixed: rules
are tuned on `train` only, and `holdout` shows whether they generalise. Admins' corrections from the
inbox can be added on top (`evaluate_classifier --include-corrections`).

Everything but `correction_examples` and `classifier_report` is a pure function.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

LABELLED_SET = Path(__file__).resolve().parent / "labelled.csv"
SPLITS = ("train", "holdout")
CORRECTIONS = "corrections"


@dataclasses.dataclass(frozen=True)
class Example:
    text: str
    category: str
    language: str = ""
    split: str = "train"


def labelled_examples(path: Path = LABELLED_SET) -> list[Example]:
    """The labelled set. Raises ValueError naming the line when a row is malformed."""
    with path.open(encoding="utf-8", newline="") as handle:
        examples = []
        for line, row in enumerate(csv.DictReader(handle), start=2):
            text, category = (row.get("text") or "").strip(), (row.get("category") or "").strip()
            split = (row.get("split") or "train").strip()
            if not text or not category or split not in SPLITS:
                raise ValueError(f"{path.name}, line {line}: text, category and a split in {SPLITS} are required")
            examples.append(Example(text, category, (row.get("language") or "").strip(), split))
    return examples


@dataclasses.dataclass(frozen=True)
class CategoryFigures:
    category: str
    precision: float | None  # None when the classifier never chose this category
    recall: float | None  # None when no example has this category
    support: int


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Precision and recall per category, and the confusion matrix (rows: label, columns: predicted)."""

    categories: tuple[str, ...]
    confusion: dict[str, dict[str, int]]
    errors: list[tuple[Example, str]]

    @property
    def total(self) -> int:
        return sum(sum(row.values()) for row in self.confusion.values())

    @property
    def accuracy(self) -> float:
        right = sum(self.confusion[category][category] for category in self.categories)
        return right / self.total if self.total else 0.0

    def figures(self, category: str) -> CategoryFigures:
        right = self.confusion[category][category]
        predicted = sum(self.confusion[label][category] for label in self.categories)
        actual = sum(self.confusion[category].values())
        return CategoryFigures(
            category,
            precision=right / predicted if predicted else None,
            recall=right / actual if actual else None,
            support=actual,
        )


def evaluate(examples: Iterable[Example], classify: Callable[[str], str], categories: Sequence[str]) -> Evaluation:
    """Run `classify` on every example. A label or prediction outside `categories` gets its own row."""
    known = list(categories)
    pairs = [(example, classify(example.text)) for example in examples]
    for example, predicted in pairs:
        for category in (example.category, predicted):
            if category not in known:
                known.append(category)
    confusion = {label: dict.fromkeys(known, 0) for label in known}
    for example, predicted in pairs:
        confusion[example.category][predicted] += 1
    errors = [(example, predicted) for example, predicted in pairs if predicted != example.category]
    return Evaluation(tuple(known), confusion, errors)


def _ratio(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def report_lines(evaluation: Evaluation, *, title: str) -> list[str]:
    """The figures as plain text: one line per category, then the confusion matrix."""
    width = max(len(category) for category in evaluation.categories) + 2
    lines = [f"{title}: {evaluation.total} messages, accuracy {evaluation.accuracy:.2f}"]
    lines.append(f"  {'category':<{width}}precision  recall  support")
    for category in evaluation.categories:
        figures = evaluation.figures(category)
        lines.append(
            f"  {category:<{width}}{_ratio(figures.precision):>9}  {_ratio(figures.recall):>6}  {figures.support:>7}"
        )
    short = [category[:9] for category in evaluation.categories]
    lines.append("  confusion (rows: label, columns: predicted)")
    lines.append(f"  {'':<{width}}" + "".join(f"{name:>10}" for name in short))
    for label in evaluation.categories:
        counts = evaluation.confusion[label]
        lines.append(f"  {label:<{width}}" + "".join(f"{counts[category]:>10}" for category in evaluation.categories))
    return lines


def correction_examples() -> list[Example]:
    """The inbox corrections as examples: the latest correction per item (or per text once the item is gone)."""
    from engagement.models import CategoryCorrection

    latest: dict[object, Example] = {}
    for item_id, text, category in CategoryCorrection.objects.order_by("created_at", "pk").values_list(
        "item_id", "text", "category"
    ):
        latest[item_id if item_id is not None else text] = Example(text, category, split=CORRECTIONS)
    return list(latest.values())


def classifier_report(*, include_corrections: bool = False, show_errors: bool = False) -> list[str]:
    """The current (database) rules measured on the labelled set: train, holdout, all; corrections too if
    asked. With `show_errors`, each misclassified message and the rules that fired."""
    from engagement.classify import current_classifier
    from engagement.models import TriageItem

    classifier = current_classifier()
    categories = TriageItem.Category.values
    examples = labelled_examples()
    groups = [(split, [example for example in examples if example.split == split]) for split in SPLITS]
    groups.append(("all", examples))
    if include_corrections:
        corrections = correction_examples()
        groups += [(CORRECTIONS, corrections), ("all + corrections", examples + corrections)]
    lines: list[str] = []
    for name, group in groups:
        evaluation = evaluate(group, lambda text: classifier.classify(text).category, categories)
        lines += report_lines(evaluation, title=name)
        if show_errors and name in (*SPLITS, CORRECTIONS):
            lines += [
                f"    {example.category} -> {predicted}: {example.text!r} ({classifier.classify(example.text).why})"
                for example, predicted in evaluation.errors
            ]
        lines.append("")
    return lines
