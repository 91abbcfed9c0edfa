"""The per-account daily response statistics: maintained by triage on ingest, equal to a rebuild from the
items, and to the metrics API's figures for the same account and days."""

import datetime

import pytest

from engagement.models import RESPONSE_BUCKET_BOUNDS, DailyResponse, TriageItem, bucket_field
from engagement.selectors.daily_responses import bucket_percentile
from engagement.selectors.metrics import response_metrics_between
from engagement.services.daily_response import FIELDS, responses_rebuild, responses_refresh
from monitoring.connectors.base import NormalizedMessage
from monitoring.models import MessageAddressee
from monitoring.services.ingest import messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 18, 15, 0, tzinfo=datetime.UTC)


def _message(account, external_id, *, direction, minutes, in_reply_to="", conversation=""):
    inbound = direction == "inbound"
    return NormalizedMessage(
        platform="x", external_id=external_id, direction=direction, kind="mention" if inbound else "reply",
        author_id="1600000000000000011" if inbound else account.external_id,
        author_handle="dana_k" if inbound else account.handle, author_name="Dana",
        text="@MPS11Div is the front desk open?" if inbound else "@dana_k yes",
        created_at=T0 + datetime.timedelta(minutes=minutes),
        conversation_id=conversation or external_id, in_reply_to_id=in_reply_to,
    )  # fmt: skip


def ingest(account, *messages):
    result = messages_upsert(account_id=account.pk, messages=list(messages))
    run_ingest_hooks(result.new_ids)


def rows():
    return {
        (row["account_id"], row["day"]): tuple(row[field] for field in FIELDS)
        for row in DailyResponse.objects.values("account_id", "day", *FIELDS)
    }


@pytest.fixture
def station(org):
    return SocialAccountFactory.create(
        platform="x", handle="MPS11Div", external_id="1500000000000000011", unit=org["11"]
    )


def test_triage_maintains_the_rows_a_rebuild_produces(station, admin_user):
    ingest(station, _message(station, "100", direction="inbound", minutes=0))
    ingest(station, _message(station, "200", direction="inbound", minutes=60))
    ingest(station, _message(station, "300", direction="inbound", minutes=24 * 60))  # the next day, waits
    ingest(station, _message(station, "101", direction="outbound", minutes=7, in_reply_to="100", conversation="100"))
    ingest(station, _message(station, "201", direction="outbound", minutes=60 + 30 * 60, in_reply_to="200",
                              conversation="200"))  # fmt: skip
    ingest(station, _message(station, "100", direction="inbound", minutes=0))  # a re-poll adds nothing
    maintained = rows()
    day = T0.date()
    first = DailyResponse.objects.get(account=station, day=day)
    assert (first.inbound, first.answered, first.within_target, first.response_seconds) == (2, 2, 1, 7 * 60 + 1800 * 60)
    assert getattr(first, bucket_field(1)) == 1  # 7 minutes: (5, 10] minutes
    assert getattr(first, bucket_field(len(RESPONSE_BUCKET_BOUNDS) - 2)) == 1  # 30 hours: (24, 48] hours
    assert DailyResponse.objects.get(account=station, day=day + datetime.timedelta(days=1)).inbound == 1

    DailyResponse.objects.all().delete()
    responses_rebuild()
    assert rows() == maintained
    responses_rebuild()  # idempotent
    assert rows() == maintained

    # The API's definitions for the same account and days.
    start = T0.replace(hour=0, minute=0)
    api = response_metrics_between(admin_user, account=station, start=start, end=start + datetime.timedelta(days=2))
    assert api.inbound == sum(row[0] for row in maintained.values())
    assert api.answered == sum(row[2] for row in maintained.values())


def test_an_addressed_account_counts_the_item_too(station, org):
    traffic = SocialAccountFactory.create(platform="x", handle="MPSTraffic", unit=org["traffic"])
    ingest(station, _message(station, "100", direction="inbound", minutes=0))
    item = TriageItem.objects.get()
    MessageAddressee.objects.create(message=item.message, account=traffic)
    responses_refresh([item.pk])
    assert DailyResponse.objects.get(account=traffic).inbound == 1
    assert DailyResponse.objects.get(account=station).inbound == 1  # not twice for its own account
    maintained = rows()
    DailyResponse.objects.all().delete()
    responses_rebuild()
    assert rows() == maintained


def test_a_stale_row_is_zeroed_by_the_rebuild(station):
    DailyResponse.objects.create(account=station, day=T0.date(), inbound=5, answered=3)
    result = responses_rebuild()
    assert result.zeroed == 1
    assert DailyResponse.objects.get().inbound == 0


def test_percentiles_are_interpolated_inside_buckets():
    assert bucket_percentile((0,) * 22, 0.5) is None
    buckets = (2, 2) + (0,) * 20  # two in (0, 5 min], two in (5, 10 min]
    assert bucket_percentile(buckets, 0.5) == 300
    assert 300 < (bucket_percentile(buckets, 0.9) or 0) <= 600
