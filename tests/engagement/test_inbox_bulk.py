""" "All N matching" (engagement/views/inbox_bulk.py, triage_bulk_matching): counted and confirmed by the
server from the parsed filters, applied to the confirmed items still matching, scoped, audited, undoable."""

import re
import uuid

import pytest
import time_machine
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.capabilities import Action
from accounts_registry.models import AuditEvent, Role
from engagement.forms import InboxFilterForm, MatchingSelection
from engagement.models import TriageItem
from engagement.selectors.inbox import PAGE_SIZE
from engagement.services.triage_actions import BulkAction, triage_bulk_matching, triage_handle
from tests.factories import FROZEN_NOW, UserFactory, grant, inbox_item

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
MATCHING = reverse("inbox:bulk-matching")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(FROZEN_NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-bulk-{uuid.uuid4().hex}"}}


@pytest.fixture
def spam(north_account):
    """Twelve waiting items from one author (more than a page's worth is not needed: the set is the filter's)."""
    return [
        inbox_item(north_account, text=f"buy followers {n}", author=("66", "spammer", "Spam"), minutes_ago=n + 1)
        for n in range(12)
    ]


@pytest.fixture
def others(north_account, south_account):
    return {
        "north": inbox_item(north_account, text="is the desk open?", minutes_ago=30, category="question"),
        "south": inbox_item(south_account, text="buy followers south", author=("66", "spammer", "Spam")),
    }


def filters_for(user, query):
    filters, _cursor = InboxFilterForm(dict(pair.split("=") for pair in query.split("&")), user=user).strict_filters()
    return filters


def statuses(items):
    return [TriageItem.objects.get(pk=item.pk).status for item in items]


# --- The service ---------------------------------------------------------------------------------------


def test_acts_on_the_confirmed_items_that_still_match_and_on_nothing_else(viewer, spam, others, north_account):
    filters = filters_for(viewer, "category=other")
    confirmed = [item.pk for item in spam]
    triage_handle(item=spam[0], reason="spam", actor=viewer)  # someone closed one meanwhile
    arrived = inbox_item(north_account, text="buy followers, late", minutes_ago=0)  # matches, but came after

    result = triage_bulk_matching(
        user=viewer,
        filters=filters,
        confirmed_ids=confirmed,
        action=BulkAction.DISMISS,
        capability=Action.TRIAGE_DISMISS,
        actor=viewer,
    )

    assert sorted(item.pk for item in result.updated) == confirmed[1:]
    assert (result.confirmed, result.left_alone) == (12, 1)
    assert statuses(spam[1:]) == ["dismissed"] * 11
    assert statuses([spam[0]]) == ["handled"]  # not overwritten: it had stopped matching the waiting tab
    assert statuses([arrived, others["north"], others["south"]]) == ["waiting", "waiting", "waiting"]
    dismissed = AuditEvent.objects.filter(verb=AuditEvent.Verb.TRIAGE_DISMISS, actor=viewer)
    assert sorted(int(pk) for pk in dismissed.values_list("target_id", flat=True)) == confirmed[1:]


def test_the_ids_narrow_the_filter_never_widen_it(viewer, spam, others):
    """Ids outside the filter (another category) or outside the user's scope (South) are left alone."""
    filters = filters_for(viewer, "q=buy")
    confirmed = [spam[0].pk, others["north"].pk, others["south"].pk]
    result = triage_bulk_matching(
        user=viewer,
        filters=filters,
        confirmed_ids=confirmed,
        action=BulkAction.DISMISS,
        capability=Action.TRIAGE_DISMISS,
        actor=viewer,
    )
    assert [item.pk for item in result.updated] == [spam[0].pk]
    assert result.left_alone == 2
    assert statuses([others["north"], others["south"]]) == ["waiting", "waiting"]


# --- The views -----------------------------------------------------------------------------------------


def confirm(client, **data):
    response = client.post(MATCHING, {"action": "dismiss", **data}, headers=HTMX)
    assert response.status_code == 200
    return response


def selection_of(response):
    match = re.search(r'name="selection" value="([^"]+)"', response.content.decode())
    assert match is not None, "no confirmation in the response"
    return match.group(1)


def test_counts_confirms_with_n_acts_and_undoes(client, viewer, spam, others):
    client.force_login(viewer)
    asked = confirm(client, back="q=buy")
    assertContains(asked, "Dismiss: all 12 items matching these filters?")
    assertContains(asked, "Yes, 12 items")
    assert statuses(spam) == ["waiting"] * 12  # nothing done before the confirmation

    done = confirm(client, back="q=buy", selection=selection_of(asked))
    assertContains(done, "Dismiss: 12 items updated.")
    assert statuses(spam) == ["dismissed"] * 12
    assert statuses([others["north"], others["south"]]) == ["waiting", "waiting"]
    # The count follows, out of band: a search counts the tab shown (waiting) only.
    assertContains(done, 'id="count-waiting">0<')
    assertNotContains(done, 'id="count-dismissed"')

    undo_form = done.content.decode().partition('<form id="bulk-undo"')[2]
    undo_ids = re.findall(r'name="items" value="(\d+)"', undo_form)
    assert sorted(map(int, undo_ids)) == sorted(item.pk for item in spam)
    undo = client.post(
        reverse("inbox:bulk"), {"action": "reopen", "items": undo_ids, "confirmed": "1", "back": "q=buy"}, headers=HTMX
    )
    assertContains(undo, "Reopen: 12 items updated.")
    assert statuses(spam) == ["waiting"] * 12


def test_the_result_says_how_many_were_left_alone(client, viewer, spam):
    client.force_login(viewer)
    asked = confirm(client, back="q=buy")
    triage_handle(item=spam[3], reason="spam", actor=viewer)
    done = confirm(client, back="q=buy", selection=selection_of(asked))
    assertContains(done, "Dismiss: 11 items updated. 1 no longer matched the filters and was left alone.")


def test_a_selection_for_other_filters_or_another_user_is_counted_again(client, viewer, owner, spam, others):
    client.force_login(viewer)
    narrow = selection_of(confirm(client, back="q=buy"))
    again = confirm(client, back="category=question", selection=narrow)  # other filters than signed
    assertContains(again, "Dismiss: all 1 item matching these filters?")
    client.force_login(owner)
    again = confirm(client, back="q=buy", selection=narrow)  # signed for the supervisor, not this admin
    assertContains(again, "all 12 items matching")
    assert statuses(spam) == ["waiting"] * 12


def test_a_forged_selection_is_refused(client, viewer, spam):
    client.force_login(viewer)
    response = confirm(client, back="q=buy", selection="forged:token")
    assertContains(response, "This confirmation is not valid")
    assert statuses(spam) == ["waiting"] * 12


def test_more_than_the_cap_is_refused(client, viewer, spam, monkeypatch):
    monkeypatch.setattr("engagement.views.inbox_bulk.MATCHING_MAX", 5)
    client.force_login(viewer)
    response = confirm(client, back="q=buy")
    assertContains(response, "More than 5 items match: narrow the filters")
    assert "selection" not in response.content.decode()


def test_handle_needs_a_reason(client, viewer, spam):
    client.force_login(viewer)
    response = client.post(MATCHING, {"action": "handle", "back": "q=buy"}, headers=HTMX)
    assertContains(response, "Choose why the item is handled")


def test_another_units_supervisor_acts_only_inside_their_subtree(client, outsider, spam, others, org):
    client.force_login(outsider)
    # A filter naming the other unit is a 404, as anywhere in the inbox.
    assert (
        client.post(MATCHING, {"action": "dismiss", "back": f"unit={org['north'].pk}"}, headers=HTMX).status_code == 404
    )
    # The same words match in both units: South's supervisor counts, confirms and acts on South's item only.
    asked = confirm(client, back="q=buy")
    assertContains(asked, "all 1 item matching")
    done = confirm(client, back="q=buy", selection=selection_of(asked))
    assertContains(done, "Dismiss: 1 item updated.")
    assert statuses(spam) == ["waiting"] * 12
    assert statuses([others["south"]]) == ["dismissed"]


def test_a_selection_naming_another_units_items_changes_none_of_them(client, outsider, spam, others):
    """Even a validly signed selection of North's ids (as if leaked) acts only within South's scope."""
    client.force_login(outsider)
    leaked = MatchingSelection(
        user_id=outsider.pk, query="q=buy", issued_at=FROZEN_NOW, ids=[item.pk for item in spam]
    ).encode()
    done = confirm(client, back="q=buy", selection=leaked)
    assertContains(done, "Dismiss: 0 items updated. 12 no longer matched the filters and were left alone.")
    assert statuses(spam) == ["waiting"] * 12


def test_a_member_may_not_dismiss_all_matching(client, org, north_member, spam):
    """The capabilities table, asked before the confirmation: a member handles but does not dismiss."""
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    grant(user, Role.MEMBER, org["11"])
    client.force_login(user)
    assert client.post(MATCHING, {"action": "dismiss", "back": "q=buy"}, headers=HTMX).status_code == 403
    asked = confirm(client, action="handle", reason="spam", back="q=buy")
    assertContains(asked, "Mark handled (Spam or abuse): all 12 items matching these filters?")


def test_the_page_offers_all_matching_beyond_the_page(client, viewer, north_account):
    for n in range(PAGE_SIZE + 1):
        inbox_item(north_account, text=f"item {n}", minutes_ago=n + 1)
    client.force_login(viewer)
    response = client.get(reverse("inbox:index"))
    assertContains(response, f"Apply to all {PAGE_SIZE + 1} matching these filters")
    assertContains(response, f'formaction="{MATCHING}"')
    one_page = client.get(reverse("inbox:index") + "?q=item%2050")
    assertNotContains(one_page, "matching these filters")  # everything matching is on the page
