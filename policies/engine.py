"""The policy engine: every enabled rule compiled once into one matcher, then run over many messages.

Compiling (`Engine(specs)`):
- keywords: one Aho-Corasick automaton (pyahocorasick) over the terms and exception phrases of every
  keyword rule. Terms and text are folded alike (NFKD, casefold, combining marks stripped: "Café" and
  "CAFE" both read "cafe"; runs of whitespace, line breaks included, read as one space). A hit counts
  only on whole words (no letter, digit or "_" glued to an edge of the term that is itself a word
  character: "gun" is not in "begun"), and not inside a hit of one of the same rule's exception phrases
  ("glue gun" excuses the "gun" within it).
- regular expressions, detector prefilters and the link finder: one combined `re2.Set` — a single
  linear-time pass tells which patterns match at all; only those are then run for their spans (each
  compiled once). A pattern whose compiled program is too large to share the Set's DFA runs on its own.
- link domains: URLs (http, https, bare www.) whose host is neither an allowed domain nor a subdomain.
- posting hours: an outbound message whose local time in the rule's time zone falls outside
  [start, end) (an overnight window such as 22:00-06:00 wraps around midnight); its spans are empty.
Governance rules are account-level (policies.services.governance); the engine ignores them.

Scope: a rule applies to a message when its platforms (empty: all) hold the message's platform, its unit
(empty: everywhere) is the account's unit or an ancestor (materialized-path prefix), and its direction is
the message's or "both". The applicable rules are computed once per (platform, direction, unit path).

Spans are [start, end) offsets into the original text, sorted and merged. `current_engine()` keeps the
engine of the enabled rules in memory and rebuilds it only when a rule changed (keyed on the latest
`updated_at`, the rule count and the highest id — the rule services move `updated_at` forward on every
write), so nothing is re-read per message. A rule that fails to compile (stored around the services) is
skipped with a warning: evaluation never breaks ingest.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import ahocorasick
import re2

from common.folding import fold, fold_with_offsets
from policies.detectors import (
    PatternError,
    Span,
    detector_build,
    domain_is_allowed,
    is_word_char,
    pattern_compile,
    re2_options,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from policies.models import PolicyRule

logger = logging.getLogger(__name__)

KEYWORDS = "keywords"
REGEX = "regex"
DETECTOR = "detector"
LINK_DOMAINS = "link_domains"
POSTING_HOURS = "posting_hours"
GOVERNANCE = "governance"
OUTBOUND = "outbound"
BOTH = "both"

EXCERPT_LENGTH = 300
# Patterns whose RE2 program is larger than this run alone instead of inside the combined Set, whose
# shared DFA could otherwise run out of memory (RE2 then reports "no match" for the whole Set).
SET_PROGRAM_LIMIT = 2_000
URL_PATTERN = r"(?i)\b(?:https?://|www\.)[^\s<>\"'\x{201C}\x{201D}\x{2018}\x{2019}]+"


class RuleError(ValueError):
    """A rule's configuration cannot be compiled."""


# --- rules --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """What the engine needs of a rule: plain data, so the engine can be built without the database."""

    id: int
    kind: str
    config: Mapping[str, Any]
    platforms: tuple[str, ...] = ()
    unit_path: str = ""
    direction: str = OUTBOUND
    severity: str = "warning"

    @classmethod
    def from_rule(cls, rule: PolicyRule) -> RuleSpec:
        """`rule.unit` should be loaded (select_related) when the rule has one."""
        return cls(
            id=rule.pk,
            kind=rule.kind,
            config=rule.config,
            platforms=tuple(rule.platforms or ()),
            unit_path=rule.unit.path if rule.unit_id is not None and rule.unit is not None else "",
            direction=rule.direction,
            severity=rule.severity,
        )

    def applies(self, *, platform: str, direction: str, unit_path: str) -> bool:
        return (
            (not self.platforms or platform in self.platforms)
            and unit_path.startswith(self.unit_path)
            and self.direction in (direction, BOTH)
        )


@dataclasses.dataclass(frozen=True)
class Hit:
    rule_id: int
    spans: list[list[int]]


