"""Single sign-on in a real browser: the sign-in page's "Sign in with <provider>" button, the provider
(the loopback OpenID Connect double, consenting at once as the officer) and back to the officer's own
home; and a person the provider knows but Chorus does not, refused with the reason. Screenshots of both
are kept under var/test-artifacts/."""

from __future__ import annotations

import re

from django.conf import settings
from playwright.sync_api import expect

from accounts_registry.models import AuditEvent, Role
from tests.e2e.axe import axe_violations, blocking
from tests.factories import MemberFactory, UserFactory, grant

ARTIFACTS = settings.BASE_DIR / "var" / "test-artifacts"


def test_an_officer_signs_in_with_the_organizations_provider(page, page_log, live_server, org, oidc_provider):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    user = UserFactory.create(username="pc-sso")
    MemberFactory.create(full_name="Sam Okafor", unit=org["north"], email="sam.okafor@police.example", user=user)
    grant(user, Role.MEMBER, org["north"])
    oidc_provider.user = {"sub": "idp-sam", "email": "sam.okafor@police.example", "email_verified": True}

    page.goto(f"{live_server.url}/inbox/")
    button = page.get_by_role("button", name="Sign in with Metro SSO")
    expect(button).to_be_visible()
    assert blocking(axe_violations(page)) == []
    page.screenshot(path=str(ARTIFACTS / "sso-sign-in-page.png"), full_page=True)
    with page.expect_navigation(url=re.compile(r"/inbox/")):
        button.click()
    # Through the provider and back, to the page the officer asked for first.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inbox")
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam Okafor")
    page.screenshot(path=str(ARTIFACTS / "sso-member-home.png"), full_page=True)
    assert oidc_provider.requests_to(r"^/token$"), "the code was exchanged at the provider"
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.LOGIN, actor=user).exists()
    page_log.assert_clean()


def test_a_person_unknown_to_chorus_is_refused_with_the_reason(page, page_log, live_server, org, oidc_provider):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    oidc_provider.user = {"sub": "idp-x", "email": "contractor@police.example", "email_verified": True}

    page.goto(f"{live_server.url}/accounts/login/")
    with page.expect_navigation(url=re.compile(r"/accounts/oidc/sso/login/callback/")):
        page.get_by_role("button", name="Sign in with Metro SSO").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chorus did not sign you in")
    expect(page.get_by_role("alert")).to_contain_text(
        "No member of Chorus has the e-mail address contractor@police.example"
    )
    assert blocking(axe_violations(page)) == []
    page.screenshot(path=str(ARTIFACTS / "sso-refused.png"), full_page=True)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page_log.assert_clean(allowed_console_errors=("403",))
