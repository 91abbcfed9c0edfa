import datetime

import pytest

from monitoring.connectors.base import NormalizedMessage
from monitoring.models import DailyActivity, Message
from monitoring.services.ingest import activity_record_new, messages_upsert

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)


def message(external_id: str, text: str = "hello", *, direction="inbound", kind="mention", likes=0, minutes=0):
    return NormalizedMessage(
        platform="x",
        external_id=external_id,
        direction=direction,
        kind=kind,
        author_id="42",
        author_handle="citizen",
        author_name="A Citizen",
        text=text,
        created_at=T0 + datetime.timedelta(minutes=minutes),
        conversation_id=external_id,
        metrics={"like_count": likes},
    )


def test_new_messages_are_inserted_and_reported(north_account):
    result = messages_upsert(account_id=north_account.pk, messages=[message("1"), message("2")])
    assert result.new == 2 and result.updated == 0
    assert set(Message.objects.values_list("external_id", flat=True)) == {"1", "2"}
    assert set(result.new_ids) == set(Message.objects.values_list("pk", flat=True))


def test_repeating_a_batch_writes_nothing(north_account):
    messages_upsert(account_id=north_account.pk, messages=[message("1"), message("2")])
    before = dict(Message.objects.values_list("external_id", "updated_at"))
    result = messages_upsert(account_id=north_account.pk, messages=[message("1"), message("2")])
    assert (result.new, result.updated) == (0, 0)
    assert dict(Message.objects.values_list("external_id", "updated_at")) == before


def test_only_changed_rows_are_updated(north_account):
    messages_upsert(account_id=north_account.pk, messages=[message("1"), message("2")])
    result = messages_upsert(account_id=north_account.pk, messages=[message("1", likes=5), message("2")])
    assert (result.new, result.updated) == (0, 1)
    assert Message.objects.get(external_id="1").metrics == {"like_count": 5}


def test_duplicates_inside_one_batch_are_collapsed(north_account):
    result = messages_upsert(account_id=north_account.pk, messages=[message("1", "old"), message("1", "new")])
    assert result.new == 1
    assert Message.objects.get().text == "new"


def test_hostile_text_is_stored_verbatim(north_account):
    payload = "<script>alert(1)</script> \"'\t\\N \x1b[31m"
    messages_upsert(account_id=north_account.pk, messages=[message("1", payload)])
    assert Message.objects.get().text == payload


def test_daily_activity_counts_new_messages_incrementally(north_account):
    first = messages_upsert(
        account_id=north_account.pk,
        messages=[
            message("1"),
            message("2", direction="outbound", kind="post"),
            message("3", direction="outbound", kind="reply"),
        ],
    )
    activity_record_new(message_ids=first.new_ids)
    second = messages_upsert(account_id=north_account.pk, messages=[message("4", minutes=1), message("1")])
    activity_record_new(message_ids=second.new_ids)
    day = DailyActivity.objects.get(account=north_account)
    assert (day.inbound, day.posts, day.replies) == (2, 1, 1)


def test_portable_upsert_used_by_the_sqlite_demo_behaves_the_same(north_account):
    from django.utils import timezone

    from monitoring.services.ingest import _upsert_portable

    now = timezone.now()
    first = _upsert_portable([message("1"), message("2")], north_account.pk, now)
    again = _upsert_portable([message("1"), message("2", likes=3)], north_account.pk, now)
    assert (first.new, first.updated, again.new, again.updated) == (2, 0, 0, 1)
    assert Message.objects.get(external_id="2").metrics == {"like_count": 3}
