"""Bulk CSV import and export of the registry: one row per social account.

The import validates the whole file before writing and then writes through the ordinary services
(units, members, trainings, onboarding), all inside one transaction: any bad row, or a dry run, rolls
everything back, so either the whole file lands or nothing does. Existing records are never edited,
with one exception: a training completion already on record gains the platforms the file says it
authorizes. Re-importing a file therefore writes nothing, and neither does importing an export.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import re
from typing import TYPE_CHECKING, Protocol, TextIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, Platform, SocialAccount, Training, unit_name_key
from accounts_registry.selectors import unit_paths
from accounts_registry.services.accounts import (
    OUT_OF_SCOPE_HINT,
    OnboardingRequest,
    account_onboard,
    handle_errors,
    missing_credentials,
    normalize_handle,
)
from accounts_registry.services.members import member_create, training_record
from accounts_registry.services.units import PATH_SEPARATOR, unit_get_or_create_path

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User
    from django.db.models import QuerySet

REGISTRY_COLUMNS: tuple[str, ...] = (
    "unit_path",
    "platform",
    "handle",
    "external_id",
    "kind",
    "holder_badge",
    "holder_name",
    "holder_email",
    "training_course",
    "training_completed_on",
    "training_expires_on",
    "status",
)
OPTIONAL_COLUMNS = frozenset({"external_id", "status"})
REQUIRED_COLUMNS: tuple[str, ...] = tuple(column for column in REGISTRY_COLUMNS if column not in OPTIONAL_COLUMNS)
SAMPLE_ROWS = 20

# Spreadsheets run a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_NAME_MAX = Member._meta.get_field("full_name").max_length or 200
_BADGE_MAX = Member._meta.get_field("badge_number").max_length or 40
_UNIT_NAME_MAX = OrgUnit._meta.get_field("name").max_length or 200
_COURSE_MAX = Training._meta.get_field("course").max_length or 200
_EXTERNAL_ID_MAX = SocialAccount._meta.get_field("external_id").max_length or 200

Status = SocialAccount.Status
Kind = SocialAccount.Kind


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def neutralise_cell(value: str) -> str:
    """Prefix a quote so a spreadsheet shows the cell as text instead of running it as a formula.

    Values that already start with quotes before a trigger get one more, so `unneutralise_cell`
    is an exact inverse and an export re-imports unchanged.
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_TRIGGERS) else value


def unneutralise_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _platform_label(platform: str) -> str:
    return Platform(platform).label if platform in Platform.values else platform


