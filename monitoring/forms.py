"""The health page's and the dormant list's filters and the account messages' search, parsed like every
list's (common.filters): a unit outside the user's scope is a 404, a malformed value a form error on the page
and a 400 in the export."""

from __future__ import annotations

from accounts_registry.models import OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import get_unit_for_user
from common.filters import ChoiceFilter, FilterForm, ObjectFilter, SearchFilter
from monitoring.selectors import DormantFilters, HealthFilters, Problem


class HealthFilterForm(FilterForm):
    problem = ChoiceFilter(choices=[("", "Any state"), *Problem.LABELS.items()])
    platform = ChoiceFilter(choices=[("", "Any platform"), *Platform.choices])
    unit = ObjectFilter(get_unit_for_user)

    @staticmethod
    def filters_from(data: dict[str, object]) -> HealthFilters:
        unit = data.get("unit")
        return HealthFilters(
            platform=str(data.get("platform") or ""),
            problem=str(data.get("problem") or ""),
            unit=unit if isinstance(unit, OrgUnit) else None,
        )

    def page_filters(self) -> HealthFilters:
        """The valid filters (see `errors` for the others)."""
        return self.filters_from(self.valid_values())

    def strict_filters(self) -> HealthFilters:
        """Every filter valid, or InvalidFilters (the export)."""
        return self.filters_from(self.parse())


class MessageSearchForm(FilterForm):
    """An account's messages page: its search (monitoring.search)."""

    q = SearchFilter(label="Search this account's messages")


class DormantFilterForm(FilterForm):
    """The dormant accounts list's filters (the page and its CSV export)."""

    platform = ChoiceFilter(choices=[("", "Any platform"), *Platform.choices])
    kind = ChoiceFilter(choices=[("", "Any kind"), *SocialAccount.Kind.choices])
    unit = ObjectFilter(get_unit_for_user)

    @staticmethod
    def filters_from(data: dict[str, object]) -> DormantFilters:
        unit = data.get("unit")
        return DormantFilters(
            platform=str(data.get("platform") or ""),
            kind=str(data.get("kind") or ""),
            unit=unit if isinstance(unit, OrgUnit) else None,
        )

    def page_filters(self) -> DormantFilters:
        return self.filters_from(self.valid_values())

    def strict_filters(self) -> DormantFilters:
        return self.filters_from(self.parse())
