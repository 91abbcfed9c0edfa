"""Django admin for every registry model: a read-only window (common.admin). Changes are made in the
app's pages, through the services, so the rules and the audit trail hold; credentials are never shown."""

from typing import Any

from allauth.socialaccount import models as sso_models
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.http import HttpRequest
from treebeard.admin import TreeAdmin

from accounts_registry.models import AuditEvent, Member, OrgUnit, RoleGrant, SocialAccount, Training, TrainingCourse
from accounts_registry.services.security import user_deactivate
from accounts_registry.signin import client_ip
from common.admin import ReadOnlyAdminMixin, ReadOnlyModelAdmin


@admin.register(OrgUnit)
class OrgUnitAdmin(ReadOnlyAdminMixin, TreeAdmin):
    list_display = ("name", "kind", "is_active")
    search_fields = ("name",)


class TrainingInline(ReadOnlyAdminMixin, admin.TabularInline[Training, Member]):
    model = Training
    extra = 0


@admin.register(Member)
class MemberAdmin(ReadOnlyModelAdmin[Member]):
    list_display = ("full_name", "badge_number", "rank", "unit", "left_on")
    list_filter = ("left_on",)
    search_fields = ("full_name", "badge_number", "email")
    list_select_related = ("unit",)
    raw_id_fields = ("unit", "user")
    inlines = (TrainingInline,)


@admin.register(Training)
class TrainingAdmin(ReadOnlyModelAdmin[Training]):
    list_display = ("member", "course", "completed_on", "expires_on")
    search_fields = ("member__full_name", "member__badge_number", "course")
    list_select_related = ("member",)
    raw_id_fields = ("member",)


@admin.register(TrainingCourse)
class TrainingCourseAdmin(ReadOnlyModelAdmin[TrainingCourse]):
    list_display = ("name", "validity_days", "created_at")
    search_fields = ("name",)


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyModelAdmin[SocialAccount]):
    list_display = ("handle", "platform", "kind", "unit", "holder", "status")
    list_filter = ("platform", "kind", "status")
    search_fields = ("handle", "external_id", "holder__full_name")
    list_select_related = ("unit", "holder")
    raw_id_fields = ("unit", "holder", "onboarded_by")
    # Credentials are write-only through the account page; the ciphertext is not even shown here.
    exclude = ("credentials_ciphertext",)


@admin.register(RoleGrant)
class RoleGrantAdmin(ReadOnlyModelAdmin[RoleGrant]):
    list_display = ("user", "role", "unit", "granted_at")
    list_filter = ("role",)
    search_fields = ("user__username", "unit__name")
    list_select_related = ("user", "unit")
    raw_id_fields = ("user", "unit")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin[AuditEvent]):
    list_display = ("created_at", "actor_name", "verb", "target_repr")
    list_filter = ("verb",)
    search_fields = ("actor_name", "verb", "target_repr", "target_id")
    date_hierarchy = "created_at"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    """Logins stay editable here (names, staff flag, password reset); deactivating one goes through the
    service, which also ends the user's sessions and records the event."""

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:  # noqa: FBT001  # Django's signature
        deactivated = change and "is_active" in form.changed_data and not obj.is_active
        if deactivated:
            obj.is_active = True  # the service makes the change, so it is recorded once, with the sessions
        super().save_model(request, obj, form, change)
        if deactivated:
            actor = request.user if isinstance(request.user, User) else None
            user_deactivate(user=obj, actor=actor, ip=client_ip(request))


# Single sign-on is configured from the environment (accounts_registry/sso.py) and stores no provider
# application, account or token: allauth's admin pages for them (easily taken for the platform accounts
# above) are not shown.
for sso_model in (sso_models.SocialApp, sso_models.SocialAccount, sso_models.SocialToken):
    if admin.site.is_registered(sso_model):
        admin.site.unregister(sso_model)