@dataclasses.dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do). With any error, nothing was written."""

    dry_run: bool = False
    rows_read: int = 0
    accounts_created: int = 0
    accounts_unchanged: int = 0
    members_created: int = 0
    trainings_recorded: int = 0
    units_created: list[str] = dataclasses.field(default_factory=list)
    errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    notices: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    sample_rows: list[tuple[int, list[str]]] = dataclasses.field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def was_written(self) -> bool:
        return self.is_valid and not self.dry_run

    @property
    def has_changes(self) -> bool:
        return bool(self.accounts_created or self.members_created or self.trainings_recorded or self.units_created)

    def error(self, line: int, message: str) -> None:
        self.errors.append((line, message))

    def summary_lines(self) -> list[str]:
        """Plain-text summary for the command line (errors are listed separately)."""
        if self.errors:
            return [f"Nothing was imported: {len(self.errors)} error(s) in {self.rows_read} row(s)."]
        verb = "would be " if self.dry_run else ""
        lines = ["Dry run: nothing was written."] if self.dry_run else []
        lines += [
            f"Rows read: {self.rows_read}",
            f"Accounts {verb}created: {self.accounts_created}",
            f"Accounts unchanged: {self.accounts_unchanged}",
            f"Members {verb}created: {self.members_created}",
            f"Trainings {verb}recorded: {self.trainings_recorded}",
            f"Units {verb}created: {len(self.units_created)}",
        ]
        lines += [f"  + {path}" for path in self.units_created]
        lines += [f"line {line}: {message}" for line, message in self.notices]
        return lines

    def _discard_counts(self) -> None:
        self.accounts_created = self.accounts_unchanged = self.members_created = self.trainings_recorded = 0
        self.units_created = []


@dataclasses.dataclass
class _Row:
    line: int
    unit_levels: tuple[str, ...]
    platform: str
    handle: str
    external_id: str
    kind: str
    badge: str
    holder_name: str
    holder_email: str
    course: str
    completed_on: datetime.date | None
    expires_on: datetime.date | None
    status: str

    @property
    def unit_key(self) -> tuple[str, ...]:
        return tuple(unit_name_key(level) for level in self.unit_levels)

    @property
    def handle_key(self) -> tuple[str, str]:
        return (self.platform, self.handle.lower())


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


# --- Import ------------------------------------------------------------------------------------


def registry_import(
    *,
    source: TextIO | str,
    actor: User | None,
    dry_run: bool,
    allowed_unit_paths: Iterable[str] | None = None,
) -> ImportReport:
    """Import registry rows (see REGISTRY_COLUMNS). All or nothing, in one transaction.

    Every bad row is reported with its line number; with any error, or on a dry run, the transaction
    is rolled back, so no unit, member, training, account or audit row is left behind. Idempotent:
    rows matching an account already registered identically are counted as unchanged and write nothing.

    `allowed_unit_paths` (materialized tree paths, OrgUnit.path) confines the rows to those subtrees: an
    admin importing through the web page passes the subtrees they administer. Authorization is decided on
    the units the rows resolve to in the tree — each row's existing unit, the parent of every unit it would
    create, each holder's unit, each existing account's unit — never on the names written in the file.
    None means anywhere (command-line operators), including new top-level units.
    """
    report = ImportReport(dry_run=dry_run)
    text = source if isinstance(source, str) else source.read()
    rows = _parse(text.removeprefix("\ufeff"), report)
    if not rows:
        report._discard_counts()
        return report
    allowed = None if allowed_unit_paths is None else tuple(allowed_unit_paths)
    with transaction.atomic():
        plan = _Plan(rows=rows, report=report, allowed=allowed)
        if not report.errors:
            plan.apply(actor=actor)
        if report.errors or dry_run:
            transaction.set_rollback(True)
    if report.errors:
        report.errors.sort(key=lambda error: error[0])
        report._discard_counts()
    return report


def _parse(text: str, report: ImportReport) -> list[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            report.error(1, "The file is empty: the first line must name the columns.")
            return []
        columns = [cell.strip().lower() for cell in header]
        if not _header_ok(columns, report):
            return []
        rows: list[_Row] = []
        previous_end = reader.line_num
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            report.rows_read += 1
            if len(cells) != len(columns):
                report.error(line, f"This row has {len(cells)} fields; the header has {len(columns)}.")
                continue
            values = {
                column: unneutralise_cell(cell.strip()).strip() for column, cell in zip(columns, cells, strict=True)
            }
            if len(report.sample_rows) < SAMPLE_ROWS:
                report.sample_rows.append((line, [values.get(column, "") for column in REGISTRY_COLUMNS]))
            row = _parse_row(line, values, report)
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        report.error(reader.line_num, f"The file is not valid CSV: {error}.")
        return []
    if report.rows_read == 0 and not report.errors:
        report.error(2, "The file has a header but no rows.")
    return rows


def _header_ok(columns: list[str], report: ImportReport) -> bool:
    problems = []
    unknown = [column for column in columns if column not in REGISTRY_COLUMNS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        problems.append(f"repeated column(s): {', '.join(repeated)}")
    if problems:
        report.error(1, f"Bad header: {'; '.join(problems)}. Expected the columns: {', '.join(REGISTRY_COLUMNS)}.")
    return not problems


def _parse_date(value: str, column: str, line: int, report: ImportReport) -> datetime.date | None:
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value)
    except ValueError:
        report.error(line, f"{column} “{value}” is not a date written YYYY-MM-DD.")
        return None


def _parse_row(line: int, values: dict[str, str], report: ImportReport) -> _Row | None:
    """Check one row on its own (no database); None if it has errors, which are reported."""
    errors_before = len(report.errors)

    def error(message: str) -> None:
        report.error(line, message)

    unit_path = values["unit_path"]
    levels = tuple(level.strip() for level in unit_path.split(PATH_SEPARATOR))
    if not unit_path or not all(levels):
        error(f"unit_path “{unit_path}” is not a unit path (levels separated by “/”, none empty).")
    elif any(len(level) > _UNIT_NAME_MAX for level in levels):
        error(f"unit_path has a level longer than {_UNIT_NAME_MAX} characters.")

    platform = values["platform"].lower()
    handle = normalize_handle(platform, values["handle"])
    if not handle:
        error("handle is empty.")
    else:
        for message in handle_errors(platform, handle):
            error(message)

    kind = values["kind"].lower()
    if kind not in Kind.values:
        error(f"kind “{values['kind']}” is not an account kind ({', '.join(Kind.values)}).")

    status = values.get("status", "").lower() or Status.ACTIVE
    if status not in Status.values:
        error(f"status “{values['status']}” is not an account status ({', '.join(Status.values)}).")

    external_id = values.get("external_id", "")
    if len(external_id) > _EXTERNAL_ID_MAX:
        error(f"external_id is longer than {_EXTERNAL_ID_MAX} characters.")

    badge, name, email = values["holder_badge"], values["holder_name"], values["holder_email"]
    if kind == Kind.PERSONAL and not badge:
        error("A personal account needs holder_badge: the badge number of the trained member who speaks through it.")
    if not badge and (name or email):
        error("holder_name and holder_email need a holder_badge.")
    if len(badge) > _BADGE_MAX:
        error(f"holder_badge is longer than {_BADGE_MAX} characters.")
    if len(name) > _NAME_MAX:
        error(f"holder_name is longer than {_NAME_MAX} characters.")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            error(f"holder_email “{email}” is not an email address.")

    course = values["training_course"]
    completed_on = _parse_date(values["training_completed_on"], "training_completed_on", line, report)
    expires_on = _parse_date(values["training_expires_on"], "training_expires_on", line, report)
    has_training = bool(course or values["training_completed_on"] or values["training_expires_on"])
    if has_training:
        if not badge:
            error("Training columns need a holder_badge.")
        if not course or not values["training_completed_on"]:
            error("A training needs both training_course and training_completed_on.")
        if len(course) > _COURSE_MAX:
            error(f"training_course is longer than {_COURSE_MAX} characters.")
        if completed_on and expires_on and expires_on < completed_on:
            error("training_expires_on is before training_completed_on.")

    if len(report.errors) > errors_before:
        return None
    return _Row(
        line=line,
        unit_levels=levels,
        platform=platform,
        handle=handle,
        external_id=external_id,
        kind=kind,
        badge=badge,
        holder_name=name,
        holder_email=email,
        course=course,
        completed_on=completed_on,
        expires_on=expires_on,
        status=status,
    )


class _Plan:
    """Cross-row and database checks, done on data preloaded in a handful of queries; then the writes."""

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
            for plan in self.trainings.values()
            if plan.badge == badge and (plan.expires_on is None or plan.expires_on >= self.today)
            for platform in plan.platforms
        }
        return platforms

    def _check_authorizations(self) -> None:
        for row in self.new_accounts:
            if row.kind == Kind.PERSONAL and row.platform not in self._current_platforms(row.badge):
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

    # --- writes ---

    def apply(self, *, actor: User | None) -> None:
        report = self.report
        for key, (line, path) in self.units_to_create.items():
            try:
                self.unit_for[key] = unit_get_or_create_path(path=path, actor=actor)
            except ValidationError as error:
                report.errors += [(line, message) for message in error.messages]
                continue
            report.units_created.append(path)

        for badge, new in self.new_members.items():
            unit = self.unit_for.get(new.unit_key)
            if unit is None:
                continue  # its unit failed, already reported
            try:
                self.members[badge] = member_create(
                    full_name=new.full_name, badge_number=badge, unit=unit, email=new.email, actor=actor
                )
            except (ValidationError, IntegrityError) as error:
                report.errors += [(new.line, message) for message in _messages(error)]
                continue
            report.members_created += 1

        for plan in self.trainings.values():
            member = self.members.get(plan.badge)
            if member is None or not plan.needs_write:
                continue
            try:
                training_record(
                    member=member,
                    course=plan.course,
                    completed_on=plan.completed_on,
                    expires_on=plan.expires_on,
                    platforms=sorted(plan.platforms),
                    actor=actor,
                )
            except (ValidationError, IntegrityError) as error:
                report.errors += [(plan.line, message) for message in _messages(error)]
                continue
            report.trainings_recorded += 1

        # Onboarding checks each holder's training: load them all at once, now that they are written.
        prefetch_related_objects(list(self.members.values()), "trainings")
        for row in self.new_accounts:
            self._onboard(row, actor=actor)

    def _onboard(self, row: _Row, *, actor: User | None) -> None:
        unit = self.unit_for.get(row.unit_key)
        holder = self.members.get(row.badge) if row.badge else None
        if unit is None or (row.badge and holder is None):
            return  # its unit or member failed, already reported
        status: str | None = row.status
        missing = missing_credentials(row.platform, {})
        if row.status == Status.ACTIVE:
            # The service starts the account active when it can, else pending with the reason.
            status = None
        request = OnboardingRequest(
            platform=row.platform,
            handle=row.handle,
            kind=row.kind,
            unit=unit,
            holder=holder,
            external_id=row.external_id,
        )
        try:
            account_onboard(request=request, actor=actor, status=status)
        except (ValidationError, IntegrityError) as error:
            self.report.errors += [(row.line, message) for message in _messages(error)]
            return
        self.report.accounts_created += 1
        if row.status == Status.ACTIVE and missing:
            self.report.notices.append(
                (
                    row.line,
                    f"{row.handle} is imported as pending: {_platform_label(row.platform)} needs "
                    f"{', '.join(missing)} before it can be polled; enter it on the account page.",
                )
            )


def _messages(error: ValidationError | IntegrityError) -> list[str]:
    if isinstance(error, ValidationError):
        return list(error.messages)
    return ["Someone else changed the registry during the import; try again."]


# --- Export ------------------------------------------------------------------------------------


def registry_export(*, accounts_queryset: QuerySet[SocialAccount], out: Writer) -> int:
    """Write the accounts as CSV (REGISTRY_COLUMNS, one row per account); returns the row count.

    Three queries whatever the size: accounts with units and holders, unit ancestors, holders'
    trainings. The training given is the holder's most recent one that lists the account's platform
    (blank if none), so importing the export changes nothing. Cells that a spreadsheet would run
    as a formula are neutralised with a leading quote (the importer removes it again).
    """
    accounts = list(accounts_queryset.select_related("unit", "holder").order_by("unit__path", "platform", "handle"))
    paths = unit_paths(account.unit for account in accounts)
    holder_ids = {account.holder_id for account in accounts if account.holder_id is not None}
    trainings: dict[int, list[Training]] = {}
    for record in Training.objects.filter(member_id__in=holder_ids).order_by("-completed_on", "-pk"):
        trainings.setdefault(record.member_id, []).append(record)
    writer = csv.writer(out)
    writer.writerow(REGISTRY_COLUMNS)
    for account in accounts:
        holder = account.holder
        training: Training | None = None
        if holder is not None:
            training = next((t for t in trainings.get(holder.pk, []) if account.platform in t.platforms), None)
        row = {
            "unit_path": paths[account.unit_id],
            "platform": account.platform,
            "handle": account.handle,
            "external_id": account.external_id or "",
            "kind": account.kind,
            "holder_badge": holder.badge_number if holder else "",
            "holder_name": holder.full_name if holder else "",
            "holder_email": holder.email if holder else "",
            "training_course": training.course if training else "",
            "training_completed_on": training.completed_on.isoformat() if training else "",
            "training_expires_on": training.expires_on.isoformat() if training and training.expires_on else "",
            "status": account.status,
        }
        writer.writerow([neutralise_cell(row[column]) for column in REGISTRY_COLUMNS])
    return len(accounts)
