import dataclasses
import datetime

import pytest

from monitoring.connectors.base import NormalizedMessage
from monitoring.models import DailyActivity, Message, MessageAddressee
from monitoring.services.ingest import activity_record_new, messages_upsert
from tests.factories import SocialAccountFactory

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


# --- Addressees: a message belongs to every org account it addresses ----------------------------


@pytest.fixture
def stations(org):
    return {
        name: SocialAccountFactory.create(platform="x", handle=handle, external_id=external_id, unit=org[unit])
        for name, handle, external_id, unit in (
            ("north", "MPS11Div", "1500000000000000011", "11"),
            ("south", "MPS51Div", "1500000000000000051", "51"),
            ("traffic", "MPSTraffic", "1500000000000000077", "traffic"),
        )
    }


def addressing(external_id, *, ids=(), handles=(), **fields):
    return dataclasses.replace(
        message(external_id, **fields), addressed_ids=tuple(ids), addressed_handles=tuple(handles)
    )


def addressees():
    return set(MessageAddressee.objects.values_list("message__external_id", "account__handle"))


def test_mentioned_org_accounts_are_addressees_by_id_or_by_handle_in_any_case(stations):
    result = messages_upsert(
        account_id=stations["north"].pk,
        messages=[
            addressing("1", ids=["1500000000000000051", "1500000000000000011", "999"]),
            addressing("2", handles=["@mpstraffic", "somebody"]),
        ],
    )
    assert addressees() == {("1", "MPS51Div"), ("2", "MPSTraffic")}  # never the account it is stored under
    south, traffic = stations["south"].pk, stations["traffic"].pk
    assert sorted(account for _, account in result.addressees_added) == sorted([south, traffic])


def test_another_accounts_poll_adds_it_as_addressee_once(stations):
    messages_upsert(account_id=stations["north"].pk, messages=[message("1")])
    again = messages_upsert(account_id=stations["south"].pk, messages=[message("1")])  # no mention data at all
    assert (again.new, again.updated) == (0, 0)
    assert addressees() == {("1", "MPS51Div")}
    assert Message.objects.get(external_id="1").account == stations["north"]
    activity_record_new(message_ids=[], addressees=again.addressees_added)
    assert DailyActivity.objects.get(account=stations["south"]).inbound == 1
    assert messages_upsert(account_id=stations["south"].pk, messages=[message("1")]).addressees_added == []


def test_a_reply_to_an_org_post_addresses_its_account(stations):
    messages_upsert(account_id=stations["south"].pk, messages=[message("10", direction="outbound", kind="post")])
    messages_upsert(account_id=stations["north"].pk, messages=[message("11", kind="reply")])  # to no org post
    reply = dataclasses.replace(message("12", kind="reply"), in_reply_to_id="10")
    messages_upsert(account_id=stations["north"].pk, messages=[reply])
    assert addressees() == {("12", "MPS51Div")}


def test_outbound_posts_belong_to_their_author_alone(stations):
    post = addressing("20", direction="outbound", kind="post", ids=["1500000000000000051"])
    assert messages_upsert(account_id=stations["north"].pk, messages=[post]).addressees_added == []
    assert addressees() == set()


def test_retired_accounts_are_not_addressed(stations):
    stations["south"].status = "retired"
    stations["south"].save(update_fields=["status"])
    messages_upsert(account_id=stations["north"].pk, messages=[addressing("30", handles=["MPS51Div"])])
    assert addressees() == set()
