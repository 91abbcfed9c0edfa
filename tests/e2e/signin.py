"""Signing in through the real pages, as a person does, for the browser tests."""

from tests.factories import totp_code

SECOND_FACTOR_PATH = "/accounts/2fa/authenticate/"


def sign_in(page, base_url, username, password):
    """Sign in through the sign-in pages; returns signed in, after the post-sign-in redirect.

    The code step types the authenticator's current code. The server accepts only the code of the current
    30-second window (config/settings.py: MFA_TOTP_TOLERANCE = 0), so a code read in the last moment of
    its window can reach the server expired on a busy machine: the page then asks again, and the person
    types the new code. Without that second try the test went on signed out and failed later, waiting for
    a page element that was never there.
    """
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    for _attempt in range(2):
        if SECOND_FACTOR_PATH not in page.url:
            break
        page.fill("input[name=code]", totp_code())
        with page.expect_navigation():
            page.click(f"form[action$='{SECOND_FACTOR_PATH}'] button[type=submit]")
    assert "/accounts/login/" not in page.url, f"{username}: the password was refused"
    assert SECOND_FACTOR_PATH not in page.url, f"{username}: the second factor was refused twice"
