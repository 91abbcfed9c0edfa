"""Every named route of the URLconf, found by walking `get_resolver().url_patterns` recursively."""

from __future__ import annotations

import dataclasses

from django.urls import URLPattern, URLResolver, get_resolver


@dataclasses.dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or the pattern itself for an unnamed route
    pattern: str  # the full pattern, for messages
    params: tuple[str, ...]  # the URL's keyword arguments


def _walk(patterns: list[URLPattern | URLResolver], prefix: str, namespace: str) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            routes += _walk(entry.url_patterns, pattern, inner)
        else:
            name = f"{namespace}{entry.name}" if entry.name else pattern
            params = tuple(sorted(set(entry.pattern.regex.groupindex) | _resolver_params(prefix)))
            routes.append(Route(name=name, pattern=pattern, params=params))
    return routes


def _resolver_params(prefix: str) -> set[str]:
    import re

    return set(re.findall(r"<(?:\w+:)?(\w+)>", prefix))


def all_routes() -> list[Route]:
    return _walk(get_resolver().url_patterns, "", "")
