"""Cursor pagination that answers a forged cursor with 404 instead of letting it reach the database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import Model, QuerySet
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ApiCursorPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
    _model: type[Model] | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        self._model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None or self._model is None:
            return cursor
        # DRF filters on the cursor's position as given; a forged one would be a database error (500).
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        position = str(cursor.position)
        if "\x00" in position or not isinstance(field, models.Field):
            raise NotFound(self.invalid_cursor_message)
        try:
            field.to_python(position)
        except ValidationError:
            raise NotFound(self.invalid_cursor_message) from None
        return cursor


class TriageItemPagination(ApiCursorPagination):
    ordering = ("-created_at", "-id")


class AccountPagination(ApiCursorPagination):
    ordering = ("id",)


class UnitPagination(ApiCursorPagination):
    ordering = ("path",)
