"""The needs-attention counts: dormancy (the governance definition) and expiring training."""

import datetime

import pytest
from django.utils import timezone

from accounts_registry.models import SocialAccount
from monitoring.governance import dormant, dormant_q, last_active_days
from monitoring.models import DailyActivity
from overview.selectors.attention import attention
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory

pytestmark = pytest.mark.django_db


def test_dormant_and_expiring_counts_follow_the_governance_definitions(org, frozen_now):
    today = timezone.localdate()
    long_ago = timezone.now() - datetime.timedelta(days=400)
    cases = {"quiet": 40, "busy": 3, "gone_quiet_recently_onboarded": None}
    accounts = {}
    for handle, days_ago in cases.items():
        onboarded = (
            long_ago if handle != "gone_quiet_recently_onboarded" else timezone.now() - datetime.timedelta(days=5)
        )
        accounts[handle] = SocialAccountFactory.create(handle=handle, unit=org["11"], onboarded_at=onboarded)
        if days_ago is not None:
            DailyActivity.objects.create(
                account=accounts[handle], day=today - datetime.timedelta(days=days_ago), posts=1
            )
    SocialAccountFactory.create(handle="never", unit=org["51"], onboarded_at=long_ago)  # South: outside North
    everything = last_active_days()
    expected = sum(1 for account in accounts.values() if dormant(account, today=today, last_active=everything))
    assert attention(org["north"]).accounts_dormant == expected == 1
    assert attention(org["root"]).accounts_dormant == 2
    expiring = MemberFactory.create(unit=org["11"])
    TrainingFactory.create(
        member=expiring,
        completed_on=today - datetime.timedelta(days=700),
        expires_on=today + datetime.timedelta(days=10),
    )
    renewed = MemberFactory.create(unit=org["11"])
    TrainingFactory.create(
        member=renewed,
        completed_on=today - datetime.timedelta(days=700),
        expires_on=today + datetime.timedelta(days=10),
    )
    TrainingFactory.create(member=renewed, course="Renewal", completed_on=today)
    assert attention(org["north"]).training_expiring == 1
    assert attention(org["south"]).training_expiring == 0


def test_dormant_in_sql_is_the_governance_rule_at_its_edges(org, frozen_now):
    """`dormant_q` (counted in SQL) and `dormant` agree account by account, around the 30-day edge."""
    today = timezone.localdate()
    now = timezone.now()
    cases = [
        # (onboarded days ago, last active days ago or None, status, posts, replies)
        (400, 30, "active", 1, 0),
        (400, 29, "active", 1, 0),
        (400, 31, "active", 0, 1),
        (400, 10, "active", 0, 0),  # a row without posts or replies is not activity
        (400, None, "active", 0, 0),
        (30, None, "active", 0, 0),
        (29, None, "active", 0, 0),
        (400, None, "paused", 0, 0),
    ]
    accounts = []
    for number, (onboarded, last, status, posts, replies) in enumerate(cases):
        account = SocialAccountFactory.create(
            handle=f"edge{number}", unit=org["11"], status=status, onboarded_at=now - datetime.timedelta(days=onboarded)
        )
        if last is not None:
            DailyActivity.objects.create(
                account=account, day=today - datetime.timedelta(days=last), posts=posts, replies=replies
            )
        accounts.append(account)
    everything = last_active_days()
    expected = [bool(dormant(account, today=today, last_active=everything)) for account in accounts]
    in_sql = set(
        SocialAccount.objects.filter(dormant_q(today=today), pk__in=[a.pk for a in accounts]).values_list(
            "pk", flat=True
        )
    )
    assert [account.pk in in_sql for account in accounts] == expected
    assert expected == [True, False, True, True, True, True, False, False]
