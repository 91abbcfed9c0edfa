"""Data migration: crime reports apart from possible emergencies, and rules that read context.

1. Classifier rules: the new defaults (phrases, cues and exceptions per category, English and French).
   A phrase list still equal to the 0002 default is replaced; one an admin edited is left as it is.
2. Existing items filed as "emergency" (which used to mean "possible emergency or crime report") whose
   text reads as a report of something over — a crime phrase or a past-time cue, and neither danger
   words nor an immediacy cue — become crime reports, ranked like questions instead of first.
   `manage.py recompute_triage` re-classifies waiting items with the full classifier afterwards.

Reversible: crime reports go back to "emergency" and the rules to the 0002 defaults.
"""

import importlib
import re
import unicodedata

from django.db import migrations
from django.utils import timezone

OLD_DEFAULTS = importlib.import_module("engagement.migrations.0002_default_classifier_rules").DEFAULT_RULES
URGENT, HIGH = 0, 1

DEFAULT_RULES = [
    ("emergency", "phrase", "en", [
        "knife", "knives", "machete", "gun", "guns", "armed", "weapon", "shots fired", "gunshots", "gunshot",
        "shooting at", "stabbed", "stabbing", "stab me", "screaming", "yelling", "crying for help",
        "help me", "please help", "pls help", "someone help", "send help", "send someone", "send police",
        "send officers", "send an officer", "need police", "call someone", "please hurry", "hurry",
        "breaking into", "break into my", "breaking in", "trying to break", "trying to get in",
        "inside my house", "in my house", "someone is in", "someone is inside", "intruder",
        "following me", "following my", "being followed", "won't leave me alone", "threatening to",
        "going to hurt", "going to kill", "kill me", "beating", "hitting", "hurting", "fighting", "fight outside",
        "bleeding", "not breathing", "isn't breathing", "not moving", "isn't moving", "won't wake up",
        "unconscious", "collapsed", "overdose", "took a bunch of pills", "end his life", "end her life",
        "end my life", "kill myself", "suicide", "going to jump", "house fire", "on fire", "smell of gas",
        "smoke coming", "people still inside", "still inside", "is missing", "been missing", "went missing",
        "missing since", "missing child", "didn't come home", "hasn't come home", "not answering",
        "wandered off", "been gone", "hasn't been seen", "kidnapped", "kidnapping", "dragged into",
        "pushed a girl into", "exposing himself", "swerving", "drunk driver", "hot car", "on the tracks",
        "being robbed", "robbery happening", "smashing", "banging on my door", "locked myself in",
        "locked in my", "hiding in", "lockdown", "pointing a gun", "pulled a knife", "can't get up",
        "cant get up", "lying on the sidewalk", "climbing into", "emergency", "breaking the window",
        "breaking windows", "car door handles", "threatening", "baseball bat", "nobody has seen", "no one has seen", "supposed to be home",
    ]),
    ("emergency", "phrase", "fr", [
        "couteau", "arme", "arme a feu", "coups de feu", "au secours", "a l'aide", "aidez-moi", "aidez moi",
        "envoyez quelqu'un", "envoyez la police", "venez vite", "essaie d'entrer", "quelqu'un dans la maison",
        "me suit", "hurle", "crie", "cris", "se briser", "verre brise", "me menace", "menace de", "me tuer",
        "incendie", "encore a l'interieur", "ivre", "zigzague", "en train de cambrioler", "a disparu",
        "disparu depuis", "introuvable", "bagarre", "saigne", "seul dans une voiture", "trop de medicaments",
        "ne repond plus", "inconscient", "inconsciente", "defonce", "enfermee", "enfermé", "urgence",
    ]),
    ("emergency", "cue", "en", [
        "right now", "now!", "as we speak", "currently", "in progress", "happening now", "is happening",
        "still here", "still there", "at the moment", "just now", "hurry",
    ]),
    ("emergency", "cue", "fr", [
        "en ce moment", "maintenant", "en cours", "en train de", "en train d", "vite", "actuellement",
    ]),
    ("emergency", "exception", "en", [
        "help me find", "help me understand", "help me with", "help me get", "help me out", "help us find",
        "help wanted", "not answering my calls", "not answering the phone", "gun licence", "gun license",
        "firearm licence", "firearms licence", "gun safety", "gun-safety", "permis d'arme", "permis de port d'arme",
    ]),
    ("crime", "phrase", "en", [
        "was stolen", "were stolen", "got stolen", "been stolen", "stolen from", "stolen overnight",
        "stolen on", "stolen at", "stole", "stole my", "was robbed", "got robbed", "robbed at", "broke into",
        "broken into", "break-in", "burglarized", "burgled", "scammed", "scam call", "fraud", "vandalized",
        "vandalised", "graffiti", "keyed my car", "slashed", "smashed my", "hit and run", "mugged",
        "assaulted", "beaten up", "snatched", "hacked", "took my", "was taken", "were taken",
        "exposed himself", "want to report", "like to report", "file a report", "file a police report",
        "threatened by", "poisoned", "took my money", "took my deposit", "trashed",
        "threw a rock", "grabbed my", "reporting a stolen", "drove off", "theft",
    ]),
    ("crime", "phrase", "fr", [
        "m'a vole", "a ete vole", "a ete volee", "ont ete voles", "vole dans", "vole sur", "vole au",
        "cambriole", "cambriolee", "cambriolage", "arnaquer", "arnaque", "fraude", "vandalise",
        "vandalisee", "tague", "agresse", "agressee", "pot catalytique", "vol d'identite", "a ete force",
        "delit de fuite", "creves", "pirate", "s'est exhibe", "porter plainte pour", "par effraction",
        "rapport de police", "brise la vitre", "vitre cassee", "ont ete forces", "fait voler",
    ]),
    ("crime", "cue", "en", [
        "yesterday", "last night", "last week", "last month", "overnight", "this morning", "this afternoon",
        "on friday", "on saturday", "on sunday", "on tuesday", "over the weekend", "days ago", "weeks ago",
        "months ago", "earlier today", "while we were", "while i was", "long gone", "nobody was hurt",
        "no one was hurt", "wasn't hurt", "not urgent", "not an emergency", "after school yesterday",
    ]),
    ("crime", "cue", "fr", [
        "hier", "hier soir", "la nuit derniere", "cette nuit", "la semaine derniere", "samedi", "dimanche",
        "ce matin", "en fin de semaine", "pendant nos vacances", "pas urgent", "pas une urgence",
    ]),
    ("crime", "exception", "en", [
        "since yesterday", "since last night", "since this morning", "break-in prevention",
    ]),
    ("crime", "exception", "fr", [
        "depuis hier", "depuis ce matin", "depuis la nuit derniere",
    ]),
    ("complaint", "phrase", "en", [
        "complaint", "complain", "unacceptable", "disgrace", "disgusting", "terrible", "awful", "rude",
        "nobody answers", "no one answers", "nobody answer", "never showed up", "nobody ever showed up",
        "still waiting", "ignored", "useless", "worst", "fed up", "ridiculous", "shame on", "shameful",
        "not acceptable", "not good enough", "never heard", "got nothing back", "on hold", "do better",
        "disappointed", "waste of", "never respond", "never answer", "what's the point", "zero enforcement",
        "treated like", "some of us sleep", "refused to", "didn't believe", "need some training",
        "how is it acceptable", "nobody patrols", "unbelievable", "never been acknowledged", "joke",
        "nobody kept me", "never answers", "hard to get anyone", "nobody does anything",
    ]),
    ("complaint", "phrase", "fr", [
        "plainte contre", "deposer une plainte", "inacceptable", "inadmissible", "honteux", "scandaleux",
        "personne ne repond", "toujours en attente", "ignore", "inutile", "ridicule", "j'en ai marre",
        "impoli", "decu", "decue", "lamentable", "ne repondez jamais", "ca sert a quoi", "rien ne change",
        "ne fonctionne jamais", "personne ne fait rien", "n'a meme pas", "vous faites quoi",
    ]),
    ("question", "phrase", "en", [
        "wondering if", "wondering whether", "wondering what", "wondering when", "wondering where",
        "need to know", "want to know", "like to know", "does anyone know", "can you tell me",
        "could you tell me", "any idea", "is there a way", "looking for info", "let me know how",
        "let me know if", "let me know when", "find out where", "find out how", "find out if",
        "find out whether", "please advise", "tell me how", "tell me where",
    ]),
    ("question", "phrase", "fr", [
        "pouvez-vous me dire", "pourriez-vous me dire", "je voudrais savoir", "j'aimerais savoir",
        "je me demandais", "besoin de savoir", "dites-moi", "quelqu'un sait", "savez-vous", "c'est ou",
        "c'est quand", "c'est combien",
    ]),
    ("question", "exception", "en", ["who knew"]),
    ("greeting", "phrase", "en", [
        "hello", "hi", "hey", "good morning", "good afternoon", "good evening", "thanks", "thank you",
        "thank u", "thx", "cheers", "great job", "well done", "appreciate", "appreciated", "kudos", "congrats",
        "congratulations", "shoutout", "shout out", "happy holidays", "merry christmas", "grateful",
        "respect", "awesome", "amazing work", "great work", "doing great", "stay safe", "have a safe",
        "can't believe how fast", "great to see", "lucky to have", "lucky we are", "proud",
    ]),
    ("greeting", "phrase", "fr", [
        "bonjour", "bonsoir", "salut", "merci", "merci beaucoup", "bravo", "felicitations", "bon travail",
        "chapeau", "joyeuses fetes", "bonne journee", "bonne soiree", "soyez prudents",
    ]),
]  # fmt: skip


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _pattern(category, kind):
    phrases = sorted(
        {_fold(p) for c, k, _lang, ps in DEFAULT_RULES if (c, k) == (category, kind) for p in ps}, key=len, reverse=True
    )
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![\w-])")


