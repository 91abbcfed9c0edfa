"""The API lists' filters (common.filters): a malformed value is a 400 naming it, an object outside the
token owner's scope a 404 — as on the pages."""

from __future__ import annotations

from accounts_registry.models import Platform, SocialAccount
from accounts_registry.selectors import get_account_for_user, get_unit_for_user
from common.filters import BooleanFilter, ChoiceFilter, FilterForm, IdFilter, MomentFilter, ObjectFilter, SearchFilter
from engagement.models import TriageItem
from engagement.selectors.metrics import PERIODS


def _choices(values: list[str]) -> list[tuple[str, str]]:
    return [("", ""), *((value, value) for value in values)]


class UnitFilters(FilterForm):
    unit = ObjectFilter(get_unit_for_user)


class AccountFilters(UnitFilters):
    platform = ChoiceFilter(choices=_choices(Platform.values))
    status = ChoiceFilter(choices=_choices(SocialAccount.Status.values))


class TriageItemFilters(UnitFilters):
    status = ChoiceFilter(choices=_choices(TriageItem.Status.values))
    account = ObjectFilter(get_account_for_user)
    platform = ChoiceFilter(choices=_choices(Platform.values))
    category = ChoiceFilter(choices=_choices(TriageItem.Category.values))
    question = BooleanFilter()
    since = MomentFilter()
    include_private = BooleanFilter()
    q = SearchFilter()


class MetricsFilters(FilterForm):
    # Ids only: response_metrics authorizes the unit and the account itself (404 outside the scope).
    unit = IdFilter(required=False)
    account = IdFilter(required=False)
    period = ChoiceFilter(choices=_choices(list(PERIODS)))
