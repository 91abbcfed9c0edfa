"""One review per post: a post that trips several rules is one queue row with every reason, reviewed and
coached once; the flag's page lists the post's other flags; the row shows the match and the post's time."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils.timezone import localtime
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent
from engagement.models import Feedback
from policies.models import PolicyFlag
from policies.queue import match_snippet
from policies.selectors import Segment
from tests.factories import HOSTILE, flag_on, make_message, make_rule

pytestmark = pytest.mark.django_db

QUEUE = reverse("policies:queue")
HTMX = {"HX-Request": "true"}
TEXT = "Suspect born 1990-01-02, seen on Queen street, occurrence 2026-118."


@pytest.fixture
def post(org, north_account):
    """One outbound post flagged by three rules (critical, warning, info), as the engine would."""
    message = make_message(north_account, TEXT, minutes=-90)
    flags = {}
    for name, severity, word in [
        ("Date of birth", "critical", "born"),
        ("Street address", "warning", "street"),
        ("Occurrence number", "info", "occurrence"),
    ]:
        start = TEXT.index(word)
        flags[name] = flag_on(
            make_rule(name, severity=severity, config={"terms": [word]}),
            north_account,
            message=message,
            spans=[[start, start + len(word)]],
            excerpt=TEXT[:40],
        )
    return flags


def row_ids(response):
    return [int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', response.content.decode())]


def verbs(flag):
    return list(
        AuditEvent.objects.filter(target_type="policies.policyflag", target_id=str(flag.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )


def test_a_post_that_trips_three_rules_is_one_row_with_three_reasons(client, viewer, post):
    client.force_login(viewer)
    response = client.get(QUEUE)
    lead = post["Date of birth"]  # the most severe leads the row
    assert row_ids(response) == [lead.pk]
    row = response.content.decode().split(f'id="flag-row-{lead.pk}"')[1].split("</tr>")[0]
    assert [name for name in ("Date of birth", "Street address", "Occurrence number") if name in row] == [
        "Date of birth",
        "Street address",
        "Occurrence number",
    ]
    # Every match highlighted in the row's snippet, and the tab counts the row, not the flags.
    assert re.findall(r"<mark>([^<]+)</mark>", row) == ["born", "street", "occurrence"]
    assert re.search(r'hx-push-url="true" aria-current="page">Open <span class="count">1<', response.content.decode())


def test_the_row_shows_the_posts_time_not_the_flags(client, viewer, post):
    client.force_login(viewer)
    lead = post["Date of birth"]
    posted = lead.message.created_at
    assert posted != lead.created_at
    response = client.get(QUEUE)
    assertContains(response, f'<time datetime="{localtime(posted).isoformat()}"')
    assertNotContains(response, f'<time datetime="{localtime(lead.created_at).isoformat()}"')


def test_filtering_by_a_lesser_rule_still_shows_the_post_once(client, viewer, post):
    client.force_login(viewer)
    response = client.get(QUEUE, {"rule": post["Street address"].rule_id})
    assert row_ids(response) == [post["Street address"].pk]
    assertContains(response, "Date of birth")  # the row still gives every reason


def test_acknowledging_the_row_acknowledges_every_open_flag_of_the_post_audited_per_flag(client, viewer, post):
    lead, address, occurrence = post.values()
    occurrence.status = PolicyFlag.Status.RESOLVED  # already dealt with on its own: left alone
    occurrence.save(update_fields=["status"])
    client.force_login(viewer)
    response = client.post(
        reverse("policies:flag-acknowledge", args=[lead.pk]),
        {"next": QUEUE},
        headers={**HTMX, "HX-Target": f"flag-row-{lead.pk}"},
    )
    assert response.status_code == 200
    assert response.content.decode().strip().startswith(f'<tr id="flag-row-{lead.pk}"')
    statuses = dict(PolicyFlag.objects.values_list("rule__name", "status"))
    assert statuses == {
        "Date of birth": "acknowledged",
        "Street address": "acknowledged",
        "Occurrence number": "resolved",
    }
    assert verbs(lead) == verbs(address) == ["policy_flag.acknowledge"]
    assert verbs(occurrence) == []
    # Acting on the second flag of the post (from its own page) moves the lead too.
    client.post(reverse("policies:flag-resolve", args=[address.pk]), headers=HTMX)
    lead.refresh_from_db()
    assert lead.status == "resolved"


def test_coaching_is_sent_once_for_the_post_and_history_updates_in_place(client, viewer, post, north_member):
    lead = post["Date of birth"]
    client.force_login(viewer)
    response = client.post(
        reverse("policies:flag-coach", args=[lead.pk]), {"text": "Keep case details off social media."}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith('<section class="card" id="review"')
    # The history comes out of band in the same response, with the coaching in it.
    history = body.split('id="flag-history"')[1]
    assert 'hx-swap-oob="true"' in history.split(">")[0]
    assert "sent coaching to the member" in history
    assert Feedback.objects.count() == 1
    assert len(mail.outbox) <= 1
    for flag in post.values():
        flag.refresh_from_db()
        assert flag.status == "acknowledged"
        assert verbs(flag) == ["policy_flag.coach", "policy_flag.acknowledge"]


def test_the_flag_page_lists_the_posts_other_flags(client, viewer, post):
    client.force_login(viewer)
    response = client.get(reverse("policies:flag", args=[post["Street address"].pk]))
    assertContains(response, "This post also broke")
    for name in ("Date of birth", "Occurrence number"):
        assertContains(response, f'href="{reverse("policies:flag", args=[post[name].pk])}">{name}</a>', html=False)


def test_hostile_post_text_is_escaped_in_the_row(client, viewer, org, north_account):
    text = f"{HOSTILE} confidential {HOSTILE}"
    start = text.index("confidential")
    flag_on(
        make_rule("Confidential", severity="critical"),
        north_account,
        message=make_message(north_account, text),
        spans=[[start, start + 12]],
    )
    client.force_login(viewer)
    response = client.get(QUEUE)
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body or "&lt;img" in body
    assert "<mark>confidential</mark>" in body


def test_match_snippet_keeps_context_around_the_matches():
    text = "a" * 100 + "MATCH" + "b" * 100
    snippet = match_snippet(text, [[100, 105]], context=10)
    assert snippet == [
        Segment("…", is_match=False),
        Segment("a" * 10, is_match=False),
        Segment("MATCH", is_match=True),
        Segment("b" * 10, is_match=False),
        Segment("…", is_match=False),
    ]
    assert match_snippet("short", [["bad"], [0, 99]], context=10) == [Segment("short", is_match=True)]
    assert match_snippet("no spans here", [], context=3) == [
        Segment("no spa", is_match=False),
        Segment("…", is_match=False),
    ]


def test_the_queue_query_count_is_the_same_with_many_multi_rule_posts(
    client, viewer, org, north_account, post, django_assert_num_queries
):
    client.force_login(viewer)
    client.get(QUEUE)
    with django_assert_num_queries(10):
        client.get(QUEUE)
    rules = list(PolicyFlag.objects.values_list("rule", flat=True))
    for index in range(20):
        message = make_message(north_account, f"post {index}", minutes=index)
        for rule_id in rules:
            PolicyFlag.objects.create(rule_id=rule_id, account=north_account, message=message)
    with django_assert_num_queries(10):
        response = client.get(QUEUE)
    assert len(row_ids(response)) == 21
