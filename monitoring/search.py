"""Message search: the one definition the inbox, the policy review queue, the account's messages and the API use.

A search term matches a message whose text, author name or author handle contains it, accent- and
case-insensitively on both sides ("velo" finds "Vélo", "FERMEE" finds "fermée"), anywhere in a word
("vél" finds "vélos"), in any language: no stemming, no language to guess in a bilingual service. A term
starting with "@" names a handle from its start ("@resident7" finds the handle "resident7abc", and text that
contains "@resident7"); without it, a part of the handle anywhere.

Every message keeps what a search reads folded once, when it is written: `Message.search_text`, its text,
author name and "@" + handle, one per line (a term never holds a line break: `needle` reads whitespace runs
as one space, so a match never straddles two fields). A search is `search_text LIKE '%term%'`, answered on
PostgreSQL from a trigram index on that column (pg_trgm GIN; migration monitoring 0009) for terms of
MIN_INDEXED_LENGTH characters or more; shorter ones scan. Full-text search with English and French
configurations was weighed and not taken: it finds whole (stemmed) words only, so neither "vél" nor a handle
fragment finds anything, and each message would need its language guessed (see benchmarks/README.md,
"Search"). On SQLite (the demo) `chorus_fold` is Python's `fold` and the search scans.

Highlighting marks every match of the term in the text, built from escaped fragments (format_html_join):
the text is never marked safe as such.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Q
from django.utils.html import format_html, format_html_join

from common.folding import fold, fold_with_offsets
from monitoring.models import Message

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

# pg_trgm indexes three-character sequences: a shorter term has none to look up, and scans.
MIN_INDEXED_LENGTH = 3
MAX_LENGTH = 200
HIGHLIGHT_LEAD = 40  # characters kept before a first match far into the text, so a one-line row shows it
ELLIPSIS = "…"

_SPACES = re.compile(r"\s+")


class Matched:
    """Where a search matched a message."""

    TEXT = "text"
    AUTHOR = "author"


def needle(term: str) -> str:
    """The folded term, whitespace runs read as one space (as fold_with_offsets reads the text)."""
    return _SPACES.sub(" ", fold(term)).strip()


def message_search(term: str, *, message: str = "") -> Q:
    """The filter "text, author name or handle contains `term`" on messages, or on a model pointing at
    one through the relation named `message` ("message" on triage items and policy flags)."""
    prefix = f"{message}__" if message else ""
    return Q(**{f"{prefix}search_text__contains": needle(term)})


def estimated_matches(term: str) -> int | None:
    """PostgreSQL's estimate of the messages `term` matches (from the statistics of the indexed folded
    text: no row is read), or None on another database. Lets a caller choose between reading the matches
    from the index (few) and walking its own index until enough rows match (many)."""
    if connection.vendor != "postgresql":
        return None
    sql, params = Message.objects.filter(message_search(term)).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def match_spans(text: str, term: str) -> list[tuple[int, int]]:
    """[start, end) of every match of `term` in `text` (positions in `text`), in order, not overlapping."""
    folded_term = needle(term)
    if not folded_term:
        return []
    folded, offsets = fold_with_offsets(text)
    spans = []
    start = folded.find(folded_term)
    while start >= 0:
        end = start + len(folded_term)
        spans.append((offsets[start], offsets[end - 1] + 1) if offsets is not None else (start, end))
        start = folded.find(folded_term, end)
    return spans


def highlight(text: str, term: str, *, lead: int | None = HIGHLIGHT_LEAD) -> SafeString | None:
    """`text` with every accent- and case-insensitive match of `term` in <mark>, every fragment escaped;
    None if it does not match. With `lead`, a first match far into the text is shown from `lead // 2`
    characters before it (after an ellipsis); lead=None keeps the whole text."""
    spans = match_spans(text, term)
    if not spans:
        return None
    first = spans[0][0]
    start = 0
    opening = ""
    if lead is not None and first > lead:
        start, opening = first - lead // 2, ELLIPSIS
    pieces: list[tuple[str, str]] = []
    position = start
    for span_start, span_end in spans:
        pieces.append((text[position:span_start], text[span_start:span_end]))
        position = span_end
    marked = format_html_join("", "{}<mark>{}</mark>", pieces)
    return format_html("{}{}{}", opening, marked, text[position:])


def matched_field(text: str, term: str) -> tuple[str, SafeString | None]:
    """Where a message the search found matched (Matched.TEXT, or else Matched.AUTHOR) and its text
    highlighted (None when the match was the author)."""
    highlighted = highlight(text, term)
    return (Matched.TEXT if highlighted is not None else Matched.AUTHOR), highlighted
