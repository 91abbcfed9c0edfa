"""The demo's 90 days of history: written once, realistic enough to roll up, statistics from the messages."""

import datetime

import pytest
from django.urls import reverse

from demo.history import DAYS, history_write
from engagement.models import TriageItem
from monitoring.models import DailyActivity, Message
from monitoring.selectors import dormant_accounts
from overview.periods import Period
from overview.selectors.rollup import rollup
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db


def test_history_is_written_once_and_rolls_up(org, frozen_now):
    corporate = SocialAccountFactory.create(unit=org["root"], kind="corporate", handle="TPSCorp")
    SocialAccountFactory.create(unit=org["11"], kind="unit", handle="TPS11")
    SocialAccountFactory.create(unit=org["51"], kind="unit", handle="TPS51", status="retired")  # no history
    report = history_write()
    assert report is not None and report.items > DAYS  # the corporate account alone gets several a day
    assert history_write() is None
    assert Message.objects.count() == report.messages
    today = datetime.date(2026, 11, 20)
    days = set(DailyActivity.objects.filter(account=corporate).values_list("day", flat=True))
    assert min(days) >= today - datetime.timedelta(days=DAYS) and max(days) < today
    answered = TriageItem.objects.filter(status="answered")
    assert answered.count() > report.items / 2
    assert not answered.filter(answer__isnull=True).exists()
    assert not answered.filter(first_response_seconds__isnull=True).exists()
    figures = rollup(org["root"], Period(today - datetime.timedelta(days=DAYS), today)).root.figures
    assert figures.counts.posts > 0 and figures.response.inbound == report.items
    assert figures.response.median_first_response_seconds is not None
    assert not DailyActivity.objects.filter(account__status="retired").exists()


def test_the_accounts_that_went_quiet_are_dormant_in_the_list_and_the_printable_report(
    org, frozen_now, admin_user, client
):
    accounts = [SocialAccountFactory.create(unit=org["11"], kind="unit", handle=f"TPS{n}") for n in range(12)]
    history_write()
    quiet = {account.handle for account in accounts if account.pk % 11 == 0}  # history.py: these went quiet
    assert quiet  # twelve consecutive ids hold at least one multiple of eleven
    listed = {row.account.handle for row in dormant_accounts(admin_user)}
    assert listed == quiet
    client.force_login(admin_user)
    response = client.get(reverse("overview:report", args=[org["root"].pk]) + "?period=90")
    assert f"Dormant accounts ({len(quiet)})" in response.content.decode()
