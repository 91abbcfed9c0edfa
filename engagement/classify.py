"""Transparent classification of inbound messages: what a message is, and why.

Categories, from most to least urgent: a possible emergency (someone may be in danger, or a crime is in
progress), a crime report (something that already happened: point to the reporting channel), a
complaint, a question, a greeting or thanks, anything else. No external service and no statistics:
every decision comes with the rules that fired (`Decision.reasons`), which the inbox and the admin show.

What admins tune (ClassifierRule rows, one kind per row):
- *phrases* of a category;
- *cues*: for "emergency", immediacy ("right now", "en ce moment") that turns a crime report into a
  possible emergency; for "crime", past time ("last night", "hier") that turns danger words into a
  report of something that is over — unless an immediacy cue is also there;
- *exceptions*: phrases inside which the category's phrases and cues do not count ("help wanted",
  "help me find", "since last night").

What is built in, because it is grammar rather than vocabulary:
- matching is case- and accent-insensitive on whole words, and a hyphen joins words
  ("non-emergency" does not contain "emergency", "knife-crime" does not contain "knife");
- a danger or crime phrase right after a negation ("not an emergency", "nobody was hurt",
  "pas une urgence") does not count, nor one inside a thanks-for clause ("thanks for the help at the
  parade", "merci pour votre aide avec le cambriolage");
- a question is a sentence ending with "?", a clause opening as a question (an interrogative word or an
  auxiliary followed by its subject: "where do I", "is the office", "pouvez-vous", "est-ce que") but
  not an exclamation ("What a great…", "How lucky we are", "Who knew…", "Can't believe…"), or an
  indirect question from the question phrases ("I was wondering whether", "pouvez-vous me dire").
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# The values of TriageItem.Category (this module imports no model at import time).
EMERGENCY, CRIME, COMPLAINT = "emergency", "crime", "complaint"
QUESTION, GREETING, OTHER = "question", "greeting", "other"
PHRASE, CUE, EXCEPTION = "phrase", "cue", "exception"
# Whose phrases count only when not negated and not inside a thanks-for clause.
_IN_CONTEXT = (EMERGENCY, CRIME)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _words(
    "not no never without nobody noone isn't wasn't aren't weren't don't didn't doesn't "
    "pas jamais sans aucun aucune ni non personne"
)
NEGATION_WINDOW = 3  # words before a phrase

_URL = re.compile(r"https?://\S+")
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_CLAUSE_BREAK = re.compile(r"[,;:()\u2013\u2014]| - ")
_WORD = re.compile(r"[\w'\u2019-]+")
_THANKS_CLAUSE = re.compile(
    r"(?<![\w-])(?:thanks|thank (?:you|u)|thx|merci|grateful|kudos|shout ?out|respect)"
    r"(?: (?:so much|very much|again|beaucoup|a lot))?"
    r" (?:for|to|pour|a|aux?)(?![\w-])[^.!?,;\n]*"
)

_FILLERS = _words(
    "hi hello hey ok okay so and but also please thanks thank you well quick q question "
    "bonjour bonsoir salut allo et mais alors svp merci donc excuse me sorry"
)
_WH_WORDS = _words("who what when where why which whose whom how")
_WH_CONTRACTED = _words("what's where's who's how's when's why's")
_AUXILIARIES = _words("is are am was were do does did can could will would should shall may might have has had")
_SUBJECTS = _words(
    "i you we they he she it there the a an this that these those my your our their his her its "
    "anyone anybody someone somebody any all u ya y'all people officers police"
)
_HOW_NEXT = _words(
    "do does did can could should would will is are was were long much many often far soon late early "
    "old come to i we you about quickly"
)
_EXCLAIMING_WHAT = _words("a an")
_EXCLAIMING_WHO = _words("knew")
_FRENCH_WH = _words("comment pourquoi quand combien ou qui quel quelle quels quelles")
_FRENCH_EXCLAIMING = _words(
    "belle beau bel bonne bon superbe magnifique menace honte horreur plaisir joie chance journee aurait l'eut l'aurait"
)
_FRENCH_INVERSION = re.compile(r"^[\w']+-(?:t-)?(?:je|tu|il|elle|on|nous|vous|ils|elles)$")


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Où" matches "ou" and "URGENCE" matches "urgence"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    folded = sorted({fold(phrase.strip()) for phrase in phrases if phrase.strip()}, key=len, reverse=True)
    if not folded:
        return None
    # Phrases are literal text (escaped): an admin cannot write a pattern that backtracks.
    # A hyphen joins words: "non-emergency" does not contain the word "emergency".
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(phrase) for phrase in folded) + r")(?![\w-])")


def _cleaned(text: str) -> str:
    """Without links and @mentions; a hashtag keeps its word ("#help" reads "help")."""
    return _MENTION.sub(" ", _URL.sub(" ", text)).replace("#", " ")


def _is_negated(text: str, start: int) -> bool:
    clause = _CLAUSE_BREAK.split(text[:start])[-1]
    before = _WORD.findall(clause)[-NEGATION_WINDOW:]
    return any(word in NEGATIONS or word.endswith("n't") for word in before)


def _clause_opening(clause: str) -> str | None:
    """The interrogative opening of a clause ("where do", "pouvez-vous"), or None."""
    words: list[str] = _WORD.findall(clause)
    while words and words[0] in _FILLERS:
        words = words[2:] if words[0] in {"hi", "hello", "hey"} and words[1:2] == ["there"] else words[1:]
    if not words:
        return None
    first, second = words[0], (words[1] if len(words) > 1 else "")
    if first in _WH_CONTRACTED:
        return first
    if first in _WH_WORDS:
        if first == "how" and second not in _HOW_NEXT:
            return None  # "How lucky we are"
        if (first == "what" and second in _EXCLAIMING_WHAT) or (first == "who" and second in _EXCLAIMING_WHO):
            return None  # "What a great turnout", "Who knew"
        if first in {"when", "where", "why"} and second not in _AUXILIARIES:
            return None  # "when the lights reflect on the snow, it looks like…"
        return f"{first} {second}".strip()
    if first in _AUXILIARIES and second in _SUBJECTS:
        if first in {"have", "has", "had"} and second in {"a", "an", "the"}:
            return None  # "have a safe shift"
        return f"{first} {second}"
    if first in {"any", "anyone", "anybody"} and second:
        return f"{first} {second}"
    if first in {"est-ce", "est"} and second in {"que", "qu'il", "qu'on", "ce"}:
        return f"{first} {second}"
    if first == "a" and second in {"quelle", "quel", "qui"}:
        return f"{first} {second}"
    if first in _FRENCH_WH:
        if second in _FRENCH_EXCLAIMING or (first == "ou" and second == "bien"):
            return None  # "Quelle belle journée", "Qui aurait cru"
        return f"{first} {second}".strip()
    if _FRENCH_INVERSION.match(first) or (first == "y" and _FRENCH_INVERSION.match(second)):
        return f"{first} {second}".strip()
    return None


def _question_reason(folded: str, indirect: re.Pattern[str] | None) -> str | None:
    for sentence in _SENTENCE.findall(folded):
        body = sentence.strip()
        if not body:
            continue
        if body.endswith("?"):
            if _clause_opening(body) is None and re.match(r"(?:who knew|right|eh|non)\W*$", body):
                continue  # a rhetorical tag, not a question
            return "question: ends with '?'"
        if body.endswith("!"):
            continue  # an exclamation, whatever its opening
        for clause in _CLAUSE_BREAK.split(body):
            if (opening := _clause_opening(clause)) is not None:
                return f"question: opens with '{opening}'"
    if indirect is not None and (match := indirect.search(folded)):
        return f"question: phrase '{match.group()}'"
    return None


def is_question(text: str) -> bool:
    """The built-in question test (without any admin phrases)."""
    return _question_reason(fold(_cleaned(text)), None) is not None


@dataclasses.dataclass(frozen=True)
class Decision:
    category: str
    is_question: bool
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        return "; ".join(self.reasons) or "no rule fired"


@dataclasses.dataclass(frozen=True)
class _Rules:
    phrases: re.Pattern[str] | None = None
    cues: re.Pattern[str] | None = None
    exceptions: re.Pattern[str] | None = None


@dataclasses.dataclass(frozen=True)
class Classifier:
    """Compiled rules per category (phrases are escaped literals, so matching is linear)."""

    rules: dict[str, _Rules]

    @classmethod
    def from_rules(cls, rules: Iterable[tuple[str, str, str]]) -> Classifier:
        """rules: (category, kind, phrases separated by newlines)."""
        phrases: dict[tuple[str, str], list[str]] = {}
        for category, kind, text in rules:
            phrases.setdefault((category, kind), []).extend(text.splitlines())
        compiled = {}
        for category in {category for category, _kind in phrases}:
            compiled[category] = _Rules(
                phrases=_words_pattern(phrases.get((category, PHRASE), ())),
                cues=_words_pattern(phrases.get((category, CUE), ())),
                exceptions=_words_pattern(phrases.get((category, EXCEPTION), ())),
            )
        return cls(compiled)

    def _hits(self, category: str, kind: str, text: str) -> list[str]:
        rules = self.rules.get(category)
        if rules is None:
            return []
        pattern = rules.cues if kind == CUE else rules.phrases
        if pattern is None:
            return []
        if rules.exceptions is not None:
            text = rules.exceptions.sub(" ", text)
        hits = []
        for match in pattern.finditer(text):
            if kind == PHRASE and category in _IN_CONTEXT and _is_negated(text, match.start()):
                continue
            hits.append(match.group())
        return hits

    def classify(self, text: str) -> Decision:
        folded = fold(_cleaned(text))
        question_rules = self.rules.get(QUESTION)
        question_text = folded
        if question_rules is not None and question_rules.exceptions is not None:
            question_text = question_rules.exceptions.sub(" ", folded)
        question = _question_reason(question_text, question_rules.phrases if question_rules else None)
        without_thanks = _THANKS_CLAUSE.sub(" ", folded)
        danger = self._hits(EMERGENCY, PHRASE, without_thanks)
        crime = self._hits(CRIME, PHRASE, without_thanks)
        now = self._hits(EMERGENCY, CUE, folded)
        past = self._hits(CRIME, CUE, folded)
        complaint = self._hits(COMPLAINT, PHRASE, folded)

        def decided(category: str, *reasons: str) -> Decision:
            return Decision(category, question is not None, tuple(reason for reason in reasons if reason))

        def quoted(kind: str, hits: list[str]) -> str:
            return f"{kind} " + ", ".join(f"'{hit}'" for hit in dict.fromkeys(hits)) if hits else ""

        if danger and (now or not past):
            return decided(EMERGENCY, quoted("danger", danger), quoted("immediacy", now))
        if crime and now:
            return decided(EMERGENCY, quoted("crime", crime), quoted("in progress", now))
        if complaint:
            return decided(COMPLAINT, quoted("complaint", complaint), question or "")
        if crime or danger:
            return decided(CRIME, quoted("crime", crime), quoted("danger", danger), quoted("past", past))
        if question is not None:
            return decided(QUESTION, question)
        if greeting := self._hits(GREETING, PHRASE, folded):
            return decided(GREETING, quoted("greeting", greeting))
        return decided(OTHER)


@lru_cache(maxsize=1)
def _cached(version: str) -> Classifier:
    from engagement.models import ClassifierRule

    rules = ClassifierRule.objects.filter(is_enabled=True).values_list("category", "kind", "phrases")
    return Classifier.from_rules(rules)


def current_classifier() -> Classifier:
    """The classifier for the enabled rules, rebuilt only when a rule changed (keyed on the latest edit)."""
    from django.db.models import Count, Max

    from engagement.models import ClassifierRule

    stamp = ClassifierRule.objects.aggregate(latest=Max("updated_at"), count=Count("pk"))
    return _cached(f"{stamp['latest']}:{stamp['count']}")
