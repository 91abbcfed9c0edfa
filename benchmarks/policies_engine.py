"""Scenario: the policy engine's throughput against a naive evaluation of the same rules.

200 rules — 180 keyword rules holding 5,000 terms (and some exception phrases) and 20 regular
expressions — scoped like a real policy (most organization-wide, some per subtree, per platform or per
direction), over 1,000,000 realistic generated messages (English and French, accents, mentions,
hashtags, links, line breaks; about 1 in 20 breaks a rule). Messages are generated in memory from a fixed
seed, 100,000 at a time; only evaluation is timed. Rates are per CPU second of this process
(`time.process_time`): the engine is single-threaded, so that is its throughput on one core, whatever
else the machine runs at the time; the wall-clock rates are printed beside them.

- engine: `policies.engine.Engine` — one Aho-Corasick automaton over every term, one combined RE2 set,
  scope resolved once per (platform, direction, unit) — exactly what ingest runs per message.
- naive: each rule checked separately, for each message: its scope, then its own Python `re` — an
  alternation of its escaped terms between word boundaries, on the folded text — or its own regular
  expression. Measured on the first 20,000 messages of the same input (it is much slower), reported as
  messages per second. The ratio divides the engine's rate on those same messages, measured in turn with
  the naive one slice by slice (so a busy machine slows both alike), by the naive rate.
Both must flag the same (message, rule) pairs on that sample; the agreement is printed.

Targets: >= 100,000 messages/s for the engine on one core, >= 50x the naive evaluation.
Needs no database: `python -m benchmarks.policies_engine` runs it alone; `make bench` runs it with the rest.
"""

from __future__ import annotations

import random
import re
import sys
import time
from typing import TYPE_CHECKING

from benchmarks.harness import Figure, heading, print_table, report
from common.folding import fold
from policies.engine import Engine, RuleSpec

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SCENARIO = "policies"
SEED = 2026
MESSAGES = 1_000_000
CHUNK = 100_000
NAIVE_SAMPLE = 20_000
SLICE = 2_000
KEYWORD_RULES = 180
KEYWORD_TERMS = 5_000
REGEX_RULES = 20
TARGET_RATE = 100_000
TARGET_RATIO = 50.0

PLATFORMS = ("x", "x", "x", "x", "instagram", "facebook", "bluesky", "mastodon")
# Unit paths of a service → 3 commands → 5 divisions each → 4 units each (treebeard steps of 4).
ROOT = "0001"
COMMANDS = [f"{ROOT}{c:04d}" for c in range(1, 4)]
DIVISIONS = [f"{command}{d:04d}" for command in COMMANDS for d in range(1, 6)]
UNITS = [f"{division}{u:04d}" for division in DIVISIONS for u in range(1, 5)]

