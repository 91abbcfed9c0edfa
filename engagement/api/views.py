"""The read-only JSON API: parse the query → authorize the unit/account asked for → scoped selector → JSON.

Rules every endpoint follows:
- Token authentication only (common.api.auth), GET only; the schema alone is public (it holds no data).
- Everything is scoped like the token owner's pages (engagement.api.selectors).
- `unit` and `account` filters name an object the owner must be able to see: otherwise 404, exactly
  as the pages answer for it, so an id outside the scope is indistinguishable from one that does not exist.
- Invalid filter values are 400 with the parameter named; a forged cursor is 404.
- Lists are cursor-paginated (`cursor`, `page_size` ≤ 200) with a constant number of queries per page.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts_registry.models import OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import unit_paths
from common.api.filters import SEARCH_PARAMETER, api_filters
from common.api.pagination import ApiCursorPagination
from engagement.api import filters, serializers
from engagement.api.selectors import api_accounts, api_triage_items, api_units
from engagement.models import TriageItem
from engagement.selectors.metrics import DEFAULT_PERIOD, PERIODS, response_metrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import Model, QuerySet
    from rest_framework.request import Request

    from accounts_registry.selectors import AnyUser


def _unit_param(description: str) -> OpenApiParameter:
    return OpenApiParameter("unit", OpenApiTypes.INT, description=description)


UNIT_FILTER = _unit_param("A unit id: its whole subtree. 404 if you cannot see the unit.")
PLATFORM_FILTER = OpenApiParameter("platform", OpenApiTypes.STR, enum=Platform.values)


class TriageItemPagination(ApiCursorPagination):
    ordering = ("-created_at", "-id")


class AccountPagination(ApiCursorPagination):
    ordering = ("id",)


class UnitPagination(ApiCursorPagination):
    ordering = ("path",)


class _ScopedListView[ModelT: Model](ListAPIView[ModelT]):
    """A list whose page gets extra context (unit paths...) computed once for the whole page."""

    http_method_names = ["get", "head", "options"]

    def page_context(self, page: Sequence[ModelT]) -> dict[str, Any]:
        raise NotImplementedError

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # every list here is paginated
        context = {**self.get_serializer_context(), **self.page_context(page)}
        serializer = self.get_serializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    @property
    def owner(self) -> AnyUser:
        user = self.request.user
        assert user is not None  # IsAuthenticated ran before any handler
        return user


@extend_schema(
    summary="Triage items",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=TriageItem.Status.values),
        UNIT_FILTER,
        OpenApiParameter("account", OpenApiTypes.INT, description="An account id. 404 if you cannot see it."),
        PLATFORM_FILTER,
        OpenApiParameter(
            "category",
            OpenApiTypes.STR,
            enum=TriageItem.Category.values,
            description="What the message is: " + "; ".join(f"{c.value}: {c.label}" for c in TriageItem.Category) + ".",
        ),
        OpenApiParameter("question", OpenApiTypes.BOOL, description="true: questions only; false: the others."),
        OpenApiParameter(
            "since",
            OpenApiTypes.STR,
            description="Items posted at or after this ISO 8601 datetime or date (server time zone if no offset).",
        ),
        SEARCH_PARAMETER,
    ],
)
class TriageItemList(_ScopedListView[TriageItem]):
    """Inbound messages that may need a response, newest first."""

    serializer_class = serializers.TriageItemSerializer
    pagination_class = TriageItemPagination

    def get_queryset(self) -> QuerySet[TriageItem]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return TriageItem.objects.none()
        data = api_filters(filters.TriageItemFilters, self.request)
        return api_triage_items(
            self.owner,
            status=data["status"] or None,
            unit=data["unit"],
            account=data["account"],
            platform=data["platform"] or None,
            category=data["category"] or None,
            is_question=data["question"],
            since=data["since"],
            include_private=data["include_private"] is True,
            search=data["q"],
        )

    def page_context(self, page: Sequence[TriageItem]) -> dict[str, Any]:
        return {"unit_paths": unit_paths({item.account.unit for item in page})}


@extend_schema(
    summary="Social accounts",
    parameters=[
        UNIT_FILTER,
        PLATFORM_FILTER,
        OpenApiParameter("status", OpenApiTypes.STR, enum=SocialAccount.Status.values),
    ],
)
class AccountList(_ScopedListView[SocialAccount]):
    """The social accounts you can see, with their unit and (personal accounts) holder."""

    serializer_class = serializers.AccountSerializer
    pagination_class = AccountPagination

    def get_queryset(self) -> QuerySet[SocialAccount]:
        if getattr(self, "swagger_fake_view", False):
            return SocialAccount.objects.none()
        data = api_filters(filters.AccountFilters, self.request)
        return api_accounts(
            self.owner, unit=data["unit"], platform=data["platform"] or None, status=data["status"] or None
        )

    def page_context(self, page: Sequence[SocialAccount]) -> dict[str, Any]:
        return {"unit_paths": unit_paths({account.unit for account in page})}


@extend_schema(summary="Organizational units", parameters=[_unit_param("A unit id: that unit and its subtree.")])
class UnitList(_ScopedListView[OrgUnit]):
    """The organizational units you can see, in tree order."""

    serializer_class = serializers.UnitSerializer
    pagination_class = UnitPagination

    def get_queryset(self) -> QuerySet[OrgUnit]:
        if getattr(self, "swagger_fake_view", False):
            return OrgUnit.objects.none()
        return api_units(self.owner, unit=api_filters(filters.UnitFilters, self.request)["unit"])

    def page_context(self, page: Sequence[OrgUnit]) -> dict[str, Any]:
        parent_paths = {unit.path[: -OrgUnit.steplen] for unit in page} - {""}
        parent_ids = dict(OrgUnit.objects.filter(path__in=parent_paths).values_list("path", "pk"))
        return {"unit_paths": unit_paths(page), "parent_ids": parent_ids}


class MetricsView(APIView):
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        summary="Response metrics",
        description=(
            "For a unit's subtree, one account (both: the account, if it is in the unit's subtree), or, "
            "neither given, everything you can see."
        ),
        parameters=[
            _unit_param("A unit id (rolled up over its subtree). 404 if you cannot see the unit."),
            OpenApiParameter("account", OpenApiTypes.INT, description="An account id. 404 if you cannot see it."),
            OpenApiParameter("period", OpenApiTypes.STR, enum=list(PERIODS), default=DEFAULT_PERIOD),
        ],
        responses=serializers.MetricsSerializer,
    )
    def get(self, request: Request) -> Response:
        user = request.user
        assert user is not None  # IsAuthenticated
        data = api_filters(filters.MetricsFilters, request)
        period = data["period"] or DEFAULT_PERIOD
        unit_id, account_id = data["unit"], data["account"]
        # The selector authorizes the unit and account itself (404 for what the owner cannot see).
        metrics = response_metrics(user, unit=unit_id, account=account_id, period_days=PERIODS[period])
        data = {**dataclasses.asdict(metrics), "unit": unit_id, "account": account_id, "period": period}
        return Response(serializers.MetricsSerializer({**data, "period_days": PERIODS[period]}).data)
