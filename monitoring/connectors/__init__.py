"""Platform connectors: one module per platform behind the interface in `base`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitoring.connectors.base import Connector


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
