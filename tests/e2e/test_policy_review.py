"""A North supervisor reviews policy flags in a real browser: keyboard through the queue, acknowledge one
in place, open another, see its match highlighted (hostile text escaped), mark it a false positive with a
note — with no console error and no CSP violation."""

import re

import pytest
from playwright.sync_api import expect

from accounts_registry.models import Role
from policies.models import PolicyFlag
from tests.factories import SocialAccountFactory, UserFactory, grant, ingest, make_rule

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def flags(org, north_account, south_account):
    make_rule("Case numbers", severity="critical", config={"terms": ["occurrence"]})
    make_rule("Unprofessional language", severity="warning", config={"terms": ["idiots"]})
    station = SocialAccountFactory.create(handle="MPS11Div", unit=org["11"], kind="unit")
    critical = ingest(north_account, 'Update on occurrence 2026-118: <script>alert("x")</script> more soon.')
    warning = ingest(station, "Honestly the drivers on King St are idiots today.", minutes=5)
    ingest(south_account, "South occurrence 2026-900 closed.", minutes=10)
    return {
        "critical": PolicyFlag.objects.get(message=critical),
        "warning": PolicyFlag.objects.get(message=warning),
    }


def test_supervisor_reviews_a_flag(page, page_log, live_server, login, org, flags):
    supervisor = UserFactory.create(username="north-sup", password=PASSWORD)
    grant(supervisor, Role.SUPERVISOR, org["north"])
    login("north-sup", PASSWORD)

    page.goto(f"{live_server.url}/policies/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Policy review")
    rows = page.locator("[data-flag-row]")
    expect(rows).to_have_count(2)  # nothing of South
    assert "South occurrence" not in page.content()
    expect(rows.nth(0)).to_contain_text("Case numbers")  # critical first

    # j selects the second row (warning), a acknowledges it in place.
    page.keyboard.press("j")
    page.keyboard.press("j")
    warning_row = page.locator(f"#flag-row-{flags['warning'].pk}")
    expect(warning_row).to_have_class(re.compile(r"\bis-current\b"))
    expect(warning_row).to_be_focused()
    page.keyboard.press("a")
    expect(warning_row.locator(".badge-acknowledged")).to_have_text("Acknowledged")
    expect(page.locator("#flag-counts")).to_contain_text(re.compile(r"Acknowledged\s*1"))
    flags["warning"].refresh_from_db()
    assert flags["warning"].status == "acknowledged"

    # ? shows the shortcuts; k goes back up to the critical flag; Enter opens it.
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.keyboard.press("k")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/policies/flags/{flags['critical'].pk}/")

    flagged = page.locator("[data-flagged-text]")
    expect(flagged.locator("mark")).to_have_text("occurrence")
    expect(flagged).to_contain_text('<script>alert("x")</script>')  # shown as text, never run
    assert page.locator("main script:not([src])").count() == 0

    # f jumps to the note; the false positive is recorded with it.
    page.keyboard.press("f")
    note = page.get_by_label("Why is it a false positive?")
    expect(note).to_be_focused()
    note.fill("A public occurrence number from the press release.")
    page.get_by_role("button", name="Mark false positive").click()
    review = page.locator("#review")
    expect(review.locator(".badge-false_positive")).to_have_text("False positive")
    expect(review).to_contain_text("A public occurrence number from the press release.")

    flag = PolicyFlag.objects.get(pk=flags["critical"].pk)
    assert (flag.status, flag.note, flag.reviewed_by_id) == (
        "false_positive",
        "A public occurrence number from the press release.",
        supervisor.pk,
    )
    page_log.assert_clean()


def test_false_positive_from_the_queue_asks_for_the_note(page, page_log, live_server, login, org, flags):
    supervisor = UserFactory.create(username="north-sup", password=PASSWORD)
    grant(supervisor, Role.SUPERVISOR, org["north"])
    login("north-sup", PASSWORD)
    page.goto(f"{live_server.url}/policies/")
    row = page.locator(f"#flag-row-{flags['critical'].pk}")

    # f asks for the note in a dialog; Escape closes it and sends nothing.
    page.keyboard.press("j")
    page.keyboard.press("f")
    dialog = page.get_by_role("dialog", name=re.compile("Mark false positive"))
    expect(dialog).to_be_visible()
    note = dialog.get_by_label("Why is this a false positive? (required)")
    expect(note).to_be_focused()
    page.keyboard.type("j k a r")  # typed into the note, not shortcuts
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row).to_be_focused()
    expect(row.locator(".badge-open")).to_have_text("Open")
    flags["critical"].refresh_from_db()
    assert flags["critical"].status == "open"

    # Cancel closes it too; then the note is written and the row is replaced in place.
    page.keyboard.press("f")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    page.keyboard.press("f")
    note.fill("Number already public.")
    dialog.get_by_role("button", name="Mark false positive").click()
    expect(row.locator(".badge-false_positive")).to_have_text("False positive")
    expect(row).to_be_focused()
    flags["critical"].refresh_from_db()
    assert (flags["critical"].status, flags["critical"].note) == ("false_positive", "Number already public.")
    assert page.locator("main script:not([src])").count() == 0
    page_log.assert_clean()
