"""Writing policy rules: create, update, enable/disable, delete — validated, normalized and audited.

A rule's `config` holds its kind's own fields, exactly as the export format spells them:
- keywords: `terms` (list of words/phrases), `exceptions` (list of phrases, optional);
- regex: `pattern` (RE2 syntax; refused with the reason when RE2 cannot compile it);
- detector: `detector` (phone_number, email, licence_plate, street_address, date_of_birth, case_number)
  and its options beside it (phone_number: `region`, `allowed`; email: `allowed`; case_number: `pattern`);
- link_domains: `allowed` (domains; their subdomains are allowed too);
- posting_hours: `start`, `end` ("HH:MM", 24-hour clock), `timezone` (IANA name);
- governance: `check` (see policies.services.governance.CHECKS) and its options beside it (`days`, `kinds`).

Who may call: the views authorize (rule administration is for admins); the import command acts as the
system (actor None). Every write moves `updated_at` past every other rule's, so the cached engine
(policies.engine.current_engine) is rebuilt on the next evaluation in every process.
"""

from __future__ import annotations

import datetime
import zoneinfo
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts_registry.models import AuditEvent, Platform
from accounts_registry.services.audit import audit_record
from policies.detectors import DETECTOR_OPTIONS, detector_errors, is_domain
from policies.engine import RuleError, parse_clock, regex_compile, terms_of
from policies.models import PolicyRule
from policies.services.governance import GOVERNANCE_OPTIONS, governance_check_errors

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from django.contrib.auth.models import User

    from accounts_registry.models import OrgUnit

Kind = PolicyRule.Kind

MAX_TERMS = 20_000
MAX_TERM_LENGTH = 200
NAME_MAX = PolicyRule._meta.get_field("name").max_length or 200

# Per kind: (required fields, optional fields) of `config`.
KIND_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    Kind.KEYWORDS: (frozenset({"terms"}), frozenset({"exceptions"})),
    Kind.REGEX: (frozenset({"pattern"}), frozenset()),
    Kind.DETECTOR: (frozenset({"detector"}), DETECTOR_OPTIONS),
    Kind.LINK_DOMAINS: (frozenset({"allowed"}), frozenset()),
    Kind.POSTING_HOURS: (frozenset({"start", "end", "timezone"}), frozenset()),
    Kind.GOVERNANCE: (frozenset({"check"}), GOVERNANCE_OPTIONS),
}


# --- validation ---------------------------------------------------------------------------------------------


def rule_validate(kind: str, config: object) -> list[str]:
    """What is wrong with this matcher configuration, one message per problem (empty: valid).

    Used by the rule forms and the import. Each message starts with the field it is about.
    """
    if kind not in KIND_FIELDS:
        return [f"kind: “{kind}” is not one of {', '.join(KIND_FIELDS)}."]
    if not isinstance(config, dict):
        return ["The configuration must be an object of the kind's fields."]
    required, optional = KIND_FIELDS[kind]
    errors = [f"{field}: required for {kind} rules." for field in sorted(required - set(config))]
    errors += [
        f"{field}: not a field of {kind} rules (expected {', '.join(sorted(required | optional))})."
        for field in sorted(set(config) - required - optional)
    ]
    if errors:
        return errors
    return _KIND_ERRORS[kind](config)


def _phrases_errors(config: Mapping[str, Any], field: str, *, required: bool) -> list[str]:
    value = config.get(field, [])
    if not isinstance(value, list) or not all(isinstance(term, str) for term in value):
        return [f"{field}: must be a list of words or phrases."]
    errors = []
    if required and not terms_of(config, field):
        errors.append(f"{field}: give at least one word or phrase.")
    if len(value) > MAX_TERMS:
        errors.append(f"{field}: at most {MAX_TERMS:,} entries per rule.")
    errors += [
        f"{field}: “{term[:40]}…” is longer than {MAX_TERM_LENGTH} characters."
        for term in value
        if len(term) > MAX_TERM_LENGTH
    ]
    return errors


def _keywords_errors(config: Mapping[str, Any]) -> list[str]:
    return _phrases_errors(config, "terms", required=True) + _phrases_errors(config, "exceptions", required=False)


def _regex_errors(config: Mapping[str, Any]) -> list[str]:
    try:
        regex_compile(config.get("pattern"))
    except RuleError as error:
        return [str(error)]
    return []


def _detector_errors(config: Mapping[str, Any]) -> list[str]:
    return detector_errors(config.get("detector"), _options(config, "detector"))


