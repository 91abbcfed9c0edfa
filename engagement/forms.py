"""Forms of the triage inbox: the filters (GET) and the triage actions (POST)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, QueryDict

from accounts_registry.models import OrgUnit, Platform
from accounts_registry.selectors import get_unit_for_user
from common.cursors import InvalidCursor
from engagement.models import TriageItem
from engagement.selectors.inbox_filters import AgeFilter, AssignedFilter, Cursor, InboxFilters, StatusFilter
from engagement.services.triage_actions import BulkAction

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from accounts_registry.selectors import AnyUser

MAX_BULK_ITEMS = 200


class InboxFilterForm(forms.Form):
    """Parses the inbox's GET parameters. Invalid values fall back to the defaults, never to an error page."""

    status = forms.ChoiceField(choices=StatusFilter.CHOICES, required=False)
    unit = forms.IntegerField(required=False, min_value=1, label="Unit (with sub-units)", widget=forms.Select)
    account = forms.IntegerField(required=False, min_value=1, widget=forms.Select)
    platform = forms.ChoiceField(choices=[("", "All platforms"), *Platform.choices], required=False)
    question = forms.BooleanField(required=False, label="Questions only")
    age = forms.ChoiceField(choices=AgeFilter.CHOICES, required=False)
    assigned = forms.ChoiceField(choices=AssignedFilter.CHOICES, required=False, label="Assignment")
    flagged = forms.BooleanField(required=False, label="With a policy flag")
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search text and authors",
        strip=True,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        user: AnyUser,
        unit_choices: list[tuple[int, str]] | None = None,
        account_choices: list[tuple[int, str]] | None = None,
        is_back_link: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.user = user
        self.is_back_link = is_back_link
        # The choices only matter for rendering: a unit id is checked against the user's scope in
        # clean_unit (404 outside it), and an account id needs no check (the listing only ever holds
        # visible accounts).
        self.fields["unit"].widget = forms.Select(choices=[("", "All units"), *(unit_choices or [])])
        self.fields["account"].widget = forms.Select(choices=[("", "All accounts"), *(account_choices or [])])

    # The unit and account selects can hold hundreds of options: the template renders them from these
    # (value, label, selected) triples in one loop instead of a widget template per option.

    def _options(self, name: str) -> list[tuple[str, str, bool]]:
        current = self[name].value()
        selected = "" if current is None else str(current)
        return [(str(value), str(label), str(value) == selected) for value, label in self.fields[name].widget.choices]

    @property
    def unit_options(self) -> list[tuple[str, str, bool]]:
        return self._options("unit")

    @property
    def account_options(self) -> list[tuple[str, str, bool]]:
        return self._options("account")

    def clean_unit(self) -> OrgUnit | None:
        unit_id = self.cleaned_data.get("unit")
        if unit_id is None:
            return None
        # A unit the user cannot see is a 404, as on the policy queue and in the API (not silently ignored).
        # Except in the filters an action form carries back: the action is done, the link just loses it.
        try:
            return get_unit_for_user(user=self.user, pk=unit_id)
        except Http404:
            if self.is_back_link:
                raise forms.ValidationError("Choose one of your units.") from None
            raise

    def clean_after(self) -> Cursor | None:
        token = self.cleaned_data.get("after") or ""
        if not token:
            return None
        try:
            return Cursor.decode(token)
        except InvalidCursor as error:
            raise forms.ValidationError("This page link is no longer valid.") from error

    def parsed(self) -> tuple[InboxFilters, Cursor | None]:
        """The filters and page cursor, each invalid value replaced by its default."""
        self.is_valid()
        data = self.cleaned_data
        filters = InboxFilters(
            status=data.get("status") or TriageItem.Status.WAITING,
            unit=data.get("unit"),
            account_id=data.get("account"),
            platform=data.get("platform") or "",
            questions_only=bool(data.get("question")),
            age=data.get("age") or "",
            assigned=data.get("assigned") or "",
            has_policy_flag=bool(data.get("flagged")),
            search=data.get("q") or "",
        )
        return filters, data.get("after")


def filter_initial(filters: InboxFilters) -> dict[str, Any]:
    """Initial values that render the filter form as the filters currently applied."""
    return {
        "status": filters.status,
        "unit": filters.unit.pk if filters.unit is not None else "",
        "account": filters.account_id or "",
        "platform": filters.platform,
        "question": filters.questions_only,
        "age": filters.age,
        "assigned": filters.assigned,
        "flagged": filters.has_policy_flag,
        "q": filters.search,
    }


# Every action form also posts `back` (the inbox filters, re-parsed by back_query) and `open` (the
# item was open: come back to it); the views read those two directly.


class AssignForm(forms.Form):
    """`assignee`: "me", a user id from the assignable users, or empty to unassign."""

    ME = "me"

    assignee = forms.CharField(required=False, max_length=20, label="Assign to")

    def __init__(self, *args: Any, actor: User, candidates: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.candidates = candidates

    def clean_assignee(self) -> User | None:
        value = self.cleaned_data.get("assignee", "")
        if value == "":
            return None
        if value == self.ME or value == str(self.actor.pk):
            return self.actor
        candidates = {str(user.pk): user for user in self.candidates or []}
        if value not in candidates:
            raise forms.ValidationError("Choose someone who can see this item.")
        return candidates[value]


class HandleForm(forms.Form):
    reason = forms.ChoiceField(
        choices=TriageItem.HandledReason.choices, initial=TriageItem.HandledReason.NO_REPLY_NEEDED, label="Reason"
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=4000,
        strip=True,
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "data-shortcut": "n"}),  # n: write a note
    )


class IdListField(forms.Field):
    """A list of positive integer ids from repeated parameters (the rows' checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = [str(item) for item in value or [] if str(item).strip()]
        if len(values) > MAX_BULK_ITEMS:
            raise forms.ValidationError(f"Select at most {MAX_BULK_ITEMS} items at a time.")
        if not all(item.isdigit() for item in values):
            raise forms.ValidationError("Select items from the list.")
        return sorted({int(item) for item in values})


BULK_ACTIONS = (
    (BulkAction.ASSIGN_ME, "Assign to me"),
    (BulkAction.HANDLE, "Mark handled"),
    (BulkAction.DISMISS, "Dismiss"),
)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS, label="With the selected items")
    reason = forms.ChoiceField(
        choices=TriageItem.HandledReason.choices,
        initial=TriageItem.HandledReason.NO_REPLY_NEEDED,
        required=False,
        label="Reason (to mark handled)",
    )
    # Any ids parse here; the view checks every one against the user's scope (404 otherwise).
    items = IdListField(error_messages={"required": "Select at least one item."})


def back_query(raw: str, *, user: AnyUser) -> str:
    """The inbox filters carried by an action form, re-encoded from their parsed values (never echoed)."""
    filters, _cursor = InboxFilterForm(QueryDict(raw), user=user, is_back_link=True).parsed()
    return urlencode(filters.params())
