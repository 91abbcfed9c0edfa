"""Checking rows against each other and the database (units, holders, trainings, accounts, and the
importer's authorization), and planning what the import writes."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, SocialAccount, Training, unit_name_key
from accounts_registry.services.accounts import (
    OUT_OF_SCOPE_HINT,
    OnboardingRequest,
    _platform_label,
    instance_url_errors,
    instance_url_for,
)
from accounts_registry.services.csv_io.parse import Kind, Status
from accounts_registry.services.units import PATH_SEPARATOR

if TYPE_CHECKING:
    import datetime

    from accounts_registry.services.csv_io.parse import ImportReport, _Row


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclasses.dataclass
class _NewMember:
    line: int
    full_name: str
    email: str
    unit_key: tuple[str, ...]


@dataclasses.dataclass
class _TrainingPlan:
    line: int
    badge: str
    course: str
    completed_on: datetime.date
    expires_on: datetime.date | None
    platforms: set[str]
    existing: Training | None = None

    @property
    def needs_write(self) -> bool:
        if self.existing is None:
            return True
        return not self.platforms <= set(self.existing.platforms)


class _UnitIndex:
    """Every unit, in memory, looked up by name key under its parent (unit_name_key, the key the database
    keeps unique among siblings, as units.unit_by_path does)."""

    def __init__(self) -> None:
        self.units = list(OrgUnit.objects.order_by("path"))
        step = OrgUnit.steplen
        self._children: dict[tuple[str, str], OrgUnit] = {}
        for unit in self.units:
            self._children[(unit.path[:-step], unit_name_key(unit.name))] = unit

    def resolve(self, levels: tuple[str, ...]) -> tuple[list[OrgUnit], tuple[str, ...]]:
        """The existing units along the path, and the level names still missing below them."""
        found: list[OrgUnit] = []
        parent_path = ""
        for depth, level in enumerate(levels):
            unit = self._children.get((parent_path, unit_name_key(level)))
            if unit is None:
                return found, levels[depth:]
            found.append(unit)
            parent_path = unit.path
        return found, ()


class _Plan:
    """Cross-row and database checks, done on data preloaded in a handful of queries; apply_plan writes it."""

    def __init__(self, *, rows: list[_Row], report: ImportReport, allowed: tuple[str, ...] | None) -> None:
        self.report = report
        self.allowed = allowed
        self.today = timezone.localdate()
        self.units = _UnitIndex()
        badges = {row.badge for row in rows if row.badge}
        self.members = {
            member.badge_number: member
            for member in Member.objects.filter(badge_number__in=badges).select_related("unit")
        }
        self.db_trainings: dict[tuple[str, str, datetime.date], Training] = {}
        self.db_trainings_by_badge: dict[str, list[Training]] = {}
        badge_of = {member.pk: badge for badge, member in self.members.items()}
        for training in Training.objects.filter(member__in=list(self.members.values())):
            badge = badge_of[training.member_id]
            self.db_trainings[(badge, training.course, training.completed_on)] = training
            self.db_trainings_by_badge.setdefault(badge, []).append(training)
        lowered = {row.handle.lower() for row in rows}
        external = {row.external_id for row in rows if row.external_id}
        accounts = list(
            SocialAccount.objects.select_related("unit")
            .annotate(handle_lower=Lower("handle"))
            .filter(Q(handle_lower__in=lowered) | Q(external_id__in=external))
        )
        self.accounts = {(account.platform, account.handle.lower()): account for account in accounts}
        self.accounts_by_external = {
            (account.platform, account.external_id): account for account in accounts if account.external_id
        }

        self.unit_for: dict[tuple[str, ...], OrgUnit] = {}
        self.units_to_create: dict[tuple[str, ...], tuple[int, str]] = {}
        self.new_members: dict[str, _NewMember] = {}
        self.trainings: dict[tuple[str, str, datetime.date], _TrainingPlan] = {}
        self._trainings_by_badge: dict[str, list[_TrainingPlan]] = {}
        # Each Mastodon instance is checked once (a DNS lookup), however many rows live on it.
        self._instance_errors: dict[str, list[str]] = {}
        self.new_accounts: list[_Row] = []
        # The first name and email given for each badge: later rows must agree; a new member gets them.
        self._names: dict[str, tuple[int, str]] = {}
        self._emails: dict[str, str] = {}
        for row in rows:
            if row.badge and row.holder_name:
                self._names.setdefault(row.badge, (row.line, row.holder_name))
            if row.badge and row.holder_email:
                self._emails.setdefault(row.badge, row.holder_email)
        self._handles: dict[tuple[str, str], int] = {}
        self._externals: dict[tuple[str, str], int] = {}
        for row in rows:
            errors_before = len(report.errors)
            self._check_row(row)
            if len(report.errors) == errors_before:
                self._plan_row(row)
        self._check_authorizations()

    # --- checks ---

    def _error(self, row: _Row, message: str) -> None:
        self.report.error(row.line, message)

    def _covered(self, unit: OrgUnit | None) -> bool:
        """May the importer write in this unit's subtree? None (a new top-level unit): operators only."""
        if self.allowed is None:
            return True
        return unit is not None and any(unit.path.startswith(prefix) for prefix in self.allowed)

    def _row_unit_covered(self, row: _Row) -> bool:
        """The row's unit if it exists, else the parent its first new level would be created under."""
        found, _missing = self.units.resolve(row.unit_levels)
        return self._covered(found[-1] if found else None)

    def _check_row(self, row: _Row) -> None:
        label = _platform_label(row.platform)
        first = self._handles.setdefault(row.handle_key, row.line)
        if first != row.line:
            self._error(row, f"{label} handle {row.handle} is also on line {first}: one row per account.")
        if row.external_id:
            first = self._externals.setdefault((row.platform, row.external_id), row.line)
            if first != row.line:
                self._error(row, f"{label} external id {row.external_id} is also on line {first}.")
        if not self._row_unit_covered(row):
            self._error(row, f"“{PATH_SEPARATOR.join(row.unit_levels)}” is outside your part of the organization.")
            return
        if row.badge and not self._check_holder(row):
            return
        if row.course and row.completed_on:
            self._check_training(row)
        self._check_account(row)

    def _check_holder(self, row: _Row) -> bool:
        """False if the holder is out of bounds (then nothing more is said about them)."""
        member = self.members.get(row.badge)
        if member is not None and not self._covered(member.unit):
            self._error(row, f"Badge {row.badge} cannot be used: {OUT_OF_SCOPE_HINT}")
            return False
        if member is not None:
            # The registered name is not echoed: a file must not reveal who holds a badge.
            if row.holder_name and _fold(member.full_name) != _fold(row.holder_name):
                self._error(row, f"holder_name “{row.holder_name}” is not the name registered for badge {row.badge}.")
        elif row.badge not in self._names:
            self._error(row, f"Badge {row.badge} is not registered yet: give holder_name to add the member.")
        elif row.holder_name and _fold(self._names[row.badge][1]) != _fold(row.holder_name):
            first_line = self._names[row.badge][0]
            self._error(row, f"holder_name “{row.holder_name}” differs from line {first_line} for badge {row.badge}.")
        return True

    def _check_training(self, row: _Row) -> None:
        assert row.completed_on is not None
        key = (row.badge, row.course, row.completed_on)
        planned = self.trainings.get(key)
        if planned is not None and planned.expires_on != row.expires_on:
            self._error(
                row, f"Training “{row.course}” of {row.completed_on} has another expiry on line {planned.line}."
            )
        existing = self.db_trainings.get(key)
        if existing is not None and existing.expires_on != row.expires_on:
            self._error(
                row,
                f"Training “{row.course}” of {row.completed_on} is on record as expiring "
                f"{existing.expires_on or 'never'}; the file says {row.expires_on or 'never'}. "
                "Record a renewal as a new completion instead.",
            )

    def _check_account(self, row: _Row) -> None:
        label = _platform_label(row.platform)
        existing = self.accounts.get(row.handle_key)
        by_external = self.accounts_by_external.get((row.platform, row.external_id)) if row.external_id else None
        # An account outside the importer's subtree: no word on its unit, holder, kind or status.
        if existing is not None and not self._covered(existing.unit):
            self._error(row, f"{label} handle {row.handle} cannot be registered: {OUT_OF_SCOPE_HINT}")
            return
        if by_external is not None and by_external is not existing and not self._covered(by_external.unit):
            self._error(row, f"{label} external id {row.external_id} cannot be used: {OUT_OF_SCOPE_HINT}")
            return
        if by_external is not None and by_external is not existing:
            self._error(row, f"{label} external id {row.external_id} is already registered to another account.")
        if existing is None:
            member = self.members.get(row.badge)
            if member is not None and member.has_left(self.today):
                self._error(row, f"The member with badge {row.badge} left the organization on {member.left_on}.")
            instance_url = instance_url_for(OnboardingRequest(platform=row.platform, handle=row.handle, kind=row.kind))
            if instance_url not in self._instance_errors:
                self._instance_errors[instance_url] = instance_url_errors(instance_url)
            for message in self._instance_errors[instance_url]:
                self._error(row, message)
            return
        found, missing = self.units.resolve(row.unit_levels)
        problems = []
        if missing or found[-1].pk != existing.unit_id:
            problems.append("another unit")
        holder = self.members.get(row.badge) if row.badge else None
        if (holder.pk if holder else None) != existing.holder_id or (row.badge and holder is None):
            problems.append("another holder")
        if row.kind != existing.kind:
            problems.append(f"kind {existing.kind}")
        if row.external_id and row.external_id != existing.external_id:
            problems.append("another external id" if existing.external_id else "no external id")
        if problems:
            self._error(
                row,
                f"{label} handle {row.handle} is already registered with {', '.join(problems)}; "
                "the import adds accounts, it does not change them.",
            )

    def _current_platforms(self, badge: str) -> set[str]:
        platforms = {
            platform
            for training in self.db_trainings_by_badge.get(badge, [])
            if training.status(self.today) != Training.Status.EXPIRED
            for platform in training.platforms
        }
        platforms |= {
            platform
            for plan in self._trainings_by_badge.get(badge, [])
            if plan.expires_on is None or plan.expires_on >= self.today
            for platform in plan.platforms
        }
        return platforms

    def _check_authorizations(self) -> None:
        authorized: dict[str, set[str]] = {}
        for row in self.new_accounts:
            if row.kind != Kind.PERSONAL:
                continue
            if row.badge not in authorized:
                authorized[row.badge] = self._current_platforms(row.badge)
            if row.platform not in authorized[row.badge]:
                self._error(
                    row,
                    f"The holder (badge {row.badge}) has no current training that authorizes "
                    f"{_platform_label(row.platform)}: add it in the training columns.",
                )

    # --- planning (rows without errors) ---

    def _plan_row(self, row: _Row) -> None:
        key = row.unit_key
        if key not in self.unit_for and key not in self.units_to_create:
            found, missing = self.units.resolve(row.unit_levels)
            if missing:
                names = [unit.name for unit in found]
                for level in missing:
                    names.append(level)
                    new_key = tuple(unit_name_key(name) for name in names)
                    if new_key not in self.units_to_create:
                        self.units_to_create[new_key] = (row.line, PATH_SEPARATOR.join(names))
            else:
                self.unit_for[key] = found[-1]
        if row.badge and row.badge not in self.members and row.badge not in self.new_members:
            name = self._names[row.badge][1]
            self.new_members[row.badge] = _NewMember(row.line, name, self._emails.get(row.badge, ""), key)
        if row.course and row.completed_on:
            training_key = (row.badge, row.course, row.completed_on)
            plan = self.trainings.get(training_key)
            if plan is None:
                existing = self.db_trainings.get(training_key)
                plan = _TrainingPlan(
                    line=row.line,
                    badge=row.badge,
                    course=row.course,
                    completed_on=row.completed_on,
                    expires_on=row.expires_on,
                    platforms=set(existing.platforms) if existing else set(),
                    existing=existing,
                )
                self.trainings[training_key] = plan
                self._trainings_by_badge.setdefault(row.badge, []).append(plan)
            plan.platforms.add(row.platform)
        if row.handle_key in self.accounts:
            self.report.accounts_unchanged += 1
            account = self.accounts[row.handle_key]
            if account.status != row.status and not self._awaiting_credentials(row, account):
                self.report.notices.append(
                    (
                        row.line,
                        f"{row.handle} is already registered as {account.get_status_display().lower()}; "
                        "the import does not change the status of existing accounts.",
                    )
                )
        else:
            self.new_accounts.append(row)

    @staticmethod
    def _awaiting_credentials(row: _Row, existing: SocialAccount) -> bool:
        return row.status == Status.ACTIVE and existing.status == Status.PENDING and not existing.has_credentials
