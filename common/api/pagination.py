"""Cursor pagination for the API, with the one signed keyset cursor (common.cursors).

DRF's own cursor is base64 that anyone can edit, and DRF filters on its position as given, so a forged
position would reach the database. Here DRF's (offset, reverse, position) is signed instead: only a
cursor this server issued for that list decodes, anything else is 404 "Invalid cursor".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from common.cursors import InvalidCursor, cursor_decode, cursor_encode, integer

if TYPE_CHECKING:
    from rest_framework.request import Request


class ApiCursorPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def _salt(self) -> str:
        # One salt per ordering: a cursor of one list is refused by another.
        return "api.cursor:" + ",".join(self.ordering)

    def decode_cursor(self, request: Request) -> Cursor | None:
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        try:
            offset, reverse, position = cursor_decode(token, salt=self._salt(), length=3)
            if not isinstance(reverse, bool) or not (position is None or isinstance(position, str)):
                raise InvalidCursor("not a cursor for this list")
            # The stubs type position as int; DRF itself writes and reads it as the str of the field value.
            return Cursor(offset=integer(offset), reverse=reverse, position=position)  # type: ignore[arg-type]
        except InvalidCursor:
            raise NotFound(self.invalid_cursor_message) from None

    def encode_cursor(self, cursor: Cursor) -> str:
        token = cursor_encode([cursor.offset, bool(cursor.reverse), cursor.position], salt=self._salt())
        assert self.base_url is not None  # set by paginate_queryset before any link is built
        return replace_query_param(self.base_url, self.cursor_query_param, token)
