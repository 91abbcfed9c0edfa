"""The second factor in a real browser: first-time enrolment of a comms manager, with no CSP violation on
the way (the QR code is a data: image; allauth's scripts are same-origin files). Signing in with a code
is what the `login` fixture does for the comms managers of the other browser tests."""

import re

from playwright.sync_api import expect

from accounts_registry.models import Role
from tests.factories import UserFactory, grant, totp_code

PASSWORD = "correct horse battery staple"


def test_a_comms_manager_enrols_then_signs_in_with_a_code(page, page_log, live_server, org):
    user = UserFactory(username="new-comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])

    page.goto(f"{live_server.url}/inbox/")
    page.fill("#id_login", "new-comms")
    page.fill("#id_password", PASSWORD)
    # Straight to enrolment: no page of the app before a second factor. (Three hops, a password hash and
    # the QR code's first rendering: more than the default 10 s on a loaded machine, so a longer wait.)
    with page.expect_navigation(url=re.compile(r"/accounts/2fa/totp/activate/"), timeout=60_000):
        page.click("button[type=submit]")
    expect(page.get_by_role("img")).to_be_visible()  # the QR code
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("input[name=code]", totp_code(secret))
    page.click("main button[type=submit]")
    expect(page.locator("#recovery_codes")).to_be_visible()
    assert len(page.locator("#recovery_codes").input_value().split()) == 10

    page.goto(f"{live_server.url}/inbox/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inbox")
    page_log.assert_clean()
