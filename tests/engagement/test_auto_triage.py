"""Answered-detection and classification, through the real ingest path on PostgreSQL."""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps

from engagement.classify import Classifier, is_question
from engagement.models import ClassifierRule, TriageItem
from engagement.services.auto_triage import triage_recompute
from monitoring.connectors.base import NormalizedMessage
from monitoring.models import Message
from monitoring.services.ingest import messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

default_rules = importlib.import_module("engagement.migrations.0002_default_classifier_rules")


@pytest.fixture(autouse=True)
def classifier_rules():
    """The rules the data migration installs (a transactional test elsewhere may have flushed them)."""
    default_rules.add_rules(django_apps, None)


T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
DANA = ("1600000000000000011", "dana_k")
LEE = ("1600000000000000022", "leep")


@pytest.fixture
def station(org):
    return SocialAccountFactory.create(
        platform="x", handle="MPS11Div", external_id="1500000000000000011", unit=org["11"]
    )


@pytest.fixture
def traffic(org):
    return SocialAccountFactory.create(
        platform="x", handle="MPSTraffic", external_id="1500000000000000077", unit=org["traffic"]
    )


def ingest(account, *messages):
    """What a poll does: upsert, then run the ingest hooks on the new rows (in one transaction)."""
    result = messages_upsert(account_id=account.pk, messages=list(messages))
    run_ingest_hooks(result.new_ids)
    return result


def inbound(external_id, text, *, author=DANA, minutes=0, conversation="", in_reply_to=""):
    return NormalizedMessage(
        platform="x", external_id=external_id, direction="inbound", kind="mention", author_id=author[0],
        author_handle=author[1], author_name=author[1], text=text, created_at=T0 + datetime.timedelta(minutes=minutes),
        conversation_id=conversation or external_id, in_reply_to_id=in_reply_to,
    )  # fmt: skip


def outbound(account, external_id, text, *, minutes, conversation, in_reply_to):
    return NormalizedMessage(
        platform="x", external_id=external_id, direction="outbound", kind="reply", author_id=account.external_id,
        author_handle=account.handle, author_name=account.handle, text=text,
        created_at=T0 + datetime.timedelta(minutes=minutes), conversation_id=conversation, in_reply_to_id=in_reply_to,
    )  # fmt: skip


def item(external_id):
    return TriageItem.objects.get(message__external_id=external_id)


def test_inbound_mention_opens_one_waiting_item(station):
    ingest(station, inbound("100", "@MPS11Div is the front desk open on Sunday?"))
    ingest(station, inbound("100", "@MPS11Div is the front desk open on Sunday?"))  # re-poll
    triage = item("100")
    assert (triage.status, triage.category, triage.is_question) == ("waiting", "question", True)
    assert triage.priority == TriageItem.Priority.HIGH
    assert TriageItem.objects.count() == 1


def test_direct_reply_answers_and_records_first_response_time(station):
    ingest(station, inbound("100", "@MPS11Div hello!"))
    ingest(station, outbound(station, "101", "@dana_k hi Dana!", minutes=42, conversation="100", in_reply_to="100"))
    triage = item("100")
    assert triage.status == "answered"
    assert triage.first_response_seconds == 42 * 60
    assert triage.answer.external_id == "101"


def test_reply_by_another_org_account_counts(station, traffic):
    ingest(station, inbound("100", "@MPS11Div who handles parking complaints?"))
    ingest(
        traffic, outbound(traffic, "101", "@dana_k we do: call 311", minutes=5, conversation="100", in_reply_to="100")
    )
    assert item("100").status == "answered"


def test_reply_to_a_later_message_of_the_same_author_answers_the_earlier_one(station):
    ingest(station, inbound("100", "@MPS11Div my bike was stolen"))
    ingest(station, inbound("102", "serial is ABC123", minutes=1, conversation="100", in_reply_to="100"))
    ingest(
        station,
        outbound(
            station, "103", "@dana_k thanks, an officer will call", minutes=9, conversation="100", in_reply_to="102"
        ),
    )
    assert item("100").status == "answered"
    assert item("100").first_response_seconds == 9 * 60
    assert item("102").first_response_seconds == 8 * 60


def test_reply_to_another_author_in_the_thread_does_not_answer(station):
    ingest(station, inbound("100", "@MPS11Div road closed?"))
    ingest(
        station, inbound("102", "@MPS11Div same question", author=LEE, minutes=1, conversation="100", in_reply_to="100")
    )
    ingest(station, outbound(station, "103", "@leep yes until 6pm", minutes=3, conversation="100", in_reply_to="102"))
    assert item("102").status == "answered"
    assert item("100").status == "waiting"


def test_reply_stored_before_the_poll_that_saw_the_mention_still_answers(station):
    # The own-posts stream was read first: the answer is already there when the mention arrives.
    ingest(station, outbound(station, "101", "@dana_k yes we are", minutes=3, conversation="100", in_reply_to="100"))
    ingest(station, inbound("100", "@MPS11Div open today?"))
    triage = item("100")
    assert triage.status == "answered" and triage.first_response_seconds == 180


