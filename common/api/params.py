"""Strict parsing of the API's query parameters: a bad value is a 400 naming the parameter, never a 500.

An empty value (`?status=`) means "not given", like an unset form field. Only the last value of a
repeated parameter counts.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import QueryDict

_ID = re.compile(r"[1-9][0-9]{0,17}")  # a positive id that fits a bigint
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def _invalid(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]})


class QueryParams:
    def __init__(self, data: QueryDict) -> None:
        self._data = data

    def _raw(self, name: str) -> str | None:
        value = self._data.get(name, "")
        return value.strip() or None

    def choice(self, name: str, choices: Iterable[str]) -> str | None:
        value = self._raw(name)
        allowed = list(choices)
        if value is not None and value not in allowed:
            raise _invalid(name, f"Must be one of: {', '.join(allowed)}.")
        return value

    def object_id(self, name: str) -> int | None:
        value = self._raw(name)
        if value is None:
            return None
        if not _ID.fullmatch(value):
            raise _invalid(name, "Must be a positive integer id.")
        return int(value)

    def boolean(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is None:
            return None
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise _invalid(name, "Must be true or false.")

    def moment(self, name: str) -> datetime.datetime | None:
        """An ISO 8601 datetime, or a date meaning its start; without an offset, in the server's time zone."""
        value = self._raw(name)
        if value is None:
            return None
        message = "Must be an ISO 8601 date (2026-11-20) or datetime (2026-11-20T15:00:00Z)."
        try:
            moment = parse_datetime(value)
            if moment is None:
                day = parse_date(value)
                if day is None:
                    raise _invalid(name, message)
                moment = datetime.datetime.combine(day, datetime.time.min)
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            # In UTC: ISO 8601 admits offsets up to ±23:59, PostgreSQL only up to ±15:59 (a DataError).
            moment = moment.astimezone(datetime.UTC)
        except (ValueError, OverflowError):
            raise _invalid(name, message) from None
        return moment
