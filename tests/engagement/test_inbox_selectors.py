"""The inbox's reads on PostgreSQL: ordering across segments, keyset pages, filters, scoping, counts and
a query count that does not grow with the page size or the data."""

import datetime
import itertools

import pytest
import time_machine
from django.http import Http404

from accounts_registry.capabilities import Action
from accounts_registry.models import Role
from accounts_registry.selectors import user_scope
from engagement.models import TriageItem
from engagement.selectors import inbox as selectors
from engagement.selectors import inbox_display, inbox_filters, triage_access, triage_item
from engagement.selectors.inbox_filters import InboxFilters
from monitoring.models import Message
from policies.models import PolicyFlag, PolicyRule
from tests.factories import FROZEN_NOW, SocialAccountFactory, UserFactory, grant, inbox_item

pytestmark = pytest.mark.django_db

NOW = FROZEN_NOW
_sequence = itertools.count(1)

URGENT, HIGH, NORMAL = TriageItem.Priority.URGENT, TriageItem.Priority.HIGH, TriageItem.Priority.NORMAL
HOURS_4 = datetime.timedelta(hours=4)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def page_ids(user, filters=None, **kwargs):
    page = selectors.inbox_page(user, filters or InboxFilters(), now=NOW, **kwargs)
    return [row.pk for row in page.rows], page.next_cursor


def walk(user, filters=None, *, page_size, now=NOW):
    """Every page, following the cursors: the ids in order, and how many pages there were."""
    ids, pages, cursor = [], 0, None
    while True:
        page = selectors.inbox_page(user, filters or InboxFilters(), after=cursor, page_size=page_size, now=now)
        ids += [row.pk for row in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


# --- Ordering and keyset pages ------------------------------------------------------------------


def test_priority_then_age_and_old_items_rank_high(frozen, viewer, north_account):
    new_normal = inbox_item(north_account, minutes_ago=10)
    new_question = inbox_item(north_account, minutes_ago=5, priority=HIGH, is_question=True)
    old_normal = inbox_item(north_account, minutes_ago=5 * 60)  # over the 4-hour target
    older_question = inbox_item(north_account, minutes_ago=60, priority=HIGH, is_question=True)
    emergency = inbox_item(north_account, minutes_ago=1, priority=URGENT, category="emergency")

    ids, _cursor = page_ids(viewer)

    assert ids == [emergency.pk, old_normal.pk, older_question.pk, new_question.pk, new_normal.pk]


@pytest.fixture(params=["lateral per-account ranges", "per-account ranges", "organization-wide ranges"])
def account_mode(request, monkeypatch):
    """Every way of reading a scope: each account's index range through a LATERAL join over the account
    ids (PostgreSQL), the same as a UNION ALL of ranges, or the scoped subquery."""
    if request.param != "lateral per-account ranges":
        monkeypatch.setattr(selectors, "LATERAL_ACCOUNTS", 0)
    if request.param == "organization-wide ranges":
        monkeypatch.setattr(selectors, "NARROW_ACCOUNTS", 0)
    return request.param


@pytest.mark.parametrize("status", ["waiting", "all"])
def test_keyset_pages_neither_repeat_nor_skip(frozen, account_mode, org, viewer, north_account, status):
    station = SocialAccountFactory.create(handle="MPS11Div", unit=org["11"])
    items = []
    for index in range(23):
        priority = (URGENT, HIGH, NORMAL, NORMAL)[index % 4]
        account = (north_account, station)[index % 2]
        item_status = ("waiting", "waiting", "answered", "handled", "dismissed")[index % 5]
        items.append(inbox_item(account, minutes_ago=(index * 37) % 600 + 1, priority=priority, status=item_status))
    # Two items share a timestamp: the id breaks the tie.
    items.append(inbox_item(north_account, minutes_ago=38, priority=NORMAL))
    items.append(inbox_item(station, minutes_ago=38, priority=NORMAL))
    filters = InboxFilters(status=status)
    expected = sorted(
        (item for item in items if status == "all" or item.status == status),
        key=lambda item: (
            0 if item.priority == URGENT else 1 if item.priority == HIGH or item.created_at < NOW - HOURS_4 else 2,
            item.created_at,
            item.pk,
        ),
    )

    paged, pages = walk(viewer, filters, page_size=4)

    assert pages >= 3
    assert paged == [item.pk for item in expected]


def test_an_item_crossing_the_target_while_paging_is_not_repeated_or_skipped(viewer, north_account):
    for minutes in range(0, 240, 20):  # all normal and under the target at NOW
        inbox_item(north_account, minutes_ago=minutes + 1)
    first = selectors.inbox_page(viewer, InboxFilters(), page_size=5, now=NOW)
    # Three hours later half of them are over the target; the walk keeps the cutoff it started with.
    later = NOW + datetime.timedelta(hours=3)
    rest, _pages = [], 0
    cursor = first.next_cursor
    while cursor is not None:
        page = selectors.inbox_page(viewer, InboxFilters(), after=cursor, page_size=5, now=later)
        rest += [row.pk for row in page.rows]
        cursor = page.next_cursor
    seen = [row.pk for row in first.rows] + rest
    assert sorted(seen) == sorted(TriageItem.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))


