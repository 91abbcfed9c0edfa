"""The one CSV writer of every export (inbox, flags, metrics, leaderboard, health, audit log, registry).

Every text cell is neutralised against formula injection: a cell a spreadsheet would run as a formula
(starting with =, +, -, @, tab or carriage return) gets a leading quote, so it shows as text. Quoting
follows RFC 4180 (Python's csv module). Responses are streamed, start with a byte-order mark so
spreadsheets read UTF-8, and are never cached.
"""

from __future__ import annotations

import csv
import datetime
from typing import TYPE_CHECKING

from django.http import StreamingHttpResponse

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

# Spreadsheets run a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Cell = object  # text, numbers, dates, booleans, None; anything else is written as its text


def neutralise_cell(value: str) -> str:
    """Prefix a quote so a spreadsheet shows the cell as text instead of running it as a formula.

    Values that already start with quotes before a trigger get one more, so `unneutralise_cell`
    is an exact inverse and an export re-imports unchanged.
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_TRIGGERS) else value


def unneutralise_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def csv_cell(value: Cell) -> str | int | float:
    """One cell as written: text neutralised, numbers as they are (a negative number is data, not a
    formula), dates in ISO 8601, booleans as true/false, None empty, anything else as its text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    return neutralise_cell(str(value))


class _Echo:
    """A file-like object that hands back what the csv writer writes, for a streamed response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheets open the file as UTF-8
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_response(*, filename: str, columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> StreamingHttpResponse:
    """A streamed CSV download named `filename` (ASCII, no quotes: the callers build it)."""
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
