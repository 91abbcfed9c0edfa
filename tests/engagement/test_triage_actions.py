"""Human triage actions: each one changes the item and writes one audit event; repeating it is a no-op;
bulk actions are all or nothing; presence tells the second person who else has the item open."""

import datetime
import uuid

import pytest
import time_machine
from django.core.exceptions import ValidationError

from accounts_registry.models import AuditEvent
from engagement.models import TriageItem, TriageNote
from engagement.services import triage_actions as services
from tests.factories import FROZEN_NOW, UserFactory, inbox_item

NOW = FROZEN_NOW

pytestmark = pytest.mark.django_db


def audit(item):
    return list(
        AuditEvent.objects.filter(target_type="engagement.triageitem", target_id=str(item.pk))
        .order_by("created_at", "id")
        .values_list("verb", "actor_name", "before", "after")
    )


@pytest.fixture
def item(north_account):
    return inbox_item(north_account)


def test_assign_records_before_and_after_and_is_idempotent(item, viewer, owner):
    services.triage_assign(item=item, assignee=owner, actor=viewer)
    services.triage_assign(item=item, assignee=owner, actor=viewer)  # no-op

    item.refresh_from_db()
    assert item.assignee == owner
    assert audit(item) == [
        (
            "triage.assign",
            "north-supervisor",
            {"status": "waiting", "assignee": None, "handled_reason": ""},
            {"status": "waiting", "assignee": "north-admin", "handled_reason": ""},
        )
    ]
    event = AuditEvent.objects.get()
    assert event.unit == item.account.unit

    services.triage_assign(item=item, assignee=None, actor=viewer)
    item.refresh_from_db()
    assert item.assignee is None
    assert len(audit(item)) == 2


def test_assignee_must_see_the_item(item, viewer, outsider):
    with pytest.raises(ValidationError, match="cannot see"):
        services.triage_assign(item=item, assignee=outsider, actor=viewer)
    item.refresh_from_db()
    assert item.assignee is None
    assert audit(item) == []


def test_handle_with_a_reason(item, viewer):
    with time_machine.travel(NOW, tick=False):
        services.triage_handle(item=item, reason="answered_by_phone", actor=viewer)
        services.triage_handle(item=item, reason="answered_by_phone", actor=viewer)  # no-op

    item.refresh_from_db()
    assert (item.status, item.handled_reason, item.closed_by, item.closed_at) == (
        "handled",
        "answered_by_phone",
        viewer,
        NOW,
    )
    assert [event[0] for event in audit(item)] == ["triage.handle"]

    services.triage_handle(item=item, reason="duplicate", actor=viewer)  # a new reason is a change
    item.refresh_from_db()
    assert item.handled_reason == "duplicate"
    assert audit(item)[-1][2:] == (
        {"status": "handled", "assignee": None, "handled_reason": "answered_by_phone"},
        {"status": "handled", "assignee": None, "handled_reason": "duplicate"},
    )


def test_handle_needs_a_known_reason(item, viewer):
    with pytest.raises(ValidationError):
        services.triage_handle(item=item, reason="because", actor=viewer)
    item.refresh_from_db()
    assert item.status == "waiting"


def test_dismiss_is_idempotent(item, viewer):
    services.triage_dismiss(item=item, actor=viewer)
    services.triage_dismiss(item=item, actor=viewer)
    item.refresh_from_db()
    assert (item.status, item.handled_reason, item.closed_by) == ("dismissed", "", viewer)
    assert [event[0] for event in audit(item)] == ["triage.dismiss"]


def test_reopen_clears_the_closing_and_is_idempotent(item, viewer):
    services.triage_handle(item=item, reason="spam", actor=viewer)
    services.triage_reopen(item=item, actor=viewer)
    services.triage_reopen(item=item, actor=viewer)
    item.refresh_from_db()
    assert (item.status, item.handled_reason, item.closed_by, item.closed_at) == ("waiting", "", None, None)
    assert [event[0] for event in audit(item)] == ["triage.handle", "triage.reopen"]


def test_an_answered_item_can_be_reopened_and_keeps_its_answer(north_account, viewer):
    item = inbox_item(north_account, status="answered")
    TriageItem.objects.filter(pk=item.pk).update(first_response_seconds=600, answered_at=NOW)
    item.refresh_from_db()
    services.triage_reopen(item=item, actor=viewer)
    item.refresh_from_db()
    assert item.status == "waiting"
    assert item.first_response_seconds == 600
    assert audit(item)[0][2]["status"] == "answered"


