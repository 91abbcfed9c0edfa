"""The review queue and a flag's page: scoping, filters, order, paging, actions with audit, highlighting."""

import datetime
import re
from urllib.parse import unquote

import pytest
from django.core import mail
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent
from engagement.models import Feedback
from policies.models import PolicyFlag
from policies.selectors import Segment, highlight_segments
from tests.factories import HOSTILE, SocialAccountFactory, UserFactory, flag_on, ingest, make_message, make_rule

pytestmark = pytest.mark.django_db

QUEUE = reverse("policies:queue")
HTMX = {"HX-Request": "true"}


def flag_url(flag, action=""):
    return reverse(f"policies:flag-{action}" if action else "policies:flag", args=[flag.pk])


def audit_verbs(flag):
    return list(
        AuditEvent.objects.filter(target_type="policies.policyflag", target_id=str(flag.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )


@pytest.fixture
def rule(org):
    return make_rule("No confidential information", severity="critical")


@pytest.fixture
def north_flag(rule, north_account):
    message = make_message(north_account, "This is confidential, do not share.")
    return flag_on(rule, north_account, message=message, spans=[[8, 20]], excerpt="This is confidential")


@pytest.fixture
def south_flag(rule, south_account):
    message = make_message(south_account, "South confidential memo")
    return flag_on(rule, south_account, message=message, spans=[[6, 18]], excerpt="South confidential memo")


@pytest.fixture
def member_user(north_member):
    user = UserFactory.create(username="alex-north")
    north_member.user = user
    north_member.save(update_fields=["user"])
    return user


# --- Scoping --------------------------------------------------------------------------------------


def test_supervisor_sees_the_flags_of_the_subtree_with_counts(client, viewer, north_flag, south_flag):
    client.force_login(viewer)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assertContains(response, f'id="flag-row-{north_flag.pk}"')
    assertContains(response, "TPS11Alex")
    assertNotContains(response, "TPS51Sam")
    assertNotContains(response, f'id="flag-row-{south_flag.pk}"')
    assert counts(response) == {"All": 1, "Open": 1, "Acknowledged": 0, "Resolved": 0, "False positive": 0}


def counts(response):
    body = response.content.decode()
    return {
        label.strip(): int(count)
        for label, count in re.findall(
            r'hx-push-url="true"(?: aria-current="page")?>([^<]+)<span class="count">(\d+)', body
        )
    }


def test_outsider_sees_nothing_of_north_in_the_queue_or_its_counts(client, outsider, north_flag, south_flag):
    flag_on(north_flag.rule, north_flag.account, status="resolved", minutes=5)
    client.force_login(outsider)
    response = client.get(QUEUE, {"status": ""})
    assert response.status_code == 200
    assertContains(response, "TPS51Sam")
    assertNotContains(response, "TPS11Alex")
    assertNotContains(response, "11 Station")
    assert counts(response)["All"] == 1
    assert counts(response)["Resolved"] == 0


def test_outsider_gets_404_on_north_flags_and_their_actions(client, outsider, north_flag):
    client.force_login(outsider)
    assert client.get(flag_url(north_flag)).status_code == 404
    for action in ("acknowledge", "resolve", "false-positive", "reopen", "coach"):
        response = client.post(flag_url(north_flag, action), {"note": "x", "text": "x"}, headers=HTMX)
        assert response.status_code == 404, action
    north_flag.refresh_from_db()
    assert north_flag.status == "open"
    assert audit_verbs(north_flag) == []


def test_outsider_filtering_by_a_north_unit_or_account_gets_404(client, outsider, org, north_account, north_flag):
    client.force_login(outsider)
    assert client.get(QUEUE, {"unit": org["north"].pk}).status_code == 404
    assert client.get(QUEUE, {"account": north_account.pk}).status_code == 404


def test_member_sees_flags_of_their_own_account_read_only(client, member_user, north_flag, south_flag):
    client.force_login(member_user)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assertContains(response, f'id="flag-row-{north_flag.pk}"')
    assertNotContains(response, "TPS51Sam")
    assertContains(response, "Read only")
    assertNotContains(response, flag_url(north_flag, "acknowledge"))
    detail = client.get(flag_url(north_flag))
    assert detail.status_code == 200
    assertContains(detail, "reviewing it is up to the supervisors")
    assertNotContains(detail, flag_url(north_flag, "false-positive"))
    assert client.post(flag_url(north_flag, "acknowledge")).status_code == 403
    assert client.post(flag_url(south_flag, "acknowledge")).status_code == 404
    north_flag.refresh_from_db()
    assert north_flag.status == "open"


def test_anonymous_is_sent_to_login(client, north_flag):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_users_without_a_role_or_an_account_get_403(client, north_flag):
    client.force_login(UserFactory.create(username="nobody"))
    assert client.get(QUEUE).status_code == 403
    assert client.get(flag_url(north_flag)).status_code == 404


def test_actions_need_post(client, viewer, north_flag):
    client.force_login(viewer)
    assert client.get(flag_url(north_flag, "acknowledge")).status_code == 405


# --- Order, filters, paging ------------------------------------------------------------------------


def test_queue_sorts_by_severity_then_newest(client, viewer, org, north_account):
    info = make_rule("Info rule", severity="info")
    warning = make_rule("Warning rule", severity="warning")
    critical = make_rule("Critical rule", severity="critical")
    old_critical = flag_on(critical, north_account, minutes=0)
    new_info = flag_on(info, north_account, minutes=30)
    new_critical = flag_on(critical, north_account, minutes=20, message=make_message(north_account, "a"))
    warning_flag = flag_on(warning, north_account, minutes=10)
    client.force_login(viewer)
    body = client.get(QUEUE).content.decode()
    order = [int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', body)]
    assert order == [new_critical.pk, old_critical.pk, warning_flag.pk, new_info.pk]


def test_queue_filters_by_severity_rule_unit_account_and_status(client, viewer, org, north_account, north_flag):
    warning = make_rule("Links outside the allowed list", severity="warning")
    traffic_account = SocialAccountFactory.create(handle="MPSTraffic", unit=org["traffic"])
    traffic_flag = flag_on(warning, traffic_account, minutes=3)
    resolved = flag_on(warning, north_account, minutes=4, status="resolved")
    client.force_login(viewer)

    def rows(**params):
        body = client.get(QUEUE, params).content.decode()
        return {int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', body)}

    assert rows() == {north_flag.pk, traffic_flag.pk}
    assert rows(severity="critical") == {north_flag.pk}
    assert rows(rule=warning.pk) == {traffic_flag.pk}
    assert rows(unit=org["traffic"].pk) == {traffic_flag.pk}
    assert rows(unit=org["north"].pk) == {north_flag.pk, traffic_flag.pk}
    assert rows(account=north_account.pk) == {north_flag.pk}
    assert rows(status="resolved") == {resolved.pk}
    assert rows(status="") == {north_flag.pk, traffic_flag.pk, resolved.pk}
    # common.filters: a malformed value is named as a form error and not applied (the default: open flags).
    assert rows(severity="bogus", status="nonsense") == {north_flag.pk, traffic_flag.pk}
    assertContains(client.get(QUEUE, {"severity": "bogus"}), "Some filters were not applied")
    # The counts follow every filter but the status.
    response = client.get(QUEUE, {"rule": warning.pk})
    assert counts(response) == {"All": 2, "Open": 1, "Acknowledged": 0, "Resolved": 1, "False positive": 0}


def test_rule_filter_offers_only_rules_with_visible_flags(client, outsider, north_flag, south_account):
    make_rule("North-only secret rule name")
    flag_on(make_rule("South rule"), south_account)
    client.force_login(outsider)
    response = client.get(QUEUE)
    assertContains(response, "South rule")
    assertNotContains(response, "North-only secret rule name")


def test_queue_fragment_is_only_the_queue(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.get(QUEUE, {"severity": "critical"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="queue"' in body
    assert f'id="flag-row-{north_flag.pk}"' in body
    assert "HX-Request" in response["Vary"]


def test_queue_pages_with_a_keyset_cursor(client, viewer, rule, north_account):
    flags = [
        flag_on(rule, north_account, minutes=index, message=make_message(north_account, f"post {index}"))
        for index in range(55)
    ]
    client.force_login(viewer)
    first = client.get(QUEUE).content.decode()
    first_rows = [int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', first)]
    assert first_rows == [flag.pk for flag in reversed(flags)][:50]
    match = re.search(r'href="\?after=([^"&]+)"', first)
    assert match is not None
    cursor = unquote(match.group(1))
    # Reviewing a flag of page one does not shift page two.
    PolicyFlag.objects.filter(pk=first_rows[0]).update(status="acknowledged")
    second = client.get(QUEUE, {"after": cursor}).content.decode()
    second_rows = [int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', second)]
    assert second_rows == [flag.pk for flag in reversed(flags)][50:]
    assert "Next page" not in second
    assert "First page" in second
    assert client.get(QUEUE, {"after": "garbage"}).status_code == 200
    # A tampered cursor is refused (signed, like the inbox's): the first page, not a guessed position.
    tampered = client.get(QUEUE, {"after": cursor[:-2] + "xx"}).content.decode()
    assert [int(pk) for pk in re.findall(r'id="flag-row-(\d+)"', tampered)][:1] == [first_rows[1]]


def test_queue_query_count_does_not_grow_with_flags(
    client, viewer, org, rule, north_account, django_assert_num_queries
):
    other = make_rule("Second rule", severity="info")
    flag_on(rule, north_account)
    flag_on(rule, north_account, message=make_message(north_account, "the first post"))
    client.force_login(viewer)
    client.get(QUEUE)  # warm the session

    # 10: the page of posts, then their other flags in one query (policies.queue.queue_rows).
    with django_assert_num_queries(10):
        assert client.get(QUEUE).status_code == 200
    for index in range(40):
        account = SocialAccountFactory.create(
            handle=f"MPSNorth{index}", unit=org["traffic"] if index % 2 else org["11"]
        )
        message = make_message(account, f"post {index}")
        flag_on(rule if index % 3 else other, account, minutes=index, message=message)
        flag_on(other if index % 3 else rule, account, minutes=index, message=message)  # two rules, one post
    with django_assert_num_queries(10):
        assert client.get(QUEUE).status_code == 200
    with django_assert_num_queries(10):
        assert client.get(QUEUE, {"severity": "critical"}, headers=HTMX).status_code == 200


# --- Actions --------------------------------------------------------------------------------------


def test_acknowledge_from_the_queue_updates_the_row_in_place(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(
        flag_url(north_flag, "acknowledge"),
        {"next": "/policies/?status=open"},
        headers={**HTMX, "HX-Target": f"flag-row-{north_flag.pk}"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="flag-row-{north_flag.pk}"')
    assert "Acknowledged" in body
    assert response["HX-Trigger"] == "policy-flag-changed"
    north_flag.refresh_from_db()
    assert (north_flag.status, north_flag.reviewed_by) == ("acknowledged", viewer)
    assert audit_verbs(north_flag) == ["policy_flag.acknowledge"]
    event = AuditEvent.objects.get(verb="policy_flag.acknowledge")
    assert (event.actor, event.unit, event.before["status"], event.after["status"]) == (
        viewer,
        north_flag.account.unit,
        "open",
        "acknowledged",
    )
    # Twice is a no-op: no second audit row.
    client.post(flag_url(north_flag, "acknowledge"), headers=HTMX)
    assert audit_verbs(north_flag) == ["policy_flag.acknowledge"]


def test_resolve_from_the_flag_page_returns_the_review_panel(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(flag_url(north_flag, "resolve"), {"note": "Post deleted by the member."}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.strip().startswith('<section class="card" id="review"')
    assert "Post deleted by the member." in body
    north_flag.refresh_from_db()
    assert (north_flag.status, north_flag.note) == ("resolved", "Post deleted by the member.")
    assert audit_verbs(north_flag) == ["policy_flag.resolve"]


def test_false_positive_requires_a_note(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(flag_url(north_flag, "false-positive"), {"note": "   "}, headers=HTMX)
    assert response.status_code == 200
    assertContains(response, "Say why this is a false positive")
    assert "HX-Trigger" not in response
    north_flag.refresh_from_db()
    assert north_flag.status == "open"
    assert audit_verbs(north_flag) == []

    # Without JavaScript: back to the flag's page with the error.
    response = client.post(flag_url(north_flag, "false-positive"), {"note": ""})
    assert response.status_code == 302
    assert response["Location"] == f"{flag_url(north_flag)}#review"
    page = client.get(response["Location"])
    assertContains(page, "Say why this is a false positive")

    response = client.post(flag_url(north_flag, "false-positive"), {"note": "Quoting the policy itself."}, headers=HTMX)
    assert response.status_code == 200
    north_flag.refresh_from_db()
    assert (north_flag.status, north_flag.note) == ("false_positive", "Quoting the policy itself.")
    event = AuditEvent.objects.get(verb="policy_flag.false_positive")
    assert event.after == {"status": "false_positive", "note": "Quoting the policy itself."}


def test_a_resolution_note_over_the_limit_is_refused(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(flag_url(north_flag, "resolve"), {"note": "x" * 4001}, headers=HTMX)
    assertContains(response, "Keep the note under 4000 characters.")
    north_flag.refresh_from_db()
    assert north_flag.status == "open"


def test_reopen_and_refused_transitions(client, viewer, north_flag):
    client.force_login(viewer)
    client.post(flag_url(north_flag, "resolve"), headers=HTMX)
    response = client.post(flag_url(north_flag, "acknowledge"), headers=HTMX)
    assertContains(response, "already resolved: reopen it first")
    north_flag.refresh_from_db()
    assert north_flag.status == "resolved"
    client.post(flag_url(north_flag, "reopen"), headers=HTMX)
    north_flag.refresh_from_db()
    assert (north_flag.status, north_flag.reviewed_by) == ("open", None)
    assert audit_verbs(north_flag) == ["policy_flag.resolve", "policy_flag.reopen"]


def test_actions_without_javascript_redirect_back(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(flag_url(north_flag, "acknowledge"), {"next": "/policies/?severity=critical"})
    assert response.status_code == 302
    assert response["Location"] == "/policies/?severity=critical"
    assertContains(client.get(response["Location"]), "Flag acknowledged")
    response = client.post(flag_url(north_flag, "resolve"), {"next": "https://evil.example/"})
    assert response["Location"] == flag_url(north_flag)


def test_a_reopened_account_flag_never_duplicates_an_open_one(client, viewer, north_account):
    dormant = make_rule("Dormant account", kind="governance", config={"check": "dormant", "days": 30})
    old = flag_on(dormant, north_account, status="resolved", excerpt="No post since 2026-09-01 (80 days).")
    flag_on(dormant, north_account, excerpt="No post since 2026-09-01 (81 days).")
    client.force_login(viewer)
    response = client.post(flag_url(old, "reopen"), headers=HTMX)
    assertContains(response, "already open")
    old.refresh_from_db()
    assert old.status == "resolved"


# --- Coaching -------------------------------------------------------------------------------------


def test_coaching_goes_to_the_holder_and_acknowledges(client, viewer, north_flag, north_member):
    client.force_login(viewer)
    page = client.get(flag_url(north_flag))
    assertContains(page, "Coaching for the member (Alex North)")
    response = client.post(
        flag_url(north_flag, "coach"), {"text": "Please keep case details off social media."}, headers=HTMX
    )
    assert response.status_code == 200
    assertContains(response, "Coaching sent to Alex North")
    feedback = Feedback.objects.get()
    assert (feedback.member, feedback.kind, feedback.message_id, feedback.author) == (
        north_member,
        "coaching",
        north_flag.message_id,
        viewer,
    )
    north_flag.refresh_from_db()
    assert north_flag.status == "acknowledged"
    assert audit_verbs(north_flag) == ["policy_flag.coach", "policy_flag.acknowledge"]
    assert AuditEvent.objects.filter(verb="feedback.give").count() == 1


def test_coaching_an_account_without_holder_explains_why_not(client, viewer, org, rule):
    station = SocialAccountFactory.create(handle="MPS11Div", unit=org["11"], kind="unit")
    flag = flag_on(rule, station, message=make_message(station, "confidential stuff"), spans=[[0, 12]])
    client.force_login(viewer)
    page = client.get(flag_url(flag))
    assertContains(page, "Nobody holds this account")
    response = client.post(flag_url(flag, "coach"), {"text": "Careful."}, headers=HTMX)
    assertContains(response, "no holder")
    assert not Feedback.objects.exists()
    flag.refresh_from_db()
    assert flag.status == "open"
    assert mail.outbox == []


def test_coaching_needs_text(client, viewer, north_flag):
    client.force_login(viewer)
    response = client.post(flag_url(north_flag, "coach"), {"text": ""}, headers=HTMX)
    assertContains(response, "Write the coaching.")
    assert not Feedback.objects.exists()


# --- The flag in context --------------------------------------------------------------------------


def test_highlight_segments_clip_merge_and_ignore_bad_spans():
    text = "abcdefghij"
    assert highlight_segments(text, [[2, 4], [3, 6], [8, 99], "x", [5], [True, 3], [7, 7]]) == [
        Segment("ab", is_match=False),
        Segment("cdef", is_match=True),
        Segment("gh", is_match=False),
        Segment("ij", is_match=True),
    ]
    assert highlight_segments(text, None) == [Segment(text, is_match=False)]
    assert highlight_segments("", [[0, 3]]) == [Segment("", is_match=False)]


def test_highlighting_escapes_hostile_text_around_and_inside_the_match(client, viewer, rule, north_account):
    text = f'{HOSTILE} leaked <script>alert("confidential")</script> tail'
    inside = text.index("confidential")
    script = text.index('<script>alert("')
    message = make_message(north_account, text)
    flag = flag_on(rule, north_account, message=message, spans=[[inside, inside + 12], [script, script + 8]])
    client.force_login(viewer)
    response = client.get(flag_url(flag))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "<mark>&lt;script&gt;</mark>alert(&quot;<mark>confidential</mark>&quot;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt; hx-get=/x" in body


def test_engine_flag_from_ingest_is_highlighted_where_it_matched(client, viewer, north_account):
    make_rule("Confidential", severity="warning", config={"terms": ["confidentiel", "confidential"]})
    message = ingest(north_account, "Ce dossier est CONFIDENTIEL, merci.")
    flag = PolicyFlag.objects.get(message=message)
    client.force_login(viewer)
    response = client.get(flag_url(flag))
    assertContains(response, "Ce dossier est <mark>CONFIDENTIEL</mark>, merci.", html=False)


def test_thread_shows_the_conversation_scoped_to_visible_accounts(client, viewer, rule, north_account, south_account):
    parent = make_message(north_account, "Road closed on King St", conversation="conv-1")
    flagged = make_message(north_account, "confidential detail", minutes=2, conversation="conv-1", direction="outbound")
    make_message(south_account, "South's reply in the same thread", minutes=3, conversation="conv-1")
    reply = make_message(
        north_account, "thanks", minutes=4, conversation="conv-1", direction="inbound", author=HOSTILE[:40]
    )
    flag = flag_on(rule, north_account, message=flagged, spans=[[0, 12]])
    client.force_login(viewer)
    response = client.get(flag_url(flag))
    body = response.content.decode()
    assert body.index(parent.text) < body.index("<mark>confidential</mark>") < body.index(reply.text)
    assert "South's reply" not in body
    assert "<script>" not in body
    assertContains(response, 'aria-current="true"')


def test_account_level_flag_shows_the_account_and_the_reason(client, viewer, north_account):
    dormant = make_rule("Dormant personal accounts", kind="governance", config={"check": "dormant", "days": 30})
    flag = flag_on(dormant, north_account, excerpt="No post since 2026-09-01 (80 days).")
    client.force_login(viewer)
    response = client.get(flag_url(flag))
    assertContains(response, "Account problem")
    assertContains(response, "No post since 2026-09-01 (80 days).")
    assertContains(response, "TPS11Alex")
    assertContains(response, "there is no post to leave coaching on")
    queue = client.get(QUEUE)
    assertContains(queue, "Account:")


def test_flag_page_shows_the_review_history(client, viewer, north_flag):
    client.force_login(viewer)
    client.post(flag_url(north_flag, "false-positive"), {"note": "Satire account quoting us."})
    response = client.get(flag_url(north_flag))
    assertContains(response, "north-supervisor marked it a false positive: “Satire account quoting us.”")
    assert response["Vary"]


def test_queue_and_flag_pages_escape_hostile_rule_and_excerpt(client, viewer, north_account):
    hostile_rule = make_rule(f"Rule {HOSTILE}"[:200], config={"terms": ["alert"]})
    flag = flag_on(hostile_rule, north_account, excerpt=HOSTILE)
    client.force_login(viewer)
    for url in (QUEUE, flag_url(flag)):
        body = client.get(url).content.decode()
        assert "<script>alert(1)" not in body, url
        assert "<img src=x" not in body, url


def test_reviewed_by_shows_on_the_flag(client, viewer, north_flag):
    north_flag.status = "acknowledged"
    north_flag.reviewed_by = viewer
    north_flag.reviewed_at = datetime.datetime(2026, 11, 20, 16, 0, tzinfo=datetime.UTC)
    north_flag.save()
    client.force_login(viewer)
    assertContains(client.get(flag_url(north_flag)), "by north-supervisor")
