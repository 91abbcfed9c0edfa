"""Each role's home in a real browser: the comms manager's organization overview (expand a branch, sort it,
open a unit and its activity), a supervisor's subtree only, a member's own page. No CSP violation, no
console error. Screenshots are kept under var/test-artifacts/ (gitignored) for people to look at."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts_registry.models import Role
from tests.factories import UserFactory, grant
from tests.overview.conftest import planted  # noqa: F401 — the fixture planting the known figures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"overview-{name}.png"), full_page=True)


def test_comms_manager_expands_the_tree_sorts_it_and_opens_a_unit(page, page_log, live_server, login, org, planted):  # noqa: F811
    user = UserFactory(username="comms-e2e", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["root"])
    login("comms-e2e", PASSWORD)
    page.goto(f"{live_server.url}/?period=30")
    expect(page.get_by_role("heading", name="Needs attention now")).to_be_visible()
    expect(page.get_by_role("link", name="1 possible emergency waiting")).to_be_visible()
    north_row = page.locator(f"#row-{org['north'].pk}")
    expect(north_row).to_contain_text("North Division")
    # Expand North: its two children appear under it (htmx), then hide them again.
    north_row.get_by_role("button", name="Show the sub-units of North Division").click()
    branch = page.locator(f"#sub-{org['north'].pk}")
    expect(branch.get_by_role("link", name="11 Station", exact=True)).to_be_visible()
    expect(branch.get_by_role("link", name="Traffic Team", exact=True)).to_be_visible()
    # Sort the branch by posts, busiest first: Traffic Team (1000 a day) before 11 Station (100).
    branch.get_by_role("link", name="Posts").click()
    expect(branch.locator("tbody tr").first).to_contain_text("Traffic Team")
    shot(page, "comms-manager")
    branch.get_by_role("button", name="Hide the sub-units of North Division").click()
    expect(branch.get_by_role("link", name="11 Station", exact=True)).to_have_count(0)
    # Open the unit: its page loads the activity section (roll-up, charts with tables, flags, health).
    north_row.get_by_role("link", name="North Division", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("North Division")
    expect(page.get_by_role("heading", name="Activity of North Division and its sub-units")).to_be_visible()
    expect(page.locator("figure.chart svg[role=img]").first).to_be_visible()
    shot(page, "unit")
    page_log.assert_clean()


def test_supervisor_home_is_their_subtree(page, page_log, live_server, login, org, planted):  # noqa: F811
    user = UserFactory(username="north-sup-e2e", password=PASSWORD)
    grant(user, Role.SUPERVISOR, org["north"])
    login("north-sup-e2e", PASSWORD)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="North Division")).to_be_visible()
    expect(page.locator(f"#row-{org['11'].pk}")).to_contain_text("11 Station")
    body = page.content()
    for hidden in ("Metro Police Service", "South Division", "51 Station"):
        assert hidden not in body, hidden
    shot(page, "supervisor")
    page_log.assert_clean()


def test_member_home_shows_their_own_accounts(page, page_log, live_server, login, org, north_member, north_account):
    user = UserFactory(username="alex-e2e", password=PASSWORD)
    north_member.user = user
    north_member.save(update_fields=["user"])
    login("alex-e2e", PASSWORD)
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Alex North")).to_be_visible()
    expect(page.get_by_role("heading", name="Your accounts")).to_be_visible()
    expect(page.get_by_role("link", name="X @TPS11Alex")).to_be_visible()
    shot(page, "member")
    page_log.assert_clean()