def test_an_action_applies_to_the_current_state_not_the_stale_copy(item, viewer, owner):
    stale = TriageItem.objects.get(pk=item.pk)
    services.triage_dismiss(item=item, actor=owner)
    services.triage_dismiss(item=stale, actor=viewer)  # someone else dismissed it meanwhile: no-op
    assert [event[:2] for event in audit(item)] == [("triage.dismiss", "north-admin")]


def test_note(item, viewer):
    note = services.triage_note_add(item=item, text="  Called her back at 3pm.  ", actor=viewer)
    assert (note.text, note.author, note.item) == ("Called her back at 3pm.", viewer, item)
    assert audit(item) == [("triage.note", "north-supervisor", {}, {"note_id": note.pk, "length": 23})]
    with pytest.raises(ValidationError):
        services.triage_note_add(item=item, text="   ", actor=viewer)
    with pytest.raises(ValidationError):
        services.triage_note_add(item=item, text="x" * 4001, actor=viewer)
    assert TriageNote.objects.count() == 1


def test_bulk_applies_to_every_item_with_one_audit_event_each(north_account, viewer):
    items = [inbox_item(north_account) for _ in range(3)]
    services.triage_bulk(items=items, action="handle", reason="no_reply_needed", actor=viewer)
    assert set(TriageItem.objects.values_list("status", "handled_reason")) == {("handled", "no_reply_needed")}
    assert AuditEvent.objects.filter(verb="triage.handle").count() == 3

    services.triage_bulk(items=items, action="assign_me", actor=viewer)
    assert set(TriageItem.objects.values_list("assignee", flat=True)) == {viewer.pk}

    services.triage_bulk(items=items, action="dismiss", actor=viewer)
    assert set(TriageItem.objects.values_list("status", flat=True)) == {"dismissed"}


def test_bulk_is_all_or_nothing(north_account, south_account, viewer):
    mine = inbox_item(north_account)
    theirs = inbox_item(south_account)  # the viewer cannot be assigned South's item
    with pytest.raises(ValidationError):
        services.triage_bulk(items=[mine, theirs], action="assign_me", actor=viewer)
    assert list(TriageItem.objects.values_list("assignee", flat=True)) == [None, None]
    assert AuditEvent.objects.count() == 0


def test_bulk_refuses_unknown_actions_and_missing_reasons(item, viewer):
    with pytest.raises(ValidationError):
        services.triage_bulk(items=[item], action="delete", actor=viewer)
    with pytest.raises(ValidationError):
        services.triage_bulk(items=[item], action="handle", reason="", actor=viewer)
    item.refresh_from_db()
    assert item.status == "waiting"


# --- Presence ------------------------------------------------------------------------------------


@pytest.fixture
def isolated_cache(settings):
    """The real Redis cache, under a prefix of this test's own."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-inbox-{uuid.uuid4().hex}"},
    }


def test_presence_tells_the_second_person_who_else_is_on_it(isolated_cache, item, viewer, owner):
    assert services.presence_touch(item_id=item.pk, user=viewer) == []
    assert services.presence_touch(item_id=item.pk, user=owner) == ["north-supervisor"]
    assert services.presence_touch(item_id=item.pk, user=viewer) == ["north-admin"]
    assert services.presence_touch(item_id=item.pk + 1, user=owner) == []


def test_presence_expires(isolated_cache, settings, item, viewer, owner):
    settings.CHORUS_PRESENCE_SECONDS = 90
    with time_machine.travel(NOW, tick=False) as clock:
        services.presence_touch(item_id=item.pk, user=viewer)
        clock.shift(datetime.timedelta(seconds=60))
        assert services.presence_touch(item_id=item.pk, user=owner) == ["north-supervisor"]
        clock.shift(datetime.timedelta(seconds=45))  # the viewer's mark is 105 s old
        assert services.presence_touch(item_id=item.pk, user=owner) == []


def test_presence_of_another_user_only(isolated_cache, item):
    user = UserFactory.create(username="solo")
    services.presence_touch(item_id=item.pk, user=user)
    assert services.presence_touch(item_id=item.pk, user=user) == []
