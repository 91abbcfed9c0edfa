"""The inbox pages and fragments: status, content and scoping for every view; htmx fragments; actions
with and without JavaScript; CSRF; hostile text; the CSV export; a constant query count."""

import csv
import datetime
import io
import re
import uuid
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent, Role
from engagement.models import CategoryCorrection, TriageItem, TriageNote
from monitoring.models import Message
from tests.clients import SignedInClient
from tests.factories import FROZEN_NOW, SocialAccountFactory, UserFactory, grant, inbox_item

NOW = FROZEN_NOW
HIGH, URGENT = TriageItem.Priority.HIGH, TriageItem.Priority.URGENT

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
INBOX = reverse("inbox:index")
HOSTILE_TEXT = "<script>alert(1)</script> is the desk open?"
HOSTILE_NAME = '"><img src=x onerror=alert(1)>'
HOSTILE_HANDLE = "hx-get=/x hx-trigger=load"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """Presence lives in the cache: the real Redis, under a prefix of this test's own."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-inbox-{uuid.uuid4().hex}"}}


@pytest.fixture
def items(north_account, south_account):
    return {
        "question": inbox_item(
            north_account, text="Is the front desk open on Sunday?", priority=HIGH, is_question=True, minutes_ago=20,
            author=("901", "dana_k", "Dana K"), url="https://x.com/dana_k/status/1", category="question",
        ),
        "old": inbox_item(north_account, text="thanks for the help last week", minutes_ago=5 * 60),
        "emergency": inbox_item(
            north_account, text="someone is breaking in next door", priority=URGENT, category="emergency",
            minutes_ago=3,
        ),
        "handled": inbox_item(north_account, text="north handled item", status="handled"),
        "south": inbox_item(south_account, text="south waiting item", author=("902", "sam_s", "Sam S")),
    }  # fmt: skip


def found(pattern, text):
    match = re.search(pattern, text)
    assert match is not None, pattern
    return match.group(1)


def item_url(name, item, **kwargs):
    return reverse(f"inbox:{name}", args=[item.pk], **kwargs)


# --- The page ------------------------------------------------------------------------------------


def test_inbox_lists_waiting_items_first_things_first(client, viewer, items):
    client.force_login(viewer)
    response = client.get(INBOX)

    assert response.status_code == 200
    body = response.content.decode()
    positions = [body.index(f'id="item-{items[name].pk}"') for name in ("emergency", "old", "question")]
    assert positions == sorted(positions)
    assertContains(response, "Is the front desk open on Sunday?")
    assertContains(response, "Dana K")
    assertContains(response, "@dana_k")
    assertContains(response, "@dana_k → TPS11Alex")
    assertContains(response, "· X · Metro Police Service/North Division/11 Station · Unassigned")
    assertContains(response, '5 h</time> <strong class="error">over target</strong>', html=False)
    assertContains(response, "call 911", count=1)  # one banner at the top, not one per row
    assertContains(response, 'badge badge-question">Possible emergency', count=0)
    assertContains(response, 'id="count-waiting">3</span>')
    assertContains(response, 'id="count-handled">1</span>')
    assert re.search(r'<script src="/static/js/shortcuts\.[0-9a-f]+\.js" defer></script>', body)
    assertContains(
        response, '<dialog id="inbox-help" class="inbox-help" aria-labelledby="inbox-help-heading" data-shortcuts-help>'
    )
    assertContains(response, 'hx-trigger="every 30s"', count=1)  # one poll for the whole list
    assertNotContains(response, "north handled item")
    assertNotContains(response, "south waiting item")
    for inline in ("style=", "onclick", "hx-on", "<script>"):
        assert inline not in body.replace("&lt;script&gt;", ""), inline


def test_outsider_sees_nothing_of_north(client, outsider, items):
    client.force_login(outsider)
    for params in ({}, {"status": "all"}, {"status": "all", "q": "north"}, {"status": "handled"}):
        response = client.get(INBOX, params)
        assert response.status_code == 200
        assertNotContains(response, "North Division")
        assertNotContains(response, "TPS11Alex")
        assertNotContains(response, "Is the front desk open")
        assertNotContains(response, "north handled item")
    response = client.get(INBOX, {"status": "all"})
    assertContains(response, "south waiting item")
    assertContains(response, 'id="count-waiting">1</span>')
    assertContains(response, 'id="count-handled">0</span>')
    assertContains(response, 'id="count-all">1</span>')


def test_north_item_urls_are_404_for_the_outsider(client, outsider, items):
    client.force_login(outsider)
    item = items["question"]
    for name in ("item", "presence"):
        assert client.get(item_url(name, item)).status_code == 404
        assert client.get(item_url(name, item), headers=HTMX).status_code == 404
    for name, data in (
        ("assign", {"assignee": "me"}),
        ("handle", {"reason": "spam"}),
        ("dismiss", {}),
        ("reopen", {}),
        ("note", {"text": "hi"}),
        ("categorize", {"category": "emergency"}),
    ):
        assert client.post(item_url(name, item), data).status_code == 404
        assert client.post(item_url(name, item), data, headers=HTMX).status_code == 404
    response = client.post(reverse("inbox:bulk"), {"action": "dismiss", "items": [items["south"].pk, item.pk]})
    assert response.status_code == 404
    assert set(TriageItem.objects.values_list("status", flat=True)) == {"waiting", "handled"}
    assert not AuditEvent.objects.changes().exists()
    assert not TriageNote.objects.exists()
    assert not CategoryCorrection.objects.exists()
    assert TriageItem.objects.get(pk=item.pk).category == "question"


def test_page_needs_login_and_a_role(client, items):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory.create(username="nobody"))
    assert client.get(INBOX).status_code == 403
    assert client.get(reverse("inbox:export")).status_code == 403
    assert client.get(item_url("item", items["question"])).status_code == 404


def test_member_sees_the_items_of_the_accounts_they_hold(client, org, north_member, north_account, items):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    grant(user, Role.MEMBER, org["11"])
    station = SocialAccountFactory.create(handle="MPS11Div", unit=org["11"])
    inbox_item(station, text="to the station account")
    client.force_login(user)

    response = client.get(INBOX)

    assert response.status_code == 200
    assertContains(response, "Is the front desk open on Sunday?")
    assertNotContains(response, "to the station account")
    assertNotContains(response, "south waiting item")
    response = client.post(item_url("handle", items["question"]), {"reason": "no_reply_needed"}, headers=HTMX)
    assert response.status_code == 200
    # The capabilities table: a member handles their own items; dismissing or assigning is for their unit's
    # supervisors, comms managers and admins.
    assert client.post(item_url("dismiss", items["question"]), headers=HTMX).status_code == 403
    assert client.post(item_url("assign", items["question"]), {"assignee": "me"}, headers=HTMX).status_code == 403
    assert client.get(item_url("item", items["south"])).status_code == 404


def test_filters_come_from_the_url(client, viewer, org, items):
    client.force_login(viewer)
    response = client.get(INBOX, {"q": "front desk", "question": "1", "unit": org["11"].pk})
    assertContains(response, "Is the <mark>front desk</mark> open on Sunday?")  # the match marked
    assertNotContains(response, "thanks for the help last week")
    assertContains(response, 'value="front desk"')
    # The export and the status tabs keep the filters.
    assertContains(response, f'href="/inbox/export.csv?unit={org["11"].pk}&amp;question=1&amp;q=front+desk"')
    assertContains(response, f'href="/inbox/?unit={org["11"].pk}&amp;question=1&amp;q=front+desk&amp;status=all"')


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"unit": "abc"},
        {"unit": "-4"},
        {"platform": "myspace"},
        {"age": "ancient"},
        {"assigned": "everyone"},
        {"q": "x" * 500},
        {"after": "not-a-cursor"},
        {"question": "maybe", "flagged": "2"},
    ],
)
def test_invalid_filters_are_form_errors_on_the_page_and_400_on_the_export(client, viewer, items, params):
    """common.filters: the page lists with the valid filters and names the others; the export refuses."""
    client.force_login(viewer)
    response = client.get(INBOX, params)
    assert response.status_code == 200
    assertContains(response, "<h1>Inbox</h1>", html=False)
    assertContains(response, "Some filters were not applied")
    assertContains(response, "Is the front desk open on Sunday?")  # the default list still shows
    export = client.get(reverse("inbox:export"), params)
    assert export.status_code == 400
    assert next(iter(params)) in export.content.decode()


def test_a_unit_outside_the_scope_is_404_like_on_the_queue_and_in_the_api(client, viewer, org, items):
    client.force_login(viewer)
    assert client.get(INBOX, {"unit": org["south"].pk}).status_code == 404
    assert client.get(INBOX, {"unit": org["south"].pk}, headers=HTMX).status_code == 404
    assert client.get(reverse("inbox:export"), {"unit": org["south"].pk}).status_code == 404
    for account in (items["south"].account_id, 9999999):  # out of scope or missing: the same answer
        assert client.get(INBOX, {"account": account}).status_code == 404
        assert client.get(reverse("inbox:export"), {"account": account}).status_code == 404
    assert client.get(INBOX, {"unit": org["north"].pk}).status_code == 200


def test_results_fragment_for_htmx(client, viewer, items):
    client.force_login(viewer)
    response = client.get(INBOX, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="inbox-results">')
    assertContains(response, "Is the front desk open on Sunday?")
    assert "HX-Request" in response["Vary"]
    # A history restore gets the whole page.
    restored = client.get(INBOX, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in restored.content.decode()


def test_keyset_pagination_through_the_view(client, viewer, north_account, monkeypatch):
    from engagement.selectors import inbox as selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    created = [inbox_item(north_account, text=f"message number {index}", minutes_ago=10 + index) for index in range(5)]
    client.force_login(viewer)
    seen, url = [], INBOX + "?q=message+number"
    for _page in range(3):
        response = client.get(url)
        seen += [int(pk) for pk in re.findall(r'<li id="item-(\d+)"', response.content.decode())]
        match = re.search(r'<a href="(/inbox/\?[^"]+)" rel="next">', response.content.decode())
        if match is None:
            break
        url = match.group(1).replace("&amp;", "&")
        assert "q=message+number" in url
    assert seen == [item.pk for item in created]  # a search lists newest first
    assert match is None


# --- "N new" -------------------------------------------------------------------------------------


def test_new_items_fragment(client, viewer, outsider, north_account, south_account, items):
    client.force_login(outsider)  # each user's watermark is the newest item in their own scope
    outsider_since = int(found(r"since=(\d+)", client.get(INBOX).content.decode()))
    client.force_login(viewer)
    newest = client.get(INBOX).content.decode()
    since = int(found(r"since=(\d+)", newest))
    inbox_item(north_account, text="a brand new one")
    inbox_item(south_account, text="new in the south")

    response = client.get(reverse("inbox:new"), {"since": since}, headers=HTMX)

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assertContains(response, "1 new — show")
    assertContains(response, 'hx-trigger="every 30s"')
    assert "HX-Request" in response["Vary"]
    client.force_login(outsider)  # the new one in the South, nothing of the North
    assertContains(client.get(reverse("inbox:new"), {"since": outsider_since}, headers=HTMX), "1 new — show")
    assertNotContains(client.get(reverse("inbox:new"), {"since": "x"}, headers=HTMX), "new — show")
    assert client.get(reverse("inbox:new"), {"since": since}).status_code == 302


# --- One item ------------------------------------------------------------------------------------


def test_opening_an_item_shows_thread_and_notes(client, viewer, outsider, north_account, south_account):
    item = inbox_item(north_account, conversation="c1", text="where do I pick up my bike?", minutes_ago=30)
    Message.objects.create(
        platform="x", external_id="reply-1", account=north_account, direction="outbound", kind="reply",
        author_id="1", author_handle="TPS11Alex", text="At the front desk, any time.", created_at=NOW,
        conversation_id="c1", content_hash="r",
    )  # fmt: skip
    Message.objects.create(
        platform="x", external_id="reply-2", account=south_account, direction="outbound", kind="reply",
        author_id="2", author_handle="TPS51Sam", text="south reply", created_at=NOW, conversation_id="c1",
        content_hash="r2",
    )  # fmt: skip
    TriageNote.objects.create(item=item, author=viewer, text="She called too.")
    client.force_login(viewer)

    fragment = client.get(item_url("item", item), headers=HTMX)
    page = client.get(item_url("item", item))

    assert fragment.status_code == page.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]
    for response in (fragment, page):
        assertContains(response, "where do I pick up my bike?")
        assertContains(response, "At the front desk, any time.")
        assertContains(response, "She called too.")
        assertNotContains(response, "south reply")
    assertContains(page, "<html")
    assertContains(page, f'id="item-{item.pk}"')


def test_second_person_sees_who_else_is_on_it(client, viewer, owner, items):
    item = items["question"]
    client.force_login(viewer)
    assertNotContains(client.get(item_url("item", item), headers=HTMX), "Also on this")
    other = SignedInClient()
    other.force_login(owner)
    assertContains(other.get(item_url("item", item), headers=HTMX), "Also on this: north-supervisor")
    # The first one's poll refreshes their presence and now shows the second.
    response = client.get(item_url("presence", item), headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assertContains(response, "Also on this: north-admin")


# --- Actions -------------------------------------------------------------------------------------


def test_assign_to_me_rerenders_the_row(client, viewer, items):
    item = items["question"]
    client.force_login(viewer)
    response = client.post(item_url("assign", item), {"assignee": "me"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith(f'<li id="item-{item.pk}"')
    assert "Assigned to north-supervisor" in body
    assert "HX-Request" in response["Vary"]
    item.refresh_from_db()
    assert item.assignee == viewer
    assert AuditEvent.objects.get().verb == "triage.assign"


def test_actions_without_javascript_go_back_to_the_inbox_with_its_filters(client, viewer, items):
    client.force_login(viewer)
    back = "status=all&q=front+desk&unit=99999&evil=https://evil.example"
    response = client.post(item_url("handle", items["question"]), {"reason": "answered_by_phone", "back": back})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?status=all&q=front+desk"
    followed = client.get(response["Location"])
    assertContains(followed, "is handled (Answered by phone)")
    items["question"].refresh_from_db()
    assert (items["question"].status, items["question"].handled_reason) == ("handled", "answered_by_phone")

    response = client.post(item_url("dismiss", items["old"]), {"back": back, "open": "1"})
    assert response.status_code == 302
    assert response["Location"] == item_url("item", items["old"]) + "?back=status%3Dall%26q%3Dfront%2Bdesk"


def test_handle_with_an_unknown_reason_rerenders_with_an_error(client, viewer, items):
    client.force_login(viewer)
    response = client.post(item_url("handle", items["question"]), {"reason": "because"}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "Choose one of the reasons offered.")
    items["question"].refresh_from_db()
    assert items["question"].status == "waiting"


def test_dismiss_then_reopen(client, viewer, items):
    client.force_login(viewer)
    item = items["old"]
    response = client.post(item_url("dismiss", item), headers=HTMX)
    assertContains(response, "Dismissed")
    assertContains(response, ">Reopen</button>")
    response = client.post(item_url("reopen", item), headers=HTMX)
    assertContains(response, ">Mark handled</button>")
    item.refresh_from_db()
    assert item.status == "waiting"
    assert list(AuditEvent.objects.order_by("id").values_list("verb", flat=True)) == [
        "triage.dismiss",
        "triage.reopen",
    ]


def test_an_action_on_an_open_item_keeps_it_open(client, viewer, items):
    client.force_login(viewer)
    response = client.post(item_url("assign", items["question"]), {"assignee": "me", "open": "1"}, headers=HTMX)
    assertContains(response, "Internal notes")


def test_assign_to_someone_who_can_see_the_item(client, viewer, owner, outsider, items):
    client.force_login(viewer)
    item = items["question"]
    assertContains(client.get(item_url("item", item), headers=HTMX), f'<option value="{owner.pk}"')
    response = client.post(item_url("assign", item), {"assignee": str(owner.pk), "open": "1"}, headers=HTMX)
    assertContains(response, "Assigned to north-admin")
    response = client.post(item_url("assign", item), {"assignee": str(outsider.pk)}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "Choose someone who can see this item.")
    item.refresh_from_db()
    assert item.assignee == owner


def test_notes(client, viewer, items):
    client.force_login(viewer)
    item = items["question"]
    response = client.post(item_url("note", item), {"text": "Called back, no answer."}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assertContains(response, "Called back, no answer.")
    assertContains(response, "Note added.")
    response = client.post(item_url("note", item), {"text": "   "}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "This field is required.")
    response = client.post(item_url("note", item), {"text": "Without JavaScript"})
    assert response.status_code == 302
    assert response["Location"] == item_url("item", item)
    assert TriageNote.objects.count() == 2
    assert AuditEvent.objects.filter(verb="triage.note").count() == 2


def test_actions_need_post_and_csrf(viewer, items):
    client = SignedInClient(enforce_csrf_checks=True)
    client.force_login(viewer)
    url = item_url("dismiss", items["old"])
    assert client.get(url).status_code == 405
    assert client.post(url, headers=HTMX).status_code == 403
    items["old"].refresh_from_db()
    assert items["old"].status == "waiting"
    page = client.get(INBOX)
    token = found(r'"X-CSRFToken": "([^"]+)"', page.content.decode())
    assert client.post(url, headers={**HTMX, "X-CSRFToken": token}).status_code == 200
    items["old"].refresh_from_db()
    assert items["old"].status == "dismissed"


# --- Bulk ----------------------------------------------------------------------------------------


def test_bulk_updates_the_rows_out_of_band(client, viewer, items):
    client.force_login(viewer)
    selected = [items["question"].pk, items["old"].pk]
    response = client.post(
        reverse("inbox:bulk"), {"action": "handle", "reason": "duplicate", "items": selected}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "Mark handled: 2 items updated." in body
    assert body.count('hx-swap-oob="true"') == 4  # the two rows, the status tabs, the undo form
    assert set(TriageItem.objects.filter(pk__in=selected).values_list("status", "handled_reason")) == {
        ("handled", "duplicate")
    }


def test_bulk_with_an_item_out_of_scope_changes_nothing(client, viewer, items):
    client.force_login(viewer)
    response = client.post(
        reverse("inbox:bulk"), {"action": "dismiss", "items": [items["question"].pk, items["south"].pk]}
    )
    assert response.status_code == 404
    assert not TriageItem.objects.filter(status="dismissed").exists()


def test_bulk_without_a_selection(client, viewer, items):
    client.force_login(viewer)
    response = client.post(reverse("inbox:bulk"), {"action": "dismiss"}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "Select at least one item.")
    response = client.post(reverse("inbox:bulk"), {"action": "dismiss", "back": "status=all"})
    assert response["Location"] == "/inbox/?status=all"


def test_bulk_without_javascript(client, viewer, items):
    client.force_login(viewer)
    response = client.post(
        reverse("inbox:bulk"), {"action": "assign_me", "items": [items["question"].pk], "back": "q=desk"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?q=desk"
    assert TriageItem.objects.get(pk=items["question"].pk).assignee == viewer


# --- Hostile text --------------------------------------------------------------------------------


class AttributeCollector(HTMLParser):
    """Every (attribute, value) of every element: what a browser would act on."""

    def __init__(self):
        super().__init__()
        self.attributes = set()
        self.elements = []

    def handle_starttag(self, tag, attrs):
        self.attributes.update(attrs)
        self.elements.append(dict(attrs))

    @classmethod
    def parse(cls, body):
        parser = cls()
        parser.feed(body)
        return parser

    @classmethod
    def of(cls, body):
        return cls.parse(body).attributes


def test_hostile_text_renders_escaped(client, viewer, north_account):
    item = inbox_item(
        north_account, text=HOSTILE_TEXT, author=("666", HOSTILE_HANDLE, HOSTILE_NAME), url="javascript:alert(1)"
    )
    TriageNote.objects.create(item=item, author=viewer, text=HOSTILE_TEXT)
    client.force_login(viewer)
    responses = [
        client.get(INBOX),
        client.get(INBOX, headers=HTMX),
        client.get(item_url("item", item)),
        client.get(item_url("item", item), headers=HTMX),
        client.post(item_url("assign", item), {"assignee": "me", "open": "1"}, headers=HTMX),
    ]
    for response in responses:
        body = response.content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<img src=x onerror=alert(1)>" not in body
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in body
        assert "javascript:alert" not in body
        parsed = AttributeCollector.parse(body)
        attributes = parsed.attributes
        # The page's own loader (the first-poll notice) is the only element that fetches on load.
        loaders = {element.get("hx-get") for element in parsed.elements if element.get("hx-trigger") == "load"}
        assert loaders <= {reverse("monitoring:first-poll")}
        assert ("hx-get", "/x") not in attributes
        assert not any(name == "onerror" for name, _value in attributes)


# --- Export --------------------------------------------------------------------------------------


def read_csv(response):
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_is_scoped_filtered_and_neutralised(client, viewer, outsider, north_account, items):
    formula = inbox_item(north_account, text='=HYPERLINK("http://evil")', author=("7", "@mention", "+1 caller"))
    client.force_login(viewer)
    response = client.get(reverse("inbox:export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0] == [
        "id", "status", "platform", "external_id", "account", "unit_path", "author_handle", "author_name", "text",
        "created_at", "category", "is_question", "first_response_seconds", "assignee",
    ]  # fmt: skip
    by_id = {int(row[0]): row for row in rows[1:]}
    assert set(by_id) == {items["question"].pk, items["old"].pk, items["emergency"].pk, formula.pk}
    question = by_id[items["question"].pk]
    assert question[1:6] == ["waiting", "x", items["question"].message.external_id, "TPS11Alex",
                             "Metro Police Service/North Division/11 Station"]  # fmt: skip
    assert question[9:13] == ["2026-11-20T14:40:00+00:00", "question", "true", ""]
    assert by_id[formula.pk][6:9] == ["'@mention", "'+1 caller", '\'=HYPERLINK("http://evil")']

    filtered = read_csv(client.get(reverse("inbox:export"), {"status": "all", "q": "handled"}))
    assert [row[0] for row in filtered[1:]] == [str(items["handled"].pk)]

    client.force_login(outsider)
    rows = read_csv(client.get(reverse("inbox:export"), {"status": "all"}))
    assert [int(row[0]) for row in rows[1:]] == [items["south"].pk]
    assert "TPS11Alex" not in str(rows)


# --- Query budget --------------------------------------------------------------------------------


def _count_queries(client, url, **kwargs):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_data(client, django_assert_num_queries, viewer, north_account, org):
    client.force_login(viewer)
    traffic = SocialAccountFactory.create(handle="MetroTraffic", unit=org["traffic"])
    inbox_item(north_account)
    # session, user, scope (2), accounts, keys, rows, unit paths, counts, filter choices (3)
    with django_assert_num_queries(12):
        client.get(INBOX)
    with django_assert_num_queries(9):
        client.get(INBOX, headers=HTMX)
    small_export = _count_queries(client, reverse("inbox:export"))
    for index in range(120):
        inbox_item(north_account if index % 2 else traffic, minutes_ago=index, assignee=viewer if index % 3 else None,
                  priority=(URGENT, HIGH, 2)[index % 3])  # fmt: skip
    with django_assert_num_queries(12):
        first = client.get(INBOX)
    next_url = found(r'<a href="(/inbox/\?[^"]+)" rel="next">', first.content.decode())
    with django_assert_num_queries(12):
        client.get(next_url.replace("&amp;", "&"))
    # + the unit filter's lookup, + how common the searched word is (monitoring.search.estimated_matches)
    with django_assert_num_queries(11):
        client.get(INBOX, {"unit": org["north"].pk, "q": "hello"}, headers=HTMX)
    assert _count_queries(client, reverse("inbox:export")) == small_export


# --- Categories ----------------------------------------------------------------------------------


def test_category_filter_banners_and_why(client, viewer, north_account, items):
    crime = inbox_item(north_account, text="my bike was stolen yesterday", category="crime", priority=HIGH)
    TriageItem.objects.filter(pk=crime.pk).update(category_reason="crime 'was stolen'; past 'yesterday'")
    client.force_login(viewer)
    response = client.get(INBOX, {"category": "crime"})
    assert response.status_code == 200
    assertContains(response, "my bike was stolen yesterday")
    assertContains(response, "Point the person to the reporting channel")
    assertContains(response, 'title="Why: crime &#x27;was stolen&#x27;; past &#x27;yesterday&#x27;"')
    assertNotContains(response, "someone is breaking in next door")
    assertNotContains(response, "call 911 now")
    assertContains(response, '<option value="crime" selected>Crime report</option>', html=False)
    response = client.get(INBOX, {"category": "emergency"})
    assertContains(response, "someone is breaking in next door")
    assertContains(response, "call 911 now")
    assertNotContains(response, "my bike was stolen")
    rows = read_csv(client.get(reverse("inbox:export"), {"category": "crime"}))
    assert [(int(row[0]), row[10]) for row in rows[1:]] == [(crime.pk, "crime")]
    detail = client.get(item_url("item", crime), headers=HTMX)
    assertContains(detail, "Why: crime &#x27;was stolen&#x27;; past &#x27;yesterday&#x27;")
    assertContains(detail, 'name="category"')


def test_correcting_the_category_is_recorded_audited_and_reranks(client, viewer, outsider, items):
    item = items["emergency"]
    client.force_login(viewer)
    response = client.post(item_url("categorize", item), {"category": "crime", "open": "1"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and f'id="item-{item.pk}"' in body
    assert "is now: Crime report" in body
    item.refresh_from_db()
    assert (item.category, item.priority, item.category_reason) == ("crime", HIGH, "set by north-supervisor")
    correction = CategoryCorrection.objects.get()
    assert (correction.item, correction.previous, correction.category, correction.actor) == (
        item, "emergency", "crime", viewer
    )  # fmt: skip
    assert correction.text == "someone is breaking in next door"
    event = AuditEvent.objects.get(verb="triage.categorize")
    assert (event.before, event.after) == (
        {"category": "emergency", "priority": URGENT},
        {"category": "crime", "priority": HIGH},
    )

    # Again with the same category: nothing new. Without JavaScript: back to the inbox.
    response = client.post(item_url("categorize", item), {"category": "crime", "back": "status=all"})
    assert response.status_code == 302 and response["Location"] == INBOX + "?status=all"
    assert CategoryCorrection.objects.count() == 1

    response = client.post(item_url("categorize", item), {"category": "urgent"}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "Choose one of the categories.")
    assert CategoryCorrection.objects.count() == 1

    client.force_login(outsider)
    assert client.post(item_url("categorize", item), {"category": "other"}).status_code == 404
    assert TriageItem.objects.get(pk=item.pk).category == "crime"


# --- Issue #12: counts that stay true, a deliberate close, safe bulk work ------------------------


def test_mark_handled_has_no_default_reason(client, viewer, items):
    client.force_login(viewer)
    page = client.get(INBOX).content.decode()
    assert 'value="no_reply_needed" selected' not in page
    assert '<option value="" selected>Handled because…</option>' in page
    response = client.post(item_url("handle", items["question"]), {}, headers=HTMX)
    assertContains(response, "Choose one of the reasons offered.")
    bulk = client.post(reverse("inbox:bulk"), {"action": "handle", "items": [items["question"].pk]}, headers=HTMX)
    assertContains(bulk, "there is no default reason")
    items["question"].refresh_from_db()
    assert items["question"].status == "waiting"


def test_an_action_swaps_the_status_counts_out_of_band(client, viewer, items, django_assert_max_num_queries):
    client.force_login(viewer)
    with django_assert_max_num_queries(16):
        response = client.post(item_url("dismiss", items["question"]), {"back": "q=desk"}, headers=HTMX)
    body = response.content.decode()
    assert 'id="inbox-tabs" aria-label="Status" hx-swap-oob="true"' in body
    # The counts follow the carried filters: "desk" matched one waiting item, now dismissed (a search
    # counts the tab shown only), and without the search every tab.
    assert found(r'id="count-waiting">(\d+)<', body) == "0"
    assert 'id="count-dismissed"' not in body
    response = client.post(item_url("reopen", items["question"]), {"back": "status=dismissed"}, headers=HTMX)
    assert found(r'id="count-dismissed">(\d+)<', response.content.decode()) == "0"
    response = client.post(item_url("dismiss", items["question"]), {"back": ""}, headers=HTMX)
    assert found(r'id="count-dismissed">(\d+)<', response.content.decode()) == "1"


def test_bulk_above_the_threshold_asks_first_then_undo_reopens_audited(client, viewer, north_account):
    client.force_login(viewer)
    many = [inbox_item(north_account, text=f"item {number}", minutes_ago=number + 1) for number in range(11)]
    ids = [item.pk for item in many]
    asked = client.post(reverse("inbox:bulk"), {"action": "dismiss", "items": ids}, headers=HTMX)
    assertContains(asked, "Dismiss: 11 items at once?")
    assertContains(asked, 'name="confirmed" value="1"')
    assert TriageItem.objects.filter(pk__in=ids, status="waiting").count() == 11

    done = client.post(reverse("inbox:bulk"), {"action": "dismiss", "items": ids, "confirmed": "1"}, headers=HTMX)
    assertContains(done, "11 items updated")
    assertContains(done, 'id="bulk-undo"')
    assertContains(done, 'name="action" value="reopen"')
    assert TriageItem.objects.filter(pk__in=ids, status="dismissed").count() == 11

    undo = client.post(reverse("inbox:bulk"), {"action": "reopen", "items": ids, "confirmed": "1"}, headers=HTMX)
    assertContains(undo, "Reopen: 11 items updated")
    assert TriageItem.objects.filter(pk__in=ids, status="waiting").count() == 11
    reopened = AuditEvent.objects.filter(verb=AuditEvent.Verb.TRIAGE_REOPEN, actor=viewer)
    assert sorted(int(pk) for pk in reopened.values_list("target_id", flat=True)) == sorted(ids)


def test_another_units_supervisor_cannot_undo_or_confirm_a_bulk_action(client, outsider, items):
    client.force_login(outsider)
    data = {"action": "reopen", "items": [items["handled"].pk], "confirmed": "1"}
    assert client.post(reverse("inbox:bulk"), data, headers=HTMX).status_code == 404
    items["handled"].refresh_from_db()
    assert items["handled"].status == "handled"


def test_one_emergency_banner_with_the_count_and_view_on_opens_a_new_tab(client, viewer, items):
    client.force_login(viewer)
    page = client.get(INBOX).content.decode()
    assert page.count("call 911") == 1
    assertContains(client.get(INBOX), "Possible emergency: 1 waiting on this page.")
    detail = client.get(item_url("item", items["question"]), headers=HTMX)
    assertContains(detail, 'href="https://x.com/dana_k/status/1" target="_blank" rel="noopener noreferrer nofollow"')


def test_filters_applied_show_as_removable_chips(client, viewer, org, items):
    client.force_login(viewer)
    response = client.get(INBOX, {"unit": org["11"].pk, "q": "desk", "question": "1"})
    body = response.content.decode()
    assert "Filters (3)" in body
    # Each chip links to the same filters without it.
    chip = 'aria-label="Remove the filter Search text and authors: “desk”"'
    assert f'href="/inbox/?unit={org["11"].pk}&amp;question=1" {chip}' in body
    assert 'href="/inbox/?question=1&amp;q=desk"' in body


def test_acting_on_an_item_someone_changed_meanwhile_warns_instead_of_overwriting(client, viewer, org, items):
    colleague = UserFactory.create(username="colleague")
    grant(colleague, Role.COMMS_MANAGER, org["north"])
    client.force_login(viewer)
    page = client.get(INBOX).content.decode()
    dismiss = f'action="/inbox/{items["question"].pk}/dismiss/"'
    seen = found(dismiss + r'[^>]*>\s*<input[^>]*><input[^>]*><input type="hidden" name="seen" value="(\d+)"', page)

    with time_machine.travel(NOW + datetime.timedelta(seconds=30), tick=False):
        other = SignedInClient()
        other.force_login(colleague)
        assert other.post(item_url("assign", items["question"]), {"assignee": "me"}).status_code == 302
        response = client.post(item_url("dismiss", items["question"]), {"seen": seen}, headers=HTMX)
    assert response.status_code == 409
    assertContains(response, "Someone acted on this item a moment ago", status_code=409)
    assertContains(response, "colleague", status_code=409)
    assertContains(response, "Assigned to colleague", status_code=409)
    items["question"].refresh_from_db()
    assert (items["question"].status, items["question"].assignee) == ("waiting", colleague)
    # With the version shown now, the same action goes through.
    fresh = found(r'name="seen" value="(\d+)"', response.content.decode())
    done = client.post(item_url("dismiss", items["question"]), {"seen": fresh}, headers=HTMX)
    assert done.status_code == 200
    items["question"].refresh_from_db()
    assert items["question"].status == "dismissed"


def test_the_person_chooses_the_order_and_reaches_the_oldest_question_in_one_click(client, viewer, items):
    client.force_login(viewer)

    def order(**params):
        body = client.get(INBOX, params).content.decode()
        return [int(pk) for pk in re.findall(r'<li id="item-(\d+)"', body)]

    by_age = sorted(["emergency", "old", "question"], key=lambda name: items[name].created_at)
    assert order(order="oldest") == [items[name].pk for name in by_age]
    assert order(order="newest") == [items[name].pk for name in reversed(by_age)]
    assert order()[0] == items["emergency"].pk  # first things first by default
    page = client.get(INBOX).content.decode()
    assert 'href="/inbox/?question=1&amp;order=oldest" class="inbox-oldest-question"' in page
    assert order(question="1", order="oldest") == [items["question"].pk]


def test_plain_orders_page_with_a_keyset_cursor(client, viewer, north_account, django_assert_max_num_queries):
    client.force_login(viewer)
    made = [inbox_item(north_account, text=f"item {number}", minutes_ago=200 - number) for number in range(55)]
    first = client.get(INBOX, {"order": "newest"}).content.decode()
    assert re.findall(r'<li id="item-(\d+)"', first)[0] == str(made[-1].pk)
    next_url = found(r'<a href="(/inbox/\?[^"]+)" rel="next">', first).replace("&amp;", "&")
    with django_assert_max_num_queries(12):
        second = client.get(next_url).content.decode()
    shown = re.findall(r'<li id="item-(\d+)"', second)
    assert shown == [str(item.pk) for item in reversed(made[:5])]


def test_search_ignores_accents_and_case_says_where_it_matched_and_highlights_escaped(client, viewer, north_account):
    client.force_login(viewer)
    bike = inbox_item(north_account, text="<b>Mon Vélo</b> a été volé", author=("7", "rider", "Rider"))
    author = inbox_item(north_account, text="hello", author=("8", "veloce_fan", "Zoé Vélodrome"))
    inbox_item(north_account, text="nothing to see", author=("9", "other", "Other"))
    for term in ("velo", "VÉLO", "Velo"):
        body = client.get(INBOX, {"q": term}).content.decode()
        assert set(re.findall(r'<li id="item-(\d+)"', body)) == {str(bike.pk), str(author.pk)}, term
    body = client.get(INBOX, {"q": "velo"}).content.decode()
    assert "&lt;b&gt;Mon <mark>Vélo</mark>&lt;/b&gt; a été volé" in body  # marked, and escaped around it
    assert "<b>Mon" not in body
    row = body[body.index(f'<li id="item-{author.pk}"') :]
    assert "Matched the author" in row[: row.index("</li>")]
    hostile = client.get(INBOX, {"q": "<script>"}).content.decode()
    assert "<script>" not in hostile.split("<main", 1)[1].replace('<script src="', "")


def test_the_sqlite_fallback_folds_like_the_search():
    import sqlite3

    from common.folding import register_sqlite_fold

    class Demo:
        vendor = "sqlite"
        connection = sqlite3.connect(":memory:")

    register_sqlite_fold(None, Demo())
    assert Demo.connection.execute("SELECT chorus_fold('Vélo ÉTÉ')").fetchone()[0] == "velo ete"
