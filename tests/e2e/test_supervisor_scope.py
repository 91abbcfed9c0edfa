"""A supervisor of North Division, in a real browser: sees North's subtree, nothing of South, and a
404 page when guessing a South URL; the pages raise no CSP violation and no console error."""

import re

import pytest
from playwright.sync_api import expect

from accounts_registry.models import Role
from tests.factories import SocialAccountFactory, UserFactory, grant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(org, north_account, south_account):
    return {
        "north": [
            north_account,
            SocialAccountFactory(handle="MetroNorthDiv", platform="x", kind="unit", unit=org["north"]),
            SocialAccountFactory(handle="MetroNorthTraffic", platform="instagram", kind="unit", unit=org["traffic"]),
        ],
        "south": [
            south_account,
            SocialAccountFactory(handle="MetroSouthPage", platform="facebook", kind="unit", unit=org["south"]),
        ],
    }


def test_north_supervisor_sees_north_only(page, page_log, live_server, org, accounts):
    supervisor = UserFactory(username="north-sup", password=PASSWORD)
    grant(supervisor, Role.SUPERVISOR, org["north"])

    # Logged out, the tree sends us to the login form, which brings us back after logging in.
    page.goto(f"{live_server.url}/org/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/org/$"))
    page.fill("#id_login", "north-sup")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/org/")

    tree = page.get_by_role("list", name="Units")
    for name in ("North Division", "11 Station", "Traffic Team"):
        expect(tree.get_by_role("link", name=name, exact=True)).to_be_visible()
    body = page.content()
    for hidden in ("South Division", "51 Station", *(account.handle for account in accounts["south"])):
        assert hidden not in body, hidden

    # North's page lists the accounts of its whole subtree, and still nothing of South.
    page.get_by_role("link", name="North Division", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/org/units/{org['north'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("North Division")
    for account in accounts["north"]:
        expect(page.get_by_role("link", name=account.handle, exact=True)).to_be_visible()
    body = page.content()
    for hidden in ("South Division", "51 Station", *(account.handle for account in accounts["south"])):
        assert hidden not in body, hidden

    # Guessing South's URL gets the 404 page, not South.
    south_url = f"{live_server.url}/org/units/{org['south'].pk}/"
    response = page.goto(south_url)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert "South Division" not in page.content()

    # Chromium logs the deliberate 404 as a console error; anything else is a bug.
    page_log.assert_clean(allowed_console_errors=[south_url])
