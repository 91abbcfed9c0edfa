"""A known tree with planted figures whose digits tell where each number came from.

Every account of the fixed cast's tree posts a power of ten per day over the period, so a sum that
counts a child twice, or misses one, shows in the digits:

    Metro Police Service      own account: 1 post a day       (root total: 111111 x days)
    ├── North Division        own account: 10
    │   ├── 11 Station        100
    │   └── Traffic Team      1000
    └── South Division        own account: 10000
        └── 51 Station        100000
"""

import datetime
import itertools

import pytest

from accounts_registry.models import Member, Role
from engagement.models import TriageItem
from engagement.services.daily_response import responses_rebuild
from monitoring.models import DailyActivity, Message
from overview.periods import Period
from tests.factories import FROZEN_NOW, PolicyRuleFactory, SocialAccountFactory, UserFactory, flag_on, grant

POSTS = {"root": 1, "north": 10, "11": 100, "traffic": 1000, "south": 10000, "51": 100000}
PERIOD = Period(start=datetime.date(2026, 11, 11), end=datetime.date(2026, 11, 20))  # 10 days ending on FROZEN_NOW
_ids = itertools.count(1)


def plant_item(
    account, *, days_ago: float, response_seconds: int | None = None, category: str = "other", question=False
):
    created_at = FROZEN_NOW - datetime.timedelta(days=days_ago)
    number = next(_ids)
    message = Message.objects.create(
        platform=account.platform,
        external_id=f"planted-{number}",
        account=account,
        direction="inbound",
        kind="mention",
        author_id="900",
        text=f"planted {number}",
        created_at=created_at,
        content_hash=f"h{number}",
    )
    answered = response_seconds is not None
    return TriageItem.objects.create(
        message=message,
        account=account,
        platform=account.platform,
        created_at=created_at,
        author_id="900",
        category=category,
        is_question=question,
        status=TriageItem.Status.ANSWERED if answered else TriageItem.Status.WAITING,
        answered_at=created_at + datetime.timedelta(seconds=response_seconds) if response_seconds is not None else None,
        first_response_seconds=response_seconds,
    )


@pytest.fixture
def planted(org, frozen_now):
    accounts = {name: SocialAccountFactory.create(handle=f"acct_{name}", unit=org[name], kind="unit") for name in POSTS}
    rows = []
    for name, posts in POSTS.items():
        for day in [*PERIOD.day_list(), *PERIOD.previous.day_list()]:
            in_period = day >= PERIOD.start
            rows.append(
                DailyActivity(
                    account=accounts[name],
                    day=day,
                    posts=posts if in_period else 2 * posts,
                    replies=posts,
                    inbound=posts,
                )
            )
    DailyActivity.objects.bulk_create(rows)
    # Response: each unit account gets items whose first response differs by unit; some wait.
    for index, name in enumerate(POSTS):
        account = accounts[name]
        for hours in (1, 2, 6):
            plant_item(account, days_ago=2, response_seconds=(index + 1) * hours * 600)
        plant_item(account, days_ago=1, question=True)  # waiting, over target
        plant_item(account, days_ago=15, response_seconds=60)  # previous period
    plant_item(accounts["51"], days_ago=0.01, category="emergency")
    responses_rebuild()  # the items were written directly, not through triage
    critical = PolicyRuleFactory.create(severity="critical")
    warning = PolicyRuleFactory.create(severity="warning")
    flag_on(critical, accounts["11"])
    flag_on(warning, accounts["11"])
    flag_on(warning, accounts["south"])
    flag_on(critical, accounts["51"], status="resolved")  # reviewed: not open
    return accounts


@pytest.fixture
def comms_manager(org):
    user = UserFactory.create(username="comms")
    grant(user, Role.COMMS_MANAGER, org["root"])
    return user


@pytest.fixture
def member_user(north_member, north_account):
    user = UserFactory.create(username="alex")
    Member.objects.filter(pk=north_member.pk).update(user=user)
    return user
