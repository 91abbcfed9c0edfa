"""The data migration that records, for messages stored before addressees existed, the other org
accounts they address: @handles in the text and replies to another account's post."""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps

from monitoring.models import DailyActivity, Message, MessageAddressee
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("monitoring.migrations.0006_backfill_message_addressees")
T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)


def stored(account, external_id, text="", *, direction="inbound", in_reply_to_id="", platform="x"):
    return Message.objects.create(
        platform=platform,
        external_id=external_id,
        account=account,
        direction=direction,
        kind="mention" if direction == "inbound" else "post",
        author_id="42",
        text=text,
        created_at=T0,
        in_reply_to_id=in_reply_to_id,
        content_hash="x",
    )


def test_backfill_finds_mentions_and_replies_once_and_reverses(org, monkeypatch):
    north = SocialAccountFactory.create(platform="x", handle="MPS11Div", unit=org["11"])
    south = SocialAccountFactory.create(platform="x", handle="MPS51Div", unit=org["51"])
    toot = SocialAccountFactory.create(platform="mastodon", handle="MPS51Div@police.social", unit=org["51"])
    home = SocialAccountFactory.create(platform="mastodon", handle="MetroPolice@police.social", unit=org["root"])
    retired = SocialAccountFactory.create(platform="x", handle="MPSOld", unit=org["51"], status="retired")
    mention = stored(north, "1", "@mps11div @MPS51DIV, the bridge? cc @MPSOld @nobody")
    post = stored(south, "2", "Bridge closed tonight", direction="outbound")
    reply = stored(north, "3", "@MPS11Div thanks", in_reply_to_id=post.external_id)
    local = stored(home, "4", "@MPS51Div hello", platform="mastodon")  # a local mention on police.social
    stored(south, "5", "@MPS11Div see you there", direction="outbound")  # outbound: its author's alone
    stored(north, "6", "email me@mps51div.example")  # not a mention

    monkeypatch.setattr(backfill, "BATCH", 2)  # several batches
    backfill.add_addressees(django_apps, None)
    backfill.add_addressees(django_apps, None)  # idempotent

    assert set(MessageAddressee.objects.values_list("message_id", "account_id")) == {
        (mention.pk, south.pk),
        (reply.pk, south.pk),
        (local.pk, toot.pk),
    }
    assert retired.pk not in set(MessageAddressee.objects.values_list("account_id", flat=True))
    assert DailyActivity.objects.get(account=south, day=T0.date()).inbound == 2
    assert DailyActivity.objects.get(account=toot, day=T0.date()).inbound == 1
    backfill.remove_addressees(django_apps, None)
    assert not MessageAddressee.objects.exists()
