"""The classifier with the default rules the migrations install: the examples quoted in the issue, the
grammar it reads (negations, thanks-for, hyphens, exclamations, indirect questions), and the targets on
the project's labelled set."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command

from engagement.classify import current_classifier
from engagement.evaluation import LABELLED_SET, Example, evaluate, labelled_examples, report_lines
from engagement.models import CategoryCorrection, ClassifierRule, TriageItem

pytestmark = pytest.mark.django_db

Category = TriageItem.Category


@pytest.fixture(autouse=True)
def classifier_rules():
    """The rules the data migrations install (a transactional test elsewhere may have flushed them)."""
    if ClassifierRule.objects.exists():
        return
    importlib.import_module("engagement.migrations.0002_default_classifier_rules").add_rules(django_apps, None)
    importlib.import_module("engagement.migrations.0005_crime_reports_and_context_rules").install_rules(
        django_apps, None
    )


def category_of(text):
    return current_classifier().classify(text).category


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Flagged as emergencies by single trigger words ("help", "menace"):
        ("thanks for the help at the parade!", Category.GREETING),
        ("What a menace those e-scooters are", Category.OTHER),
        ("can you help me find the paid duty application form?", Category.QUESTION),
        # Missed emergencies:
        ("there's a man with a knife at Queen and Spadina, please send someone", Category.EMERGENCY),
        ("my neighbour is screaming and I hear things smashing", Category.EMERGENCY),
        ("a little boy has been missing for an hour", Category.EMERGENCY),
        # Counted as questions (an interrogative opening, a contraction):
        ("What a great turnout at the barbecue today!", Category.OTHER),
        ("Who knew the station had such a lovely garden", Category.OTHER),
        ("Can't believe how fast you responded", Category.GREETING),
        ("How lucky we are to have such dedicated officers", Category.GREETING),
        # Indirect questions:
        ("I was wondering whether you have an open house this summer", Category.QUESTION),
        ("need to know which door to use for fingerprinting at HQ", Category.QUESTION),
        ("Pouvez-vous me dire où faire une vérification des antécédents judiciaires", Category.QUESTION),
    ],
)
def test_the_examples_quoted_in_the_issue(text, expected):
    assert category_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Negations
        ("this is not an emergency, when does the station open?", Category.QUESTION),
        ("no one was hurt but someone threw a rock through our front window last night", Category.CRIME),
        ("pas une urgence, mais on m'a volé mon portefeuille au gym hier", Category.CRIME),
        # Thanks for the X
        ("thanks for the knife safety workshop at the high school", Category.GREETING),
        ("merci pour votre aide avec le cambriolage le mois dernier", Category.GREETING),
        # Hyphenated compounds and "help wanted"
        ("the knife-crime awareness walk is on saturday", Category.OTHER),
        ("help wanted: crossing guards for the fall term", Category.OTHER),
        # Past crime vs crime in progress
        ("someone broke into my car last night and took my laptop", Category.CRIME),
        ("someone is breaking into cars in our lot as we speak", Category.EMERGENCY),
        ("quelqu'un est en train de cambrioler la maison d'en face", Category.EMERGENCY),
        ("my sister hasn't been seen since last night", Category.EMERGENCY),
        # Interrogatives only when the sentence is a question; lowercase without punctuation
        ("where do i pay a parking ticket", Category.QUESTION),
        ("hi there is the community office open after 5", Category.QUESTION),
        ("good morning, have a safe shift everyone", Category.GREETING),
        ("How crazy was that storm last night", Category.OTHER),
        ("Quelle belle journée pour le festival", Category.OTHER),
        ("est ce que je dois prendre rendez-vous", Category.QUESTION),
        ("Check https://example.org/faq?x=1 for the details", Category.OTHER),
    ],
)
def test_context_beyond_single_words(text, expected):
    assert category_of(text) == expected


def test_the_decision_says_why():
    decision = current_classifier().classify("someone is following me right now #help")
    assert decision.category == Category.EMERGENCY
    assert decision.why == "danger 'following me'; immediacy 'right now'"
    assert current_classifier().classify("ok").why == "no rule fired"


def test_admin_exceptions_and_cues_are_tunable():
    assert category_of("the gun show at the arena was fun") == Category.EMERGENCY
    ClassifierRule.objects.create(category="emergency", kind="exception", language="en", phrases="gun show")
    assert category_of("the gun show at the arena was fun") == Category.OTHER
    assert category_of("my bike was stolen, the guy is riding it down my street") == Category.CRIME
    ClassifierRule.objects.create(category="emergency", kind="cue", language="en", phrases="riding it")
    assert category_of("my bike was stolen, the guy is riding it down my street") == Category.EMERGENCY


def test_targets_on_the_labelled_set_and_crime_reports_never_alert():
    examples = labelled_examples()
    assert len(examples) >= 400
    assert {example.category for example in examples} == set(Category.values)
    assert {example.language for example in examples} == {"en", "fr"}
    result = evaluate(examples, category_of, Category.values)
    question, emergency = result.figures(Category.QUESTION), result.figures(Category.EMERGENCY)
    assert question.precision is not None and question.recall is not None
    assert emergency.precision is not None and emergency.recall is not None
    assert question.precision >= 0.9 and question.recall >= 0.9
    assert emergency.recall >= 0.95 and emergency.precision >= 0.8
    assert result.confusion[Category.CRIME][Category.EMERGENCY] == 0


def test_malformed_labelled_rows_are_refused_with_their_line(tmp_path):
    broken = tmp_path / "labelled.csv"
    broken.write_text(LABELLED_SET.read_text(encoding="utf-8").splitlines()[0] + "\nhello,,en,train\n")
    with pytest.raises(ValueError, match="line 2"):
        labelled_examples(broken)


def test_report_prints_precision_recall_and_the_confusion_matrix():
    examples = [Example("a", "question"), Example("b", "question"), Example("c", "other")]
    result = evaluate(examples, lambda text: "question" if text != "b" else "other", ["question", "other"])
    assert result.figures("question").precision == 0.5
    assert result.figures("question").recall == 0.5
    lines = report_lines(result, title="t")
    assert lines[0] == "t: 3 messages, accuracy 0.33"
    assert lines[-2:] == ["  question           1         1", "  other              1         0"]


def test_evaluate_command_includes_corrections(capsys):
    CategoryCorrection.objects.create(text="the gun show was fun", previous="emergency", category="other")
    call_command("evaluate_classifier")
    out = capsys.readouterr().out
    assert "holdout:" in out and "corrections" not in out
    call_command("evaluate_classifier", "--include-corrections", "--errors")
    out = capsys.readouterr().out
    assert "corrections: 1 messages, accuracy 0.00" in out
    assert "other -> emergency: 'the gun show was fun' (danger 'gun')" in out


DEMO_TOPICS = {
    "greeting": Category.GREETING,
    "thanks": Category.GREETING,
    "question": Category.QUESTION,
    "complaint": Category.COMPLAINT,
    "crime": Category.CRIME,
    "urgent": Category.EMERGENCY,
}


def test_the_demo_traffic_is_classified_as_its_generator_means_it():
    from doubles.generator.texts import INBOUND

    for topic, expected in DEMO_TOPICS.items():
        for language, exchanges in INBOUND[topic].items():
            assert exchanges, (topic, language)
            for template, _answers in exchanges:
                text = template.format(street="Queen St", first="Dana")
                assert category_of(text) == expected, text
