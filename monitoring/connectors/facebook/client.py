"""The Graph API client: pyfacebook 0.24 with its sharp edges filed off, and the paging of an edge.

pyfacebook pitfalls guarded here (docs/platforms.md §2.5): rate-limit headers with keys the library does not
know (it raises TypeError from inside every request: `_TolerantUsage` keeps the known keys), a response
without Content-Type (KeyError), a `base_url` that must end in "/", and `sleep_on_rate_limit=False` (the
library would sleep inside the poll).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
from django.conf import settings

# pyfacebook ships no type information (no py.typed); its names are typed as Any here.
from pyfacebook import FacebookApi, LibraryError, RateLimitHeader  # type: ignore[import-untyped]
from pyfacebook import RateLimit as LibraryRateLimit

from monitoring.connectors.base import per_process

if TYPE_CHECKING:
    from collections.abc import Mapping

KNOWN_USAGE_KEYS = frozenset(field.name for field in dataclasses.fields(RateLimitHeader))


class _TolerantUsage(LibraryRateLimit):  # type: ignore[misc]  # pyfacebook is untyped
    """pyfacebook's usage-header parser, minus the crash on keys it does not know.

    The library builds `RateLimitHeader(**usage)` from `X-App-Usage` / `X-Business-Use-Case-Usage` on every
    response, so one key Meta adds raises TypeError from inside every request. This keeps the known keys
    for the library and the raw entries of the latest response (`last_usage`) for our RateLimit.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_usage: list[dict[str, Any]] = []

    def set_limit(self, headers: Mapping[str, str]) -> None:
        self.last_usage = []
        app_usage = self.parse_headers(headers, "x-app-usage")
        if isinstance(app_usage, dict):
            self.last_usage.append(app_usage)
            self.resources["app"] = RateLimitHeader(**_known_usage_keys(app_usage))
        business_usage = self.parse_headers(headers, "x-business-use-case-usage")
        if isinstance(business_usage, dict):
            for object_id, entries in business_usage.items():
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        self.last_usage.append(entry)
                        usage = RateLimitHeader(**_known_usage_keys(entry))
                        self.resources["business"][object_id][str(entry.get("type"))] = usage


def _known_usage_keys(usage: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in usage.items() if key in KNOWN_USAGE_KEYS}


class GraphClient(FacebookApi):  # type: ignore[misc]  # pyfacebook is untyped
    """FacebookApi that tolerates odd headers and counts what it sends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate_limit = _TolerantUsage()
        self.requests_sent = 0
        self.pages_read = 0
        self.last_status = 0

    def _request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests_sent += 1
        response: requests.Response = super()._request(*args, **kwargs)
        self.last_status = response.status_code
        return response

    def _parse_response(self, response: requests.Response) -> Any:
        # pyfacebook reads response.headers["Content-Type"] and raises KeyError without it. Graph only
        # answers JSON, so a missing header is read as JSON (a body that is not JSON fails parsing below).
        response.headers.setdefault("Content-Type", "application/json")
        data = super()._parse_response(response)  # raises FacebookError on a Graph error body
        if not isinstance(data, dict):
            raise LibraryError({"message": f"expected a JSON object, got {type(data).__name__}"})
        if response.status_code >= 400:  # an HTTP error without a Graph error body (a proxy, say)
            raise LibraryError({"message": f"HTTP {response.status_code} without a Graph error body"})
        return data

    def get_connection(self, object_id: str, connection: str, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().get_connection(object_id=object_id, connection=connection, **kwargs)
        if not isinstance(data.get("data"), list):
            raise LibraryError({"message": f"the {connection} edge answered without a data list"})
        self.pages_read += 1
        return data


def edge_items(client: GraphClient, object_id: str, edge: str, *, since: str | None, **params: Any) -> list[Any]:
    """Every item of an edge, following `paging.next` (the library's own loop, with one guard).

    Graph pages posts by time: the next link carries `until` and `__paging_token`, and may drop `since` or
    send it blank, which would page on into the Page's whole history. `since` is put back on every page.
    """
    args: dict[str, Any] = {**params, **({"since": since} if since else {})}
    items: list[Any] = []
    followed: set[str] = set()
    while True:
        data = client.get_connection(object_id=object_id, connection=edge, **args)
        items.extend(data["data"])
        paging = data.get("paging")
        next_link = paging.get("next") if isinstance(paging, dict) else None
        if not isinstance(next_link, str) or not next_link or next_link in followed:
            return items
        followed.add(next_link)
        args = dict(parse_qsl(urlsplit(next_link).query))  # blank values (`since=`) are dropped here
        if since:
            args["since"] = since


def graph_client(access_token: str) -> GraphClient:
    base_url = settings.CHORUS_FACEBOOK_API_BASE
    client = GraphClient(
        access_token=access_token,
        app_secret=settings.CHORUS_FACEBOOK_APP_SECRET or None,  # adds appsecret_proof when set
        version=settings.CHORUS_FACEBOOK_API_VERSION,
        base_url=base_url if base_url.endswith("/") else f"{base_url}/",  # pyfacebook appends "v24.0/..."
        timeout=settings.CHORUS_HTTP_TIMEOUT,
        sleep_on_rate_limit=False,
    )
    # One connection pool per process, reused by every poll (pyfacebook passes the URL and the timeout with
    # each request, and reads the usage headers itself: the session holds nothing of one account).
    client.session = per_process(("graph",), requests.Session)
    return client
