"""Forms of the triage inbox: the filters (GET) and the triage actions (POST)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict
from django.utils import timezone

from accounts_registry.models import Platform
from accounts_registry.selectors import get_account_for_user, get_unit_for_user
from common.cursors import InvalidCursor, cursor_decode, cursor_encode, integer, moment
from common.filters import BooleanFilter, ChoiceFilter, FilterForm, ObjectFilter, SearchFilter, TokenFilter
from common.jinja import FormRenderer
from engagement.models import TriageItem
from engagement.selectors.inbox_filters import (
    AgeFilter,
    AssignedFilter,
    Cursor,
    InboxFilters,
    OrderFilter,
    StatusFilter,
)
from engagement.services.triage_actions import BulkAction

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from accounts_registry.selectors import AnyUser

MAX_BULK_ITEMS = 500


class InboxFilterForm(FilterForm):
    """The inbox's filters (common.filters): the page, its fragments, the "N new" poll and the CSV export
    all parse the query string with it. A unit or account outside the user's scope is a 404 (raised
    while parsing); a malformed value is a form error on the page and a 400 on the export. Rendered on
    every page load: its widgets go through Jinja2 (common.jinja.FormRenderer)."""

    default_renderer = FormRenderer()

    status = ChoiceFilter(choices=StatusFilter.CHOICES)
    unit = ObjectFilter(get_unit_for_user, label="Unit (with sub-units)", widget=forms.Select)
    account = ObjectFilter(get_account_for_user, widget=forms.Select)
    platform = ChoiceFilter(choices=[("", "All platforms"), *Platform.choices])
    category = ChoiceFilter(choices=[("", "All categories"), *TriageItem.Category.choices])
    question = BooleanFilter(label="Questions only")
    age = ChoiceFilter(choices=AgeFilter.CHOICES)
    assigned = ChoiceFilter(choices=AssignedFilter.CHOICES, label="Assignment")
    flagged = BooleanFilter(label="With a policy flag")
    q = SearchFilter()
    order = ChoiceFilter(choices=OrderFilter.CHOICES, label="Order")
    after = TokenFilter(Cursor.decode)

    def set_choices(self, *, units: list[tuple[int, str]], accounts: list[tuple[int, str]]) -> None:
        """The options the page offers (rendering only: parsing checks the scope itself)."""
        self.fields["unit"].widget = forms.Select(choices=[("", "All units"), *units])
        self.fields["account"].widget = forms.Select(choices=[("", "All accounts"), *accounts])

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

    @staticmethod
    def filters_from(data: dict[str, Any]) -> tuple[InboxFilters, Cursor | None]:
        account = data.get("account")
        filters = InboxFilters(
            status=data.get("status") or TriageItem.Status.WAITING,
            unit=data.get("unit"),
            account_id=account.pk if account is not None else None,
            platform=data.get("platform") or "",
            category=data.get("category") or "",
            questions_only=bool(data.get("question")),
            age=data.get("age") or "",
            assigned=data.get("assigned") or "",
            has_policy_flag=bool(data.get("flagged")),
            search=data.get("q") or "",
            order=data.get("order") or OrderFilter.default(search=bool(data.get("q"))),
        )
        return filters, data.get("after")

    def page_filters(self) -> tuple[InboxFilters, Cursor | None]:
        """For a page: the valid filters (see `errors` for the others) and the page cursor."""
        return self.filters_from(self.valid_values())

    def strict_filters(self) -> tuple[InboxFilters, Cursor | None]:
        """For an export: every filter valid, or InvalidFilters."""
        return self.filters_from(self.parse())


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


REASON_REQUIRED = "Choose why the item is handled: there is no default reason."


class HandleForm(forms.Form):
    """Closing a question is deliberate: the reason has no default."""

    reason = forms.ChoiceField(
        choices=TriageItem.HandledReason.choices, label="Reason", error_messages={"required": REASON_REQUIRED}
    )


class CategoryForm(forms.Form):
    category = forms.ChoiceField(choices=TriageItem.Category.choices, label="Category")


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
    (BulkAction.REOPEN, "Reopen"),
)
BULK_CONFIRM_OVER = 10  # more items than this at once: the action asks "are you sure?" first


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS, label="With the selected items")
    reason = forms.ChoiceField(
        choices=TriageItem.HandledReason.choices, required=False, label="Reason (to mark handled)"
    )
    # Any ids parse here; the view checks every one against the user's scope (404 otherwise).
    items = IdListField(error_messages={"required": "Select at least one item."})
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def needs_confirmation(self) -> bool:
        return len(self.cleaned_data["items"]) > BULK_CONFIRM_OVER and not self.cleaned_data["confirmed"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == BulkAction.HANDLE and not data.get("reason"):
            self.add_error("reason", REASON_REQUIRED)
        return data


# "All N matching": at most this many items at once (the undo, a bulk reopen, takes as many).
MATCHING_MAX = MAX_BULK_ITEMS
MATCHING_SALT = "engagement.inbox.bulk-matching"
MATCHING_MAX_AGE = datetime.timedelta(minutes=30)  # a confirmation left open longer is counted again


@dataclasses.dataclass(frozen=True)
class MatchingSelection:
    """The items matching the filters when the person was asked to confirm: signed by the server
    (common.cursors) for that user and those filters, so the ids never come from the client."""

    user_id: int
    query: str
    issued_at: datetime.datetime
    ids: list[int]

    def encode(self) -> str:
        return cursor_encode([self.user_id, self.query, self.issued_at, self.ids], salt=MATCHING_SALT)

    @classmethod
    def decode(cls, token: str) -> MatchingSelection:
        user_id, query, issued_at, ids = cursor_decode(token, salt=MATCHING_SALT, length=4)
        if not isinstance(query, str) or not isinstance(ids, list):
            raise InvalidCursor("not a selection")
        return cls(integer(user_id), query, moment(issued_at), [integer(pk) for pk in ids])


class BulkMatchingForm(forms.Form):
    """An action on every item matching the filters (`back`, parsed strictly by the view): first without
    `selection` (the view counts and asks to confirm), then with the selection it signed."""

    action = forms.ChoiceField(choices=BULK_ACTIONS, label="With the selected items")
    reason = forms.ChoiceField(
        choices=TriageItem.HandledReason.choices, required=False, label="Reason (to mark handled)"
    )
    selection = forms.CharField(required=False, max_length=20_000, widget=forms.HiddenInput)

    def clean_selection(self) -> MatchingSelection | None:
        token = self.cleaned_data.get("selection", "")
        if not token:
            return None
        try:
            selection = MatchingSelection.decode(token)
        except InvalidCursor:
            raise forms.ValidationError("This confirmation is not valid: select the items again.") from None
        if timezone.now() - selection.issued_at > MATCHING_MAX_AGE:
            raise forms.ValidationError("This confirmation has expired: select the items again.")
        return selection

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == BulkAction.HANDLE and not data.get("reason"):
            self.add_error("reason", REASON_REQUIRED)
        return data


def back_filters(raw: str, *, user: AnyUser) -> InboxFilters:
    """The inbox filters carried by an action form. The action is done by then: a filter that no longer
    parses (a unit moved out of the user's scope meanwhile) is left out rather than refused."""
    filters, _cursor = InboxFilterForm(QueryDict(raw), user=user, refuse_out_of_scope=False).page_filters()
    return filters


def back_query(raw: str, *, user: AnyUser) -> str:
    """The inbox filters carried by an action form, re-encoded from their parsed values (never echoed)."""
    return urlencode(back_filters(raw, user=user).params())
