"""Each needs-attention count of the overview links to a list that shows exactly that count: the test follows
every link of the section, as a comms manager (the service) and as a supervisor (North only), and reads
the count the destination list shows."""

import datetime
import html
import re
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse

from accounts_registry.models import SocialAccount
from monitoring.models import PollState
from overview.selectors.attention import attention
from tests.factories import FROZEN_NOW, MemberFactory, SocialAccountFactory, TrainingFactory
from tests.overview.conftest import PERIOD

pytestmark = pytest.mark.django_db

LONG_AGO = FROZEN_NOW - datetime.timedelta(days=400)
SOON = datetime.date(2026, 12, 1)  # within the 30-day warning window of FROZEN_NOW


def _current_tab(context):
    return next(tab["count"] for tab in context["tabs"] if tab["is_current"])


def _queue_tab(context):
    return dict((value, count) for value, _label, count in context["status_tabs"])[context["filters"].status]


# What each destination list shows as its count (read from the page's context, as the page prints it).
SHOWN = {
    "inbox:index": _current_tab,
    "policies:queue": _queue_tab,
    "monitoring:health": lambda context: context["page"].paginator.count,
    "monitoring:dormant": lambda context: context["page"].paginator.count,
    "registry:unit": lambda context: len(context["page"].members),
}


@pytest.fixture
def troubles(org, planted):
    """One more of each kind in North and in South, so a list that ignored the unit would count wrong."""
    for unit in ("11", "51"):
        failing = SocialAccountFactory.create(handle=f"failing_{unit}", unit=org[unit])
        PollState.objects.create(account=failing, consecutive_failures=2, last_success_at=FROZEN_NOW)
        SocialAccountFactory.create(
            handle=f"reconnect_{unit}", unit=org[unit], status=SocialAccount.Status.NEEDS_RECONNECT
        )
        SocialAccountFactory.create(handle=f"dormant_{unit}", unit=org[unit], onboarded_at=LONG_AGO)
        member = MemberFactory.create(unit=org[unit])
        TrainingFactory.create(member=member, completed_on=datetime.date(2025, 1, 1), expires_on=SOON)
        TrainingFactory.create(member=MemberFactory.create(unit=org[unit]))  # current: not counted
        gone = MemberFactory.create(unit=org[unit], left_on=datetime.date(2026, 10, 1))  # left: not counted
        TrainingFactory.create(member=gone, completed_on=datetime.date(2025, 1, 1), expires_on=SOON)
    SocialAccountFactory.create(handle="dormant_traffic", unit=org["traffic"], onboarded_at=LONG_AGO)


def attention_links(body: str, unit_pk: int) -> list[tuple[str, int]]:
    """(href, number shown) of every link in the unit's needs-attention list."""
    section = re.search(rf'aria-labelledby="attention-{unit_pk}">(.*?)</section>', body, re.S)
    assert section, "no needs-attention section"
    links = re.findall(r'<a href="([^"]+)">(.*?)</a>', section[1], re.S)
    return [(html.unescape(href), int(re.findall(r"\d+", re.sub(r"<[^>]+>", "", text))[0])) for href, text in links]


@pytest.mark.parametrize("who", ["comms_manager", "viewer"])
def test_every_count_links_to_a_list_of_exactly_that_count(who, request, client, org, troubles):
    user = request.getfixturevalue(who)
    unit = org["root"] if who == "comms_manager" else org["north"]
    client.force_login(user)
    body = client.get(reverse("home") + f"?start={PERIOD.start}&end={PERIOD.end}").content.decode()
    links = attention_links(body, unit.pk)
    figures = attention(unit)
    expected_numbers = [
        figures.emergencies_waiting,
        figures.questions_over_target,
        figures.critical_flags_open,
        figures.flags_open,
        figures.accounts_failing,
        figures.accounts_reconnect,
        figures.accounts_dormant,
        figures.training_expiring,
    ]
    assert [number for _, number in links] == expected_numbers  # every count is a link, in this order
    assert all(expected_numbers[2:]), "each count should be planted non-zero"
    seen = set()
    for href, number in links:
        response = client.get(href)
        assert response.status_code == 200, href
        name = resolve(urlsplit(href).path).view_name
        seen.add(name)
        assert SHOWN[name](response.context) == number, f"{href} shows another count than {number}"
    assert seen == set(SHOWN)
