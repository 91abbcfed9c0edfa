"""The printable unit report in a real browser: a supervisor opens it from their unit's page, the print
stylesheet (chromium's print emulation) leaves out the navigation and the period picker and prints the
charts' numbers as one table, and chromium prints it to a PDF. No CSP violation, no console error. The
screenshots and the PDF are kept under var/test-artifacts/ (gitignored) for people to look at."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts_registry.models import Role
from tests.factories import UserFactory, grant
from tests.overview.conftest import PERIOD, planted  # noqa: F401 — the fixture planting the known figures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def test_supervisor_opens_the_printable_report_and_prints_it(page, page_log, live_server, login, org, planted):  # noqa: F811
    user = UserFactory(username="north-report-e2e", password=PASSWORD)
    grant(user, Role.SUPERVISOR, org["north"])
    login("north-report-e2e", PASSWORD)
    page.goto(f"{live_server.url}/org/units/{org['north'].pk}/?start={PERIOD.start}&end={PERIOD.end}")
    page.get_by_role("link", name="Printable report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unit report: North Division")
    expect(page.locator(".report-header")).to_contain_text("Nov 11, 2026 \N{EN DASH} Nov 20, 2026 (10 days)")
    expect(page.locator(f"#row-{org['11'].pk}")).to_contain_text(str(100 * PERIOD.days))
    topbar = page.locator("header.topbar")
    picker = page.locator(".period-picker")
    expect(topbar).to_be_visible()
    expect(picker).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-screen.png"), full_page=True)

    page.emulate_media(media="print")
    expect(topbar).to_be_hidden()
    expect(picker).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("figure.chart svg").first).to_be_visible()
    expect(page.locator("table.daily-table")).to_be_visible()  # the charts' numbers print as one table
    expect(page.locator("figure.chart details").first).to_be_hidden()
    expect(page.locator(f"#row-{org['11'].pk} button.expand")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)

    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages >= 2, "the header, totals, roll-up, charts, daily table and the lists take more than one A4 page"
    page_log.assert_clean()
