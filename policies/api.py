"""`/api/v1/policy-flags/`: policy flags in the read-only API, scoped like the token owner's review queue.

Mounted by engagement/api/urls.py; authentication, the IsAuthenticated permission and JSON rendering come
from settings.REST_FRAMEWORK, and the rules of the API (engagement/api/views.py) apply: GET only; `unit` and `account`
name objects the owner can see (404 otherwise, like the pages); invalid filter values are 400 naming the
parameter; cursor pagination (`cursor`, `page_size` ≤ 200) with one query per page.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from common.api.filters import SEARCH_PARAMETER, api_filters
from common.api.pagination import ApiCursorPagination
from common.filters import MomentFilter
from monitoring.search import message_search
from policies.forms import FlagFilterForm
from policies.models import PolicyFlag, PolicyRule
from policies.selectors import visible_flags

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts_registry.selectors import AnyUser


RULE_ID = re.compile(r"[0-9]{1,18}")
RULE_NAME_MAX = PolicyRule._meta.get_field("name").max_length or 200
RULE_REF_ERROR = "Must be a rule id or a rule name."


class RuleRefFilter(forms.CharField):
    """A rule's id (digits) or its exact name."""

    def __init__(self) -> None:
        super().__init__(required=False, max_length=RULE_NAME_MAX, error_messages={"max_length": RULE_REF_ERROR})

    def validate(self, value: str) -> None:
        super().validate(value)
        if "\x00" in value:
            raise forms.ValidationError(RULE_REF_ERROR)


class PolicyFlagFilters(FlagFilterForm):
    """The queue's filters, plus `since`; `rule` also takes a rule's name. The queue's page cursor
    (`after`) is not the API's (`cursor`, read by the pagination)."""

    rule = RuleRefFilter()
    since = MomentFilter()
    after = None


class PolicyFlagPagination(ApiCursorPagination):
    ordering = ("-created_at", "-id")


class PolicyFlagSerializer(serializers.ModelSerializer[PolicyFlag]):
    rule = serializers.CharField(source="rule.name", help_text="The rule's name.")
    severity = serializers.ChoiceField(source="rule.severity", choices=PolicyRule.Severity.choices, read_only=True)
    external_id = serializers.SerializerMethodField(
        help_text="The flagged message's platform id; null for an account-level (governance) flag."
    )
    platform = serializers.SerializerMethodField(
        help_text="The flagged message's platform; null for an account-level (governance) flag."
    )
    account_handle = serializers.CharField(source="account.handle")
    account_platform = serializers.CharField(source="account.platform")

    class Meta:
        model = PolicyFlag
        fields = (
            "id",
            "rule",
            "severity",
            "status",
            "external_id",
            "platform",
            "account",
            "account_handle",
            "account_platform",
            "excerpt",
            "created_at",
        )
        read_only_fields = fields
        extra_kwargs: ClassVar[dict[str, Any]] = {
            "account": {"help_text": "The account's id."},
            "excerpt": {"help_text": "The matched text with some context, or an account flag's reason."},
        }

    def get_external_id(self, flag: PolicyFlag) -> str | None:
        return flag.message.external_id if flag.message is not None else None

    def get_platform(self, flag: PolicyFlag) -> str | None:
        return flag.message.platform if flag.message is not None else None


@extend_schema(
    summary="Policy flags",
    description="Where a post (or, for governance rules, an account) breaks a policy rule; newest first.",
    parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, enum=PolicyFlag.Status.values),
        OpenApiParameter("severity", OpenApiTypes.STR, enum=PolicyRule.Severity.values),
        OpenApiParameter(
            "rule",
            # What RuleRefFilter accepts: a name fits the rule's column and holds no NUL (PostgreSQL text cannot).
            {"type": "string", "maxLength": RULE_NAME_MAX, "pattern": r"^[^\x00]*$"},
            description="A rule: its id (digits) or its exact name. An unknown rule matches no flag.",
        ),
        OpenApiParameter(
            "unit", OpenApiTypes.INT, description="A unit id: its whole subtree. 404 if you cannot see it."
        ),
        OpenApiParameter("account", OpenApiTypes.INT, description="An account id. 404 if you cannot see it."),
        OpenApiParameter(
            "since",
            OpenApiTypes.STR,
            description="Flags raised at or after this ISO 8601 datetime or date (server time zone if no offset).",
        ),
        SEARCH_PARAMETER,
    ],
)
class PolicyFlagList(ListAPIView[PolicyFlag]):
    serializer_class = PolicyFlagSerializer
    pagination_class = PolicyFlagPagination
    http_method_names = ["get", "head", "options"]  # Django declares it as a plain list

    def get_queryset(self) -> QuerySet[PolicyFlag]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return PolicyFlag.objects.none()
        user: AnyUser | None = self.request.user
        assert user is not None  # IsAuthenticated ran before any handler
        data = api_filters(PolicyFlagFilters, self.request)
        flags = visible_flags(user)
        if data["status"]:
            flags = flags.filter(status=data["status"])
        if data["severity"]:
            flags = flags.filter(rule__severity=data["severity"])
        if rule := data["rule"]:
            flags = flags.filter(rule_id=int(rule)) if RULE_ID.fullmatch(rule) else flags.filter(rule__name=rule)
        if data["unit"] is not None:
            flags = flags.filter(account__unit__path__startswith=data["unit"].path)
        if data["account"] is not None:
            flags = flags.filter(account=data["account"])
        if data["since"] is not None:
            flags = flags.filter(created_at__gte=data["since"])
        if data["q"]:
            flags = flags.filter(message_search(data["q"], message="message"))
        return flags.select_related("rule", "account", "message").only(
            "id",
            "rule",
            "account",
            "message",
            "status",
            "excerpt",
            "created_at",
            "rule__name",
            "rule__severity",
            "account__handle",
            "account__platform",
            "message__external_id",
            "message__platform",
        )
