"""The organization: its units (a tree), people, training, social accounts, role grants and audit trail.

This app imports no other Chorus app; the others build on it.
"""

from __future__ import annotations

import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models.functions import Left, Length, Lower
from django.utils import timezone
from treebeard.mp_tree import MP_Node, MP_NodeManager


class Platform(models.TextChoices):
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"


def unit_name_normalized(name: str) -> str:
    """A unit name as stored: no leading or trailing blanks, every run of whitespace one space."""
    return " ".join(name.split())


def unit_name_key(name: str) -> str:
    """The key sibling names must differ on: normalized and lower-cased, like the database's unique index
    (`orgunit_unique_sibling_name`) computes it from a stored name. Lookups by name use it too."""
    return unit_name_normalized(name).lower()


class OrgUnit(MP_Node):
    """A node of the organization: service → command/division → unit/station → team.

    Materialized path (treebeard): a subtree is one indexed `path LIKE 'prefix%'` query.
    """

    class Kind(models.TextChoices):
        SERVICE = "service", "Service"
        COMMAND = "command", "Command"
        DIVISION = "division", "Division"
        UNIT = "unit", "Unit"
        STATION = "station", "Station"
        TEAM = "team", "Team"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UNIT)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    node_order_by: ClassVar[list[str]] = ["name"]
    # django-stubs types a manager assigned in the class body as Manager[Self]; this one is OrgUnit's.
    objects: ClassVar[MP_NodeManager[OrgUnit]] = MP_NodeManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = "organizational unit"
        ordering: ClassVar[list[str]] = ["path"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            # Siblings differ on unit_name_key: the parent is the path minus its last step (materialized
            # path, treebeard's default steplen 4); stored names are normalized, so lower(name) is the key.
            models.UniqueConstraint(
                Left("path", Length("path") - MP_Node.steplen),
                Lower("name"),
                name="orgunit_unique_sibling_name",
                violation_error_message="Another unit at this level has the same name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def subtree(self) -> models.QuerySet[OrgUnit]:
        return OrgUnit.objects.filter(path__startswith=self.path)


class Member(models.Model):
    """A person of the organization. May hold personal accounts; may be linked to a login."""

    full_name = models.CharField(max_length=200)
    badge_number = models.CharField(max_length=40, unique=True)
    rank = models.CharField("rank or title", max_length=100, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="members")
    email = models.EmailField(blank=True)
    left_on = models.DateField(null=True, blank=True, help_text="Set when the member left the organization.")
    invited_at = models.DateTimeField(null=True, blank=True, help_text="When the last invitation was sent.")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["full_name"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.badge_number})"

    def has_left(self, on: datetime.date | None = None) -> bool:
        return self.left_on is not None and self.left_on <= (on or timezone.localdate())


class TrainingCourse(models.Model):
    """A course of the catalogue: which platforms it authorizes, and for how long after completion."""

    name = models.CharField(max_length=200, unique=True)
    platforms = models.JSONField(default=list, help_text="Platforms this course authorizes.")
    validity_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: does not expire.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["name"]

    def __str__(self) -> str:
        return self.name

    def expiry_for(self, completed_on: datetime.date) -> datetime.date | None:
        """The expiry of a completion on `completed_on`: computed, never typed."""
        return None if self.validity_days is None else completed_on + datetime.timedelta(days=self.validity_days)


class Training(models.Model):
    """A completed course. It authorizes the member to speak for the organization on some platforms."""

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        EXPIRING = "expiring", "Expiring soon"
        EXPIRED = "expired", "Expired"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="trainings")
    course = models.CharField(max_length=200)
    completed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True, help_text="Empty: does not expire.")
    platforms = models.JSONField(default=list, help_text="Platforms this course authorizes.")
    certificate_ref = models.CharField("certificate reference", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-completed_on"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["member", "course", "completed_on"], name="training_unique_completion"),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True) | models.Q(expires_on__gte=models.F("completed_on")),
                name="training_expires_after_completion",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course} ({self.completed_on})"

    def status(self, today: datetime.date | None = None) -> Training.Status:
        today = today or timezone.localdate()
        if self.expires_on is None:
            return self.Status.CURRENT
        if self.expires_on < today:
            return self.Status.EXPIRED
        if self.expires_on <= today + datetime.timedelta(days=settings.CHORUS_TRAINING_EXPIRY_WARNING_DAYS):
            return self.Status.EXPIRING
        return self.Status.CURRENT

    def authorizes(self, platform: str, today: datetime.date | None = None) -> bool:
        return platform in self.platforms and self.status(today) != self.Status.EXPIRED


