"""The API's side of common.filters: a malformed filter is a 400 naming the parameter, never a 500."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError

from common.filters import InvalidFilters

if TYPE_CHECKING:
    from rest_framework.request import Request

    from common.filters import FilterForm


def api_filters(form_class: type[FilterForm], request: Request) -> dict[str, Any]:
    """The query string parsed by `form_class` for the token's owner (an object outside their scope: 404)."""
    try:
        return form_class(request.query_params, user=request.user).parse()
    except InvalidFilters as invalid:
        raise ValidationError(invalid.errors) from None