def reads_as_crime_report(text):
    folded = _fold(text)
    danger, now = _pattern("emergency", "phrase"), _pattern("emergency", "cue")
    crime, past = _pattern("crime", "phrase"), _pattern("crime", "cue")
    if now.search(folded):
        return False
    return bool(crime.search(folded) or past.search(folded)) and not (danger.search(folded) and not past.search(folded))


def install_rules(apps, schema_editor):
    ClassifierRule = apps.get_model("engagement", "ClassifierRule")
    old = {(category, language): "\n".join(phrases) for category, language, phrases in OLD_DEFAULTS}
    now = timezone.now()
    for category, kind, language, phrases in DEFAULT_RULES:
        text = "\n".join(phrases)
        rule = ClassifierRule.objects.filter(category=category, kind=kind, language=language).first()
        if rule is None:
            ClassifierRule.objects.create(category=category, kind=kind, language=language, phrases=text, updated_at=now)
        elif kind == "phrase" and rule.phrases == old.get((category, language)):
            ClassifierRule.objects.filter(pk=rule.pk).update(phrases=text, updated_at=now)


def uninstall_rules(apps, schema_editor):
    ClassifierRule = apps.get_model("engagement", "ClassifierRule")
    new = {(category, kind, language): "\n".join(phrases) for category, kind, language, phrases in DEFAULT_RULES}
    for category, language, phrases in OLD_DEFAULTS:
        ClassifierRule.objects.filter(
            category=category, kind="phrase", language=language, phrases=new.get((category, "phrase", language))
        ).update(phrases="\n".join(phrases), updated_at=timezone.now())
    ClassifierRule.objects.exclude(kind="phrase").delete()
    ClassifierRule.objects.filter(category__in=["crime", "question"]).delete()


def split_crime_reports(apps, schema_editor):
    TriageItem = apps.get_model("engagement", "TriageItem")
    emergencies = TriageItem.objects.filter(category="emergency").order_by("pk")
    last = 0
    while True:
        batch = list(emergencies.filter(pk__gt=last).values_list("pk", "message__text")[:1000])
        if not batch:
            break
        last = batch[-1][0]
        reports = [pk for pk, text in batch if reads_as_crime_report(text)]
        TriageItem.objects.filter(pk__in=reports).update(
            category="crime", priority=HIGH, category_reason="crime report (moved from emergency by migration 0005)"
        )


def merge_crime_reports(apps, schema_editor):
    TriageItem = apps.get_model("engagement", "TriageItem")
    TriageItem.objects.filter(category="crime").update(category="emergency", priority=URGENT)


class Migration(migrations.Migration):
    dependencies = [("engagement", "0004_crime_reports_corrections_rule_kinds")]
    operations = [
        migrations.RunPython(install_rules, uninstall_rules),
        migrations.RunPython(split_crime_reports, merge_crime_reports),
    ]