class SocialAccount(models.Model):
    """An account the organization speaks through, on one platform."""

    class Kind(models.TextChoices):
        CORPORATE = "corporate", "Corporate"
        UNIT = "unit", "Unit"
        PERSONAL = "personal", "Personal (officer)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"
        RETIRED = "retired", "Retired"

    platform = models.CharField(max_length=20, choices=Platform.choices)
    handle = models.CharField(max_length=200)
    # NULL, not "": unknown ids must not collide in the unique (platform, external_id) constraint.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    instance_url = models.URLField(blank=True, help_text="Mastodon only: the account's home instance.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="accounts")
    holder = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Fernet token of a JSON object; see accounts_registry.crypto. Never rendered, never logged.
    credentials_ciphertext = models.TextField(blank=True, editable=False)
    onboarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    onboarded_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["platform", "handle"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(Lower("handle"), "platform", name="account_unique_handle_per_platform"),
            models.UniqueConstraint(
                fields=["platform", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="account_unique_external_id_per_platform",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="personal") | models.Q(holder__isnull=False),
                name="account_personal_has_holder",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["status", "platform"])]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.handle}"

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_ciphertext)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COMMS_MANAGER = "comms_manager", "Comms manager"
    SUPERVISOR = "supervisor", "Supervisor"
    MEMBER = "member", "Member"


class RoleGrant(models.Model):
    """A user holds a role over a unit and its whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_grants")
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="rolegrant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.unit}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def changes(self) -> AuditEventQuerySet:
        """Changes to the organization's records, without the security events (sign-ins, refusals...)."""
        return self.exclude(verb__in=SECURITY_VERBS)


