"""Forms of the policy pages: the queue's filters, the review actions, rules per kind, rescans."""

from __future__ import annotations

import datetime
import zoneinfo
from functools import cache
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from accounts_registry.models import OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import get_account_for_user, get_unit_for_user
from common.filters import ChoiceFilter, FilterForm, IdFilter, ObjectFilter, SearchFilter, TokenFilter
from policies.detectors import DEFAULT_CASE_NUMBER_PATTERN, DEFAULT_REGION, DETECTORS
from policies.models import PolicyFlag, PolicyRule
from policies.selectors import QueueCursor, QueueFilters
from policies.services.governance import CHECKS

if TYPE_CHECKING:
    from django.db.models import QuerySet

NOTE_MAX_LENGTH = 4000


# --- The queue -----------------------------------------------------------------------------------


class FlagFilterForm(FilterForm):
    """A list of flags' filters (common.filters), for the review queue. A unit or account outside the
    user's scope is a 404 while parsing; a malformed value is a form error (the API: a 400)."""

    status = ChoiceFilter(choices=[("", "All"), *PolicyFlag.Status.choices])
    severity = ChoiceFilter(choices=[("", "Any severity"), *PolicyRule.Severity.choices])
    rule: forms.Field = IdFilter(required=False)  # the API's subclass also takes a rule's name
    unit = ObjectFilter(get_unit_for_user)
    account = ObjectFilter(get_account_for_user)
    q = SearchFilter(label="Search posts and authors")
    after: forms.Field | None = TokenFilter(QueueCursor.decode)  # the API pages with its own `cursor`

    def queue_filters(self) -> tuple[QueueFilters, QueueCursor | None]:
        """The queue's valid filters (see `errors` for the others) and its page cursor. No `status`
        at all means the open flags; an empty one (the "All" tab) means every status."""
        data = self.valid_values()
        status = data.get("status") or ("" if "status" in self.data and "status" in data else PolicyFlag.Status.OPEN)
        filters = QueueFilters(
            status=status,
            severity=data.get("severity") or "",
            rule_id=data.get("rule"),
            unit=data.get("unit"),
            account=data.get("account"),
            search=data.get("q") or "",
        )
        return filters, data.get("after")


# --- Reviewing a flag ----------------------------------------------------------------------------


class FalsePositiveForm(forms.Form):
    note = forms.CharField(
        label="Why is it a false positive?",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=NOTE_MAX_LENGTH,
        help_text="Required: it tells whoever tunes the rule what it got wrong.",
        error_messages={"required": "Say why this is a false positive: the note helps whoever tunes the rule."},
    )


class CoachingForm(forms.Form):
    text = forms.CharField(
        label="Coaching for the member",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=NOTE_MAX_LENGTH,
        help_text="Emailed to the member who holds the account, and kept on their feedback page.",
        error_messages={"required": "Write the coaching."},
    )


# --- Rules ---------------------------------------------------------------------------------------


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


@cache
def _timezones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class RuleForm(forms.Form):
    """The fields every rule has. Subclasses add the kind's own fields and turn them into `config`."""

    kind: str = ""

    name = forms.CharField(max_length=200)
    explanation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Plain language: the member reads this when flagged."
    )
    severity = forms.ChoiceField(choices=PolicyRule.Severity.choices, initial=PolicyRule.Severity.WARNING)
    direction = forms.ChoiceField(
        choices=PolicyRule.Direction.choices,
        initial=PolicyRule.Direction.OUTBOUND,
        help_text="Outbound: the organization's own posts. Inbound: what the public sends to them.",
    )
    platforms = forms.MultipleChoiceField(
        choices=Platform.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every platform.",
    )
    unit: forms.ModelChoiceField[OrgUnit] = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(), required=False, help_text="The rule applies to this unit's subtree."
    )
    is_enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], allow_organization: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field: forms.ModelChoiceField[OrgUnit] = self.fields["unit"]  # type: ignore[assignment]  # declared above
        unit_field.queryset = units
        unit_field.empty_label = "The whole organization" if allow_organization else None
        unit_field.required = not allow_organization
        if not allow_organization:
            unit_field.help_text = "The rule applies to this unit's subtree (you administer these units)."

    def config(self) -> dict[str, Any]:
        """The kind's own fields as the rule's `config` (the documented export format)."""
        raise NotImplementedError

    @classmethod
    def initial_from(cls, rule: PolicyRule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "explanation": rule.explanation,
            "severity": rule.severity,
            "direction": rule.direction,
            "platforms": list(rule.platforms or []),
            "unit": rule.unit_id,
            "is_enabled": rule.is_enabled,
            **cls.initial_config(rule.config if isinstance(rule.config, dict) else {}),
        }

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def config_fields(self) -> list[forms.BoundField]:
        common = set(RuleForm.base_fields)
        return [self[name] for name in self.fields if name not in common]


class KeywordsRuleForm(RuleForm):
    kind = PolicyRule.Kind.KEYWORDS

    terms = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One word or phrase per line. Matched as whole words, ignoring case and accents.",
    )
    exceptions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One per line: a match inside one of these phrases does not count.",
    )

    def config(self) -> dict[str, Any]:
        return {"terms": _lines(self.cleaned_data["terms"]), "exceptions": _lines(self.cleaned_data["exceptions"])}

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"terms": "\n".join(config.get("terms", [])), "exceptions": "\n".join(config.get("exceptions", []))}


