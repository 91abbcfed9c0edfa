"""The inbox benchmark's search figures: a word typed into the inbox's search box at 2,000,000 messages.

GET /inbox/?q=<word> (the full page: the waiting tab's count under the search, the first 50 waiting items
that match, every match highlighted) for the organization's comms manager and a station supervisor, with an
English word and a French word, accented and not (the search folds both sides: monitoring.search). Target:
p95 <= 100 ms for each. Measured at 2 M only, in the same rounds as the inbox's pages (benchmarks/inbox.py).

The words are of the generated traffic (benchmarks/inbox_traffic.py): each is in one of the question
templates, so about one waiting question in six has it, and no other kind of message has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from benchmarks.harness import Figure, report

if TYPE_CHECKING:
    from benchmarks.inbox import Timing

SCENARIO = "inbox"
TARGET_P95_MS = 100.0
SCOPES = ("organization", "station")
# (label, word): an English word, a French word as written and as typed without its accent.
WORDS = (("English", "collision"), ("French", "fermée"), ("French unaccented", "fermee"))


def search_urls(inbox_url: str) -> list[tuple[str, str]]:
    """(label, URL) of each word's search."""
    return [(f"{label} '{word}'", f"{inbox_url}?{urlencode({'q': word})}") for label, word in WORDS]


def search_figures(timings: list[Timing]) -> list[Figure]:
    """The table (side by side with the target) and the figures."""
    report(f"search at 2M (ms; target p95 <= {TARGET_P95_MS:.0f} ms):")
    report(f"  {'variant':<44} {'rows':>4} {'median':>7} {'p95':>7} {'SQL':>6} {'CPU':>6} {'queries':>7}  target")
    figures = []
    for timing in timings:
        met = timing.p95 <= TARGET_P95_MS
        report(
            f"  {timing.label:<44} {timing.rows:>4} {timing.median:>7.1f} {timing.p95:>7.1f} {timing.sql_median:>6.1f} "
            f"{timing.cpu_median:>6.1f} {timing.queries:>7}  <= {TARGET_P95_MS:.0f} {'met' if met else 'MISSED'}"
        )
        slowest, ms = timing.slowest_query()
        report(f"    slowest query (median {ms:.1f} ms): {slowest}")
        figures += [
            Figure(
                SCENARIO,
                f"{timing.label}: p95 at 2M",
                timing.p95,
                "ms",
                target=f"<= {TARGET_P95_MS:.0f} ms",
                met=met,
            ),
            Figure(SCENARIO, f"{timing.label}: SQL at 2M (median)", timing.sql_median, "ms"),
        ]
    return figures
