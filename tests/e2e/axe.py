"""axe-core in the browser tests: the vendored engine (tests/e2e/vendor/, from npm, MPL-2.0 — test-only,
never served) evaluated into the page over the DevTools protocol, so the page's CSP does not block it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_SOURCE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


@cache
def _source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every axe violation on the current page (rule id, impact, help, the first offending nodes)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_source())
    results = page.evaluate("async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"][:3]],
        }
        for violation in results
    ]


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [violation for violation in violations if violation["impact"] in BLOCKING_IMPACTS]
