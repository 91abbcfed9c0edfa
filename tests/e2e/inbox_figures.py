"""Figures of how the inbox feels (issue #12), measured in the browser and printed by the tests:
items fully visible on a 1366x900 screen, the first item's offset on a 390x844 phone, the height of a
row, and how long until an open item shows that someone else opened it (presence latency)."""

import time
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

_VISIBLE_ROWS = """() => {
  const rows = [...document.querySelectorAll('.inbox-row')];
  const tops = rows.map((row) => row.getBoundingClientRect());
  return {
    visible: tops.filter((box) => box.top >= 0 && box.bottom <= window.innerHeight).length,
    first_top: tops.length ? Math.round(tops[0].top + window.scrollY) : null,
    row_height: tops.length ? Math.round(tops[0].height) : null,
    page_height: document.documentElement.scrollHeight,
  };
}"""


def layout_figures(page, url, *, name):
    """Visible rows at 1366x900 and the first row's offset at 390x844; screenshots of both."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figures = {}
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto(url)
        page.wait_for_selector(".inbox-row")
        measured = page.evaluate(_VISIBLE_ROWS)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}-{size['width']}x{size['height']}.png"))
        figures[label] = measured
    print(
        f"\n[inbox figures: {name}] items visible at 1366x900: {figures['desktop']['visible']}"
        f" (row {figures['desktop']['row_height']} px, page {figures['desktop']['page_height']} px);"
        f" first item at {figures['phone']['first_top']} px on a 390x844 phone"
        f" (row {figures['phone']['row_height']} px)"
    )
    return figures


def presence_latency(watcher, visitor, url, *, name, text, limit_s):
    """Seconds from `visitor` opening the item at `url` until `watcher` (already on it) shows `text`."""
    visitor.goto(url)
    start = time.monotonic()
    watcher.wait_for_function(
        "(text) => document.querySelector('.inbox-presence')?.textContent.includes(text)",
        arg=text,
        timeout=limit_s * 1000,
        polling=100,
    )
    latency = time.monotonic() - start
    watcher.screenshot(path=str(ARTIFACTS / f"{name}-presence.png"))
    print(f"\n[inbox figures: {name}] presence latency: {latency:.1f} s")
    return latency
