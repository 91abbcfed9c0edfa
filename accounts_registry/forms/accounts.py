"""Forms of the account page and the onboarding flow. They only parse input; services.accounts decides.

Choice fields are built from the scoping selectors, so a value outside the user's reach (another
division's unit or member) is rejected as an invalid choice before any service runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from accounts_registry.models import Member, OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import user_scope, visible_members, visible_units
from accounts_registry.services.accounts import (
    ALLOWED_TRANSITIONS,
    CREDENTIAL_FIELDS,
    REQUIRED_CREDENTIALS,
    STATUS_REASON_MAX_LENGTH,
    OnboardingRequest,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts_registry.selectors import AnyUser

CREDENTIAL_LABELS: dict[str, tuple[str, str]] = {
    "access_token": ("Access token", "The token the platform issued for this account."),
    "refresh_token": ("Refresh token", "OAuth 2.0 refresh token, if the platform issued one."),
    "app_password": ("App password", "An app password created in the account's settings, not its login password."),
}
CREDENTIAL_MAX_LENGTH = 4096


def administered_units(user: AnyUser) -> QuerySet[OrgUnit]:
    """Active units the user may write to, in tree order."""
    return visible_units(user).filter(user_scope(user).path_q("path", write=True), is_active=True).order_by("path")


def administered_members(user: AnyUser) -> QuerySet[Member]:
    """Members of units the user may write to, leavers included (onboarding refuses them with a reason)."""
    return (
        visible_members(user)
        .filter(user_scope(user).path_q("unit__path", write=True))
        .select_related("unit")
        .order_by("full_name", "badge_number")
    )


class AccountStatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")
    reason = forms.CharField(
        label="Reason",
        max_length=STATUS_REASON_MAX_LENGTH,
        required=False,
        help_text="Kept with the account and in its activity log.",
    )

    def __init__(self, *args: Any, account: SocialAccount, **kwargs: Any) -> None:
        """Offers only the statuses the lifecycle allows from the account's current one."""
        kwargs.setdefault("auto_id", "status_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        allowed = ALLOWED_TRANSITIONS.get(account.status, frozenset())
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(value, label) for value, label in SocialAccount.Status.choices if value in allowed]
        self.has_choices = bool(allowed)


class CredentialsForm(forms.Form):
    """Password inputs for the credentials the platform's connector understands. Never renders a value."""

    def __init__(self, *args: Any, platform: str, require_needed: bool, **kwargs: Any) -> None:
        """With `require_needed`, the credentials the platform needs before polling are required fields."""
        kwargs.setdefault("auto_id", "credentials_%s")
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        needed = REQUIRED_CREDENTIALS.get(platform, ())
        for name in CREDENTIAL_FIELDS.get(platform, ()):
            label, help_text = CREDENTIAL_LABELS.get(name, (name, ""))
            self.fields[name] = forms.CharField(
                label=label,
                help_text=help_text,
                required=require_needed and name in needed,
                max_length=CREDENTIAL_MAX_LENGTH,
                widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}, render_value=False),
            )

    def credentials(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}


class MemberChoiceField(forms.ModelChoiceField[Member]):
    def label_from_instance(self, obj: Member) -> str:
        label = f"{obj.full_name} ({obj.badge_number}), {obj.unit.name}"
        return f"{label}, left on {obj.left_on}" if obj.left_on else label


class TreeUnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    """Indents each unit by its depth, so the options read as the tree they come from."""

    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{'— ' * (obj.depth - 1)}{obj.name}"


class OnboardingForm(forms.Form):
    """Everything about the account but its secrets (asked for on the confirmation step only)."""

    member = MemberChoiceField(
        label="Member",
        queryset=Member.objects.none(),
        required=False,
        empty_label="No holder (unit or corporate account)",
        help_text="The trained member who will speak through the account.",
        error_messages={"invalid_choice": "Choose a member of a unit you administer."},
    )
    platform = forms.ChoiceField(label="Platform", choices=Platform.choices)
    handle = forms.CharField(
        label="Handle",
        max_length=200,
        help_text="As shown on the platform; a leading @ is fine. Mastodon: user@instance.example.",
    )
    kind = forms.ChoiceField(label="Kind", choices=SocialAccount.Kind.choices, initial=SocialAccount.Kind.PERSONAL)
    unit = TreeUnitChoiceField(
        label="Owning unit",
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label="The holder's unit",
        help_text="Required for an account without a holder.",
        error_messages={"invalid_choice": "Choose a unit you administer."},
    )
    external_id = forms.CharField(
        label="External id", max_length=200, required=False, help_text="Optional: the platform's numeric id."
    )
    instance_url = forms.URLField(
        label="Mastodon instance URL",
        max_length=200,
        required=False,
        assume_scheme="https",
        help_text="Mastodon only. Leave empty to use the domain of the handle.",
    )

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        member = self.fields["member"]
        unit = self.fields["unit"]
        assert isinstance(member, MemberChoiceField) and isinstance(unit, TreeUnitChoiceField)
        member.queryset = administered_members(user)
        unit.queryset = administered_units(user)

    def onboarding_request(self, *, credentials: dict[str, str] | None = None) -> OnboardingRequest:
        data = self.cleaned_data
        return OnboardingRequest(
            platform=data["platform"],
            handle=data["handle"],
            kind=data["kind"],
            unit=data["unit"],
            holder=data["member"],
            external_id=data["external_id"].strip(),
            instance_url=data["instance_url"],
            credentials=dict(credentials or {}),
        )