def _options(config: Mapping[str, Any], main: str) -> dict[str, Any]:
    return {field: value for field, value in config.items() if field != main}


def _link_domains_errors(config: Mapping[str, Any]) -> list[str]:
    allowed = config.get("allowed")
    if not isinstance(allowed, list) or not all(isinstance(domain, str) for domain in allowed):
        return ["allowed: must be a list of domain names (an empty list allows no link at all)."]
    return [
        f"allowed: “{domain}” is not a domain name (e.g. police.example)."
        for domain in allowed
        if not is_domain(domain)
    ]


def _posting_hours_errors(config: Mapping[str, Any]) -> list[str]:
    errors = []
    times: list[datetime.time] = []
    for field in ("start", "end"):
        try:
            times.append(parse_clock(config.get(field)))
        except ValueError as error:
            errors.append(f"{field}: {error}")
    if len(times) == 2 and times[0] == times[1]:
        errors.append("end: must differ from start (the permitted window would be empty or the whole day).")
    zone = config.get("timezone")
    try:
        if not isinstance(zone, str) or not zone:
            raise ValueError
        zoneinfo.ZoneInfo(zone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        errors.append(f"timezone: “{zone}” is not a time zone name (e.g. America/Toronto).")
    return errors


def _governance_errors(config: Mapping[str, Any]) -> list[str]:
    return governance_check_errors(config.get("check"), _options(config, "check"))


_KIND_ERRORS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    Kind.KEYWORDS: _keywords_errors,
    Kind.REGEX: _regex_errors,
    Kind.DETECTOR: _detector_errors,
    Kind.LINK_DOMAINS: _link_domains_errors,
    Kind.POSTING_HOURS: _posting_hours_errors,
    Kind.GOVERNANCE: _governance_errors,
}


