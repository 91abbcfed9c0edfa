"""OpenAPI post-processing (drf-spectacular): the schema tells what the API really answers.

- Id parameters (`unit`, `account`) are positive and fit a bigint: larger numbers are refused with 400.
- `since`/`until` are ISO 8601 datetimes (a plain date is accepted too, meaning its start).
- Every operation documents its errors: 400 for an invalid parameter (`{"<param>": ["message"]}`), 401
  without a valid token and 404 for an id the token's owner cannot see (`{"detail": "message"}`).
"""

from typing import Any

ID_PARAMETERS = frozenset({"unit", "account"})
MOMENT_PARAMETERS = frozenset({"since", "until"})
MAX_ID = 10**18 - 1  # the API accepts ids of up to 18 digits (see the query-parameter parser)

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_FIELD_ERRORS = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
ERRORS = {
    "400": ("A query parameter is invalid; the body names it.", _FIELD_ERRORS),
    "401": ("No token, or an invalid or revoked one.", _DETAIL),
    "404": ("An id that does not exist or that the token's owner cannot see.", _DETAIL),
}


def document_errors_and_id_bounds(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") in ID_PARAMETERS and parameter["schema"].get("type") == "integer":
                    parameter["schema"] |= {"minimum": 1, "maximum": MAX_ID}
                if parameter.get("name") in MOMENT_PARAMETERS and parameter["schema"].get("type") == "string":
                    parameter["schema"]["format"] = "date-time"
            responses = operation.setdefault("responses", {})
            for status, (description, schema) in ERRORS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": schema}}}
                )
    return result
