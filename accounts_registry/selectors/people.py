"""Reads for the people pages: a member's training per platform, roles, timeline; units an admin may use.

Callers got the member through `get_member_for_user`; everything here stays inside what that allows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from accounts_registry.governance import current_training_platforms
from accounts_registry.models import AuditEvent, Member, OrgUnit, Platform, RoleGrant, SocialAccount, Training
from accounts_registry.selectors import unit_paths, user_scope, visible_members, visible_units

if TYPE_CHECKING:
    import datetime

    from accounts_registry.selectors import AnyUser

TIMELINE_SHOWN = 100


@dataclasses.dataclass(frozen=True)
class PlatformTraining:
    platform: str
    label: str
    expires_on: datetime.date | None  # of the best current training; None with is_trained: no expiry
    is_trained: bool  # may hold a personal account on this platform today


def training_by_platform(member: Member, *, today: datetime.date | None = None) -> list[PlatformTraining]:
    """Per platform: does the member's training allow a personal account today, and until when
    (governance.current_training_platforms is the rule)."""
    today = today or timezone.localdate()
    prefetch_related_objects([member], "trainings")
    trained = current_training_platforms(member, today=today)
    rows = []
    for platform in Platform:
        current = [
            training
            for training in member.trainings.all()
            if platform.value in training.platforms and training.status(today) != Training.Status.EXPIRED
        ]
        never = any(training.expires_on is None for training in current)
        latest = max((training.expires_on for training in current if training.expires_on), default=None)
        rows.append(
            PlatformTraining(
                platform=platform.value,
                label=str(platform.label),
                expires_on=None if never else latest,
                is_trained=platform.value in trained,
            )
        )
    return rows


def member_grants(member: Member) -> list[RoleGrant]:
    if member.user_id is None:
        return []
    return list(RoleGrant.objects.filter(user_id=member.user_id).select_related("unit").order_by("unit__path", "role"))


def member_timeline(member: Member) -> list[AuditEvent]:
    """Every audited step about the member, newest first: events on their record, events that name them
    (`"member": pk`: trainings, holder changes, transfers; onboarding names the holder's badge) and
    security events of their login."""
    condition = Q(target_type="accounts_registry.member", target_id=str(member.pk))
    condition |= Q(after__member=member.pk) | Q(before__member=member.pk)
    condition |= Q(verb=AuditEvent.Verb.ACCOUNT_ONBOARD, after__holder=member.badge_number)
    if member.user_id is not None:
        condition |= Q(target_type="auth.user", target_id=str(member.user_id))
    return list(AuditEvent.objects.filter(condition).order_by("-created_at", "-id")[:TIMELINE_SHOWN])


def administered_units(user: AnyUser) -> QuerySet[OrgUnit]:
    """Active units the user administers: where they may place, move or grant roles to people."""
    return visible_units(user).filter(user_scope(user).path_q("path", write=True), is_active=True).order_by("path")


def unit_choices(user: AnyUser) -> list[tuple[int, str]]:
    units = list(administered_units(user))
    paths = unit_paths(units)
    return [(unit.pk, paths[unit.pk]) for unit in units]


def successor_candidates(user: AnyUser, member: Member | None) -> QuerySet[Member]:
    """Members the admin may hand an account to: visible, still in the organization, not `member`."""
    candidates = visible_members(user).filter(user_scope(user).path_q("unit__path", write=True), left_on__isnull=True)
    if member is not None:
        candidates = candidates.exclude(pk=member.pk)
    return candidates.select_related("unit").prefetch_related("trainings").order_by("full_name")


def held_accounts(member: Member) -> list[SocialAccount]:
    return list(SocialAccount.objects.filter(holder=member).exclude(status="retired").order_by("platform", "handle"))
