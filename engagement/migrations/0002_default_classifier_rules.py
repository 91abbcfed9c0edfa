"""Data migration: the starter classification rules (English and French), which admins then tune."""

from django.db import migrations

DEFAULT_RULES = [
    ("emergency", "en", [
        "help", "help me", "emergency", "urgent", "breaking in", "break in", "broke in", "breaking into",
        "someone is in my house", "being followed", "following me", "threatening", "threatened", "assault",
        "assaulted", "attacked", "stabbed", "gun", "shots fired", "shooting", "house fire", "missing child",
        "kidnapped", "overdose", "suicide", "kill myself", "domestic violence", "i want to report", "on fire",
        "i'd like to report", "report a crime", "stolen", "robbed", "robbery", "hit and run", "car crash",
    ]),
    ("emergency", "fr", [
        "aidez-moi", "au secours", "urgence", "urgent", "quelqu'un entre", "cambriolage", "cambriole",
        "on me suit", "menace", "agression", "agresse", "arme", "coups de feu", "incendie", "enfant disparu",
        "je veux signaler", "signaler un crime", "vol", "vole", "delit de fuite",
    ]),
    ("complaint", "en", [
        "complaint", "complain", "unacceptable", "disgrace", "disgusting", "terrible", "awful", "rude",
        "nobody answers", "no one answers", "never showed up", "still waiting", "ignored", "useless",
        "worst", "fed up", "ridiculous", "shame on", "not acceptable", "not good enough",
    ]),
    ("complaint", "fr", [
        "plainte", "inacceptable", "honteux", "scandaleux", "personne ne repond", "toujours en attente",
        "ignore", "inutile", "ridicule", "j'en ai marre",
    ]),
    ("greeting", "en", [
        "hello", "hi", "hey", "good morning", "good afternoon", "good evening", "thanks", "thank you",
        "thx", "cheers", "great job", "well done", "appreciate", "kudos", "congrats", "congratulations",
    ]),
    ("greeting", "fr", [
        "bonjour", "bonsoir", "salut", "merci", "merci beaucoup", "bravo", "felicitations", "bon travail",
    ]),
]  # fmt: skip


def add_rules(apps, schema_editor):
    ClassifierRule = apps.get_model("engagement", "ClassifierRule")
    for category, language, phrases in DEFAULT_RULES:
        ClassifierRule.objects.get_or_create(
            category=category, language=language, defaults={"phrases": "\n".join(phrases)}
        )


def remove_rules(apps, schema_editor):
    ClassifierRule = apps.get_model("engagement", "ClassifierRule")
    for category, language, _ in DEFAULT_RULES:
        ClassifierRule.objects.filter(category=category, language=language).delete()


class Migration(migrations.Migration):
    dependencies = [("engagement", "0001_initial")]
    operations = [migrations.RunPython(add_rules, remove_rules)]