def test_cursor_round_trip_and_tampering():
    cursor = inbox_filters.Cursor(segment=2, created_at=NOW, pk=42, cutoff=NOW - datetime.timedelta(hours=4))
    assert inbox_filters.Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError, match="cursor"):
        inbox_filters.Cursor.decode(cursor.encode()[:-2] + "xx")
    with pytest.raises(ValueError, match="cursor"):
        inbox_filters.Cursor.decode("garbage")


# --- Rows ----------------------------------------------------------------------------------------


def test_rows_show_age_against_the_target_and_only_web_links(frozen, viewer, north_account):
    inbox_item(north_account, minutes_ago=5 * 60, url="https://x.com/dana_k/status/1")
    inbox_item(north_account, minutes_ago=30, url="javascript:alert(1)")

    rows = selectors.inbox_page(viewer, InboxFilters(), now=NOW).rows

    assert [(row.age, row.is_over_target) for row in rows] == [("5 h", True), ("30 min", False)]
    assert rows[0].platform_url == "https://x.com/dana_k/status/1"
    assert rows[1].platform_url == ""
    assert rows[0].unit_path == "Metro Police Service/North Division/11 Station"


def test_a_page_row_read_as_values_is_the_row_built_from_its_item(frozen, viewer, owner, north_account):
    # The list reads plain values (inbox_display.ROW_VALUES); one row again after an action is built from the
    # item (inbox_display.inbox_rows). The two must show the same.
    private = inbox_item(north_account, minutes_ago=30, text="<b>lost</b> 'wallet'")
    Message.objects.filter(pk=private.message_id).update(visibility=Message.Visibility.DIRECT)
    closed = inbox_item(
        north_account,
        minutes_ago=5 * 60,
        status=TriageItem.Status.HANDLED,
        handled_reason=TriageItem.HandledReason.ANSWERED_BY_PHONE,
        assignee=owner,
        closed_by=viewer,
        category=TriageItem.Category.EMERGENCY,
        is_question=True,
        url="https://x.com/dana_k/status/2",
    )

    page = selectors.inbox_page(viewer, InboxFilters(status=inbox_filters.StatusFilter.ALL), now=NOW).rows
    items = TriageItem.objects.select_related("message", "account__unit", "assignee", "closed_by")
    built = inbox_display.inbox_rows([items.get(pk=row.pk) for row in page], now=NOW)

    assert page == built
    row = next(row for row in page if row.pk == closed.pk)
    assert (row.assignee_name, row.closed_by_name, row.is_emergency, row.is_private) == (
        "north-admin",
        "north-supervisor",
        True,
        False,
    )
    assert [row.is_private for row in page if row.pk != closed.pk] == [True]


# --- Filters -------------------------------------------------------------------------------------


@pytest.fixture
def traffic_account(org):
    return SocialAccountFactory.create(handle="MetroTraffic", platform="instagram", unit=org["traffic"])


