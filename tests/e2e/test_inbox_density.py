"""Issue #12, the inbox in the browser: how many items a screen holds, where the first one starts on a
phone, and how soon two people on one item see each other. The figures are printed (run with -s) and
the screenshots kept under var/test-artifacts/."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import Role
from engagement.models import TriageItem
from monitoring.models import PollState
from tests.e2e.inbox_figures import layout_figures, presence_latency
from tests.e2e.signin import sign_in
from tests.factories import UserFactory, enrol_totp, grant, inbox_item

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
TEXTS = [
    "Is the front desk at the north station open on Sunday? I need to pick up a copy of my report "
    "and the website says two different things.",
    "Someone has been parking across my driveway on Elm Street every night this week, who do I call?",
    "Thanks to the officers who helped at the school crossing this morning, the kids loved it!",
    "Where can I get a criminal record check done for a volunteer position, and how long does it take?",
    "My bike was stolen from the rack outside the library yesterday afternoon. Can I report it online?",
]


def _many_items(account, count=50):
    now = timezone.now()
    # Items come from polls: the account has been read (no "first poll in progress" notice).
    PollState.objects.update_or_create(account=account, defaults={"last_success_at": now})
    items = []
    for number in range(count):
        emergency = number < 2
        items.append(
            inbox_item(
                account,
                text="Help, someone is breaking into the house next door right now" if emergency else TEXTS[number % 5],
                minutes_ago=5 + number * 7,
                now=now,
                author=(str(1000 + number), f"citizen_{number}", f"Citizen Number {number}"),
                category=TriageItem.Category.EMERGENCY if emergency else TriageItem.Category.QUESTION,
                priority=TriageItem.Priority.URGENT if emergency else TriageItem.Priority.HIGH,
                is_question=not emergency,
            )
        )
    return items


def _sign_in(page, live_server, username):
    sign_in(page, live_server.url, username, PASSWORD)


def test_ten_items_per_screen_and_the_first_above_the_fold_on_a_phone(page, page_log, live_server, org, north_account):
    user = UserFactory.create(username="comms", password=PASSWORD)
    grant(user, Role.COMMS_MANAGER, org["north"])
    enrol_totp(user)
    _many_items(north_account)
    _sign_in(page, live_server, "comms")

    figures = layout_figures(page, f"{live_server.url}/inbox/", name="inbox")

    assert figures["desktop"]["visible"] >= 10
    assert figures["phone"]["first_top"] + 40 <= 844  # the first row's head is on the first phone screen
    page_log.assert_clean()


def test_presence_shows_within_seconds(browser, page, page_log, live_server, org, north_account):
    for username in ("comms", "second"):
        user = UserFactory.create(username=username, password=PASSWORD)
        grant(user, Role.COMMS_MANAGER, org["north"])
        enrol_totp(user)
    item = inbox_item(north_account, text="Is the front desk open on Sunday?", now=timezone.now())
    url = f"{live_server.url}{reverse('inbox:item', args=[item.pk])}"
    _sign_in(page, live_server, "comms")
    page.goto(url)
    other = browser.new_context()
    try:
        visitor = other.new_page()
        _sign_in(visitor, live_server, "second")
        latency = presence_latency(page, visitor, url, name="inbox", text="second", limit_s=40)
    finally:
        other.close()
    assert latency <= 6
    page_log.assert_clean()
