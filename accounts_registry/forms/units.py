"""Forms of the unit pages: rename, move, and the members list's filter. They only parse input;
services.units enforces the rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from accounts_registry.models import OrgUnit
from common.filters import ChoiceFilter, FilterForm

if TYPE_CHECKING:
    from django.db.models import QuerySet


class UnitRenameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=200)


class UnitChoiceField(forms.ModelChoiceField[OrgUnit]):
    """Labels each unit with its full path, so units with the same name in different places can be told apart."""

    def __init__(self, *args: Any, paths: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paths = paths or {}

    def label_from_instance(self, obj: OrgUnit) -> str:
        return self.paths.get(obj.pk, obj.name)


class UnitMoveForm(forms.Form):
    parent = UnitChoiceField(
        label="New parent unit",
        queryset=OrgUnit.objects.none(),
        empty_label=None,
        error_messages={
            "invalid_choice": "Choose a unit you administer that is not this unit or one of its sub-units.",
        },
    )

    def __init__(self, *args: Any, targets: QuerySet[OrgUnit], paths: dict[int, str], **kwargs: Any) -> None:
        """`targets` is the only authority on where the unit may go: any other value is rejected."""
        super().__init__(*args, **kwargs)
        field = self.fields["parent"]
        assert isinstance(field, UnitChoiceField)
        field.queryset = targets
        field.paths = paths
        self.has_targets = bool(paths)  # `paths` names every target, so this costs no extra query


class UnitMembersFilterForm(FilterForm):
    """The unit page's members list: every member, or those whose training is expiring (the overview's
    needs-attention count links here)."""

    EXPIRING = "expiring"
    training = ChoiceFilter(choices=[("", "Every member"), (EXPIRING, "Training expiring")])
