"""Reads of the registry, always scoped to the acting user.

`scope_for` is the one function that decides what a user may see; every queryset that reaches a page,
an export or an API goes through `visible_*` or a `get_*_for_user` access selector built on it.
A role granted on a unit covers its whole subtree (materialized-path prefix).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts_registry import governance
from accounts_registry.capabilities import CAPABILITIES, Action, Reach, roles_allowing
from accounts_registry.models import (
    SECURITY_VERBS,
    AuditEvent,
    Member,
    OrgUnit,
    Role,
    RoleGrant,
    SocialAccount,
    Training,
)
from accounts_registry.services.security import access_refused_record

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

# Derived from the capabilities table: who sees units (and so everything under them), who administers them.
READ_ROLES = roles_allowing(Action.UNIT_VIEW)
WRITE_ROLES = roles_allowing(Action.PEOPLE_ADMIN)


def _minimal_prefixes(paths: Iterable[str]) -> tuple[str, ...]:
    """Drop paths already covered by a shorter prefix: a grant on a subtree covers its descendants."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(prefix) for prefix in kept):
            kept.append(path)
    return tuple(kept)


@dataclasses.dataclass(frozen=True)
class Scope:
    """What one user may see and change, computed fresh for each request (no stale subtree cache)."""

    is_everything: bool = False
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ()
    member_id: int | None = None
    roles: frozenset[str] = frozenset()
    grants: tuple[tuple[str, str], ...] = ()  # (role, unit path) of every grant on an active unit

    def allows(self, action: Action, path: str | None = None, *, is_own: bool = False) -> bool:
        """May the user do `action` on an object under `path` (None: anywhere)? `is_own`: the object
        is the signed-in officer's own (their account, its items and posts, their member record).
        The capabilities table (accounts_registry.capabilities) is the only rule."""
        if self.is_everything:
            return True
        if is_own and self.member_id is not None and CAPABILITIES[Role.MEMBER].get(action) == Reach.OWN:
            return True
        for role, prefix in self.grants:
            if CAPABILITIES[Role(role)].get(action) == Reach.SUBTREE and (path is None or path.startswith(prefix)):
                return True
        return False

    def path_q(self, field: str, *, write: bool = False) -> Q:
        """A filter on a unit path field (e.g. "unit__path") matching the readable (or writable) subtrees."""
        if self.is_everything:
            return Q()
        paths = self.write_paths if write else self.read_paths
        if not paths:
            return Q(pk__in=[])
        condition = Q()
        for prefix in paths:
            condition |= Q(**{f"{field}__startswith": prefix})
        return condition

    def covers(self, path: str, *, write: bool = False) -> bool:
        if self.is_everything:
            return True
        return any(path.startswith(prefix) for prefix in (self.write_paths if write else self.read_paths))

    @property
    def can_read_units(self) -> bool:
        return self.is_everything or bool(self.read_paths)

    @property
    def can_administer(self) -> bool:
        return self.is_everything or bool(self.write_paths)


def scope_for(user: AnyUser) -> Scope:
    """Compute the user's scope with one query (grants joined to their units)."""
    if not user.is_authenticated or not user.is_active:
        return Scope()
    if user.is_superuser:
        return Scope(is_everything=True, roles=frozenset({Role.ADMIN}))
    grants = list(RoleGrant.objects.filter(user=user, unit__is_active=True).values_list("role", "unit__path"))
    member_id = Member.objects.filter(user=user).values_list("pk", flat=True).first()
    return Scope(
        read_paths=_minimal_prefixes(path for role, path in grants if role in READ_ROLES),
        write_paths=_minimal_prefixes(path for role, path in grants if role in WRITE_ROLES),
        member_id=member_id,
        roles=frozenset(role for role, _ in grants),
        grants=tuple(grants),
    )


def _scope(user: AnyUser) -> Scope:
    """Memoize on the user object: it lives for one request, so a revoked grant applies on the next."""
    cached: Scope | None = getattr(user, "_chorus_scope", None)
    if cached is None:
        cached = scope_for(user)
        user._chorus_scope = cached  # type: ignore[union-attr]  # per-request memo on the user instance
    return cached


# --- Scoped querysets --------------------------------------------------------------------------


def visible_units(user: AnyUser) -> QuerySet[OrgUnit]:
    scope = _scope(user)
    return OrgUnit.objects.filter(scope.path_q("path"))


def visible_members(user: AnyUser) -> QuerySet[Member]:
    scope = _scope(user)
    condition = scope.path_q("unit__path")
    if scope.member_id is not None:
        condition |= Q(pk=scope.member_id)
    return Member.objects.filter(condition)


def visible_accounts(user: AnyUser) -> QuerySet[SocialAccount]:
    scope = _scope(user)
    condition = scope.path_q("unit__path")
    if scope.member_id is not None:
        condition |= Q(holder_id=scope.member_id)
    return SocialAccount.objects.filter(condition)


