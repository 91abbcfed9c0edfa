"""Transparent classification of inbound messages: question detection and category rules.

No external service: question marks and interrogative openings (English and French), then the
admin-tunable ClassifierRule phrases, checked in category precedence (a cry for help is never filed
as a greeting). Matching is case- and accent-insensitive on word boundaries.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# Categories from most to least urgent; the first rule that matches wins.
PRECEDENCE = ("emergency", "complaint", "question", "greeting")

INTERROGATIVE_OPENINGS = (
    # English
    "who", "what", "when", "where", "why", "how", "which", "whose", "whom",
    "is", "are", "am", "was", "were", "do", "does", "did", "can", "could", "will", "would",
    "should", "shall", "may", "might", "have", "has", "had", "any", "anyone", "anybody",
    # French
    "qui", "quoi", "que", "quand", "ou", "pourquoi", "comment", "quel", "quelle", "quels", "quelles",
    "combien", "est-ce", "est ce", "puis-je", "pouvez-vous", "peut-on", "avez-vous", "etes-vous",
    "y a-t-il", "y a t il",
)  # fmt: skip

_MENTION_OR_URL = re.compile(r"(?:^|\s)(?:[@#][\w.\-@]+|https?://\S+)")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Où" matches "ou" and "URGENCE" matches "urgence"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    folded = sorted({fold(phrase.strip()) for phrase in phrases if phrase.strip()}, key=len, reverse=True)
    if not folded:
        return None
    # Phrases are literal text (escaped): an admin cannot write a pattern that backtracks.
    # A hyphen joins words: "non-emergency" does not contain the word "emergency".
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(phrase) for phrase in folded) + r")(?![\w-])")


_OPENINGS = _words_pattern(INTERROGATIVE_OPENINGS)


def is_question(text: str) -> bool:
    """A question mark, or a sentence that opens with an interrogative word (English or French)."""
    cleaned = _MENTION_OR_URL.sub(" ", text)
    if "?" in cleaned:
        return True
    assert _OPENINGS is not None
    for sentence in _SENTENCE.findall(fold(cleaned)):
        opening = sentence.strip()
        if opening and (match := _OPENINGS.match(opening)) and match.start() == 0:
            return True
    return False


@dataclasses.dataclass(frozen=True)
class Classifier:
    """Compiled rules: one alternation per category (phrases are escaped literals)."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def from_rules(cls, rules: Iterable[tuple[str, str]]) -> Classifier:
        """rules: (category, phrases separated by newlines)."""
        phrases: dict[str, list[str]] = {}
        for category, text in rules:
            phrases.setdefault(category, []).extend(text.splitlines())
        compiled = []
        for category in PRECEDENCE:
            pattern = _words_pattern(phrases.get(category, ()))
            if pattern is not None:
                compiled.append((category, pattern))
        return cls(tuple(compiled))

    def classify(self, text: str) -> tuple[str, bool]:
        """(category, is_question). A question that matches no stronger rule is filed as a question."""
        folded = fold(_MENTION_OR_URL.sub(" ", text))
        question = is_question(text)
        for category, pattern in self.patterns:
            if category == "question" and question:
                return category, question
            if pattern.search(folded):
                return category, question
        return ("question" if question else "other"), question


@lru_cache(maxsize=1)
def _cached(version: str) -> Classifier:
    from engagement.models import ClassifierRule

    rules = ClassifierRule.objects.filter(is_enabled=True).values_list("category", "phrases")
    return Classifier.from_rules(rules)


def current_classifier() -> Classifier:
    """The classifier for the enabled rules, rebuilt only when a rule changed (keyed on the latest edit)."""
    from django.db.models import Count, Max

    from engagement.models import ClassifierRule

    stamp = ClassifierRule.objects.aggregate(latest=Max("updated_at"), count=Count("pk"))
    return _cached(f"{stamp['latest']}:{stamp['count']}")
