"""One officer's life in Chorus, in the browser: an admin adds them, records their training and invites
them; the officer follows the e-mailed link, chooses a password and lands on their own home; the admin
onboards their X account, transfers them, then records their departure with the account handed to a
trained successor; the member page's timeline shows every step. And an untrained successor is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts_registry.models import Member, Platform, Role, SocialAccount, TrainingCourse
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory, grant

PASSWORD = "correct horse battery staple"
OFFICER_PASSWORD = "a long new passphrase 42"
ARTIFACTS = Path("var/test-artifacts")
# Many steps, each a password hash or a few writes: generous on a loaded machine.
SLOW_MS = 30_000


@pytest.fixture
def admin(org):
    user = UserFactory.create(username="people-admin", password=PASSWORD)
    grant(user, Role.ADMIN, org["root"])
    return user


def _member_page(page, live_server, member):
    page.goto(f"{live_server.url}/org/members/{member.pk}/")


def test_one_officers_life_from_invitation_to_departure(page, page_log, browser, live_server, login, org, admin):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_default_timeout(SLOW_MS)
    successor = MemberFactory.create(full_name="Maya Successor", unit=org["51"])
    TrainingFactory.create(member=successor, platforms=[Platform.X])
    login("people-admin", PASSWORD)

    # The admin adds the member.
    page.goto(f"{live_server.url}/org/members/new/")
    page.fill("#id_full_name", "Jordan Officer")
    page.fill("#id_badge_number", "J4242")
    page.fill("#id_rank", "Constable")
    page.fill("#id_email", "jordan@police.example")
    page.select_option("#id_unit", label="Metro Police Service/North Division/11 Station")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    member = Member.objects.get(badge_number="J4242")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jordan Officer")

    # A course in the catalogue, then the completion on the member page.
    page.goto(f"{live_server.url}/org/courses/")
    page.fill("#id_name", "X spokesperson")
    page.check("input[name=platforms][value=x]")
    page.fill("#id_validity_days", "365")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert TrainingCourse.objects.filter(name="X spokesperson").exists()
    _member_page(page, live_server, member)
    page.select_option("#id_course", label="X spokesperson")
    page.fill("#id_certificate_ref", "CERT-77")
    with page.expect_navigation():
        page.click("main button:has-text('Record training')")
    expect(page.locator("main")).to_contain_text("May hold a personal account")

    # The invitation: the e-mail is read from the test outbox and its link opened by the officer.
    with page.expect_navigation():
        page.click("main button:has-text('Invite to Chorus')")
    expect(page.locator("main")).to_contain_text("Invitation sent")
    [email] = [message for message in mail.outbox if "jordan@police.example" in message.to]
    found = re.search(r"https?://\S+/accounts/password/reset/key/\S+", str(email.body))
    assert found is not None, email.body
    link = found.group(0)
    link = live_server.url + link[link.index("/accounts/") :]
    officer_context = browser.new_context()
    officer_context.set_default_timeout(SLOW_MS)
    officer = officer_context.new_page()
    officer.goto(link)
    officer.fill("input[name=password1]", OFFICER_PASSWORD)
    officer.fill("input[name=password2]", OFFICER_PASSWORD)
    with officer.expect_navigation():
        officer.click("main button[type=submit]")
    officer.goto(f"{live_server.url}/accounts/login/")
    officer.fill("#id_login", "J4242")
    officer.fill("#id_password", OFFICER_PASSWORD)
    with officer.expect_navigation():
        officer.click("button[type=submit]")
    officer.goto(f"{live_server.url}/")
    assert "/accounts/login/" not in officer.url
    # Their own home: it leads to their page, and to nobody else's.
    expect(officer.locator(f"a[href='/org/members/{member.pk}/']").first).to_be_visible()
    officer.screenshot(path=ARTIFACTS / "officer-life-home.png")

    # The admin onboards the officer's X account.
    page.goto(f"{live_server.url}/org/onboard/?member={member.pk}")
    page.select_option("#id_platform", "x")
    page.fill("#id_handle", "PCJordan")
    with page.expect_navigation():
        page.click("main button:has-text('Review')")
    with page.expect_navigation():
        page.click("main button:has-text('Onboard account')")
    account = SocialAccount.objects.get(handle="PCJordan")
    assert account.holder == member

    # Transfer to South's 51 Station; the member grant on the old station is listed and revoked.
    _member_page(page, live_server, member)
    with page.expect_navigation():
        page.click("main a:has-text('Transfer')")
    page.select_option("#id_unit", label="Metro Police Service/South Division/51 Station")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("Member of 11 Station")
    with page.expect_navigation():
        page.click("main button:has-text('Revoke')")
    account.refresh_from_db()
    assert account.unit == org["51"]

    # Departure, the X account handed to a trained successor.
    with page.expect_navigation():
        page.click("main a:has-text('Record departure')")
    page.select_option(f"#id_account_{account.pk}", label=f"Maya Successor ({successor.badge_number})")
    with page.expect_navigation():
        page.click("main button:has-text('Record the departure')")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Left")
    account.refresh_from_db()
    assert account.holder == successor

    timeline = page.locator("ol.timeline")
    for step in (
        "Member created",
        "Training recorded",
        "Member invited to sign in",
        "Account onboarded",
        "Member transferred",
        "Account holder changed",
        "Member left",
        "User deactivated",
    ):
        expect(timeline).to_contain_text(step)
    page.screenshot(path=ARTIFACTS / "officer-life-timeline.png", full_page=True)
    # The officer's session ended with the login.
    officer.goto(f"{live_server.url}/")
    assert "/accounts/login/" in officer.url
    officer_context.close()
    page_log.assert_clean()


def test_an_untrained_successor_is_refused_with_the_reason(page, page_log, live_server, login, org, admin):
    leaver = MemberFactory.create(full_name="Lee Leaving", unit=org["11"])
    TrainingFactory.create(member=leaver, platforms=[Platform.X])
    account = SocialAccountFactory.create(handle="PCLee", kind="personal", platform="x", unit=org["11"], holder=leaver)
    untrained = MemberFactory.create(full_name="Robin Untrained", unit=org["11"])
    page.set_default_timeout(SLOW_MS)
    login("people-admin", PASSWORD)
    page.goto(f"{live_server.url}/org/members/{leaver.pk}/departure/")
    page.select_option(f"#id_account_{account.pk}", label=f"Robin Untrained ({untrained.badge_number})")
    with page.expect_navigation():
        page.click("main button:has-text('Record the departure')")
    expect(page.locator("[role=alert]")).to_contain_text("Robin Untrained has no current training that authorizes X.")
    leaver.refresh_from_db()
    assert leaver.left_on is None
    page_log.assert_clean()
