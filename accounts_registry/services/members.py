"""Members and their training records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts_registry.models import AuditEvent, Member, OrgUnit, Platform, Training
from accounts_registry.services.audit import audit_event, audit_record

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User


def member_build(
    *,
    full_name: str,
    badge_number: str,
    unit: OrgUnit,
    rank: str = "",
    email: str = "",
    left_on: datetime.date | None = None,
) -> Member:
    """A new member, not saved nor checked yet."""
    return Member(
        full_name=full_name.strip(),
        badge_number=badge_number.strip(),
        rank=rank.strip(),
        unit=unit,
        email=email.strip(),
        left_on=left_on,
    )


def member_create_audit_event(*, member: Member, actor: User | None) -> AuditEvent:
    return audit_event(
        actor=actor,
        verb=AuditEvent.Verb.MEMBER_CREATE,
        target=member,
        unit=member.unit,
        after={"badge": member.badge_number},
    )


@transaction.atomic
def member_create(
    *,
    full_name: str,
    badge_number: str,
    unit: OrgUnit,
    actor: User | None,
    rank: str = "",
    email: str = "",
    left_on: datetime.date | None = None,
) -> Member:
    member = member_build(
        full_name=full_name, badge_number=badge_number, unit=unit, rank=rank, email=email, left_on=left_on
    )
    member.full_clean()
    member.save()
    member_create_audit_event(member=member, actor=actor).save(force_insert=True)
    return member


@transaction.atomic
def member_mark_left(*, member: Member, left_on: datetime.date, actor: User | None) -> Member:
    if member.left_on == left_on:
        return member
    before = {"left_on": str(member.left_on) if member.left_on else None}
    member.left_on = left_on
    member.save(update_fields=["left_on", "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.MEMBER_LEFT,
        target=member,
        unit=member.unit,
        before=before,
        after={"left_on": str(left_on)},
    )
    return member


@transaction.atomic
def training_record(
    *,
    member: Member,
    course: str,
    completed_on: datetime.date,
    expires_on: datetime.date | None,
    platforms: list[str],
    actor: User | None,
    certificate_ref: str = "",
) -> tuple[Training, bool]:
    """Record a completed course. Idempotent on (member, course, completed_on): the same completion
    recorded again updates its expiry and platforms instead of adding a row."""
    unknown = sorted(set(platforms) - set(Platform.values))
    if unknown:
        raise ValidationError(f"Unknown platform(s): {', '.join(unknown)}.")
    if expires_on is not None and expires_on < completed_on:
        raise ValidationError("Training cannot expire before it was completed.")
    training, created = Training.objects.get_or_create(
        member=member,
        course=course.strip(),
        completed_on=completed_on,
        defaults={
            "expires_on": expires_on,
            "platforms": sorted(set(platforms)),
            "certificate_ref": certificate_ref.strip(),
        },
    )
    if not created and (training.expires_on != expires_on or sorted(training.platforms) != sorted(set(platforms))):
        training.expires_on = expires_on
        training.platforms = sorted(set(platforms))
        training.save(update_fields=["expires_on", "platforms"])
    elif not created:
        return training, False
    training_audit_event(training=training, member=member, actor=actor).save(force_insert=True)
    return training, created


def training_audit_event(*, training: Training, member: Member, actor: User | None) -> AuditEvent:
    """The audit event of a recorded (saved) completion, new or gaining platforms."""
    return audit_event(
        actor=actor,
        verb=AuditEvent.Verb.TRAINING_RECORD,
        target=training,
        unit=member.unit,
        after={
            "member": member.pk,
            "course": training.course,
            "expires_on": str(training.expires_on) if training.expires_on else None,
            "platforms": training.platforms,
        },
    )