# --- Access selectors: 404 for outsiders, 403 for read-only users asking to write ---------------


def refused(*, user: AnyUser, target_type: str, pk: object, message: str) -> Http404:
    """The 404 every access selector raises for an object the user may not see (or that does not
    exist: the two are indistinguishable to them), recorded as a security event. `raise refused(...)`."""
    access_refused_record(user=user, target_type=target_type, target_id=pk)
    return Http404(message)


def refused_write(*, user: AnyUser, target_type: str, pk: object, message: str) -> PermissionDenied:
    """The 403 for a read-only user asking to write, recorded like `refused`."""
    access_refused_record(user=user, target_type=target_type, target_id=pk)
    return PermissionDenied(message)


def _authorize(user: AnyUser, path: str, *, write: bool, target_type: str, pk: object) -> None:
    if write and not _scope(user).covers(path, write=True):
        message = "Only an admin of this unit may change it."
        raise refused_write(user=user, target_type=target_type, pk=pk, message=message)


def authorize(user: AnyUser, action: Action, *, path: str, is_own: bool = False, target_type: str, pk: object) -> None:
    """403 (recorded) unless the capabilities table lets the user do `action` on this object. Call it on
    an object the user may see (got through an access selector): outsiders already had their 404."""
    if not _scope(user).allows(action, path, is_own=is_own):
        raise refused_write(user=user, target_type=target_type, pk=pk, message="Your role does not allow this here.")


def get_unit_for_user(*, user: AnyUser, pk: int, write: bool = False) -> OrgUnit:
    unit = visible_units(user).filter(pk=pk).first()
    if unit is None:
        raise refused(user=user, target_type="unit", pk=pk, message="No such unit.")
    _authorize(user, unit.path, write=write, target_type="unit", pk=pk)
    return unit


def get_member_for_user(*, user: AnyUser, pk: int, write: bool = False) -> Member:
    member = visible_members(user).select_related("unit", "user").filter(pk=pk).first()
    if member is None:
        raise refused(user=user, target_type="member", pk=pk, message="No such member.")
    _authorize(user, member.unit.path, write=write, target_type="member", pk=pk)
    return member


def get_account_for_user(*, user: AnyUser, pk: int, write: bool = False) -> SocialAccount:
    account = visible_accounts(user).select_related("unit", "holder", "onboarded_by").filter(pk=pk).first()
    if account is None:
        raise refused(user=user, target_type="account", pk=pk, message="No such account.")
    _authorize(user, account.unit.path, write=write, target_type="account", pk=pk)
    return account


def user_can_administer(user: AnyUser, unit: OrgUnit | None = None) -> bool:
    scope = _scope(user)
    return scope.covers(unit.path, write=True) if unit is not None else scope.can_administer


def user_scope(user: AnyUser) -> Scope:
    return _scope(user)


def require_unit_reader(user: AnyUser) -> None:
    """403 for a user with no role over a unit (a member, or no role at all): the pages over units (health,
    dormant accounts, the leaderboard, reports, the registry export) are for supervisors, comms managers and
    admins. A role-gated page's first check, before any lookup."""
    if not _scope(user).can_read_units:
        raise PermissionDenied("This page is for supervisors, comms managers and admins.")


def sees_whole_organization(user: AnyUser, *, write: bool = False) -> bool:
    """Does the user's scope cover every top-level unit? Organization-wide figures (platform usage and
    cost, totals over every unit) are shown only to such users; everyone else gets figures of their scope."""
    scope = _scope(user)
    if scope.is_everything:
        return True
    if not (scope.write_paths if write else scope.read_paths):
        return False
    return not OrgUnit.objects.filter(depth=1).exclude(scope.path_q("path", write=write)).exists()


SECURITY_EVENTS_SHOWN = 200


def visible_security_events(user: AnyUser, *, verb: str = "") -> QuerySet[AuditEvent]:
    """Security events an admin may see, newest first: those filed under a unit of their subtrees
    (the unit of the person each is about); organization-wide admins also see events about nobody
    placed in the tree (unknown usernames). Empty for everyone who administers nothing."""
    scope = _scope(user)
    if not scope.can_administer:
        return AuditEvent.objects.none()
    condition = scope.path_q("unit__path", write=True)
    if sees_whole_organization(user, write=True):
        condition = Q()
    verbs = [verb] if verb in SECURITY_VERBS else SECURITY_VERBS
    return AuditEvent.objects.filter(condition, verb__in=verbs).order_by("-created_at", "-id")


# --- Tree and roll-ups --------------------------------------------------------------------------


@dataclasses.dataclass
class UnitNode:
    """A unit with counts rolled up over its subtree, ready for the tree page."""

    unit: OrgUnit
    own_accounts: int = 0
    own_members: int = 0
    accounts: int = 0
    members: int = 0
    children: list[UnitNode] = dataclasses.field(default_factory=list)

    @property
    def has_children(self) -> bool:
        return self.unit.numchild > 0


