"""The import: one transaction around parsing, planning and the writes, rolled back on any error."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects

from accounts_registry.services.accounts import OnboardingRequest, account_onboard, missing_credentials
from accounts_registry.services.csv_io.parse import ImportReport, Status, _parse
from accounts_registry.services.csv_io.plan import _Plan, _platform_label
from accounts_registry.services.members import member_create, training_record
from accounts_registry.services.units import unit_get_or_create_path

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import User

    from accounts_registry.services.csv_io.parse import _Row


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
            apply_plan(plan, actor=actor)
        if report.errors or dry_run:
            transaction.set_rollback(True)
    if report.errors:
        report.errors.sort(key=lambda error: error[0])
        report._discard_counts()
    return report


def apply_plan(plan: _Plan, *, actor: User | None) -> None:
    """Write what the plan holds through the ordinary services; failures become the report's errors."""
    report = plan.report
    for key, (line, path) in plan.units_to_create.items():
        try:
            plan.unit_for[key] = unit_get_or_create_path(path=path, actor=actor)
        except ValidationError as error:
            report.errors += [(line, message) for message in error.messages]
            continue
        report.units_created.append(path)

    for badge, new in plan.new_members.items():
        unit = plan.unit_for.get(new.unit_key)
        if unit is None:
            continue  # its unit failed, already reported
        try:
            plan.members[badge] = member_create(
                full_name=new.full_name, badge_number=badge, unit=unit, email=new.email, actor=actor
            )
        except (ValidationError, IntegrityError) as error:
            report.errors += [(new.line, message) for message in _messages(error)]
            continue
        report.members_created += 1

    for training in plan.trainings.values():
        member = plan.members.get(training.badge)
        if member is None or not training.needs_write:
            continue
        try:
            training_record(
                member=member,
                course=training.course,
                completed_on=training.completed_on,
                expires_on=training.expires_on,
                platforms=sorted(training.platforms),
                actor=actor,
            )
        except (ValidationError, IntegrityError) as error:
            report.errors += [(training.line, message) for message in _messages(error)]
            continue
        report.trainings_recorded += 1

    # Onboarding checks each holder's training: load them all at once, now that they are written.
    prefetch_related_objects(list(plan.members.values()), "trainings")
    for row in plan.new_accounts:
        _onboard(plan, row, actor=actor)


def _onboard(plan: _Plan, row: _Row, *, actor: User | None) -> None:
    unit = plan.unit_for.get(row.unit_key)
    holder = plan.members.get(row.badge) if row.badge else None
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
        plan.report.errors += [(row.line, message) for message in _messages(error)]
        return
    plan.report.accounts_created += 1
    if row.status == Status.ACTIVE and missing:
        plan.report.notices.append(
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
