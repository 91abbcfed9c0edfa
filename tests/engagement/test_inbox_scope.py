"""The inbox's "N new" watermark is computed within the user's scope.

Failed before: `newest_id` (sent to the page as `since`) was the newest triage item of the whole
organization, so a South supervisor received North's newest item id (and so North's volume over time).
"""

import re

import pytest
from django.urls import reverse

from engagement.selectors import inbox as selectors
from engagement.selectors.inbox_filters import InboxFilters
from tests.factories import FROZEN_NOW, inbox_item

pytestmark = pytest.mark.django_db

NOW = FROZEN_NOW


def test_the_newest_id_is_the_newest_item_the_user_may_see(frozen_now, viewer, outsider, north_account, south_account):
    south_item = inbox_item(south_account)
    north_items = [inbox_item(north_account) for _ in range(3)]
    assert selectors.inbox_summary(outsider, InboxFilters(), now=NOW).newest_id == south_item.pk
    assert selectors.inbox_summary(viewer, InboxFilters(), now=NOW).newest_id == north_items[-1].pk


def test_the_page_sends_the_outsider_no_id_of_another_units_item(
    client, frozen_now, outsider, north_account, south_account
):
    south_item = inbox_item(south_account)
    north_item = inbox_item(north_account)
    client.force_login(outsider)
    body = client.get(reverse("inbox:index")).content.decode()
    assert re.findall(r"since=(\d+)", body) == [str(south_item.pk)] * len(re.findall(r"since=(\d+)", body))
    assert f"since={north_item.pk}" not in body
    # The "N new" poll with the outsider's watermark still counts only their own new items.
    inbox_item(north_account)
    assert selectors.new_items_count(outsider, InboxFilters(), since_id=south_item.pk, now=NOW) == 0