def unit_tree(user: AnyUser, *, root: OrgUnit | None = None) -> list[UnitNode]:
    """The visible tree (or the subtree under `root`) with per-unit roll-ups, in three queries.

    Counts are summed in Python over materialized paths, so the query count does not grow with the
    number of units.
    """
    units_qs = visible_units(user)
    if root is not None:
        units_qs = units_qs.filter(path__startswith=root.path)
    units = list(units_qs.order_by("path"))
    if not units:
        return []
    paths = [unit.path for unit in units]
    prefix_q = Q()
    for prefix in _minimal_prefixes(paths):
        prefix_q |= Q(unit__path__startswith=prefix)
    account_counts = dict(
        SocialAccount.objects.filter(prefix_q)
        .exclude(status=SocialAccount.Status.RETIRED)
        .values_list("unit_id")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "n")
    )
    member_counts = dict(
        Member.objects.filter(prefix_q, left_on__isnull=True)
        .values_list("unit_id")
        .annotate(n=Count("pk"))
        .values_list("unit_id", "n")
    )
    nodes = {
        unit.path: UnitNode(
            unit=unit, own_accounts=account_counts.get(unit.pk, 0), own_members=member_counts.get(unit.pk, 0)
        )
        for unit in units
    }
    step = OrgUnit.steplen
    roots: list[UnitNode] = []
    # Paths sort parents before children; walk deepest first to roll counts up to each ancestor.
    for path in sorted(nodes, key=len, reverse=True):
        node = nodes[path]
        node.accounts += node.own_accounts
        node.members += node.own_members
        parent = nodes.get(path[:-step])
        if parent is not None:
            parent.accounts += node.accounts
            parent.members += node.members
    for path in paths:
        node = nodes[path]
        parent = nodes.get(path[:-step])
        if parent is not None:
            parent.children.append(node)
        else:
            roots.append(node)
    return roots


def unit_paths(units: Iterable[OrgUnit]) -> dict[int, str]:
    """Human paths ("Service/Division/Station") for the given units, in one query for all ancestors."""
    units = list(units)
    step = OrgUnit.steplen
    needed = {unit.path[: index * step] for unit in units for index in range(1, len(unit.path) // step + 1)}
    names = dict(OrgUnit.objects.filter(path__in=needed).values_list("path", "name"))
    return {
        unit.pk: "/".join(names[unit.path[: index * step]] for index in range(1, len(unit.path) // step + 1))
        for unit in units
    }


# --- Training and governance -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GovernanceProblem:
    account: SocialAccount
    check: str  # a check of accounts_registry.governance
    reason: str


def governance_problems(
    user: AnyUser, *, now: datetime.datetime | None = None, unit: OrgUnit | None = None
) -> list[GovernanceProblem]:
    """Accounts that need an admin's attention (accounts_registry.governance, with the org-wide defaults),
    of `unit`'s subtree when given (a unit the caller authorized), else of the user's whole scope.

    Two queries whatever the number of accounts (accounts with holders, then holders' trainings).
    """
    now = now or timezone.now()
    visible = visible_accounts(user)
    if unit is not None:
        visible = visible.filter(unit__path__startswith=unit.path)
    accounts = governance.accounts_to_check(visible).order_by("unit__path", "platform", "handle")
    return [
        GovernanceProblem(account, check, reason)
        for account in accounts
        for check, reason in governance.account_problems(account, now=now)
    ]


def training_summary(members: Iterable[Member], *, today: datetime.date | None = None) -> dict[int, str]:
    """Per member: the best status of their trainings (current > expiring > expired), or "none"."""
    order = {Training.Status.CURRENT: 0, Training.Status.EXPIRING: 1, Training.Status.EXPIRED: 2}
    summary: dict[int, str] = defaultdict(lambda: "none")
    for member in members:
        statuses = [training.status(today) for training in member.trainings.all()]
        if statuses:
            summary[member.pk] = min(statuses, key=order.__getitem__).value
    return dict(summary)


def training_expiring_members(scope_unit: OrgUnit, *, today: datetime.date) -> QuerySet[Member]:
    """Members of the subtree (not left) whose best training is expiring: one expires within the warning
    window (CHORUS_TRAINING_EXPIRY_WARNING_DAYS) and none is current beyond it (a renewed course does not
    count as expiring). The overview's needs-attention count and the unit page's filtered members list."""
    horizon = today + datetime.timedelta(days=settings.CHORUS_TRAINING_EXPIRY_WARNING_DAYS)
    trainings = Training.objects.filter(member=OuterRef("pk"))
    return Member.objects.filter(unit__path__startswith=scope_unit.path, left_on__isnull=True).filter(
        Exists(trainings.filter(expires_on__gte=today, expires_on__lte=horizon)),
        ~Exists(trainings.filter(Q(expires_on__isnull=True) | Q(expires_on__gt=horizon))),
    )