# Terms a real policy holds (profanity placeholders, operations, privacy, politics, endorsements...).
REAL_TERMS = [
    "damn", "crap", "wtf", "pissed off", "screw you", "bloody hell", "idiot", "moron", "stupid", "loser",
    "thug", "scumbag", "lowlife", "junkie", "crackhead", "psycho", "illegals", "undercover", "search warrant",
    "informant", "wiretap", "case file", "surveillance team", "staging area", "tactical plan", "raid tonight",
    "briefing notes", "internal memo", "victim's name", "young offender", "youth charged", "vote for",
    "re-elect", "political party", "liberals", "conservatives", "election", "ballot", "referendum",
    "promo code", "discount code", "sponsored", "link in bio", "best pizza", "buy now", "lock him up",
    "good riddance", "rot in jail", "obviously guilty", "off the record", "kill a cop", "watch your back",
    "sécurité nationale", "enquête en cours", "dénonciateur", "mandat de perquisition", "élection",
    "maudit", "tabarnak", "câlisse", "niaiseux", "crisse",
]  # fmt: skip
SYLLABLES = [
    "ka", "ro", "mi", "te", "la", "zu", "ve", "no", "pa", "si", "qu", "ex", "or", "an", "ul", "bri", "sto",
    "gra", "fen", "dol", "mar", "tis", "vel", "cor", "pen",
]  # fmt: skip
REGEXES = [
    r"(?i)\bpromo(?:tional)?\s+codes?\b",
    r"\b\d{3}[ -]\d{3}[ -]\d{3}\b",
    r"\b(?:\d{4}[ -]?){3}\d{4}\b",
    r"(?i)\b(?:[1-9]|1[0-7])[- ]year[- ]old\b",
    r"(?i)\bbadge\s*(?:#|no\.?|number)\s*\d{3,6}\b",
    r"\b[A-Z]\d{4}[ -]?\d{5}[ -]?\d{5}\b",
    r"(?i)\b(?:dm|message)\s+me\b",
    r"(?i)\bbit\.ly/\w+",
    r"(?i)#(?:ad|sponsored|spon)\b",
    r"(?i)\b(?:off the record|between you and me)\b",
    r"(?i)\bcall\s+me\s+at\b",
    r"(?i)\b(?:my|our)\s+(?:opinion|personal view)\b",
    r"(?i)\bOCC(?:URRENCE)?\s*#?\s*\d{6,}\b",
    r"(?i)\b(?:lol|lmao|rofl)\b",
    r"[A-Z]{5,}(?:\s+[A-Z]{5,}){3,}",
    r"(?i)\b(?:guaranteed|100%)\s+(?:safe|arrest|conviction)\b",
    r"(?i)\bsuspect\s+(?:is|was)\s+(?:a|an)\s+\w+\s+(?:man|woman)\b",
    r"(?i)\b(?:crown|defence)\s+(?:counsel|attorney)\s+\w+",
    r"!{3,}",
    r"(?i)\bfollow\s+(?:me|my\s+personal)\b",
]
# Pieces of the messages people and units really write.
OPENINGS = [
    "Thanks", "Heads up", "Reminder", "Update", "Good morning", "Tonight", "Quick question", "PSA", "Merci",
    "Bonjour", "Attention", "Hey", "FYI", "Breaking", "Road safety tip",
]  # fmt: skip
SUBJECTS = [
    "the road closure on King Street", "the community BBQ at Riverdale Park", "our officers at the parade",
    "the collision near the school", "the bike rodeo this weekend", "the missing senior, now found safe",
    "the construction on Highway 401", "the toy drive at 11 Division", "snow clearing downtown",
    "la fermeture de la rue Sainte-Catherine", "la sécurité près de l'école", "le défilé de la Fête nationale",
    "the café on Queen West", "the new crossing guard program", "the stolen bikes we recovered",
    "the power outage in the east end", "the lost dog found near the library", "the charity hockey game",
]  # fmt: skip
MIDDLES = [
    "Please plan another route.", "Expect delays until 6pm.", "Thank you for your patience!",
    "Great to see so many neighbours out.", "Stay safe and slow down.", "Merci de votre collaboration.",
    "We'll post updates here.", "Call the non-emergency line for anything that is not urgent.",
    "Drivers, watch for pedestrians.", "Soyez prudents sur la route.", "Is anyone hurt?",
    "When will it reopen?", "Who do I call about this?", "Où puis-je signaler un vol?",
    "Amazing work by everyone involved.", "Details at the link below.",
]  # fmt: skip
TAILS = [
    "", "", "", "#RoadSafety", "#MetroPolice", "@MetroPolice", "https://metropolice.example/news",
    "www.metrocity.example/closures", "#CommunityFirst #11Div", "@CityOfMetro @MetroTransit", "🚓🚧",
]  # fmt: skip


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))


def _terms(rng: random.Random) -> list[str]:
    terms = dict.fromkeys(REAL_TERMS)
    while len(terms) < KEYWORD_TERMS:
        word = _pseudo_word(rng)
        terms[word if rng.random() < 0.8 else f"{word} {_pseudo_word(rng)}"] = None
    return list(terms)


