"""Forms of the people pages. They only parse input; services.people and services.lifecycle hold the rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from accounts_registry.models import Member, Platform, Role, TrainingCourse

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts_registry.models import SocialAccount

RETIRE = "retire"


class MemberForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    badge_number = forms.CharField(label="Badge number", max_length=40)
    rank = forms.CharField(label="Rank or title", max_length=100, required=False)
    email = forms.EmailField(label="Email", required=False)


class MemberNewForm(MemberForm):
    unit = forms.TypedChoiceField(label="Unit", coerce=int)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units  # type: ignore[attr-defined]  # a ChoiceField


class UnitForm(forms.Form):
    unit = forms.TypedChoiceField(label="New unit", coerce=int)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units  # type: ignore[attr-defined]  # a ChoiceField


class CourseForm(forms.Form):
    name = forms.CharField(label="Course name", max_length=200)
    platforms = forms.MultipleChoiceField(
        label="Platforms it authorizes", choices=Platform.choices, widget=forms.CheckboxSelectMultiple
    )
    validity_days = forms.IntegerField(
        label="Valid for (days)", min_value=1, required=False, help_text="Empty: does not expire."
    )


class CompletionForm(forms.Form):
    course = forms.ModelChoiceField(label="Course", queryset=TrainingCourse.objects.order_by("name"))
    completed_on = forms.DateField(label="Completed on", widget=forms.DateInput(attrs={"type": "date"}))
    certificate_ref = forms.CharField(label="Certificate reference", max_length=100, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].initial = timezone.localdate()


class GrantForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    unit = forms.TypedChoiceField(label="On unit", coerce=int)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = units  # type: ignore[attr-defined]  # a ChoiceField


class HolderForm(forms.Form):
    holder = forms.ModelChoiceField(label="New holder", queryset=Member.objects.none())

    def __init__(self, *args: Any, candidates: QuerySet[Member], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = candidates  # type: ignore[attr-defined]  # a ModelChoiceField


class DepartureForm(forms.Form):
    """The date, and for each personal account: a successor (a member id) or "retire"."""

    left_on = forms.DateField(label="Left on", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, accounts: list[SocialAccount], candidates: QuerySet[Member], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["left_on"].initial = timezone.localdate()
        choices = [
            (RETIRE, "Retire the account"),
            *((str(m.pk), f"{m.full_name} ({m.badge_number})") for m in candidates),
        ]
        self.candidates = {member.pk: member for member in candidates}
        self.accounts = accounts
        for account in accounts:
            if account.kind == "personal":
                self.fields[f"account_{account.pk}"] = forms.ChoiceField(
                    label=f"{account.get_platform_display()} {account.handle}", choices=choices
                )

    def successors(self) -> dict[int, Member | None]:
        result: dict[int, Member | None] = {}
        for account in self.accounts:
            value = self.cleaned_data.get(f"account_{account.pk}")
            if value is None:
                continue
            result[account.pk] = None if value == RETIRE else self.candidates[int(value)]
        return result
