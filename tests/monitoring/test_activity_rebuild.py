"""`rebuild_activity`: the daily statistics recomputed from the messages equal what ingest maintained."""

import datetime
import io

import pytest
from django.core.management import call_command

from monitoring.models import DailyActivity
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def snapshot():
    return sorted(DailyActivity.objects.values_list("account_id", "day", "posts", "replies", "inbound"))


def test_rebuild_equals_ingest_and_is_idempotent(org, north_account, south_account, frozen_now):
    from monitoring.services.ingest import activity_record_new

    messages = [
        ingest(north_account, "A post", minutes=-60 * 24 * 3),
        ingest(north_account, "Another post", minutes=-30),
        ingest(south_account, "Hello @TPS11Alex", direction="inbound", minutes=-10),
        ingest(north_account, "A reply", direction="outbound", minutes=-5, in_reply_to="x"),
    ]
    activity_record_new(message_ids=[message.pk for message in messages])
    maintained = snapshot()
    assert maintained
    DailyActivity.objects.filter(account=north_account).update(posts=99)
    DailyActivity.objects.create(account=south_account, day=datetime.date(2026, 1, 1), inbound=5)  # nothing backs it
    out = io.StringIO()
    call_command("rebuild_activity", stdout=out)
    assert "set to zero" in out.getvalue()
    rebuilt = [row for row in snapshot() if row[2:] != (0, 0, 0)]
    assert rebuilt == maintained
    call_command("rebuild_activity", "--since", "2026-11-01", stdout=io.StringIO())
    assert [row for row in snapshot() if row[2:] != (0, 0, 0)] == maintained


def test_rebuild_refuses_a_bad_date(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("rebuild_activity", "--since", "yesterday")
