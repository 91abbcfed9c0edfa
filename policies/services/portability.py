"""Policies as files: export every rule to JSON, import a file all-or-nothing.

The format (UTF-8 JSON) is a list of rules, each an object with exactly these keys:

    name         text, unique: an import matches existing rules by name
    explanation  text shown to the member
    severity     "info" | "warning" | "critical"
    enabled      true | false
    direction    "inbound" | "outbound" | "both"
    platforms    list among "x", "facebook", "instagram", "bluesky", "mastodon" (empty: every platform)
    unit_path    "Metro Police Service/North Division" (levels joined by "/"; empty: the whole organization)
    kind         "keywords" | "regex" | "detector" | "link_domains" | "posting_hours" | "governance"

and the kind's own fields, flattened beside them:

    keywords       terms (list), exceptions (list, optional)
    regex          pattern (RE2 syntax)
    detector       detector ("phone_number", "email", "licence_plate", "street_address", "date_of_birth",
                   "case_number") and its options, optional: phone_number region ("CA") and allowed
                   (numbers); email allowed (domains); case_number pattern (RE2, "MPS-\\d{4}-\\d{6}")
    link_domains   allowed (list of domains; subdomains included)
    posting_hours  start, end ("HH:MM"), timezone (IANA name, e.g. "America/Toronto")
    governance     check ("dormant", "holder_left", "training_expired", "pending_too_long",
                   "needs_reconnect_too_long") and its options, optional: days (dormant 30,
                   pending_too_long 14, needs_reconnect_too_long 7) and kinds (dormant, training_expired:
                   account kinds among "corporate", "unit", "personal"; empty: all)

Example: {"name": "Operational details", "explanation": "…", "severity": "critical", "enabled": true,
"direction": "outbound", "platforms": [], "unit_path": "", "kind": "keywords",
"terms": ["search warrant", "informant"], "exceptions": ["executed a search warrant"]}

Import: every rule is validated first; any error (each reported as `Rule 3 "Name": field: problem`) and
nothing is written. Otherwise, in one transaction, new names are created and existing rules whose
settings differ are updated (through the audited rule services); rules absent from the file are left
alone, never deleted. Units are never created: a unit path must exist. Re-importing the same file, or
an export, changes nothing. A dry run performs the same writes in a transaction it then rolls back, so
its counts are the real import's.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts_registry.selectors import unit_paths
from accounts_registry.services.units import unit_by_path
from policies.models import PolicyRule
from policies.services.rules import KIND_FIELDS, rule_create, rule_errors, rule_update, snapshot

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from accounts_registry.models import OrgUnit

COMMON_FIELDS = ("name", "explanation", "severity", "enabled", "direction", "platforms", "unit_path", "kind")


def policies_export() -> list[dict[str, Any]]:
    """Every rule (enabled or not), by name, in the documented format."""
    rules = list(PolicyRule.objects.select_related("unit").order_by("name"))
    paths = unit_paths(rule.unit for rule in rules if rule.unit is not None)
    return [
        {
            "name": rule.name,
            "explanation": rule.explanation,
            "severity": rule.severity,
            "enabled": rule.is_enabled,
            "direction": rule.direction,
            "platforms": list(rule.platforms),
            "unit_path": paths[rule.unit.pk] if rule.unit is not None else "",
            "kind": rule.kind,
            **rule.config,
        }
        for rule in rules
    ]


def policies_export_json(rules: list[dict[str, Any]] | None = None) -> str:
    """The export as text (of `rules`, or of every rule): indented, UTF-8 characters kept as they are."""
    return json.dumps(policies_export() if rules is None else rules, indent=2, ensure_ascii=False) + "\n"


@dataclasses.dataclass
class ImportResult:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    dry_run: bool = False

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclasses.dataclass(frozen=True)
class _Parsed:
    name: str
    fields: dict[str, Any]  # keyword arguments of rule_create/rule_update, except the actor


def _parse_rule(position: int, item: object, units: dict[str, OrgUnit | None]) -> tuple[_Parsed | None, list[str]]:
    label = f"Rule {position}"
    if not isinstance(item, dict):
        return None, [f"{label}: must be an object."]
    name = item.get("name")
    if isinstance(name, str) and name.strip():
        label = f"Rule {position} “{name.strip()}”"
    errors: list[str] = []
    for field in COMMON_FIELDS:
        if field not in item:
            errors.append(f"{label}: {field}: required.")
    kind = item.get("kind")
    own = KIND_FIELDS.get(kind, (frozenset(), frozenset())) if isinstance(kind, str) else (frozenset(), frozenset())
    unknown = sorted(set(item) - set(COMMON_FIELDS) - own[0] - own[1])
    if unknown and isinstance(kind, str) and kind in KIND_FIELDS:
        errors.append(f"{label}: {', '.join(unknown)}: not a field of {kind} rules.")
    if errors:
        return None, errors
    for field in ("name", "explanation", "severity", "direction", "kind", "unit_path"):
        if not isinstance(item[field], str):
            errors.append(f"{label}: {field}: must be text.")
    if not isinstance(item["enabled"], bool):
        errors.append(f"{label}: enabled: must be true or false.")
    if errors:
        return None, errors
    unit_path = item["unit_path"].strip()
    unit = None
    if unit_path:
        if unit_path not in units:
            units[unit_path] = unit_by_path(unit_path)
        unit = units[unit_path]
        if unit is None:
            errors.append(f"{label}: unit_path: no unit “{unit_path}” in this organization.")
    config = {field: item[field] for field in item if field not in COMMON_FIELDS}
    fields = {
        "name": item["name"].strip(),
        "explanation": item["explanation"],
        "severity": item["severity"],
        "is_enabled": item["enabled"],
        "direction": item["direction"],
        "platforms": item["platforms"],
        "unit": unit,
        "kind": kind,
        "config": config,
    }
    errors += [f"{label}: {message}" for message in _field_errors(fields)]
    return (None if errors else _Parsed(name=fields["name"], fields=fields)), errors


def _field_errors(fields: dict[str, Any]) -> list[str]:
    errors = rule_errors(
        name=fields["name"],
        explanation=fields["explanation"],
        severity=fields["severity"],
        direction=fields["direction"],
        platforms=fields["platforms"],
        kind=fields["kind"],
        config=fields["config"],
    )
    return [
        message if field == "config" else f"{field}: {message}"
        for field, messages in errors.items()
        for message in messages
    ]


def policies_import(*, data: object, actor: User | None, dry_run: bool = False) -> ImportResult:
    """Validate every rule, then create/update them all in one transaction — or write nothing at all."""
    result = ImportResult(dry_run=dry_run)
    if not isinstance(data, list):
        result.errors.append("The file must hold a JSON list of rules.")
        return result
    units: dict[str, OrgUnit | None] = {}
    parsed: list[_Parsed] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(data, start=1):
        rule, errors = _parse_rule(position, item, units)
        result.errors += errors
        if rule is not None:
            if rule.name in seen:
                result.errors.append(f"Rule {position} “{rule.name}”: name: also used by rule {seen[rule.name]}.")
            seen.setdefault(rule.name, position)
            parsed.append(rule)
    if result.errors:
        return result
    with transaction.atomic():
        existing = {rule.name: rule for rule in PolicyRule.objects.select_related("unit").filter(name__in=seen)}
        try:
            _write(parsed, existing, actor=actor, result=result)
        except ValidationError as error:  # a concurrent edit (e.g. the same name created meanwhile)
            result.errors += [f"{message}" for message in error.messages]
            result.created, result.updated, result.unchanged = [], [], []
            transaction.set_rollback(True)
        if dry_run:
            # The same writes as a real import, rolled back: the counts cannot disagree with it.
            transaction.set_rollback(True)
    return result


def _write(parsed: list[_Parsed], existing: dict[str, PolicyRule], *, actor: User | None, result: ImportResult) -> None:
    for item in parsed:
        current = existing.get(item.name)
        if current is None:
            rule_create(actor=actor, **item.fields)
            result.created.append(item.name)
            continue
        before = snapshot(current)
        rule_update(rule=current, actor=actor, **item.fields)
        (result.unchanged if snapshot(current) == before else result.updated).append(item.name)


def policies_import_json(*, text: str, actor: User | None, dry_run: bool = False) -> ImportResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return ImportResult(errors=[f"Not valid JSON: {error}."], dry_run=dry_run)
    return policies_import(data=data, actor=actor, dry_run=dry_run)
