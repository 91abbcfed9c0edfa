"""Issue #12, working the inbox in the browser: counts that stay true after in-place and bulk actions,
a deliberate "Mark handled" (no default reason), select all on the page with a confirmation above the
threshold and an undo, and "View on …" in a new tab. Screenshots under var/test-artifacts/."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts_registry.models import AuditEvent, Role
from engagement.models import TriageItem
from tests.e2e.inbox_figures import ARTIFACTS, DESKTOP, PHONE
from tests.e2e.test_inbox_density import PASSWORD, _many_items, _sign_in
from tests.factories import UserFactory, enrol_totp, grant, inbox_item

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def comms(org):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    enrol_totp(user)
    return user


def test_counts_update_in_place_and_handling_needs_a_reason(page, page_log, live_server, comms, north_account):
    items = _many_items(north_account, count=3)
    _sign_in(page, live_server, "comms")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator("#count-waiting")).to_have_text("3")
    row = page.locator(f"#item-{items[2].pk}")

    # No default reason: the browser refuses the empty choice, nothing is sent.
    row.get_by_role("button", name="Mark handled").click()
    expect(page.locator("#count-waiting")).to_have_text("3")
    assert TriageItem.objects.get(pk=items[2].pk).status == "waiting"

    row.locator("select[name=reason]").select_option("spam")
    row.get_by_role("button", name="Mark handled").click()
    expect(row).to_contain_text("Spam or abuse")
    expect(page.locator("#count-waiting")).to_have_text("2")  # swapped out of band, no reload
    expect(page.locator("#count-handled")).to_have_text("1")

    page.locator(f"#item-{items[1].pk}").get_by_role("button", name="Dismiss").click()
    expect(page.locator("#count-waiting")).to_have_text("1")
    expect(page.locator("#count-dismissed")).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / "inbox-counts-1366x900.png"))
    page_log.assert_clean()


def test_select_all_confirm_above_the_threshold_and_undo(page, page_log, live_server, comms, north_account):
    _many_items(north_account, count=12)
    _sign_in(page, live_server, "comms")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/inbox/")
    page.get_by_label("All on this page").check()
    expect(page.locator("input[name=items]:checked")).to_have_count(12)
    page.select_option("#bulk-action", "dismiss")
    page.locator("#bulk-form").get_by_role("button", name="Apply").click()

    # 12 > 10: asked first, nothing changed yet.
    confirm = page.get_by_role("button", name="Yes, 12 items")
    expect(confirm).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "inbox-bulk-confirm-1366x900.png"))
    assert TriageItem.objects.filter(status="dismissed").count() == 0
    confirm.click()
    expect(page.locator("#inbox-bulk-result")).to_contain_text("12 items updated")
    expect(page.locator("#count-dismissed")).to_have_text("12")
    expect(page.locator("#count-waiting")).to_have_text("0")

    page.locator("#inbox-bulk-result").get_by_role("button", name="Undo").click()
    expect(page.locator("#count-waiting")).to_have_text("12")
    expect(page.locator("#count-dismissed")).to_have_text("0")
    assert TriageItem.objects.filter(status="waiting").count() == 12
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.TRIAGE_REOPEN).count() == 12
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "inbox-bulk-undo-390x844.png"))
    page_log.assert_clean()


def test_view_on_the_platform_opens_a_new_tab(page, page_log, live_server, comms, north_account):
    item = inbox_item(north_account, text="Is the front desk open?", now=timezone.now(), url="https://x.com/a/status/1")
    _sign_in(page, live_server, "comms")
    page.goto(f"{live_server.url}/inbox/")
    page.locator(f"#item-{item.pk}").get_by_role("link", name="Open").click()
    link = page.get_by_role("link", name="View on X")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    page_log.assert_clean()
