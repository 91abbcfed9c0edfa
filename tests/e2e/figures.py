"""Figures and screenshots for the review pages (issue 12): what a person sees on one screen.

`measure_*` read the rendered page in the browser; `shoot` keeps a full-page screenshot under
var/test-artifacts/ (gitignored) at the two sizes the issue names; `record` prints a figure and appends it to
var/test-artifacts/figures.txt so a run's figures can be compared before and after a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from playwright.sync_api import Page, ViewportSize

DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def rows_on_first_screen(page: Page, selector: str) -> int:
    """Rows entirely inside the first viewport (scrolled to the top)."""
    page.evaluate("window.scrollTo(0, 0)")
    return int(
        page.evaluate(
            """(selector) => [...document.querySelectorAll(selector)].filter((row) => {
                 const box = row.getBoundingClientRect();
                 return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
               }).length""",
            selector,
        )
    )


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways (0: it fits the viewport's width)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def page_height(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot of the current page, kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def shoot_both(page: Page, url: str, name: str) -> None:
    """The page at 1366x900 and at 390x844 (`name-desktop.png`, `name-phone.png`)."""
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        page.goto(url)
        shoot(page, f"{name}-{label}")
    page.set_viewport_size(DESKTOP)


def record(label: str, value: object) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    line = f"{label}: {value}"
    print(line)
    with (ARTIFACTS / "figures.txt").open("a", encoding="utf-8") as figures:
        figures.write(line + "\n")