def test_human_close_is_not_reopened_by_a_re_poll(station):
    ingest(station, inbound("100", "@MPS11Div thanks for today"))
    TriageItem.objects.filter(message__external_id="100").update(status="handled", handled_reason="no_reply_needed")
    ingest(station, outbound(station, "101", "@dana_k anytime", minutes=2, conversation="100", in_reply_to="100"))
    triage = item("100")
    assert triage.status == "handled"  # the human decision stands...
    assert triage.first_response_seconds == 120  # ...and the answer is still recorded


def test_new_message_from_the_same_author_reopens_the_thread(station):
    ingest(station, inbound("100", "@MPS11Div hi"))
    ingest(station, outbound(station, "101", "@dana_k hello!", minutes=2, conversation="100", in_reply_to="100"))
    ingest(
        station,
        inbound("102", "one more question: where do I pay a ticket?", minutes=5, conversation="100", in_reply_to="101"),
    )
    assert item("100").status == "answered"
    assert item("102").status == "waiting"


def test_mentions_by_org_accounts_are_internal_chatter(station, traffic):
    chatter = inbound("100", "@MPS11Div great work at the parade!", author=(traffic.external_id, traffic.handle))
    ingest(station, chatter)
    assert not TriageItem.objects.exists()
    assert Message.objects.filter(external_id="100").exists()


def test_outbound_posts_never_open_items(station):
    ingest(station, outbound(station, "101", "Road closure on King St", minutes=0, conversation="101", in_reply_to=""))
    assert not TriageItem.objects.exists()


def test_emergency_ranks_first_and_corporate_mentions_rank_high(org, station):
    corporate = SocialAccountFactory.create(
        platform="x", handle="MetroPolice", external_id="1500000000000000001", kind="corporate", unit=org["root"]
    )
    ingest(station, inbound("100", "@MPS11Div someone is breaking into my car right now"))
    ingest(corporate, inbound("200", "@MetroPolice thanks for the parade", author=LEE))
    assert (item("100").category, item("100").priority) == ("emergency", TriageItem.Priority.URGENT)
    assert (item("200").category, item("200").priority) == ("greeting", TriageItem.Priority.HIGH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is the station open on Sunday", True),
        ("how do I get a police report", True),
        ("@MPS11Div where can I pay a ticket", True),
        ("Thanks for the help today!", False),
        ("Où est le poste de police le plus proche", True),
        ("Est-ce que le bureau est ouvert demain", True),
        ("Comment obtenir un rapport de police", True),
        ("Merci pour votre aide", False),
        ("Great job everyone. Who organised it?", True),
        ("Check https://example.org/faq?x=1 for details", False),
    ],
)
def test_question_detection_in_english_and_french(text, expected):
    assert is_question(text) is expected


def test_classification_is_accent_and_case_insensitive_on_whole_words():
    classifier = Classifier.from_rules([("emergency", "au secours\ncambriolage"), ("greeting", "merci\nhi")])
    assert classifier.classify("AU SECOURS, CAMBRIOLAGE en cours")[0] == "emergency"
    assert classifier.classify("Merci beaucoup")[0] == "greeting"
    assert classifier.classify("this is fine")[0] == "other"  # "hi" inside "this" is not a word match


def test_a_hyphenated_word_is_not_the_word_inside_it():
    classifier = Classifier.from_rules([("emergency", "emergency"), ("complaint", "not acceptable")])
    assert classifier.classify("40 minutes on the non-emergency line. Not acceptable.")[0] == "complaint"


def test_admins_tune_rules_and_recompute_reclassifies_waiting_items(station):
    ingest(station, inbound("100", "@MPS11Div the potholes on Main St are a hazard"))
    assert item("100").category == "other"
    ClassifierRule.objects.create(category="complaint", phrases="pothole\npotholes")
    figures = triage_recompute(since=T0 - datetime.timedelta(days=1), until=T0 + datetime.timedelta(days=1))
    assert item("100").category == "complaint"
    assert figures["reclassified"] == 1


def test_default_rules_data_migration_installs_and_reverses():
    ClassifierRule.objects.all().delete()
    default_rules.add_rules(django_apps, None)
    default_rules.add_rules(django_apps, None)  # idempotent
    categories = list(ClassifierRule.objects.values_list("category", "language"))
    assert {("emergency", "en"), ("emergency", "fr"), ("complaint", "en"), ("greeting", "fr")} <= set(categories)
    assert len(categories) == len(set(categories))
    default_rules.remove_rules(django_apps, None)
    assert not ClassifierRule.objects.exists()


def test_recompute_command_reports_what_it_did(station, capsys):
    from django.core.management import call_command

    ingest(station, inbound("100", "@MPS11Div hello"))
    TriageItem.objects.all().delete()
    call_command("recompute_triage", "--since", "2026-11-19", "--until", "2026-11-21")
    assert "1 message(s): 1 item(s) opened" in capsys.readouterr().out
    assert item("100").status == "waiting"