class AuditEvent(models.Model):
    """Append-only record of who did what. Written only through services.audit.audit_record."""

    class Verb(models.TextChoices):
        """Every kind of audited action, `<noun>.<action>`. To audit a new action, add one member here
        (grouped by noun) and run makemigrations: the choices live on the field, the column stays a
        plain varchar, so the migration changes no data."""

        ACCOUNT_ONBOARD = "account.onboard", "Account onboarded"
        ACCOUNT_STATUS = "account.status", "Account status changed"
        ACCOUNT_CREDENTIALS = "account.credentials", "Account credentials set"
        ACCOUNT_CREDENTIALS_UNREADABLE = "account.credentials_unreadable", "Account credentials unreadable"
        ACCOUNT_ADMIN_EDIT = "account.admin_edit", "Account edited in the admin"

        ACCOUNT_HOLDER = "account.holder", "Account holder changed"

        MEMBER_CREATE = "member.create", "Member created"
        MEMBER_UPDATE = "member.update", "Member edited"
        MEMBER_LEFT = "member.left", "Member left"
        MEMBER_LINK_USER = "member.link_user", "Member linked to a login"
        MEMBER_INVITE = "member.invite", "Member invited to sign in"
        MEMBER_TRANSFER = "member.transfer", "Member transferred"

        TRAINING_RECORD = "training.record", "Training recorded"
        TRAINING_COURSE_CREATE = "training_course.create", "Training course added"

        UNIT_CREATE = "unit.create", "Unit created"
        UNIT_RENAME = "unit.rename", "Unit renamed"
        UNIT_MOVE = "unit.move", "Unit moved"
        UNIT_ACTIVATE = "unit.activate", "Unit activated"
        UNIT_DEACTIVATE = "unit.deactivate", "Unit deactivated"

        ROLE_GRANT = "role.grant", "Role granted"
        ROLE_REVOKE = "role.revoke", "Role revoked"

        API_TOKEN_CREATE = "api_token.create", "API token created"
        API_TOKEN_REVOKE = "api_token.revoke", "API token revoked"
        # Security events (sign-in, second factor, sessions, exports, refused access): SECURITY_VERBS.
        LOGIN = "auth.login", "Signed in"
        LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
        LOCKOUT = "auth.lockout", "Sign-in locked out"
        SSO_REFUSED = "auth.sso_refused", "Single sign-on refused"
        LOGOUT = "auth.logout", "Signed out"
        SESSION_EXPIRED = "auth.session_expired", "Session expired"
        MFA_ENROL = "mfa.enrol", "Second factor added"
        MFA_REMOVE = "mfa.remove", "Second factor removed"
        MFA_RESET = "mfa.reset", "Recovery codes regenerated"
        MFA_FAILED = "mfa.failed", "Second factor code refused"
        USER_DEACTIVATE = "user.deactivate", "User deactivated"
        EXPORT = "export.csv", "CSV export"
        ACCESS_REFUSED = "access.refused", "Access refused"

        TRIAGE_ASSIGN = "triage.assign", "Triage item assigned"
        TRIAGE_HANDLE = "triage.handle", "Triage item handled"
        TRIAGE_DISMISS = "triage.dismiss", "Triage item dismissed"
        TRIAGE_REOPEN = "triage.reopen", "Triage item reopened"
        TRIAGE_NOTE = "triage.note", "Triage note added"
        TRIAGE_CATEGORIZE = "triage.categorize", "Triage item category corrected"

        FEEDBACK_GIVE = "feedback.give", "Feedback given"

        POLICY_RESCAN = "policy.rescan", "Policy rescan"

        POLICY_RULE_CREATE = "policy_rule.create", "Policy rule created"
        POLICY_RULE_UPDATE = "policy_rule.update", "Policy rule updated"
        POLICY_RULE_ENABLE = "policy_rule.enable", "Policy rule enabled"
        POLICY_RULE_DISABLE = "policy_rule.disable", "Policy rule disabled"
        POLICY_RULE_DELETE = "policy_rule.delete", "Policy rule deleted"

        POLICY_FLAG_ACKNOWLEDGE = "policy_flag.acknowledge", "Policy flag acknowledged"
        POLICY_FLAG_RESOLVE = "policy_flag.resolve", "Policy flag resolved"
        POLICY_FLAG_FALSE_POSITIVE = "policy_flag.false_positive", "Policy flag marked a false positive"
        POLICY_FLAG_REOPEN = "policy_flag.reopen", "Policy flag reopened"
        POLICY_FLAG_COACH = "policy_flag.coach", "Coaching sent on a policy flag"

        ALERT_SEND = "alert.send", "Alert or report sent"
        ALERT_PREFERENCES = "alert.preferences", "Alert preferences changed"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Kept if the user is deleted.")
    verb = models.CharField(max_length=80, choices=Verb.choices)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=80)
    target_repr = models.CharField(max_length=300)
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.verb} {self.target_repr}"


# The verbs of security events: the admins' security page lists exactly these
# (accounts_registry.selectors.visible_security_events).
SECURITY_VERBS: frozenset[str] = frozenset(
    {
        AuditEvent.Verb.LOGIN,
        AuditEvent.Verb.LOGIN_FAILED,
        AuditEvent.Verb.LOCKOUT,
        AuditEvent.Verb.SSO_REFUSED,
        AuditEvent.Verb.LOGOUT,
        AuditEvent.Verb.SESSION_EXPIRED,
        AuditEvent.Verb.MFA_ENROL,
        AuditEvent.Verb.MFA_REMOVE,
        AuditEvent.Verb.MFA_RESET,
        AuditEvent.Verb.MFA_FAILED,
        AuditEvent.Verb.USER_DEACTIVATE,
        AuditEvent.Verb.EXPORT,
        AuditEvent.Verb.ACCESS_REFUSED,
        AuditEvent.Verb.API_TOKEN_CREATE,
        AuditEvent.Verb.API_TOKEN_REVOKE,
    }
)
SECURITY_VERB_CHOICES = [(verb.value, verb.label) for verb in AuditEvent.Verb if verb in SECURITY_VERBS]
