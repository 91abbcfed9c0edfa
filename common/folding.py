"""Case- and accent-insensitive text for the keyword matcher, with the way back to the original positions.

`fold` is NFKD, casefold, combining marks stripped ("Café", "CAFE" → "cafe"). `fold_with_offsets` folds a
message as the engine sees it — whitespace runs (line breaks included) read as one space — and says where
each folded character came from, so that spans found in the folded text highlight the original one.
Both run in C for nearly every post: ASCII text is lower-cased; other text is folded in bulk, character
by character only for the rare characters that do not fold to exactly one (ß, ligatures, "…", lone marks).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from functools import lru_cache
from typing import Any

from django.db.models import Func, TextField

# Every combining mark lies below U+20000 (checked against the Unicode data Python ships).
_SCANNED_CODE_POINTS = 0x20000
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _class(code_points: list[int]) -> str:
    """A regex character class of these code points, as ranges."""
    ranges: list[list[int]] = []
    for code_point in code_points:
        if ranges and ranges[-1][1] == code_point - 1:
            ranges[-1][1] = code_point
        else:
            ranges.append([code_point, code_point])
    return "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]"


@dataclasses.dataclass(frozen=True)
class _Folding:
    """Character tables, split at U+10000: Python compiles a class of BMP characters to a bitmap (fast);
    the few astral characters concerned are looked up in sets."""

    marks: re.Pattern[str]  # combining marks
    astral_marks: frozenset[str]
    irregular: re.Pattern[str]  # characters that do not fold to exactly one character
    astral_irregular: frozenset[str]


@lru_cache(maxsize=1)
def _folding() -> _Folding:
    """Built once per process from the Unicode database (a scan of ~0.1 s)."""
    marks: list[int] = []
    irregular: list[int] = []
    for code_point in range(_SCANNED_CODE_POINTS):
        char = chr(code_point)
        if unicodedata.combining(char):
            marks.append(code_point)
            irregular.append(code_point)
            continue
        decomposed = unicodedata.normalize("NFKD", char.casefold())
        if len(decomposed) != 1 and sum(1 for part in decomposed if not unicodedata.combining(part)) != 1:
            irregular.append(code_point)
    return _Folding(
        marks=re.compile(_class([point for point in marks if point < 0x10000]) + "+"),
        astral_marks=frozenset(chr(point) for point in marks if point >= 0x10000),
        irregular=re.compile(_class([point for point in irregular if point < 0x10000])),
        astral_irregular=frozenset(chr(point) for point in irregular if point >= 0x10000),
    )


def _strip_marks(decomposed: str) -> str:
    folding = _folding()
    stripped = folding.marks.sub("", decomposed)
    if _ASTRAL.search(stripped):
        for mark in folding.astral_marks.intersection(_ASTRAL.findall(stripped)):
            stripped = stripped.replace(mark, "")
    return stripped


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, casefold, combining marks stripped ("Où" → "ou")."""
    return _strip_marks(unicodedata.normalize("NFKD", text.casefold()))


def _fold_regular(segment: str) -> str:
    """Fold characters that each fold to exactly one character: the result has the same length."""
    decomposed = unicodedata.normalize("NFKD", segment.casefold())
    if len(decomposed) == len(segment):
        return decomposed  # nothing decomposed, so there is no mark to strip (a regular character has none)
    # Accented Latin letters decompose to ASCII letters and marks: dropping what is not ASCII drops the
    # marks — exactly the marks when the length comes out right (no other character was dropped).
    ascii_only = decomposed.encode("ascii", "ignore")
    if len(ascii_only) == len(segment):
        return ascii_only.decode("ascii")
    return _strip_marks(decomposed)


def _irregular_positions(text: str) -> list[int]:
    folding = _folding()
    positions = [match.start() for match in folding.irregular.finditer(text)] if folding.irregular.search(text) else []
    if _ASTRAL.search(text):
        positions += [match.start() for match in _ASTRAL.finditer(text) if match.group() in folding.astral_irregular]
        positions.sort()
    return positions


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    return fold(char)


_OTHER_SPACES = str.maketrans(dict.fromkeys("\t\n\r\f\v", " "))
_SPACE_RUNS = re.compile(r" {2,}")


def _fold_in_segments(text: str, irregular: list[int]) -> tuple[str, list[int]]:
    """Fold runs of regular characters in one go and the irregular ones ("ß" → "ss", "…" → "...", a lone
    combining mark → nothing) one by one, recording the original index of every folded character."""
    pieces: list[str] = []
    offsets: list[int] = []
    start = 0
    for position in irregular:
        if position > start:
            pieces.append(_fold_regular(text[start:position]))
            offsets.extend(range(start, position))
        piece = _fold_char(text[position])
        pieces.append(piece)
        offsets.extend([position] * len(piece))
        start = position + 1
    if start < len(text):
        pieces.append(_fold_regular(text[start:]))
        offsets.extend(range(start, len(text)))
    return "".join(pieces), offsets


def fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """The folded text, whitespace runs collapsed to one space (as in folded terms), and — when that changed
    positions — the original index of every folded character (None: positions are unchanged).

    ASCII text on one line with single spaces (most posts) folds to its lower case: no offsets needed.
    """
    offsets: list[int] | None = None
    if text.isascii():
        folded = text.lower()
    elif irregular := _irregular_positions(text):
        folded, offsets = _fold_in_segments(text, irregular)
    else:  # accented letters, emoji...: each character folds to exactly one, positions are unchanged
        folded = _fold_regular(text)
    if not folded.isprintable():  # line breaks, tabs (and other characters translate leaves alone)
        folded = folded.translate(_OTHER_SPACES)
    if "  " in folded:
        kept: list[int] = []
        parts: list[str] = []
        position = 0
        for run in _SPACE_RUNS.finditer(folded):
            parts.append(folded[position : run.start() + 1])
            kept.extend(range(position, run.start() + 1))
            position = run.end()
        parts.append(folded[position:])
        kept.extend(range(position, len(folded)))
        folded = "".join(parts)
        offsets = kept if offsets is None else [offsets[index] for index in kept]
    return folded, offsets


# --- In the database -----------------------------------------------------------------------------


class Fold(Func):
    """`fold` in SQL, for accent- and case-insensitive search ("velo" finds "Vélo"): `chorus_fold(text)`
    on both databases. On PostgreSQL it is lower(unaccent(text)) declared immutable, so that a stored
    column can be computed with it (Message.search_text, migrations monitoring 0008 and 0009); on SQLite
    (the demo) it is `fold` itself, registered on every connection by `register_sqlite_fold`."""

    function = "chorus_fold"
    output_field = TextField()


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: makes `chorus_fold` available to SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "chorus_fold", 1, lambda text: None if text is None else fold(text), deterministic=True
        )
