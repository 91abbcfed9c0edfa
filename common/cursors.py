"""One keyset cursor for every list: the inbox, the policy review queue and the API.

A cursor is the position of the last row shown (a short list of JSON values) signed with SECRET_KEY
(django.core.signing, salted per list). Only a cursor this server issued for that list decodes: a
hand-edited, truncated or forged one raises InvalidCursor before anything reaches the database. Pages
treat that as "no cursor" (the first page, like any other invalid filter value); the API answers 404
("Invalid cursor"), as DRF does.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core import signing

if TYPE_CHECKING:
    from collections.abc import Sequence


class InvalidCursor(ValueError):
    """Not a cursor this server signed for this list."""


def cursor_encode(values: Sequence[Any], *, salt: str) -> str:
    """Sign the position; datetimes are written in ISO 8601 (decode them with `moment`)."""
    plain = [value.isoformat() if isinstance(value, datetime.datetime) else value for value in values]
    return signing.dumps(plain, salt=salt, compress=True)


def cursor_decode(token: str, *, salt: str, length: int) -> list[Any]:
    """The `length` values signed by cursor_encode with the same salt; InvalidCursor otherwise."""
    try:
        values = signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidCursor("not a cursor for this list") from error
    if not isinstance(values, list) or len(values) != length:
        raise InvalidCursor("not a cursor for this list")
    return values


def moment(value: Any) -> datetime.datetime:
    """A datetime written by cursor_encode; InvalidCursor for anything else."""
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise InvalidCursor("not a cursor for this list") from error


def integer(value: Any) -> int:
    """An int written by cursor_encode; InvalidCursor for anything else (bool included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCursor("not a cursor for this list")
    return value
