"""Reading the registry file: the header, then each row checked on its own (no database)."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts_registry.models import Member, OrgUnit, SocialAccount, Training, unit_name_key
from accounts_registry.services.accounts import handle_errors, normalize_handle
from accounts_registry.services.csv_io.columns import REGISTRY_COLUMNS, REQUIRED_COLUMNS, unneutralise_cell
from accounts_registry.services.units import PATH_SEPARATOR

SAMPLE_ROWS = 20

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_NAME_MAX = Member._meta.get_field("full_name").max_length or 200
_BADGE_MAX = Member._meta.get_field("badge_number").max_length or 40
_UNIT_NAME_MAX = OrgUnit._meta.get_field("name").max_length or 200
_COURSE_MAX = Training._meta.get_field("course").max_length or 200
_EXTERNAL_ID_MAX = SocialAccount._meta.get_field("external_id").max_length or 200

Status = SocialAccount.Status
Kind = SocialAccount.Kind
# Looked up for every row: an enum's .values builds a new list each time.
_KINDS = frozenset(Kind.values)
_STATUSES = frozenset(Status.values)


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
    if kind not in _KINDS:
        error(f"kind “{values['kind']}” is not an account kind ({', '.join(Kind.values)}).")

    status = values.get("status", "").lower() or Status.ACTIVE
    if status not in _STATUSES:
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