def test_filters(frozen, viewer, north_account, traffic_account):
    question = inbox_item(north_account, minutes_ago=30, priority=HIGH, is_question=True, text="Is the desk open?")
    old = inbox_item(north_account, minutes_ago=30 * 60, author=("901", "leep", "Lee Park"))
    mid = inbox_item(traffic_account, minutes_ago=5 * 60, text="Road closed on Main St")
    handled = inbox_item(north_account, status="handled", text="thanks!")
    dismissed = inbox_item(traffic_account, status="dismissed")
    answered = inbox_item(north_account, status="answered", assignee=viewer)

    def ids(**fields):
        items = selectors.filtered_items(viewer, InboxFilters(**fields), now=NOW)
        return set(items.values_list("pk", flat=True))

    assert ids() == {question.pk, old.pk, mid.pk}
    assert ids(status="handled") == {handled.pk}
    assert ids(status="dismissed") == {dismissed.pk}
    assert ids(status="answered") == {answered.pk}
    assert ids(status="all") == {question.pk, old.pk, mid.pk, handled.pk, dismissed.pk, answered.pk}
    assert ids(unit=traffic_account.unit) == {mid.pk}
    assert ids(account_id=north_account.pk) == {question.pk, old.pk}
    assert ids(platform="instagram") == {mid.pk}
    assert ids(questions_only=True) == {question.pk}
    assert ids(age="over_target") == {old.pk, mid.pk}
    assert ids(age="1h") == {question.pk}
    assert ids(age="24h") == {question.pk, mid.pk}
    assert ids(age="older") == {old.pk}
    assert ids(status="all", assigned="me") == {answered.pk}
    assert ids(status="all", assigned="anyone") == {answered.pk}
    assert ids(assigned="none") == {question.pk, old.pk, mid.pk}
    assert ids(search="desk") == {question.pk}
    assert ids(search="ROAD CLOSED") == {mid.pk}
    assert ids(search="@leep") == {old.pk}
    assert ids(search="Lee Park") == {old.pk}


def test_policy_flag_filter_keeps_items_with_an_open_flag(frozen, viewer, north_account):
    flagged = inbox_item(north_account, text="my phone is 416-555-0100")
    resolved = inbox_item(north_account, text="call me at 416-555-0199")
    inbox_item(north_account, text="hello")
    rule = PolicyRule.objects.create(name="Phone numbers", explanation="x", kind="detector", direction="inbound")
    PolicyFlag.objects.create(rule=rule, message=flagged.message, account=north_account)
    PolicyFlag.objects.create(rule=rule, message=resolved.message, account=north_account, status="resolved")

    items = selectors.filtered_items(viewer, InboxFilters(has_policy_flag=True), now=NOW)

    assert list(items.values_list("pk", flat=True)) == [flagged.pk]


# --- Scoping -------------------------------------------------------------------------------------


def test_scoping_of_lists_counts_and_searches(frozen, org, viewer, outsider, north_account, south_account):
    north = inbox_item(north_account, text="north secret", priority=HIGH)
    south = inbox_item(south_account, text="south question", priority=HIGH)
    inbox_item(north_account, status="handled", text="north secret handled")

    assert page_ids(viewer)[0] == [north.pk]
    assert page_ids(outsider)[0] == [south.pk]
    assert page_ids(outsider, InboxFilters(status="all", search="north secret"))[0] == []
    assert selectors.inbox_summary(outsider, InboxFilters(), now=NOW).counts == {
        "waiting": 1,
        "answered": 0,
        "handled": 0,
        "dismissed": 0,
        "all": 1,
    }
    assert selectors.inbox_summary(viewer, InboxFilters(), now=NOW).counts["all"] == 2
    # A unit outside the user's scope filters down to nothing (the form refuses it before that).
    assert page_ids(outsider, InboxFilters(unit=org["north"]))[0] == []


def test_member_sees_the_items_of_the_accounts_they_hold(frozen, org, north_member, north_account):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    grant(user, Role.MEMBER, org["11"])
    station_account = SocialAccountFactory.create(handle="MPS11Div", unit=org["11"])
    held = inbox_item(north_account)
    inbox_item(station_account)

    assert page_ids(user)[0] == [held.pk]
    assert selectors.inbox_summary(user, InboxFilters(), now=NOW).counts["waiting"] == 1
    assert triage_access.inbox_available(user)


def test_inbox_is_not_for_users_without_a_role_or_an_account(db):
    assert not triage_access.inbox_available(UserFactory.create(username="nobody"))


def test_access_selector(viewer, outsider, north_account):
    item = inbox_item(north_account)
    assert triage_access.get_triage_item_for_user(user=viewer, pk=item.pk, action=Action.TRIAGE_HANDLE) == item
    with pytest.raises(Http404):
        triage_access.get_triage_item_for_user(user=outsider, pk=item.pk)
    with pytest.raises(Http404):
        triage_access.get_triage_items_for_user(user=outsider, pks=[item.pk])


