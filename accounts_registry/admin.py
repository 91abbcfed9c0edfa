"""Django admin for every registry model. Writes go through the services, so the audit trail holds;
credentials are never shown, and audit events are read-only."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from accounts_registry.models import AuditEvent, Member, OrgUnit, RoleGrant, SocialAccount, Training
from accounts_registry.services.audit import audit_record


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ("name", "kind", "is_active")
    search_fields = ("name",)


class TrainingInline(admin.TabularInline[Training, Member]):
    model = Training
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin[Member]):
    list_display = ("full_name", "badge_number", "rank", "unit", "left_on")
    list_filter = ("left_on",)
    search_fields = ("full_name", "badge_number", "email")
    list_select_related = ("unit",)
    raw_id_fields = ("unit", "user")
    inlines = (TrainingInline,)


@admin.register(Training)
class TrainingAdmin(admin.ModelAdmin[Training]):
    list_display = ("member", "course", "completed_on", "expires_on")
    search_fields = ("member__full_name", "member__badge_number", "course")
    list_select_related = ("member",)
    raw_id_fields = ("member",)


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin[SocialAccount]):
    list_display = ("handle", "platform", "kind", "unit", "holder", "status")
    list_filter = ("platform", "kind", "status")
    search_fields = ("handle", "external_id", "holder__full_name")
    list_select_related = ("unit", "holder")
    raw_id_fields = ("unit", "holder", "onboarded_by")
    # Credentials are write-only through the account page; the ciphertext is not even listed here.
    exclude = ("credentials_ciphertext",)
    readonly_fields = ("status", "status_reason", "status_changed_at", "onboarded_by", "onboarded_at")

    def save_model(self, request: HttpRequest, obj: SocialAccount, form: Any, change: bool) -> None:  # noqa: FBT001
        """Edits made here land in the audit trail like the app's own (field names and old/new values)."""
        super().save_model(request, obj, form, change)
        changed = [name for name in form.changed_data if name in form.cleaned_data]
        if change and changed:
            audit_record(
                actor=request.user if isinstance(request.user, User) else None,
                verb=AuditEvent.Verb.ACCOUNT_ADMIN_EDIT,
                target=obj,
                unit=obj.unit,
                before={name: str(form.initial.get(name)) for name in changed},
                after={name: str(form.cleaned_data[name]) for name in changed},
            )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # accounts are retired (audited), never deleted: messages and flags point at them


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin[RoleGrant]):
    list_display = ("user", "role", "unit", "granted_at")
    list_filter = ("role",)
    search_fields = ("user__username", "unit__name")
    list_select_related = ("user", "unit")
    raw_id_fields = ("user", "unit")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ("created_at", "actor_name", "verb", "target_repr")
    list_filter = ("verb",)
    search_fields = ("actor_name", "verb", "target_repr", "target_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
