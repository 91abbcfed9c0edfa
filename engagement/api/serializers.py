"""Read-only JSON shapes of the API. Human unit paths come from the view's context (one query per page)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts_registry.models import OrgUnit, SocialAccount
from engagement.models import TriageItem


def _path_of(serializer: serializers.Serializer[Any], unit_id: int) -> str:
    paths: dict[int, str] = serializer.context["unit_paths"]
    return paths[unit_id]


class TriageItemSerializer(serializers.ModelSerializer[TriageItem]):
    category = serializers.ChoiceField(
        read_only=True,
        choices=TriageItem.Category.choices,
        help_text="possible emergency (someone may be in danger or a crime is in progress), crime report "
        "(already happened: point to the reporting channel), complaint, question, greeting or thanks, other.",
    )
    category_reason = serializers.CharField(
        read_only=True, help_text="Why: the classifier rules that fired, or who set the category."
    )
    external_id = serializers.CharField(
        read_only=True, source="message.external_id", help_text="The inbound message's platform id."
    )
    account = serializers.CharField(
        read_only=True, source="account.handle", help_text="Handle of the org account addressed."
    )
    unit_path = serializers.SerializerMethodField(help_text="The account's unit, e.g. 'Service/Division/Station'.")
    author_handle = serializers.CharField(read_only=True, source="message.author_handle")
    text = serializers.CharField(read_only=True, source="message.text")
    assignee = serializers.CharField(
        read_only=True, source="assignee.username", allow_null=True, help_text="Username, or null."
    )

    class Meta:
        model = TriageItem
        fields = (
            "id",
            "status",
            "platform",
            "external_id",
            "account",
            "unit_path",
            "author_handle",
            "text",
            "created_at",
            "category",
            "category_reason",
            "is_question",
            "first_response_seconds",
            "assignee",
        )
        read_only_fields = fields

    def get_unit_path(self, item: TriageItem) -> str:
        return _path_of(self, item.account.unit_id)


class AccountSerializer(serializers.ModelSerializer[SocialAccount]):
    unit_path = serializers.SerializerMethodField()
    holder_name = serializers.CharField(
        read_only=True, source="holder.full_name", allow_null=True, help_text="Personal accounts."
    )
    holder_badge = serializers.CharField(read_only=True, source="holder.badge_number", allow_null=True)

    class Meta:
        model = SocialAccount
        fields = ("id", "platform", "handle", "kind", "status", "unit", "unit_path", "holder_name", "holder_badge")
        read_only_fields = fields

    def get_unit_path(self, account: SocialAccount) -> str:
        return _path_of(self, account.unit_id)


class UnitSerializer(serializers.ModelSerializer[OrgUnit]):
    path = serializers.SerializerMethodField(help_text="Names from the root, e.g. 'Service/Division/Station'.")
    # DRF pops declared fields off the class, so this does not shadow Field.parent at runtime.
    parent = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="Parent unit id (may be outside your scope); null: root."
    )

    class Meta:
        model = OrgUnit
        fields = ("id", "name", "kind", "path", "parent", "is_active")
        read_only_fields = fields

    def get_path(self, unit: OrgUnit) -> str:
        return _path_of(self, unit.pk)

    def get_parent(self, unit: OrgUnit) -> int | None:
        parents: dict[str, int] = self.context["parent_ids"]
        return parents.get(unit.path[: -OrgUnit.steplen])


class MetricsSerializer(serializers.Serializer[dict[str, Any]]):
    """Response metrics over the period, for the unit's subtree, one account, or everything visible."""

    unit = serializers.IntegerField(allow_null=True)
    account = serializers.IntegerField(allow_null=True)
    period = serializers.CharField()
    period_days = serializers.IntegerField()
    inbound = serializers.IntegerField(help_text="Inbound messages that opened triage items in the period.")
    questions = serializers.IntegerField()
    answered = serializers.IntegerField()
    response_rate = serializers.FloatField(allow_null=True, help_text="Share answered, 0..1; null when no inbound.")
    median_first_response_seconds = serializers.IntegerField(allow_null=True)
    p90_first_response_seconds = serializers.IntegerField(allow_null=True)
    waiting = serializers.IntegerField(help_text="Items still waiting.")
    oldest_waiting_created_at = serializers.DateTimeField(allow_null=True)
    within_target_share = serializers.FloatField(allow_null=True, help_text="Share answered within the target.")