def test_counts_are_capped_and_report_the_newest_id(frozen, monkeypatch, viewer, north_account):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(5):
        inbox_item(north_account)
    inbox_item(north_account, status="handled")

    summary = selectors.inbox_summary(viewer, InboxFilters(), now=NOW)

    assert summary.counts == {"waiting": 3, "answered": 0, "handled": 1, "dismissed": 0, "all": 4}
    assert summary.capped == {"waiting", "all"}
    assert summary.newest_id == TriageItem.objects.latest("pk").pk  # the watermark of the "N new" poll


def test_summary_for_a_user_who_sees_nothing(db):
    summary = selectors.inbox_summary(UserFactory.create(username="nobody"), InboxFilters(), now=NOW)
    assert summary.counts["all"] == 0
    assert summary.newest_id == 0


def test_new_items_count(frozen, viewer, outsider, north_account, south_account):
    first = inbox_item(north_account)
    inbox_item(north_account)
    inbox_item(north_account, status="handled")
    inbox_item(south_account)

    assert selectors.new_items_count(viewer, InboxFilters(), since_id=first.pk) == 1
    assert selectors.new_items_count(viewer, InboxFilters(status="all"), since_id=first.pk) == 2
    assert selectors.new_items_count(outsider, InboxFilters(), since_id=first.pk) == 1


# --- One item ------------------------------------------------------------------------------------


def test_thread_holds_the_visible_conversation_in_order(frozen, org, viewer, north_account, south_account):
    item = inbox_item(north_account, conversation="conv-1", minutes_ago=30)
    reply = Message.objects.create(
        platform="x", external_id="r1", account=north_account, direction="outbound", kind="reply",
        author_id="1", author_handle=north_account.handle, text="hi Dana",
        created_at=NOW - datetime.timedelta(minutes=5), conversation_id="conv-1", content_hash="r1",
    )  # fmt: skip
    Message.objects.create(
        platform="x", external_id="r2", account=south_account, direction="outbound", kind="reply",
        author_id="2", author_handle=south_account.handle, text="south chimes in", created_at=NOW,
        conversation_id="conv-1", content_hash="r2",
    )  # fmt: skip
    inbox_item(north_account, conversation="conv-2")

    assert [message.pk for message in triage_item.item_thread(viewer, item)] == [item.message_id, reply.pk]


def test_assignable_users_have_a_role_over_the_unit_or_hold_the_account(
    org, admin_user, owner, viewer, outsider, north_member, north_account
):
    holder = UserFactory.create(username="alex")
    north_member.user = holder
    north_member.save(update_fields=["user"])
    traffic_supervisor = UserFactory.create(username="traffic-sup")
    grant(traffic_supervisor, Role.SUPERVISOR, org["traffic"])
    item = inbox_item(north_account)

    names = [user.username for user in triage_item.assignable_users(item)]

    assert names == ["alex", "north-admin", "north-supervisor", "service-admin"]


# --- Query budget --------------------------------------------------------------------------------


def _fill(account, count, offset=0):
    for index in range(count):
        inbox_item(account, minutes_ago=offset + index * 7 + 1, priority=(URGENT, HIGH, NORMAL)[index % 3])


@pytest.mark.parametrize("page_size", [10, 50])
@pytest.mark.parametrize("volume", [8, 150])
def test_query_count_does_not_grow_with_page_size_or_data(
    frozen, account_mode, django_assert_num_queries, viewer, north_account, page_size, volume
):
    _fill(north_account, volume)
    user_scope(viewer)  # the scope is computed once per request; measure the inbox itself
    filters = InboxFilters(status="all", search="hello")
    with django_assert_num_queries(1):
        accounts = selectors.inbox_accounts(viewer, filters)
    with django_assert_num_queries(3):  # keys (one UNION ALL), rows, unit paths
        first = selectors.inbox_page(viewer, filters, page_size=page_size, now=NOW, accounts=accounts)
    with django_assert_num_queries(3):
        second = selectors.inbox_page(
            viewer, filters, after=first.next_cursor, page_size=page_size, now=NOW, accounts=accounts
        )
    # In a few accounts, a search first asks PostgreSQL how common the word is (monitoring.search).
    with django_assert_num_queries(2 if accounts.ids is not None else 1):
        selectors.inbox_summary(viewer, filters, now=NOW, accounts=accounts)
    assert len(first.rows) == min(page_size, volume)
    assert len(second.rows) == (min(page_size, volume - page_size) if volume > page_size else volume)
