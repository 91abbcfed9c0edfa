"""The figures of issue 12 for the review pages, printed and appended to var/test-artifacts/figures.txt:
policy rows on one 1366x900 screen, sideways scrolling at 390 px, the health page's height, the top bar's
height at 1366 px. Run before and after a change to compare (`pytest tests/e2e/test_review_figures.py -s`)."""

import pytest

from tests.e2e import figures, review_scene

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = {
    "policy queue": "/policies/",
    "health": "/monitoring/health/",
    "leaderboard": "/insights/leaderboard/",
    "org tree": "/org/",
    "inbox": "/inbox/",
}


def test_print_review_figures(page, live_server, login, org):
    review_scene.build(org)
    login("chief-admin", review_scene.PASSWORD)
    page.set_viewport_size(figures.DESKTOP)
    page.goto(f"{live_server.url}/policies/")
    figures.record("policy rows on a 1366x900 screen", figures.rows_on_first_screen(page, "[data-flag-row]"))
    figures.record("policy rows in the queue", page.locator("[data-flag-row]").count())
    figures.record(
        "policy row heights",
        page.evaluate("[...document.querySelectorAll('[data-flag-row]')].slice(0, 3).map((row) => row.offsetHeight)"),
    )
    figures.record("policy table top", int(page.locator("table.queue").bounding_box()["y"]))
    page.screenshot(path=str(figures.ARTIFACTS / "figures-policy-queue.png"))
    figures.record("top bar height at 1366 px", int(page.locator(".topbar").bounding_box()["height"]))
    page.goto(f"{live_server.url}/monitoring/health/")
    figures.record("health page height at 1366 px", figures.page_height(page))
    page.set_viewport_size(figures.PHONE)
    for name, path in PAGES.items():
        page.goto(f"{live_server.url}{path}")
        figures.record(f"sideways scroll at 390 px, {name}", figures.horizontal_overflow(page))
