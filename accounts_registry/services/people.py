"""People in the browser: edit a member, the training catalogue, invitations and logins.

Who may call: views that got the member through `get_member_for_user(..., write=True)` (an admin of the
member's unit) — these functions check the rules of the change, not the actor's access. Every change
writes one audit event in the same transaction; events about a member carry `"member": <pk>` so the
member page's timeline (selectors.people.member_timeline) finds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts_registry import extensions
from accounts_registry.models import AuditEvent, Member, Platform, Role, Training, TrainingCourse
from accounts_registry.services.audit import audit_record
from accounts_registry.services.members import training_record
from accounts_registry.services.roles import role_grant
from accounts_registry.services.security import user_deactivate

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User

MEMBER_FIELDS = ("full_name", "badge_number", "rank", "email")


@transaction.atomic
def member_update(*, member: Member, actor: User, **values: str) -> Member:
    """Change a member's name, badge, rank or e-mail (the unit changes only by a transfer). Badge
    numbers stay unique across the organization (the database refuses a duplicate; full_clean says so)."""
    unknown = set(values) - set(MEMBER_FIELDS)
    if unknown:
        raise ValidationError(f"Not editable here: {', '.join(sorted(unknown))}.")
    before = {field: getattr(member, field) for field in values}
    for field, value in values.items():
        setattr(member, field, value.strip())
    changed = [field for field in values if getattr(member, field) != before[field]]
    if not changed:
        return member
    member.full_clean()
    member.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.MEMBER_UPDATE,
        target=member,
        unit=member.unit,
        before={field: before[field] for field in changed},
        after={"member": member.pk, **{field: getattr(member, field) for field in changed}},
    )
    return member


@transaction.atomic
def training_course_create(
    *, name: str, platforms: list[str], validity_days: int | None, actor: User
) -> TrainingCourse:
    unknown = sorted(set(platforms) - set(Platform.values))
    if unknown or not platforms:
        raise ValidationError("Choose the platforms this course authorizes.")
    course = TrainingCourse(name=" ".join(name.split()), platforms=sorted(set(platforms)), validity_days=validity_days)
    course.full_clean()
    course.save()
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.TRAINING_COURSE_CREATE,
        target=course,
        after={"platforms": course.platforms, "validity_days": validity_days},
    )
    return course


def training_complete(
    *,
    member: Member,
    course: TrainingCourse,
    completed_on: datetime.date,
    actor: User,
    certificate_ref: str = "",
) -> Training:
    """Record that the member completed a course of the catalogue. The expiry is the course's validity
    after the completion date; a renewal is a later completion, so it extends what the member may do."""
    if completed_on > timezone.localdate():
        raise ValidationError("A completion date cannot be in the future.")
    training, _ = training_record(
        member=member,
        course=course.name,
        completed_on=completed_on,
        expires_on=course.expiry_for(completed_on),
        platforms=list(course.platforms),
        actor=actor,
        certificate_ref=certificate_ref,
    )
    return training


def invitation_url(user: User, *, site_url: str) -> str:
    """allauth's password-reset link: single use (the key is bound to the password hash and last sign-in)
    and expiring (settings.PASSWORD_RESET_TIMEOUT)."""
    key = default_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key})
    return site_url.rstrip("/") + path


@transaction.atomic
def member_invite(*, member: Member, actor: User, site_url: str) -> User:
    """Give the member a login (username = badge number, no usable password, the member role on their
    unit) and e-mail them the link to choose a password. Inviting again sends a fresh link; a login
    that already has a password is not invited (they use "forgot password")."""
    if member.has_left():
        raise ValidationError(f"{member.full_name} has left the organization.")
    if not member.email:
        raise ValidationError(f"{member.full_name} has no e-mail address to send the invitation to.")
    user = member.user
    if user is None:
        user_model = get_user_model()
        if user_model.objects.filter(username__iexact=member.badge_number).exists():
            raise ValidationError(f"A login named {member.badge_number} exists already.")
        user = user_model.objects.create_user(username=member.badge_number, email=member.email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        member.user = user
    elif user.has_usable_password():
        raise ValidationError(f"{member.full_name} has set a password already.")
    elif not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    if user.email != member.email:
        user.email = member.email
        user.save(update_fields=["email"])
    member.invited_at = timezone.now()
    member.save(update_fields=["user", "invited_at", "updated_at"])
    role_grant(username=user.get_username(), role=Role.MEMBER, unit=member.unit, actor=actor)
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.MEMBER_INVITE,
        target=member,
        unit=member.unit,
        after={"member": member.pk, "login": user.get_username(), "email": member.email},
    )
    url = invitation_url(user, site_url=site_url)
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    body = (
        f"Hello {member.full_name},\n\nYou have been invited to Chorus. Your username is {user.get_username()}.\n"
        f"Choose your password here (the link works once, for {days} days):\n\n{url}\n\n"
        "If your role requires it, Chorus will then ask you to set up an authenticator app.\n"
    )
    transaction.on_commit(lambda: send_mail("Your Chorus invitation", body, None, [member.email]))
    return user


@transaction.atomic
def member_login_deactivate(*, member: Member, actor: User) -> None:
    """Deactivate the member's login: its sessions end now and its API tokens are revoked. Idempotent."""
    user = member.user
    if user is None:
        return
    user_deactivate(user=user, actor=actor)
    extensions.login_deactivated(user=user, actor=actor)