class RegexRuleForm(RuleForm):
    kind = PolicyRule.Kind.REGEX

    pattern = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono", "spellcheck": "false"}),
        help_text="RE2 syntax (no backreferences or lookarounds), so no pattern can run away.",
    )

    def config(self) -> dict[str, Any]:
        return {"pattern": self.cleaned_data["pattern"]}

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"pattern": config.get("pattern", "")}


class DetectorRuleForm(RuleForm):
    """A built-in detector; only the options the chosen detector accepts go into the config."""

    kind = PolicyRule.Kind.DETECTOR

    detector = forms.ChoiceField(choices=[(name, detector.label) for name, detector in DETECTORS.items()])
    region = forms.CharField(
        max_length=2,
        required=False,
        help_text=f"Phone numbers: the region numbers without a country code are read in (default {DEFAULT_REGION}).",
    )
    allowed = forms.CharField(
        label="Allowed",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Phone numbers: numbers that may be posted (e.g. the non-emergency line). "
        "Email addresses: domains whose addresses may be posted. One per line.",
    )
    pattern = forms.CharField(
        label="Case number format",
        max_length=300,
        required=False,
        help_text=f"Case numbers: an RE2 pattern (default {DEFAULT_CASE_NUMBER_PATTERN}).",
    )

    def config(self) -> dict[str, Any]:
        detector = self.cleaned_data["detector"]
        options: dict[str, Any] = {
            "region": self.cleaned_data["region"].upper(),
            "allowed": _lines(self.cleaned_data["allowed"]),
            "pattern": self.cleaned_data["pattern"],
        }
        accepted = DETECTORS[detector].options
        return {"detector": detector} | {name: value for name, value in options.items() if name in accepted and value}

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "detector": config.get("detector", ""),
            "region": config.get("region", ""),
            "allowed": "\n".join(config.get("allowed", [])),
            "pattern": config.get("pattern", ""),
        }


class LinkDomainsRuleForm(RuleForm):
    kind = PolicyRule.Kind.LINK_DOMAINS

    allowed = forms.CharField(
        label="Allowed domains",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One domain per line; its subdomains are allowed too. Links anywhere else are flagged.",
    )

    def config(self) -> dict[str, Any]:
        return {"allowed": [domain.lower() for domain in _lines(self.cleaned_data["allowed"])]}

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"allowed": "\n".join(config.get("allowed", []))}


class PostingHoursRuleForm(RuleForm):
    kind = PolicyRule.Kind.POSTING_HOURS

    start = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), help_text="Posting allowed from…")
    end = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}), help_text="…until (may pass midnight).")
    timezone = forms.ChoiceField(choices=_timezones, initial="America/Toronto")

    def config(self) -> dict[str, Any]:
        start: datetime.time = self.cleaned_data["start"]
        end: datetime.time = self.cleaned_data["end"]
        return {
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "timezone": self.cleaned_data["timezone"],
        }

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {
            "start": config.get("start", ""),
            "end": config.get("end", ""),
            "timezone": config.get("timezone", "America/Toronto"),
        }


class GovernanceRuleForm(RuleForm):
    """An account-level check run daily; only the options the chosen check accepts go into the config."""

    kind = PolicyRule.Kind.GOVERNANCE

    check = forms.ChoiceField(
        choices=[(name, check.label) for name, check in CHECKS.items()],
        help_text="A missing profile disclaimer cannot be checked: Chorus stores no account profiles.",
    )
    days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Dormant, pending or needing reconnection for more than this many days (empty: the default).",
    )
    kinds = forms.MultipleChoiceField(
        label="Account kinds",
        choices=SocialAccount.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Dormant and training checks: only these kinds of account (none ticked: the default).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["direction"]  # governance rules look at accounts, not at posts in one direction

    def config(self) -> dict[str, Any]:
        check = self.cleaned_data["check"]
        options = {"days": self.cleaned_data["days"], "kinds": self.cleaned_data["kinds"]}
        accepted = CHECKS[check].options
        return {"check": check} | {
            name: value for name, value in options.items() if name in accepted and value not in (None, [])
        }

    @classmethod
    def initial_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"check": config.get("check", ""), "days": config.get("days"), "kinds": config.get("kinds", [])}


RULE_FORMS: dict[str, type[RuleForm]] = {
    form.kind: form
    for form in (
        KeywordsRuleForm,
        RegexRuleForm,
        DetectorRuleForm,
        LinkDomainsRuleForm,
        PostingHoursRuleForm,
        GovernanceRuleForm,
    )
}


# --- Rescans -------------------------------------------------------------------------------------

RESCAN_PERIODS = [(7, "The last 7 days"), (30, "The last 30 days"), (90, "The last 90 days"), (365, "The last year")]


class RescanForm(forms.Form):
    days = forms.TypedChoiceField(label="Rescan history over", choices=RESCAN_PERIODS, coerce=int, initial=30)

    def period(self) -> tuple[datetime.datetime, datetime.datetime]:
        until = timezone.now()
        return until - datetime.timedelta(days=self.cleaned_data["days"]), until
