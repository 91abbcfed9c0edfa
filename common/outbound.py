"""The one guard for every outbound request to a destination a user (or an operator's alert setting) configured.

Mastodon instance URLs, the Slack/Teams alert webhook and any later such destination go through it twice:
- when the URL is saved, `destination_check` refuses it unless it is https and every address its host resolves
  to is public (not loopback, private, link-local — the cloud metadata service at 169.254.169.254 among
  them —, multicast, reserved or otherwise non-global);
- when a request is sent, `outbound_session()` resolves the host again, refuses a non-public address and
  connects to the very address it checked (DNS may have changed since the save; pinning the checked address
  leaves no window for a rebinding), never follows a redirect, and refuses plain http. This part is
  requests-hardened's IP filter, a maintained library.

The operator may allow specific origins with CHORUS_OUTBOUND_ALLOWLIST (`scheme://host[:port]`, a missing
port meaning any): the demo and the tests list the loopback API doubles there. Nothing else is exempt.
The platform API bases (CHORUS_*_API_BASE) are operator settings, not user input, and do not use this guard.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import BaseAdapter, HTTPAdapter
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES

if TYPE_CHECKING:
    from collections.abc import Mapping

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(requests.RequestException, ValueError):
    """A destination the guard refuses. The message is for an admin: it names the reason, not the addresses."""


def _allowlist() -> list[tuple[str, str, int | None]]:
    """(scheme, host, port or None for any) of each CHORUS_OUTBOUND_ALLOWLIST origin."""
    entries = []
    for origin in getattr(settings, "CHORUS_OUTBOUND_ALLOWLIST", []):
        parts = urlsplit(origin)
        if parts.scheme and parts.hostname:
            entries.append((parts.scheme, parts.hostname, parts.port))
    return entries


def is_allowlisted(url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return any(
        parts.scheme == scheme and parts.hostname == host and (allowed_port is None or port == allowed_port)
        for scheme, host, allowed_port in _allowlist()
    )


def is_public_address(address: IPAddress) -> bool:
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    if mapped is not None:
        address = mapped
    return (
        address.is_global
        and not address.is_multicast
        and not any(address in network for network in EXTRA_BLOCKED_NET_RANGES)
    )


def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeDestination(f"the host {host} cannot be resolved") from error
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def destination_check(url: str) -> str:
    """The URL, if it may be saved as an outbound destination; UnsafeDestination (with the reason) if not.

    Resolves the host (a DNS lookup): call it where a user saves the URL, not on every page view.
    """
    if is_allowlisted(url):
        return url
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise UnsafeDestination("the URL must start with https://")
    if parts.username or parts.password:
        raise UnsafeDestination("the URL must not carry a user name or password")
    try:
        host, port = parts.hostname, parts.port or 443
    except ValueError as error:
        raise UnsafeDestination("the URL has an invalid port") from error
    if not host:
        raise UnsafeDestination("the URL has no host")
    addresses = _addresses(host, port)
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise UnsafeDestination(f"{host} is not a public internet address (private, loopback or reserved)")
    return url


class _RefusePlainHttp(BaseAdapter):
    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        raise UnsafeDestination("the URL must start with https://")

    def close(self) -> None:
        pass


def outbound_session(*, timeout: float | None = None, headers: Mapping[str, str] | None = None) -> requests.Session:
    """A requests session for user-configured destinations: connect-time address check with the checked
    address pinned, no redirects, https only; allowlisted origins are reached directly."""
    request_timeout = timeout if timeout is not None else settings.CHORUS_HTTP_TIMEOUT
    session = HTTPSession(
        Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(request_timeout, request_timeout),
        )
    )
    session.mount("http://", _RefusePlainHttp())
    # requests picks the adapter with the longest matching prefix: an allowlisted origin wins.
    for scheme, host, port in _allowlist():
        netloc = f"[{host}]" if ":" in host else host
        prefixes = (
            [f"{scheme}://{netloc}:{port}/"] if port is not None else [f"{scheme}://{netloc}/", f"{scheme}://{netloc}:"]
        )
        for prefix in prefixes:
            session.mount(prefix, HTTPAdapter())
    if headers:
        session.headers.update(headers)
    return session
