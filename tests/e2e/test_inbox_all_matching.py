"""Issue #12, "all N matching" in the browser: after selecting the page, the bulk bar offers the action on
every item matching the filters with their count; the confirmation states N; an item arriving before
the confirmation is left alone; the result is undone by the bulk reopen. Screenshots under
var/test-artifacts/."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts_registry.models import AuditEvent, Role
from engagement.models import TriageItem
from engagement.selectors.inbox import PAGE_SIZE
from tests.e2e.inbox_figures import ARTIFACTS, DESKTOP, PHONE
from tests.e2e.test_inbox_density import PASSWORD, _many_items, _sign_in
from tests.factories import UserFactory, enrol_totp, grant, inbox_item

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MATCHING = PAGE_SIZE + 5  # more than a page


@pytest.fixture
def comms(org):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    enrol_totp(user)
    return user


def test_all_matching_is_counted_confirmed_scoped_and_undone(
    page, page_log, live_server, comms, north_account, south_account
):
    items = _many_items(north_account, count=MATCHING)
    south = inbox_item(south_account, text="outside the comms manager's division", now=timezone.now())
    _sign_in(page, live_server, "comms")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/inbox/")
    offer = page.get_by_role("button", name=f"Apply to all {MATCHING} matching these filters…")
    expect(offer).to_be_hidden()  # offered once the page is selected

    page.get_by_label("All on this page").check()
    expect(page.locator("input[name=items]:checked")).to_have_count(PAGE_SIZE)
    expect(offer).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "inbox-all-matching-offer-1366x900.png"))
    page.select_option("#bulk-action", "dismiss")
    offer.click()

    # The confirmation states N; nothing has changed yet.
    confirm = page.get_by_role("button", name=f"Yes, {MATCHING} items")
    expect(confirm).to_be_visible()
    expect(page.locator("#inbox-bulk-result")).to_contain_text(f"Dismiss: all {MATCHING} items matching these filters?")
    page.screenshot(path=str(ARTIFACTS / "inbox-all-matching-confirm-1366x900.png"))
    assert TriageItem.objects.filter(status="dismissed").count() == 0
    late = inbox_item(north_account, text="arrived while the person read the confirmation", now=timezone.now())

    confirm.click()
    expect(page.locator("#inbox-bulk-result")).to_contain_text(f"{MATCHING} items updated")
    expect(page.locator("#count-dismissed")).to_have_text(str(MATCHING))
    assert set(TriageItem.objects.filter(status="dismissed").values_list("pk", flat=True)) == {i.pk for i in items}
    assert TriageItem.objects.get(pk=late.pk).status == "waiting"  # not among the N confirmed
    assert TriageItem.objects.get(pk=south.pk).status == "waiting"  # outside the scope
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.TRIAGE_DISMISS).count() == MATCHING

    page.locator("#inbox-bulk-result").get_by_role("button", name="Undo").click()
    expect(page.locator("#inbox-bulk-result")).to_contain_text(f"Reopen: {MATCHING} items updated")
    expect(page.locator("#count-dismissed")).to_have_text("0")
    assert TriageItem.objects.filter(status="waiting").count() == MATCHING + 2
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.TRIAGE_REOPEN).count() == MATCHING
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(ARTIFACTS / "inbox-all-matching-undo-390x844.png"))
    page_log.assert_clean()
