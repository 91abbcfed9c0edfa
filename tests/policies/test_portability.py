"""Policies as JSON files: export, all-or-nothing import, dry runs, the commands and the starter policy."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts_registry.models import AuditEvent
from policies.engine import Engine, RuleSpec
from policies.models import PolicyRule
from policies.services.portability import policies_export, policies_import, policies_import_json
from policies.services.rules import rule_create
from tests.factories import make_unit

pytestmark = pytest.mark.django_db

STARTER = Path(__file__).resolve().parents[2] / "policies" / "starter_policy.json"


@pytest.fixture
def rules(org):
    common: dict[str, Any] = {"actor": None, "explanation": "Explained to the member."}
    rule_create(
        name="Operational details", kind="keywords", severity="critical", unit=org["north"],
        config={"terms": ["search warrant", "Informant"], "exceptions": ["executed a search warrant"]}, **common,
    )  # fmt: skip
    rule_create(name="Promo", kind="regex", config={"pattern": r"(?i)promo\s+code"}, platforms=["x"], **common)
    rule_create(name="Phones", kind="detector", config={"detector": "phone_number", "region": "US"}, **common)
    rule_create(name="Links", kind="link_domains", config={"allowed": ["police.example"]}, is_enabled=False, **common)
    rule_create(
        name="Hours", kind="posting_hours", direction="both",
        config={"start": "07:00", "end": "22:00", "timezone": "America/Toronto"}, **common,
    )  # fmt: skip
    rule_create(name="Dormant", kind="governance", config={"check": "dormant", "days": 14, "kinds": ["unit"]}, **common)


def test_export_format(rules):
    exported = {rule["name"]: rule for rule in policies_export()}
    assert list(exported) == ["Dormant", "Hours", "Links", "Operational details", "Phones", "Promo"]
    assert exported["Operational details"] == {
        "name": "Operational details",
        "explanation": "Explained to the member.",
        "severity": "critical",
        "enabled": True,
        "direction": "outbound",
        "platforms": [],
        "unit_path": "Metro Police Service/North Division",
        "kind": "keywords",
        "terms": ["search warrant", "Informant"],
        "exceptions": ["executed a search warrant"],
    }
    assert exported["Phones"]["detector"] == "phone_number"
    assert exported["Phones"]["region"] == "US"
    assert exported["Links"]["enabled"] is False
    assert {key: exported["Dormant"][key] for key in ("kind", "check", "days", "kinds")} == {
        "kind": "governance",
        "check": "dormant",
        "days": 14,
        "kinds": ["unit"],
    }


def test_export_then_import_changes_nothing(rules):
    before = policies_export()
    audits = AuditEvent.objects.count()
    result = policies_import(data=before, actor=None)
    assert result.errors == []
    assert (result.created, result.updated, len(result.unchanged)) == ([], [], 6)
    assert policies_export() == before
    assert AuditEvent.objects.count() == audits


def test_round_trip_into_an_empty_organization(rules):
    exported = policies_export()
    PolicyRule.objects.all().delete()
    result = policies_import(data=exported, actor=None)
    assert len(result.created) == 6
    assert policies_export() == exported
    assert AuditEvent.objects.filter(verb="policy_rule.create").count() == 6 + 6


def test_import_updates_changed_rules_by_name(rules):
    exported = policies_export()
    data = [rule for rule in exported if rule["name"] != "Promo"]
    for item in data:
        if item["name"] == "Operational details":
            item["terms"] = ["wiretap"]
            item["severity"] = "warning"
    result = policies_import(data=data, actor=None)
    assert result.errors == []
    assert (result.created, result.updated) == ([], ["Operational details"])
    assert "Promo" not in result.unchanged  # absent from the file: left alone, not deleted
    assert PolicyRule.objects.filter(name="Promo").exists()
    rule = PolicyRule.objects.get(name="Operational details")
    assert (rule.config["terms"], rule.severity) == (["wiretap"], "warning")
    event = AuditEvent.objects.filter(verb="policy_rule.update").get()
    assert (event.before["severity"], event.after["severity"]) == ("critical", "warning")


def test_a_bad_file_writes_nothing_and_names_each_bad_rule(org):
    data = [
        {"name": "Good", "explanation": "Fine.", "severity": "warning", "enabled": True, "direction": "outbound",
         "platforms": [], "unit_path": "", "kind": "keywords", "terms": ["informant"]},
        {"name": "Backreference", "explanation": "Bad.", "severity": "urgent", "enabled": True,
         "direction": "outbound", "platforms": ["myspace"], "unit_path": "Metro Police Service/West Division",
         "kind": "regex", "pattern": r"(\w+) \1"},
        {"name": "Typo", "explanation": "Bad.", "severity": "info", "enabled": "yes", "direction": "outbound",
         "platforms": [], "unit_path": "", "kind": "keywords", "terms": ["x"]},
        {"name": "Unknown field", "explanation": "Bad.", "severity": "info", "enabled": True, "direction": "outbound",
         "platforms": [], "unit_path": "", "kind": "link_domains", "allowed": ["police.example"], "denied": []},
        {"name": "Good", "explanation": "Twice.", "severity": "info", "enabled": True, "direction": "outbound",
         "platforms": [], "unit_path": "", "kind": "detector", "detector": "email"},
        "not a rule",
    ]  # fmt: skip
    result = policies_import(data=data, actor=None)
    assert result.errors == [
        "Rule 2 “Backreference”: unit_path: no unit “Metro Police Service/West Division” in this organization.",
        "Rule 2 “Backreference”: severity: “urgent” is not one of info, warning, critical.",
        "Rule 2 “Backreference”: platforms: A list among x, facebook, instagram, bluesky, mastodon (empty: every "
        "platform).",
        "Rule 2 “Backreference”: pattern: The linear-time regex engine (RE2) cannot compile this pattern: invalid "
        "escape sequence: \\1. Backreferences (\\1) are not supported.",
        "Rule 3 “Typo”: enabled: must be true or false.",
        "Rule 4 “Unknown field”: denied: not a field of link_domains rules.",
        "Rule 5 “Good”: name: also used by rule 1.",
        "Rule 6: must be an object.",
    ]
    assert PolicyRule.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_not_a_list_or_not_json():
    assert policies_import(data={"rules": []}, actor=None).errors == ["The file must hold a JSON list of rules."]
    assert policies_import_json(text="[{", actor=None).errors[0].startswith("Not valid JSON:")


def test_dry_run_writes_nothing_but_counts(rules):
    exported = policies_export()
    exported[0]["days"] = 21
    exported.append({**exported[1], "name": "Hours 2"})
    audits = AuditEvent.objects.count()
    result = policies_import(data=exported, actor=None, dry_run=True)
    assert (result.created, result.updated, len(result.unchanged)) == (["Hours 2"], ["Dormant"], 5)
    assert PolicyRule.objects.count() == 6
    assert PolicyRule.objects.get(name="Dormant").config["days"] == 14
    assert AuditEvent.objects.count() == audits


def test_commands_round_trip(rules, tmp_path, capsys):
    path = tmp_path / "policies.json"
    call_command("export_policies", "-o", str(path))
    assert "Exported 6 rule(s)" in capsys.readouterr().out
    assert json.loads(path.read_text(encoding="utf-8")) == policies_export()
    call_command("import_policies", str(path), "--dry-run")
    assert capsys.readouterr().out.strip() == "Dry run, nothing written: 0 created, 0 updated, 6 unchanged."
    call_command("export_policies")
    assert json.loads(capsys.readouterr().out) == policies_export()


def test_import_command_reports_errors(org, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('[{"name": "Half a rule"}]', encoding="utf-8")
    with pytest.raises(CommandError, match=r"7 error\(s\); nothing was imported"):
        call_command("import_policies", str(path))
    assert "Rule 1 “Half a rule”: explanation: required." in capsys.readouterr().err
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_policies", str(tmp_path / "missing.json"))


@pytest.fixture
def demo_units(org):
    """The demo organization's commands that the starter policy's posting hours name."""
    for name in ("Specialized Operations Command", "Central Field Command", "Area Field Command"):
        make_unit(name, org["root"], kind="command")


def test_the_starter_policy_imports_cleanly_and_compiles(demo_units, capsys):
    call_command("import_policies", str(STARTER))
    assert capsys.readouterr().out.startswith("35 created, 0 updated, 0 unchanged.")
    rules = list(PolicyRule.objects.select_related("unit"))
    assert {rule.kind for rule in rules} == set(PolicyRule.Kind.values)
    engine = Engine(RuleSpec.from_rule(rule) for rule in rules)
    assert engine.skipped == {}
    assert len(engine.specs) == 29  # every rule but the six governance checks
    call_command("import_policies", str(STARTER))
    assert capsys.readouterr().out.strip() == "0 created, 0 updated, 35 unchanged."
