"""The API's side of common.filters: a malformed filter is a 400 naming the parameter, never a 500."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from common.filters import InvalidFilters

if TYPE_CHECKING:
    from rest_framework.request import Request

    from common.filters import FilterForm


# The `q` parameter of the lists that search messages (common.filters.SearchFilter; monitoring.search).
SEARCH_PARAMETER = OpenApiParameter(
    "q",
    {"type": "string", "maxLength": 200, "pattern": r"^[^\x00]*$"},
    description="Search: the message's text, author name or handle contains this, ignoring case and accents "
    '("velo" finds "Vélo"); a leading @ is ignored for the handle.',
)


def api_filters(form_class: type[FilterForm], request: Request) -> dict[str, Any]:
    """The query string parsed by `form_class` for the token's owner (an object outside their scope: 404)."""
    try:
        return form_class(request.query_params, user=request.user).parse()
    except InvalidFilters as invalid:
        raise ValidationError(invalid.errors) from None
