"""Platform connectors: one module per platform behind the interface in `base`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitoring.connectors.base import Connector

CONNECTOR_MODULES = (
    "monitoring.connectors.x",
    "monitoring.connectors.facebook",
    "monitoring.connectors.bluesky",
    "monitoring.connectors.mastodon",
)


def connectors_preload() -> None:
    """Import every connector and its client library now. The worker calls it before its pool forks, so
    the children inherit them: imported lazily, the first poll of each child paid for the import (seconds
    for atproto's models on a busy machine) inside the task's time limit, and a child that hit the soft
    limit mid-import imported again on its next poll — the account was never polled."""
    for module in CONNECTOR_MODULES:
        importlib.import_module(module)


def connector_for(platform: str) -> Connector:
    """A connector for the platform, configured from settings (base URLs, app tokens, timeouts)."""
    if platform == "x":
        from monitoring.connectors.x.connector import XConnector

        return XConnector()
    if platform in {"facebook", "instagram"}:
        from monitoring.connectors.facebook.connector import FacebookConnector

        return FacebookConnector(platform=platform)
    if platform == "bluesky":
        from monitoring.connectors.bluesky import BlueskyConnector

        return BlueskyConnector()
    if platform == "mastodon":
        from monitoring.connectors.mastodon import MastodonConnector

        return MastodonConnector()
    raise ValueError(f"no connector for platform {platform!r}")
