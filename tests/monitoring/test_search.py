"""Message search (monitoring.search): one definition for the inbox, the policy queue, the account's messages
and the API — accent- and case-insensitive in English and French, text or author, every match highlighted
from escaped fragments, always within the user's scope, and answered from the trigram index."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from engagement.services.tokens import api_token_create
from monitoring.models import Message
from monitoring.search import Matched, highlight, match_spans, matched_field, message_search
from tests.factories import flag_on, inbox_item, make_message, make_rule

pytestmark = pytest.mark.django_db

INBOX = reverse("inbox:index")
QUEUE = reverse("policies:queue")
HOSTILE = "<img src=x onerror=alert(1)>"


def found(term: str) -> set[str]:
    return set(Message.objects.filter(message_search(term)).values_list("text", flat=True))


@pytest.fixture
def bilingual(north_account):
    texts = [
        "Mon Vélo a été volé rue Sainte-Catherine",
        "La rue est encore FERMÉE ce soir?",
        "The BIKE lane on Bloor is blocked again",
        "Great job at the parade today",
    ]
    return [make_message(north_account, text, direction="inbound", minutes=index) for index, text in enumerate(texts)]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("velo", {"Mon Vélo a été volé rue Sainte-Catherine"}),  # unaccented query, accented text
        ("VÉLO", {"Mon Vélo a été volé rue Sainte-Catherine"}),
        ("vél", {"Mon Vélo a été volé rue Sainte-Catherine"}),  # part of a word, as people type
        ("fermee", {"La rue est encore FERMÉE ce soir?"}),
        ("Fermée", {"La rue est encore FERMÉE ce soir?"}),
        ("sainte-catherine", {"Mon Vélo a été volé rue Sainte-Catherine"}),
        ("bike", {"The BIKE lane on Bloor is blocked again"}),
        ("Bloor is", {"The BIKE lane on Bloor is blocked again"}),
        ("rue", {"Mon Vélo a été volé rue Sainte-Catherine", "La rue est encore FERMÉE ce soir?"}),
        ("100%", set()),  # LIKE wildcards in the term are literal
        ("a_t", set()),
    ],
)
def test_search_ignores_accents_and_case_in_english_and_french(bilingual, term, expected):
    assert found(term) == expected


def test_search_matches_the_author_name_and_handle_with_or_without_the_at(north_account):
    make_message(north_account, "hello", direction="inbound", author="Zoe_Velodrome")
    assert found("@zoe_velo") == {"hello"}
    assert found("ZOÉ") == {"hello"}
    assert matched_field("hello", "zoe") == (Matched.AUTHOR, None)


def test_an_at_term_names_a_handle_from_its_start_and_no_match_straddles_two_fields(north_account):
    make_message(north_account, "ends with velo", direction="inbound", author="dromeuse", author_name="Zoé")
    assert found("drome") == found("@drome") == {"ends with velo"}
    assert found("@rome") == set()  # "@" + a part from the middle of the handle
    assert found("rome") == {"ends with velo"}
    assert found("velo zoe") == found("velozoe") == set()  # text then name: never one match


def test_every_match_is_highlighted_from_escaped_fragments():
    text = f"vélo {HOSTILE} VELO, then Vélos{HOSTILE}"
    marked = highlight(text, "velo")
    assert marked is not None
    assert str(marked) == (
        "<mark>vélo</mark> &lt;img src=x onerror=alert(1)&gt; <mark>VELO</mark>, then "
        "<mark>Vélo</mark>s&lt;img src=x onerror=alert(1)&gt;"
    )
    # A hostile term: each of its matches marked, none of it markup.
    marked = highlight(text, HOSTILE)
    assert marked is not None
    assert str(marked).count("<mark>&lt;img src=x onerror=alert(1)&gt;</mark>") == 2
    assert "<img" not in str(marked)
    assert highlight(text, "nothing like it") is None


def test_highlight_keeps_positions_through_folding_and_shows_a_late_first_match():
    text = "Straße  ÉTÉ" + " filler" * 10 + " été"
    assert [text[start:end] for start, end in match_spans(text, "ete")] == ["ÉTÉ", "été"]
    assert match_spans("Straße", "strasse") == [(0, 6)]
    marked = str(highlight("x" * 100 + " vélo", "velo"))
    assert marked.startswith("…") and marked.endswith("<mark>vélo</mark>") and len(marked) < 60


def test_the_search_is_answered_from_the_trigram_index(bilingual):
    """With sequential scans priced out, the plan reads the trigram index on the stored folded column (a
    plan that cannot use it — a condition on another expression — would still scan)."""
    queryset = Message.objects.filter(message_search("fermee")).values("pk")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "message_search_text_trgm" in plan, plan


# --- Everywhere it applies, within the scope --------------------------------------------------------------


@pytest.fixture
def across_units(north_account, south_account):
    """The same words on both sides of the organization: north (the viewer's) and south (the outsider's)."""
    rule = make_rule("No addresses", config={"terms": ["rue"], "exceptions": []})
    north_post = make_message(north_account, f"Vélo volé rue Bloor {HOSTILE} vélo", minutes=1)
    south_post = make_message(south_account, "Vélo retrouvé rue Main", minutes=2)
    return {
        "north_item": inbox_item(north_account, text="Où est mon vélo?"),
        "south_item": inbox_item(south_account, text="Mon vélo est là"),
        "north_flag": flag_on(rule, north_account, message=north_post, spans=[[10, 13]], excerpt="rue"),
        "south_flag": flag_on(rule, south_account, message=south_post, spans=[[13, 16]], excerpt="rue"),
        "quiet_flag": flag_on(rule, north_account, message=make_message(north_account, "rue calme"), minutes=3),
        "north_post": north_post,
    }


def inbox_ids(client, **params):
    return set(map(int, re.findall(r'<li id="item-(\d+)"', client.get(INBOX, params).content.decode())))


def queue_ids(client, **params):
    body = client.get(QUEUE, {"status": "", **params}).content.decode()
    return set(map(int, re.findall(r'id="flag-row-(\d+)"', body)))


def test_inbox_and_queue_search_never_leave_the_scope(client, viewer, outsider, across_units):
    client.force_login(viewer)
    assert inbox_ids(client, q="VELO") == {across_units["north_item"].pk}
    assert queue_ids(client, q="velo") == {across_units["north_flag"].pk}
    assert queue_ids(client) == {across_units["north_flag"].pk, across_units["quiet_flag"].pk}
    client.force_login(outsider)
    assert inbox_ids(client, q="velo") == {across_units["south_item"].pk}
    assert queue_ids(client, q="vélo") == {across_units["south_flag"].pk}


def test_queue_search_box_keeps_the_term_escaped(client, viewer, across_units):
    client.force_login(viewer)
    body = client.get(QUEUE, {"q": HOSTILE}).content.decode()
    assert 'value="&lt;img src=x onerror=alert(1)&gt;"' in body
    assert HOSTILE not in body


def test_api_search_of_triage_items_and_policy_flags_stays_in_scope(client, viewer, outsider, across_units):
    def api(user, url, **params):
        _token, key = api_token_create(user=user, name="test")
        response = client.get(url, params, headers={"Authorization": f"Token {key}"})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    items, flags = reverse("api:triage-items"), reverse("api-policy-flags")
    assert api(viewer, items, q="velo") == {across_units["north_item"].pk}
    assert api(viewer, flags, q="VÉLO") == {across_units["north_flag"].pk}
    assert api(outsider, items, q="vélo") == {across_units["south_item"].pk}
    assert api(outsider, flags, q="velo") == {across_units["south_flag"].pk}
    assert api(viewer, items, q="nothing like it") == set()
    _token, key = api_token_create(user=viewer, name="nul")
    refused = client.get(items, {"q": "a\x00b"}, headers={"Authorization": f"Token {key}"})
    assert refused.status_code == 400 and "q" in refused.json()


def test_account_messages_search_finds_the_accounts_own_posts_highlighted(client, viewer, outsider, across_units):
    north_post = across_units["north_post"]
    url = reverse("monitoring:account-messages", args=[north_post.account_id])
    client.force_login(viewer)
    body = client.get(url, {"q": "velo"}).content.decode()
    assert (
        "<mark>Vélo</mark> volé rue Bloor &lt;img src=x onerror=alert(1)&gt; <mark>vélo</mark>" in body
    )  # the outbound post, both matches
    assert "Où est mon <mark>vélo</mark>?" in body  # the inbound item too
    assert "rue calme" not in body  # not a match
    assert HOSTILE not in body
    assert "rue calme" in client.get(url).content.decode()  # without a search: everything
    client.force_login(outsider)
    assert client.get(url, {"q": "velo"}).status_code == 404


# --- The inbox's search at scale: newest first, counts capped, a common word counted per account ----------


def test_inbox_search_lists_newest_first_and_marks_every_match(client, viewer, north_account):
    older = inbox_item(north_account, text=f"velo {HOSTILE} VÉLO", minutes_ago=60)
    newer = inbox_item(north_account, text="un vélo", minutes_ago=5)
    client.force_login(viewer)
    body = client.get(INBOX, {"q": "velo"}).content.decode()
    assert re.findall(r'<li id="item-(\d+)"', body) == [str(newer.pk), str(older.pk)]
    assert "<mark>velo</mark> &lt;img src=x onerror=alert(1)&gt; <mark>VÉLO</mark>" in body
    assert HOSTILE not in body
    assert ">First things first<" not in body  # a search is not listed by priority
    assert ">First things first<" in client.get(INBOX).content.decode()


def test_search_counts_per_account_equal_the_plain_counts(monkeypatch, viewer, org, north_account):
    """The per-account count (a common word in a few accounts) counts what the plain count does, the items
    stored under an account outside the scope that address one inside included, each once."""
    from engagement.selectors import inbox as selectors
    from engagement.selectors.inbox_filters import InboxFilters, StatusFilter
    from monitoring.models import MessageAddressee
    from tests.factories import SocialAccountFactory

    elsewhere = SocialAccountFactory.create(handle="MPSNorth", unit=org["south"], platform="x")
    team = SocialAccountFactory.create(handle="MPSTraffic", unit=org["traffic"], platform="x")
    inbox_item(north_account, text="vélo one")
    inbox_item(north_account, text="vélo two", status="dismissed")
    inbox_item(north_account, text="no match")
    shared = inbox_item(team, text="vélo to both")  # addresses another account of the scope too
    MessageAddressee.objects.create(message=shared.message, account=north_account)
    addressed = inbox_item(elsewhere, text="vélo from outside")
    MessageAddressee.objects.create(message=addressed.message, account=north_account)
    filters = InboxFilters(search="VELO", status=StatusFilter.ALL)  # every status counted
    accounts = selectors.inbox_accounts(viewer, filters)
    assert accounts.ids is not None
    plain = selectors.inbox_summary(viewer, filters, accounts=accounts).counts
    monkeypatch.setattr(selectors, "COMMON_WORD_MATCHES", -1)  # every word is common: per account
    walked = selectors.inbox_summary(viewer, filters, accounts=accounts).counts
    assert walked == plain
    assert plain["waiting"] == 3 and plain["dismissed"] == 1


def test_search_counts_stop_at_the_search_cap(monkeypatch, viewer, north_account):
    from engagement.selectors import inbox as selectors
    from engagement.selectors.inbox_filters import InboxFilters

    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 2)
    for minutes in range(3):
        inbox_item(north_account, text="vélo", minutes_ago=minutes + 1)
    summary = selectors.inbox_summary(viewer, InboxFilters(search="velo"))
    assert summary.counts["waiting"] == 2 and "waiting" in summary.capped
    assert selectors.inbox_summary(viewer, InboxFilters()).counts["waiting"] == 3


def test_a_search_counts_the_tab_shown_only(client, viewer, north_account):
    """Each search count walks items until enough match: the other tabs are counted when opened."""
    from engagement.selectors import inbox as selectors
    from engagement.selectors.inbox_filters import InboxFilters

    inbox_item(north_account, text="vélo waiting")
    inbox_item(north_account, text="vélo dismissed", status="dismissed")
    assert selectors.inbox_summary(viewer, InboxFilters(search="velo")).counts == {"waiting": 1}
    dismissed = selectors.inbox_summary(viewer, InboxFilters(search="velo", status="dismissed"))
    assert dismissed.counts == {"dismissed": 1}
    assert selectors.inbox_summary(viewer, InboxFilters()).counts["dismissed"] == 1  # no search: every tab
    client.force_login(viewer)
    body = client.get(INBOX, {"q": "velo"}).content.decode()
    assert 'id="count-waiting">1<' in body
    assert 'id="count-dismissed"' not in body and 'id="count-all"' not in body
    body = client.get(INBOX, {"q": "velo", "status": "dismissed"}).content.decode()
    assert 'id="count-dismissed">1<' in body and 'id="count-waiting"' not in body