def config_normalize(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a valid configuration: trimmed, duplicates dropped, optional fields present."""
    if kind == Kind.KEYWORDS:
        return {"terms": _distinct(config["terms"]), "exceptions": _distinct(config.get("exceptions", []))}
    if kind == Kind.REGEX:
        return {"pattern": config["pattern"]}
    if kind == Kind.DETECTOR:
        return {"detector": config["detector"], **_options(config, "detector")}
    if kind == Kind.LINK_DOMAINS:
        return {"allowed": _distinct([domain.lower().rstrip(".") for domain in config["allowed"]])}
    if kind == Kind.POSTING_HOURS:
        return {"start": config["start"].strip(), "end": config["end"].strip(), "timezone": config["timezone"]}
    return {"check": config["check"], **_options(config, "check")}


def _distinct(values: list[str]) -> list[str]:
    """Trimmed, inner whitespace collapsed, first spelling kept among those that fold alike."""
    kept: dict[str, str] = {}
    for value in values:
        cleaned = " ".join(value.split())
        folded = terms_of({"x": [cleaned]}, "x")
        if folded:
            kept.setdefault(folded[0], cleaned)
    return list(kept.values())


def rule_errors(
    *, name: str, explanation: str, severity: str, direction: str, platforms: object, kind: str, config: object
) -> dict[str, list[str]]:
    """Field → messages for a whole rule (empty: valid). Name uniqueness is checked on write."""
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["A rule needs a name."]
    elif len(name.strip()) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if not explanation.strip():
        errors["explanation"] = ["Explain the rule in plain language: members see this."]
    if severity not in PolicyRule.Severity.values:
        errors["severity"] = [f"“{severity}” is not one of {', '.join(PolicyRule.Severity.values)}."]
    if direction not in PolicyRule.Direction.values:
        errors["direction"] = [f"“{direction}” is not one of {', '.join(PolicyRule.Direction.values)}."]
    if not isinstance(platforms, list) or not all(platform in Platform.values for platform in platforms):
        errors["platforms"] = [f"A list among {', '.join(Platform.values)} (empty: every platform)."]
    if kind not in PolicyRule.Kind.values:
        errors["kind"] = [f"“{kind}” is not one of {', '.join(PolicyRule.Kind.values)}."]
    else:
        config_errors = rule_validate(kind, config)
        if config_errors:
            errors["config"] = config_errors
    return errors


# --- writes -------------------------------------------------------------------------------------------------


def snapshot(rule: PolicyRule) -> dict[str, Any]:
    """The rule's settings as plain data (audit rows, change detection)."""
    return {
        "name": rule.name,
        "explanation": rule.explanation,
        "severity": rule.severity,
        "is_enabled": rule.is_enabled,
        "direction": rule.direction,
        "platforms": list(rule.platforms),
        "unit": rule.unit.path if rule.unit is not None else "",
        "kind": rule.kind,
        "config": rule.config,
    }


def _next_stamp() -> datetime.datetime:
    """Now, or just after the latest rule edit if the clock says otherwise: the engine's cache key moves."""
    now = timezone.now()
    latest = PolicyRule.objects.aggregate(latest=Max("updated_at"))["latest"]
    return max(now, latest + datetime.timedelta(microseconds=1)) if latest is not None else now


def _apply(
    rule: PolicyRule,
    *,
    name: str,
    explanation: str,
    severity: str,
    is_enabled: bool,
    direction: str,
    platforms: list[str],
    unit: OrgUnit | None,
    kind: str,
    config: Mapping[str, Any],
) -> None:
    errors = rule_errors(
        name=name,
        explanation=explanation,
        severity=severity,
        direction=direction,
        platforms=platforms,
        kind=kind,
        config=config,
    )
    if not errors.get("name") and PolicyRule.objects.filter(name=name.strip()).exclude(pk=rule.pk).exists():
        errors["name"] = [f"A rule named “{name.strip()}” already exists."]
    if errors:
        raise ValidationError(errors)
    rule.name = name.strip()
    rule.explanation = explanation.strip()
    rule.severity = severity
    rule.is_enabled = is_enabled
    rule.direction = direction
    rule.platforms = [platform for platform in Platform.values if platform in platforms]
    rule.unit = unit
    rule.kind = kind
    rule.config = config_normalize(kind, config)


@transaction.atomic
def rule_create(
    *,
    actor: User | None,
    name: str,
    explanation: str,
    kind: str,
    config: Mapping[str, Any],
    severity: str = PolicyRule.Severity.WARNING,
    is_enabled: bool = True,
    direction: str = PolicyRule.Direction.OUTBOUND,
    platforms: list[str] | None = None,
    unit: OrgUnit | None = None,
) -> PolicyRule:
    """Create a rule. Raises ValidationError (a dict: field → messages; matcher problems under "config")."""
    rule = PolicyRule()
    _apply(
        rule,
        name=name,
        explanation=explanation,
        severity=severity,
        is_enabled=is_enabled,
        direction=direction,
        platforms=platforms or [],
        unit=unit,
        kind=kind,
        config=config,
    )
    rule.created_at = rule.updated_at = _next_stamp()
    rule.save()
    audit_record(actor=actor, verb=AuditEvent.Verb.POLICY_RULE_CREATE, target=rule, unit=unit, after=snapshot(rule))
    return rule


@transaction.atomic
def rule_update(
    *,
    rule: PolicyRule,
    actor: User | None,
    name: str,
    explanation: str,
    kind: str,
    config: Mapping[str, Any],
    severity: str,
    is_enabled: bool,
    direction: str,
    platforms: list[str],
    unit: OrgUnit | None,
) -> PolicyRule:
    """Replace a rule's settings. Idempotent: the same settings again write nothing (no audit row)."""
    before = snapshot(rule)
    _apply(
        rule,
        name=name,
        explanation=explanation,
        severity=severity,
        is_enabled=is_enabled,
        direction=direction,
        platforms=platforms,
        unit=unit,
        kind=kind,
        config=config,
    )
    after = snapshot(rule)
    if after == before:
        return rule
    rule.updated_at = _next_stamp()
    rule.save()
    audit_record(
        actor=actor, verb=AuditEvent.Verb.POLICY_RULE_UPDATE, target=rule, unit=unit, before=before, after=after
    )
    return rule


@transaction.atomic
def rule_set_enabled(*, rule: PolicyRule, is_enabled: bool, actor: User | None) -> PolicyRule:
    """Enable or disable a rule. Idempotent."""
    if rule.is_enabled == is_enabled:
        return rule
    rule.is_enabled = is_enabled
    rule.updated_at = _next_stamp()
    rule.save(update_fields=["is_enabled", "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.POLICY_RULE_ENABLE if is_enabled else AuditEvent.Verb.POLICY_RULE_DISABLE,
        target=rule,
        unit=rule.unit,
        before={"is_enabled": not is_enabled},
        after={"is_enabled": is_enabled},
    )
    return rule


@transaction.atomic
def rule_delete(*, rule: PolicyRule, actor: User | None) -> None:
    """Delete a rule and, with it, its flags and rescan jobs (disable it instead to keep its history)."""
    audit_record(
        actor=actor, verb=AuditEvent.Verb.POLICY_RULE_DELETE, target=rule, unit=rule.unit, before=snapshot(rule)
    )
    rule.delete()
