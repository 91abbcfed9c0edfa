"""List filters: the one way a list reads its filters from a query string — pages, exports and the API.

A list declares its filters as a `FilterForm` (a Django form built from the fields below) and every
surface parses the query string with it, so one value means the same thing everywhere:

- An empty value (`?status=`) means "not given"; of a repeated parameter the last value counts.
- A filter that names an object (`ObjectFilter`: a unit, an account) resolves it through the app's
  access selector while parsing. An object the user cannot see raises Http404 — on a page, in an
  export and in the API alike, the same answer as for an id that does not exist.
- A malformed value is an error naming the field. `FilterForm.parse()` raises `InvalidFilters`: the
  API answers 400 with the field named (common.api.filters), an export 400 with the field named
  (`invalid_filters_response`); a page calls `FilterForm.valid_values()` instead, shows the form's
  errors and lists with the filters that were valid (an invalid one counts as not given).

django-filter was considered: it filters querysets from a FilterSet, but our lists are keyset-paged
selectors that take typed filter values (and must stay scoped), so only its parsing half would be used.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import Http404, HttpResponseBadRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from django.db.models import Model

_ID = re.compile(r"[1-9][0-9]{0,17}")  # a positive id that fits a bigint
_TRUE = frozenset({"true", "1", "on"})
_FALSE = frozenset({"false", "0", "off"})


class InvalidFilters(ValueError):
    """Malformed filter values: field name → messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = dict(errors)


def invalid_filters_response(invalid: InvalidFilters) -> HttpResponseBadRequest:
    """How an export answers malformed filters: a 400 naming each field, in plain text."""
    return HttpResponseBadRequest(f"Invalid filters — {invalid}", content_type="text/plain; charset=utf-8")


def _raw(value: Any) -> str:
    return "" if value is None else str(value).strip()


class ChoiceFilter(forms.ChoiceField):
    """One of `choices` (value, label); the error lists the values accepted."""

    def __init__(self, *, choices: Iterable[tuple[str, Any]], **kwargs: Any) -> None:
        choices = list(choices)
        values = ", ".join(value for value, _label in choices if value)
        kwargs.setdefault("required", False)
        super().__init__(choices=choices, error_messages={"invalid_choice": f"Must be one of: {values}."}, **kwargs)
        self._pairs = choices

    def valid_choices(self) -> list[tuple[str, Any]]:
        return self._pairs


class IdFilter(forms.Field):
    """A positive integer id that fits a bigint."""

    def to_python(self, value: Any) -> int | None:
        raw = _raw(value)
        if not raw:
            return None
        if not _ID.fullmatch(raw):
            raise forms.ValidationError("Must be a positive integer id.")
        return int(raw)


class ObjectFilter(IdFilter):
    """An id resolved by `lookup(user=..., pk=...)`, an access selector that raises Http404 for an
    object the user cannot see (the form's user is handed to the field by FilterForm)."""

    def __init__(self, lookup: Callable[..., Model], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.lookup = lookup
        self.user: Any = None
        self.refuse = True

    def clean(self, value: Any) -> Model | None:
        pk = super().clean(value)
        if pk is None:
            return None
        try:
            return self.lookup(user=self.user, pk=pk)
        except Http404:
            if self.refuse:
                raise
            raise forms.ValidationError("Not one you can see.") from None


class _TriStateInput(forms.CheckboxInput):
    """A checkbox whose submitted value reaches the field as given (CheckboxInput turns "maybe" into True)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, check_test=lambda value: value is True or _raw(value).lower() in _TRUE)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class BooleanFilter(forms.Field):
    """true/1/on → True, false/0/off → False, empty → None (not given). Rendered as a checkbox."""

    widget = _TriStateInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        raw = _raw(value).lower()
        if not raw:
            return None
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise forms.ValidationError("Must be true or false.")


class MomentFilter(forms.Field):
    """An ISO 8601 datetime, or a date meaning its start; without an offset, in the server's time zone.
    Returned in UTC: ISO 8601 admits offsets up to ±23:59, PostgreSQL only up to ±15:59."""

    MESSAGE = "Must be an ISO 8601 date (2026-11-20) or datetime (2026-11-20T15:00:00Z)."

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime.datetime | None:
        raw = _raw(value)
        if not raw:
            return None
        try:
            moment = parse_datetime(raw)
            if moment is None:
                day = parse_date(raw)
                if day is None:
                    raise forms.ValidationError(self.MESSAGE)
                moment = datetime.datetime.combine(day, datetime.time.min)
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            return moment.astimezone(datetime.UTC)
        except (ValueError, OverflowError):
            raise forms.ValidationError(self.MESSAGE) from None


class TokenFilter(forms.CharField):
    """A page cursor: `decode(token)` raises ValueError for anything this server did not sign."""

    def __init__(self, decode: Callable[[str], Any], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)
        self.decode = decode

    def clean(self, value: Any) -> Any:
        token = super().clean(value)
        if not token:
            return None
        try:
            return self.decode(token)
        except ValueError:
            raise forms.ValidationError("This page link is no longer valid.") from None


class SearchFilter(forms.CharField):
    """A search term (monitoring.search defines what it matches): stripped, at most `max_length`
    characters, no NUL (CharField's own validator: PostgreSQL text cannot hold one). Empty: not given."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("label", "Search text and authors")
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "search"}))
        super().__init__(strip=True, **kwargs)  # CharField refuses NUL characters itself


class FilterForm(forms.Form):
    """A list's filters. `user` is who is asking: object filters resolve within their scope."""

    def __init__(
        self, data: Mapping[str, Any] | None = None, *, user: Any, refuse_out_of_scope: bool = True, **kwargs: Any
    ) -> None:
        """`refuse_out_of_scope=False` only for filters carried back after an action (the action is done;
        the link back just loses a filter the user can no longer see)."""
        super().__init__(data, **kwargs)
        self.user = user
        for field in self.fields.values():
            if isinstance(field, ObjectFilter):
                field.user = user
                field.refuse = refuse_out_of_scope

    def parse(self) -> dict[str, Any]:
        """Every filter's value (None or the field's empty value when not given); InvalidFilters if any
        value is malformed; Http404 if one names an object outside the user's scope."""
        if not self.is_valid():
            raise InvalidFilters({name: [str(message) for message in errors] for name, errors in self.errors.items()})
        return self.cleaned_data

    def valid_values(self) -> dict[str, Any]:
        """For a page: the values that parsed (Http404 still propagates); see `errors` for the others."""
        self.is_valid()
        return self.cleaned_data
