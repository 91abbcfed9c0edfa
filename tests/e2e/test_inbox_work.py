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
    page.get_by_role("button", name="Apply", exact=True).click()

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


def test_search_order_and_someone_else_acting_first(browser, page, page_log, live_server, comms, org, north_account):
    now = timezone.now()
    bike = inbox_item(north_account, text="Mon vélo a été volé <b>hier</b>", now=now, minutes_ago=30)
    older = inbox_item(north_account, text="Is the desk open?", now=now, minutes_ago=90, is_question=True)
    _sign_in(page, live_server, "comms")
    page.set_viewport_size(DESKTOP)

    # Accent- and case-insensitive, the match marked, the hostile markup shown as text.
    page.goto(f"{live_server.url}/inbox/?q=VELO")
    expect(page.locator(".inbox-row")).to_have_count(1)
    expect(page.locator(f"#item-{bike.pk} mark")).to_have_text("vélo")
    expect(page.locator(f"#item-{bike.pk} .inbox-text")).to_contain_text("<b>hier</b>")
    expect(page.get_by_role("link", name="Remove the filter Search text and authors: “VELO”")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "inbox-search-1366x900.png"))

    # Order: newest first, then the oldest waiting question in one click.
    page.goto(f"{live_server.url}/inbox/")
    page.get_by_role("link", name="Newest first").click()
    expect(page.locator(".inbox-row").first).to_have_id(f"item-{bike.pk}")
    page.get_by_role("link", name="Oldest waiting question").click()
    expect(page.locator(".inbox-row").first).to_have_id(f"item-{older.pk}")

    # A colleague takes the item while this page is open: dismissing it warns and shows the change.
    colleague = UserFactory.create(username="colleague", password=PASSWORD)
    grant(colleague, Role.COMMS_MANAGER, org["north"])
    enrol_totp(colleague)
    other = browser.new_context()
    try:
        their_page = other.new_page()
        _sign_in(their_page, live_server, "colleague")
        their_page.goto(f"{live_server.url}/inbox/")
        their_page.locator(f"#item-{older.pk}").get_by_role("button", name="Assign to me").click()
        expect(their_page.locator(f"#item-{older.pk}")).to_contain_text("Assigned to colleague")
    finally:
        other.close()
    row = page.locator(f"#item-{older.pk}")
    row.get_by_role("button", name="Dismiss").click()
    expect(row).to_contain_text("Someone acted on this item a moment ago")
    expect(row).to_contain_text("Assigned to colleague")
    assert TriageItem.objects.get(pk=older.pk).status == "waiting"
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "inbox-conflict-390x844.png"))
    page_log.assert_clean(allowed_console_errors=("409",))  # the refused action, answered 409 by design
