"""What a Graph API failure means to the poller (the connector's error classes), and the rate limit Graph
reports in its usage headers."""

from __future__ import annotations

import contextlib
import datetime
import re
from typing import TYPE_CHECKING, Any

import requests
from pyfacebook import FacebookError, LibraryError  # type: ignore[import-untyped]  # pyfacebook is untyped

from monitoring.connectors.base import (
    AuthError,
    ConnectorError,
    MalformedPayload,
    ObjectMissing,
    PermissionMissing,
    RateLimit,
    RateLimited,
    TransientError,
)
from monitoring.connectors.facebook.parse import as_int

if TYPE_CHECKING:
    from collections.abc import Iterator

    from monitoring.connectors.facebook.client import GraphClient

# Graph error codes (docs/platforms: Graph "Handling Errors"), by what the poller must do about them.
TOKEN_CODES = frozenset({102, 190})  # the token expired, was revoked or is invalid: reconnect
PERMISSION_CODES = frozenset({3, 10})  # plus the 200-299 range: a permission is missing: reconnect granting it
THROTTLE_CODES = frozenset({4, 17, 32, 613})  # plus 80000-80099, the business use case throttles
TRANSIENT_CODES = frozenset({1, 2})
MISSING_CODES = frozenset({803})  # and code 100 with subcode 33: the object does not exist (or is hidden)
TOKEN_SUBCODES = {458: "app not installed", 460: "password changed", 463: "token expired", 467: "token invalid"}
# Graph names the missing permission in its message: "requires the 'pages_read_engagement' permission",
# "(#10) ... pages_read_user_content ...", "Requires pages_manage_metadata permission".
PERMISSION_NAME = re.compile(r"\b((?:pages|instagram|business|read|public)_[a-z_]+)\b")
RATE_LIMIT_FALLBACK = datetime.timedelta(seconds=60)
USAGE_PERCENT_KEYS = ("call_count", "total_cputime", "total_time")


@contextlib.contextmanager
def graph_errors(client: GraphClient) -> Iterator[None]:
    """Translate whatever the library or the network raises into the connector's error classes."""
    try:
        yield
    except FacebookError as error:
        raise _from_graph_error(error, client) from error
    except LibraryError as error:
        raise _from_status(client, str(getattr(error, "message", error))) from error
    except requests.JSONDecodeError as error:
        raise _from_status(client, f"response is not JSON: {error}") from error
    except requests.RequestException as error:
        # Not chained and not quoted: requests' messages can carry the URL, and so the access token.
        raise TransientError(f"Graph API unreachable: {type(error).__name__}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise MalformedPayload(f"unexpected Graph API payload: {type(error).__name__}: {error}") from error


def _from_graph_error(error: Any, client: GraphClient) -> ConnectorError:
    """Classify a Graph error body by code and subcode into the connector's error kinds."""
    code = as_int(getattr(error, "code", None))
    subcode = as_int(getattr(error, "error_subcode", None))
    text = str(getattr(error, "message", ""))
    message = f"Graph API error {code}{f'/{subcode}' if subcode else ''}: {text}"
    if code in THROTTLE_CODES or 80000 <= code <= 80099 or client.last_status == 429:
        return RateLimited(message, reset_at=_regain_at(client.rate_limit.last_usage))
    if code in TOKEN_CODES:
        reason = TOKEN_SUBCODES.get(subcode, "token expired or invalid")
        return AuthError(f"{message} ({reason}: reconnect the account)")
    if (code == 100 and subcode == 33) or code in MISSING_CODES:
        return ObjectMissing(message)
    named = PERMISSION_NAME.search(text)
    if code in PERMISSION_CODES or 200 <= code <= 299 or (code == 100 and (named or "permission" in text.lower())):
        permission = named.group(1) if named else ""
        return PermissionMissing(message, permission=permission)
    if code in TRANSIENT_CODES or getattr(error, "is_transient", False) or client.last_status >= 500:
        return TransientError(message)
    return ConnectorError(message)


def _from_status(client: GraphClient, detail: str) -> ConnectorError:
    status = client.last_status
    if status >= 500:
        return TransientError(f"Graph API HTTP {status}: {detail}")
    if status == 429:
        return RateLimited(f"Graph API HTTP 429: {detail}", reset_at=_regain_at(client.rate_limit.last_usage))
    if status in (401, 403):
        return AuthError(f"Graph API HTTP {status}: {detail}")
    return MalformedPayload(f"Graph API answered HTTP {status}: {detail}")


def _regain_at(usage: list[dict[str, Any]]) -> datetime.datetime:
    minutes = max((as_int(entry.get("estimated_time_to_regain_access")) for entry in usage), default=0)
    return _now() + (datetime.timedelta(minutes=minutes) if minutes > 0 else RATE_LIMIT_FALLBACK)


def rate_limit(usage: list[dict[str, Any]]) -> RateLimit | None:
    """Graph reports usage as percentages of a budget: limit is 100 and remaining what is left of it."""
    if not usage:
        return None
    percent = max((as_int(entry.get(key)) for entry in usage for key in USAGE_PERCENT_KEYS), default=0)
    minutes = max((as_int(entry.get("estimated_time_to_regain_access")) for entry in usage), default=0)
    reset_at = _now() + datetime.timedelta(minutes=minutes) if minutes > 0 else None
    return RateLimit(remaining=max(0, 100 - percent), limit=100, reset_at=reset_at)


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)