def build_rules(rng: random.Random) -> list[RuleSpec]:
    terms = _terms(rng)
    rng.shuffle(terms)
    specs: list[RuleSpec] = []
    for index in range(KEYWORD_RULES + REGEX_RULES):
        roll = rng.random()
        unit_path = rng.choice(DIVISIONS + COMMANDS) if roll < 0.2 else ""
        platforms = (rng.choice(PLATFORMS),) if 0.2 <= roll < 0.3 else ()
        direction = rng.choices(("outbound", "inbound", "both"), weights=(8, 1, 1))[0]
        if index < KEYWORD_RULES:
            own = terms[index::KEYWORD_RULES]
            exceptions = [f"not {own[0]}", f"{own[0]} free"] if index % 4 == 0 else []
            config: dict[str, object] = {"terms": own, "exceptions": exceptions}
            kind = "keywords"
        else:
            config = {"pattern": REGEXES[index - KEYWORD_RULES]}
            kind = "regex"
        specs.append(RuleSpec(index + 1, kind, config, platforms=platforms, unit_path=unit_path, direction=direction))
    return specs


def messages(rng: random.Random, count: int, terms: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """(text, platform, direction, unit path): about 4% carry a policy term, about 1% a regex hit."""
    for _ in range(count):
        parts = [rng.choice(OPENINGS) + ":", rng.choice(SUBJECTS) + ".", rng.choice(MIDDLES)]
        if rng.random() < 0.5:
            parts.append(rng.choice(MIDDLES))
        roll = rng.random()
        if roll < 0.04:
            parts.insert(rng.randint(1, len(parts)), rng.choice(terms))
        elif roll < 0.05:
            parts.append(rng.choice(("promo code SAVE10", "badge #4521", "a 15-year-old boy", "OCC 2024123456")))
        parts.append(rng.choice(TAILS))
        separator = "\n\n" if rng.random() < 0.05 else " "
        text = separator.join(part for part in parts if part)
        yield text, rng.choice(PLATFORMS), ("outbound" if rng.random() < 0.5 else "inbound"), rng.choice(UNITS)


# -- the naive evaluation -----------------------------------------------------------------------------------


class NaiveRule:
    """One rule on its own: its scope, then its own Python `re`."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        if spec.kind == "keywords":
            terms = sorted({fold(term) for term in spec.config["terms"]}, key=len, reverse=True)
            self.pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, terms)) + r")(?!\w)")
            exceptions = [fold(phrase) for phrase in spec.config.get("exceptions", [])]
            self.exceptions = (
                re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, exceptions)) + r")(?!\w)") if exceptions else None
            )
        else:
            self.pattern = re.compile(spec.config["pattern"])
            self.exceptions = None

    def matches(self, text: str, folded: str) -> bool:
        if self.spec.kind != "keywords":
            return self.pattern.search(text) is not None
        hits = [match.span() for match in self.pattern.finditer(folded)]
        if not hits or self.exceptions is None:
            return bool(hits)
        excused = [match.span() for match in self.exceptions.finditer(folded)]
        return any(not any(low <= start and end <= high for low, high in excused) for start, end in hits)


def naive_evaluate(rules: list[NaiveRule], text: str, platform: str, direction: str, unit_path: str) -> list[int]:
    folded = " ".join(fold(text).split())
    return [
        rule.spec.id
        for rule in rules
        if rule.spec.applies(platform=platform, direction=direction, unit_path=unit_path) and rule.matches(text, folded)
    ]


# -- the scenario -------------------------------------------------------------------------------------------


def run(workdir: Path | None = None, *, total: int = MESSAGES) -> list[Figure]:
    rng = random.Random(SEED)
    specs = build_rules(rng)
    terms = [term for spec in specs if spec.kind == "keywords" for term in spec.config["terms"]]
    started = time.perf_counter()
    engine = Engine(specs)
    compile_seconds = time.perf_counter() - started
    report(
        f"{len(specs)} rules: {KEYWORD_RULES} keyword rules holding {len(terms):,} terms, {REGEX_RULES} regular "
        f"expressions; compiled in {compile_seconds * 1000:.0f} ms"
    )
    message_rng = random.Random(SEED + 1)
    sample: list[tuple[str, str, str, str]] = []
    engine_cpu = engine_wall = 0.0
    flagged = 0
    done = 0
    while done < total:
        chunk = list(messages(message_rng, min(CHUNK, total - done), terms))
        if not sample:
            sample = chunk[:NAIVE_SAMPLE]
        evaluate = engine.evaluate
        cpu, wall = time.process_time(), time.perf_counter()
        for text, platform, direction, unit_path in chunk:
            if evaluate(text, platform=platform, direction=direction, unit_path=unit_path):
                flagged += 1
        engine_cpu += time.process_time() - cpu
        engine_wall += time.perf_counter() - wall
        done += len(chunk)
    engine_rate = done / engine_cpu
    report(
        f"engine: {done:,} messages in {engine_cpu:.2f} CPU s = {engine_rate:,.0f} msg/s "
        f"(wall clock {engine_wall:.2f} s = {done / engine_wall:,.0f} msg/s); {flagged / done:.1%} flagged"
    )
    # The ratio compares both on the same sample, slice by slice in turn, so that both see the same load.
    naive_rules = [NaiveRule(spec) for spec in specs]
    naive_flags: list[list[int]] = []
    paired_cpu = naive_cpu = naive_wall = 0.0
    for first in range(0, len(sample), SLICE):
        part = sample[first : first + SLICE]
        cpu = time.process_time()
        for text, platform, direction, unit_path in part:
            evaluate(text, platform=platform, direction=direction, unit_path=unit_path)
        paired_cpu += time.process_time() - cpu
        cpu, wall = time.process_time(), time.perf_counter()
        naive_flags += [naive_evaluate(naive_rules, *message) for message in part]
        naive_cpu += time.process_time() - cpu
        naive_wall += time.perf_counter() - wall
    naive_rate = len(sample) / naive_cpu
    paired_rate = len(sample) / paired_cpu
    ratio = paired_rate / naive_rate
    report(
        f"naive:  {len(sample):,} messages in {naive_cpu:.2f} CPU s = {naive_rate:,.0f} msg/s "
        f"(wall clock {naive_wall:.2f} s = {len(sample) / naive_wall:,.0f} msg/s); the engine on the same "
        f"messages, in turn: {paired_rate:,.0f} msg/s; ratio {ratio:.0f}x"
    )
    engine_flags = [
        [hit.rule_id for hit in engine.evaluate(text, platform=platform, direction=direction, unit_path=unit_path)]
        for text, platform, direction, unit_path in sample
    ]
    agree = sum(1 for mine, theirs in zip(engine_flags, naive_flags, strict=True) if mine == theirs)
    report(f"same rules flagged by both on {agree:,} of {len(sample):,} sample messages")
    return [
        Figure(
            SCENARIO,
            f"engine, {done:,} messages, 1 core",
            engine_rate,
            "msg/s",
            target=f">= {TARGET_RATE:,} msg/s",
            met=engine_rate >= TARGET_RATE,
            digits=0,
        ),
        Figure(SCENARIO, f"naive, first {len(sample):,} messages", naive_rate, "msg/s", digits=0),
        Figure(SCENARIO, f"engine, same {len(sample):,} messages", paired_rate, "msg/s", digits=0),
        Figure(
            SCENARIO,
            "engine / naive, same messages",
            ratio,
            "x",
            target=f">= {TARGET_RATIO:.0f}x",
            met=ratio >= TARGET_RATIO,
            digits=0,
        ),
        Figure(SCENARIO, "sample messages flagged alike", 100 * agree / len(sample), "%", digits=2),
    ]


def main() -> int:
    heading("Policies engine: 200 rules (5,000 keywords, 20 regular expressions) over 1,000,000 messages")
    figures = run()
    heading("Summary")
    print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
