"""A comms manager triages three waiting items with the keyboard alone, in headless chromium: assign one
to themself, mark one handled choosing the reason with the arrow keys, dismiss one, and write a note —
with no console error and no Content-Security-Policy violation."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts_registry.models import Role
from engagement.models import TriageItem, TriageNote
from tests.factories import UserFactory, grant, inbox_item

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def test_triage_three_items_with_the_keyboard_alone(page, page_log, live_server, login, org, north_account):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    now = timezone.now()
    # All normal priority and under the target: the oldest comes first.
    first = inbox_item(north_account, text="Thanks for the safety tips!", minutes_ago=50, now=now)
    second = inbox_item(north_account, text="Great job at the parade today", minutes_ago=40, now=now)
    third = inbox_item(north_account, text="lol ok", minutes_ago=30, now=now)
    rows = {item.pk: page.locator(f"#item-{item.pk}") for item in (first, second, third)}

    login("comms", PASSWORD)
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator(".inbox-row")).to_have_count(3)

    # ? shows the help, ? hides it again.
    help_overlay = page.locator("#inbox-help")
    expect(help_overlay).to_be_hidden()
    page.keyboard.press("?")
    expect(help_overlay).to_be_visible()
    expect(help_overlay).to_contain_text("Assign to me")
    page.keyboard.press("?")
    expect(help_overlay).to_be_hidden()

    # j, a: the first item is assigned to me; the row is replaced in place and keeps the focus.
    page.keyboard.press("j")
    expect(rows[first.pk]).to_be_focused()
    page.keyboard.press("a")
    expect(rows[first.pk]).to_contain_text("Assigned to comms")
    expect(rows[first.pk]).to_be_focused()

    # j, h, ArrowDown twice, Enter: the second is handled, answered by phone (there is no default reason).
    page.keyboard.press("j")
    expect(rows[second.pk]).to_be_focused()
    page.keyboard.press("h")
    reason = rows[second.pk].locator("select[name=reason]")
    expect(reason).to_be_focused()
    expect(reason).to_have_value("")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(reason).to_have_value("answered_by_phone")
    page.keyboard.press("Enter")
    expect(rows[second.pk]).to_contain_text("Answered by phone")
    expect(rows[second.pk]).to_be_focused()

    # j, d: the third is dismissed.
    page.keyboard.press("j")
    expect(rows[third.pk]).to_be_focused()
    page.keyboard.press("d")
    expect(rows[third.pk]).to_contain_text("Dismissed")

    # k, k, n: the first item opens with its note field focused; letters typed there are text, not
    # shortcuts; Tab reaches the button and Enter adds the note.
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(rows[first.pk]).to_be_focused()
    page.keyboard.press("n")
    note = rows[first.pk].locator("textarea[name=text]")
    expect(note).to_be_focused()
    page.keyboard.type("j d a h: replied by DM")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(rows[first.pk]).to_contain_text("Note added.")
    expect(rows[first.pk].locator(".inbox-notes")).to_contain_text("j d a h: replied by DM")

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert (first.status, first.assignee) == (TriageItem.Status.WAITING, user)
    assert (second.status, second.handled_reason, second.closed_by) == ("handled", "answered_by_phone", user)
    assert (third.status, third.closed_by) == ("dismissed", user)
    assert list(TriageNote.objects.values_list("item_id", "text")) == [(first.pk, "j d a h: replied by DM")]
    page_log.assert_clean()


def test_escape_closes_an_opened_item(page, page_log, live_server, login, org, north_account):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    item = inbox_item(north_account, text="where is 11 station?", now=timezone.now() - datetime.timedelta(minutes=5))
    login("comms", PASSWORD)
    page.goto(f"{live_server.url}/inbox/")
    row = page.locator(f"#item-{item.pk}")

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(row).to_contain_text("Conversation")
    page.keyboard.press("Escape")
    expect(row).not_to_contain_text("Conversation")
    expect(row).to_be_focused()
    page_log.assert_clean()


def test_bulk_action_on_the_selection(page, page_log, live_server, login, org, north_account):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    now = timezone.now()
    items = [
        inbox_item(north_account, text=f"hello number {index}", minutes_ago=30 - index, now=now) for index in range(3)
    ]
    rows = [page.locator(f"#item-{item.pk}") for item in items]
    selected = page.locator("input[name=items]:checked")
    login("comms", PASSWORD)
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator(".inbox-row")).to_have_count(3)

    # Each key waits for what the person sees: the focused row, the ticked box.
    page.keyboard.press("j")
    expect(rows[0]).to_be_focused()
    page.keyboard.press("x")
    expect(rows[0].locator("input[name=items]")).to_be_checked()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows[2]).to_be_focused()
    page.keyboard.press("x")
    expect(rows[2].locator("input[name=items]")).to_be_checked()
    expect(selected).to_have_count(2)
    page.select_option("#bulk-action", "dismiss")
    page.get_by_role("button", name="Apply", exact=True).click()

    expect(page.locator("#inbox-bulk-result")).to_contain_text("Dismiss: 2 items updated.")
    expect(rows[0]).to_contain_text("Dismissed")
    expect(rows[2]).to_contain_text("Dismissed")
    expect(rows[1]).not_to_contain_text("Dismissed")
    statuses = dict(TriageItem.objects.values_list("pk", "status"))
    assert [statuses[item.pk] for item in items] == ["dismissed", "waiting", "dismissed"]
    page_log.assert_clean()


def test_select_all_is_offered_again_in_a_list_swapped_in(page, page_log, live_server, login, org, north_account):
    """ "N new — show" swaps a new list and bulk bar in with htmx: the "All on this page" box (rendered
    hidden, useless without JavaScript) is shown in the new bar too, not only in the page first loaded."""
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    now = timezone.now()
    for index in range(2):
        inbox_item(north_account, text=f"hello number {index}", minutes_ago=30 - index, now=now)
    login("comms", PASSWORD)
    page.goto(f"{live_server.url}/inbox/")
    select_all = page.get_by_label("All on this page")
    expect(select_all).to_be_visible()

    inbox_item(north_account, text="a new one", minutes_ago=1, now=timezone.now())
    # What the "N new — show" button does (it appears after the 30-second poll).
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#inbox-results', swap: 'outerHTML'})", f"{live_server.url}/inbox/"
    )
    expect(page.locator(".inbox-row")).to_have_count(3)
    expect(select_all).to_be_visible()
    select_all.check()
    expect(page.locator("input[name=items]:checked")).to_have_count(3)
    page_log.assert_clean()