@dataclasses.dataclass(frozen=True)
class _Context:
    """The rules that apply to one (platform, direction, unit path), split by how they are matched."""

    rules: frozenset[int]
    has_keywords: bool
    has_patterns: bool
    posting_hours: tuple[_PostingHours, ...]


@dataclasses.dataclass(frozen=True)
class _PostingHours:
    index: int
    start: datetime.time
    end: datetime.time
    zone: zoneinfo.ZoneInfo

    def allows(self, moment: datetime.datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # an overnight window


Finder = Callable[[str], list[Span]]


def terms_of(config: Mapping[str, Any], field: str) -> list[str]:
    """Distinct non-empty folded phrases (inner whitespace collapsed), in their first order."""
    seen: dict[str, None] = {}
    for term in config.get(field, []) or []:
        folded = " ".join(fold(str(term)).split())
        if folded:
            seen.setdefault(folded, None)
    return list(seen)


def parse_clock(value: object) -> datetime.time:
    """ "HH:MM" (24-hour) → time; raises ValueError."""
    if not isinstance(value, str) or len(value.strip()) != 5 or value.strip()[2] != ":":
        raise ValueError(f"“{value}” is not a time of day as HH:MM (24-hour clock).")
    return datetime.time.fromisoformat(value.strip())


def regex_compile(pattern: object) -> re2._Regexp:
    if not isinstance(pattern, str) or not pattern.strip():
        raise RuleError("pattern: must be a non-empty regular expression.")
    try:
        compiled = pattern_compile(pattern)
    except PatternError as error:
        raise RuleError(f"pattern: {error}") from None
    if compiled.search("") is not None:
        raise RuleError("pattern: matches empty text, so it would flag every message.")
    return compiled


def link_finder(allowed_domains: Iterable[str]) -> Finder:
    allowed = frozenset(domain.strip().lower().rstrip(".") for domain in allowed_domains)
    urls = pattern_compile(URL_PATTERN)

    def find(text: str) -> list[Span]:
        spans = []
        for match in urls.finditer(text):
            host = url_host(match.group())
            if host and not domain_is_allowed(host, allowed):
                spans.append(match.span())
        return spans

    return find


def url_host(url: str) -> str:
    """The host of "https://user@host:port/path" or "www.host/path", lower-cased, without a trailing dot."""
    rest = url.split("://", 1)[1] if "://" in url else url
    for separator in "/?#\\":
        rest = rest.split(separator, 1)[0]
    rest = rest.rsplit("@", 1)[-1]  # userinfo ("https://police.example@evil.example/") is not the host
    host = rest.split(":", 1)[0] if not rest.startswith("[") else rest
    return host.strip(".,;!)]}>").lower()


def _regex_finder(compiled: re2._Regexp) -> Finder:
    def find(text: str) -> list[Span]:
        return [match.span() for match in compiled.finditer(text) if match.end() > match.start()]

    return find


# --- the engine ---------------------------------------------------------------------------------------------


class Engine:
    """All the given rules, compiled once. `evaluate` is called per message and does no I/O."""

    def __init__(self, specs: Iterable[RuleSpec]) -> None:
        self.specs: list[RuleSpec] = []
        self.skipped: dict[int, str] = {}
        self._keyword_rules: set[int] = set()
        self._pattern_rules: set[int] = set()
        self._automaton = ahocorasick.Automaton()
        self._keyword_entries: dict[str, list[tuple[int, bool]]] = {}
        self._patterns: dict[str, list[tuple[int, Finder]]] = {}
        self._solo: list[tuple[re2._Regexp, list[tuple[int, Finder]]]] = []
        self._set: re2.Set | None = None
        self._set_match: Callable[[bytes], list[int]] | None = None
        self._set_entries: list[list[tuple[int, Finder]]] = []
        self._posting_hours: dict[int, _PostingHours] = {}
        self._contexts: dict[tuple[str, str, str], _Context] = {}
        for spec in specs:
            if spec.kind == GOVERNANCE:
                continue
            try:
                self._add(len(self.specs), spec)
            except (RuleError, PatternError, ValueError, KeyError, TypeError) as error:
                logger.warning("policy rule %s skipped: %s", spec.id, error)
                self.skipped[spec.id] = str(error)
                continue
            self.specs.append(spec)
        self._compile()

    @property
    def rule_ids(self) -> list[int]:
        return [spec.id for spec in self.specs]

    # compiling

    def _add(self, index: int, spec: RuleSpec) -> None:
        config = spec.config
        if spec.kind == KEYWORDS:
            terms = terms_of(config, "terms")
            if not terms:
                raise RuleError("keywords: no terms.")
            for term in terms:
                self._keyword_entries.setdefault(term, []).append((index, False))
            for phrase in terms_of(config, "exceptions"):
                self._keyword_entries.setdefault(phrase, []).append((index, True))
            self._keyword_rules.add(index)
        elif spec.kind == REGEX:
            compiled = regex_compile(config.get("pattern"))
            self._add_pattern(compiled.pattern, index, _regex_finder(compiled))
        elif spec.kind == DETECTOR:
            options = {field: value for field, value in config.items() if field != "detector"}
            detector = detector_build(str(config["detector"]), options)
            self._add_pattern(detector.prefilter, index, detector.find)
        elif spec.kind == LINK_DOMAINS:
            self._add_pattern(URL_PATTERN, index, link_finder(config.get("allowed") or []))
        elif spec.kind == POSTING_HOURS:
            self._posting_hours[index] = _PostingHours(
                index,
                parse_clock(config.get("start")),
                parse_clock(config.get("end")),
                zoneinfo.ZoneInfo(str(config.get("timezone"))),
            )
        else:
            raise RuleError(f"unknown kind {spec.kind!r}")

    def _add_pattern(self, pattern: str, index: int, find: Finder) -> None:
        self._patterns.setdefault(pattern, []).append((index, find))
        self._pattern_rules.add(index)

    def _compile(self) -> None:
        for term, uses in self._keyword_entries.items():
            # (length, check the left edge, check the right edge, the rules using the term)
            self._automaton.add_word(term, (len(term), is_word_char(term[0]), is_word_char(term[-1]), tuple(uses)))
        if self._keyword_entries:
            self._automaton.make_automaton()
        shared: list[tuple[str, list[tuple[int, Finder]]]] = []
        for pattern, finders in self._patterns.items():
            compiled = pattern_compile(pattern)
            if compiled.programsize > SET_PROGRAM_LIMIT:
                self._solo.append((compiled, finders))
            else:
                shared.append((pattern, finders))
        if not shared:
            return
        try:
            combined = re2.Set.SearchSet(re2_options())
            for pattern, _ in shared:
                combined.Add(pattern)
            combined.Compile()
        except re2.error as error:  # too big to combine: each pattern runs on its own, still compiled once
            logger.warning("policy patterns run one by one: %s", error)
            self._solo += [(pattern_compile(pattern), finders) for pattern, finders in shared]
            return
        self._set = combined
        self._set_entries = [finders for _, finders in shared]
        # The wrapper's Match encodes through two more Python calls per message: on this hot path, call
        # the compiled set (the extension object the wrapper holds) with UTF-8 bytes directly.
        self._set_match = combined._set.Match

    def _context(self, key: tuple[str, str, str]) -> _Context:
        platform, direction, unit_path = key
        rules = frozenset(
            index
            for index, spec in enumerate(self.specs)
            if spec.applies(platform=platform, direction=direction, unit_path=unit_path)
        )
        context = _Context(
            rules=rules,
            has_keywords=bool(rules & self._keyword_rules),
            has_patterns=bool(rules & self._pattern_rules),
            posting_hours=tuple(self._posting_hours[index] for index in sorted(rules & self._posting_hours.keys()))
            if direction == OUTBOUND
            else (),
        )
        self._contexts[key] = context
        return context

    # evaluating

    def evaluate(
        self, text: str, *, platform: str, direction: str, unit_path: str, created_at: datetime.datetime | None = None
    ) -> list[Hit]:
        """The rules this message breaks, each with its spans (sorted by rule order).

        The hot path of ingest: kept free of avoidable calls and allocations (no hit, no dict).
        """
        context = self._contexts.get((platform, direction, unit_path))
        if context is None:
            context = self._context((platform, direction, unit_path))
        rules = context.rules
        if not rules:
            return []
        found: dict[int, list[Span]] | None = None
        if text:
            if context.has_keywords:
                found = self._keywords(text, rules)
            if context.has_patterns:
                found = self._match_patterns(text, rules, found)
        if created_at is not None and context.posting_hours:
            for hours in context.posting_hours:
                if not hours.allows(created_at):
                    found = found if found is not None else {}
                    found[hours.index] = []
        if not found:
            return []
        return [Hit(self.specs[index].id, _merged(found[index])) for index in sorted(found)]

    def _keywords(self, text: str, rules: frozenset[int]) -> dict[int, list[Span]] | None:
        if text.isascii():
            folded = text.lower()
            offsets = None
            if not folded.isprintable() or "  " in folded:
                folded, offsets = fold_with_offsets(text)
        else:
            folded, offsets = fold_with_offsets(text)
        hits: dict[int, list[Span]] | None = None
        exceptions: dict[int, list[Span]] | None = None
        for end, (length, check_left, check_right, entries) in self._automaton.iter(folded):
            start = end - length + 1
            if check_left and start > 0 and is_word_char(folded[start - 1]):
                continue
            if check_right and end + 1 < len(folded) and is_word_char(folded[end + 1]):
                continue
            for index, is_exception in entries:
                if index not in rules:
                    continue
                if is_exception:
                    exceptions = exceptions if exceptions is not None else {}
                    exceptions.setdefault(index, []).append((start, end + 1))
                else:
                    hits = hits if hits is not None else {}
                    hits.setdefault(index, []).append((start, end + 1))
        if hits is None:
            return None
        found: dict[int, list[Span]] = {}
        for index, spans in hits.items():
            excused = exceptions.get(index, []) if exceptions is not None else []
            kept = [span for span in spans if not any(low <= span[0] and span[1] <= high for low, high in excused)]
            if not kept:
                continue
            if offsets is not None:
                kept = [(offsets[start], offsets[end - 1] + 1) for start, end in kept]
            found[index] = kept
        return found

    def _match_patterns(
        self, text: str, rules: frozenset[int], found: dict[int, list[Span]] | None
    ) -> dict[int, list[Span]] | None:
        matched = self._set_match(text.encode()) if self._set_match is not None else None
        if not matched and not self._solo:
            return found
        candidates = [self._set_entries[position] for position in matched or ()]
        candidates += [entries for compiled, entries in self._solo if compiled.search(text) is not None]
        for entries in candidates:
            for index, find in entries:
                if index in rules:
                    spans = find(text)
                    if spans:
                        found = found if found is not None else {}
                        found.setdefault(index, []).extend(spans)
        return found


def _merged(spans: Sequence[Span]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def excerpt_for(text: str, spans: Sequence[Sequence[int]], *, length: int = EXCERPT_LENGTH) -> str:
    """At most `length` characters of text around the first match (the start of the text without one)."""
    if len(text) <= length:
        return text
    first = spans[0][0] if spans else 0
    start = max(0, min(first - length // 3, len(text) - length))
    end = start + length
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + text[start + len(prefix) : end - len(suffix)] + suffix


# --- the current engine -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _engine_for(version: str) -> Engine:
    from policies.models import PolicyRule

    rules = PolicyRule.objects.filter(is_enabled=True).exclude(kind=GOVERNANCE).select_related("unit")
    return Engine(RuleSpec.from_rule(rule) for rule in rules)


def current_engine() -> Engine:
    """The engine of the enabled rules: one aggregate query, and a rebuild only after a rule changed or
    a unit a rule is scoped to moved (a move touches the subtree's `updated_at`)."""
    from django.db.models import Count, Max

    from policies.models import PolicyRule

    stamp = PolicyRule.objects.aggregate(
        latest=Max("updated_at"), count=Count("pk"), highest=Max("pk"), moved=Max("unit__updated_at")
    )
    return _engine_for(f"{stamp['latest']}:{stamp['count']}:{stamp['highest']}:{stamp['moved']}")
