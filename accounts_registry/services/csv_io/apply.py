"""The import: one transaction around parsing, planning and the writes, rolled back on any error.

The writes are in bulk: whatever the number of rows, one COPY for the new members, one for the new
trainings (and one UPDATE for recorded ones gaining platforms), one for the accounts and one for the
audit trail (common.bulk.copy_insert; bulk_create on SQLite). Each record is built and field-checked
by the same functions the one-at-a-time services use (member_build, account_build, full_clean); what
those services check against the database (duplicates, scope, holders, trainings, Mastodon instances)
the plan has checked for every row from data preloaded in one query per table. Units come first,
through units_create_many: one by one where they join existing siblings (unit_create keeps siblings
sorted), a whole level at once below a new unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from accounts_registry.models import Member, OrgUnit, SocialAccount, Training
from accounts_registry.services.accounts import (
    OnboardingRequest,
    _platform_label,
    account_build,
    missing_credentials,
    onboard_audit_event,
)
from accounts_registry.services.audit import audit_record_many
from accounts_registry.services.csv_io.parse import ImportReport, Status, _parse
from accounts_registry.services.csv_io.plan import _Plan
from accounts_registry.services.members import member_build, member_create_audit_event, training_audit_event
from accounts_registry.services.units import PATH_SEPARATOR, NewUnit, units_create_many
from common.bulk import copy_insert

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from django.contrib.auth.models import User

CONCURRENT_CHANGE = "Someone else changed the registry during the import; try again."


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
    The number of SQL statements does not depend on the number of rows (only on the units created).

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
    """Write what the plan holds; failures become the report's errors (and the caller rolls back).

    Units first (members and accounts belong to them); then every member, training and account is built
    and checked, so that all their problems are reported together; then, if there is none, the inserts.
    """
    report = plan.report
    _create_units(plan, actor=actor)
    members = _build_members(plan)
    holders = plan.members | {member.badge_number: member for _line, member in members}
    new_trainings, grown = _build_trainings(plan, holders)
    accounts = _build_accounts(plan, holders, actor=actor)
    if report.errors:
        return
    if not _insert(Member, members, report, lambda: _badges_taken(members)):
        return
    if not _insert(Training, new_trainings, report, lambda: _completions_taken(new_trainings)):
        return
    Training.objects.bulk_update(grown, ["platforms"])
    if not _insert(SocialAccount, [(line, a) for line, a, _ in accounts], report, lambda: _handles_taken(accounts)):
        return
    events = [member_create_audit_event(member=member, actor=actor) for _line, member in members]
    events += [
        training_audit_event(training=training, member=training.member, actor=actor)
        for training in [training for _line, training in new_trainings] + grown
    ]
    events += [onboard_audit_event(account=account, request=request, actor=actor) for _, account, request in accounts]
    audit_record_many(events)
    report.members_created += len(members)
    report.trainings_recorded += len(new_trainings) + len(grown)
    report.accounts_created += len(accounts)


def _create_units(plan: _Plan, *, actor: User | None) -> None:
    """Every missing level of every path, parents first (the plan lists them in that order)."""
    new_units: dict[tuple[str, ...], tuple[int, str, NewUnit]] = {}
    for key, (line, path) in plan.units_to_create.items():
        levels = tuple(path.split(PATH_SEPARATOR))
        parent: OrgUnit | NewUnit | None = None
        if len(levels) > 1:
            if key[:-1] in new_units:
                parent = new_units[key[:-1]][2]
            else:
                found, _missing = plan.units.resolve(levels[:-1])
                parent = found[-1]
        kind = OrgUnit.Kind.SERVICE if len(levels) == 1 else OrgUnit.Kind.UNIT
        new_units[key] = (line, path, NewUnit(name=levels[-1], parent=parent, kind=kind))
    units_create_many([new for _line, _path, new in new_units.values()], actor=actor)
    for key, (line, path, new) in new_units.items():
        plan.report.errors += [(line, message) for message in new.errors]
        if new.unit is not None:
            plan.unit_for[key] = new.unit
            plan.report.units_created.append(path)


def _build_members(plan: _Plan) -> list[tuple[int, Member]]:
    built: list[tuple[int, Member]] = []
    for badge, new in plan.new_members.items():
        unit = plan.unit_for.get(new.unit_key)
        if unit is None:
            continue  # its unit failed, already reported
        member = member_build(full_name=new.full_name, badge_number=badge, unit=unit, email=new.email)
        try:
            # The unit was just read or written; the badge is new (the plan looked every one up).
            member.full_clean(exclude=["unit", "user"], validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            plan.report.errors += [(new.line, message) for message in error.messages]
            continue
        built.append((new.line, member))
    return built


def _build_trainings(plan: _Plan, holders: dict[str, Member]) -> tuple[list[tuple[int, Training]], list[Training]]:
    """New completions to insert, and completions on record gaining the platforms the file adds (the plan
    refused any other difference from the record)."""
    new: list[tuple[int, Training]] = []
    grown: list[Training] = []
    for planned in plan.trainings.values():
        member = holders.get(planned.badge)
        if member is None or not planned.needs_write:
            continue  # its member failed, already reported; or nothing to add
        if planned.existing is None:
            training = Training(
                member=member,
                course=planned.course,
                completed_on=planned.completed_on,
                expires_on=planned.expires_on,
                platforms=sorted(planned.platforms),
            )
            new.append((planned.line, training))
        else:
            planned.existing.platforms = sorted(planned.platforms)
            planned.existing.member = member
            grown.append(planned.existing)
    return new, grown


def _build_accounts(
    plan: _Plan, holders: dict[str, Member], *, actor: User | None
) -> list[tuple[int, SocialAccount, OnboardingRequest]]:
    report = plan.report
    built: list[tuple[int, SocialAccount, OnboardingRequest]] = []
    for row in plan.new_accounts:
        unit = plan.unit_for.get(row.unit_key)
        holder = holders.get(row.badge) if row.badge else None
        if unit is None or (row.badge and holder is None):
            continue  # its unit or member failed, already reported
        request = OnboardingRequest(
            platform=row.platform,
            handle=row.handle,
            kind=row.kind,
            unit=unit,
            holder=holder,
            external_id=row.external_id,
        )
        try:
            # Active is a wish: the account starts active when it can, else pending with the reason.
            account = account_build(
                request=request, actor=actor, status=None if row.status == Status.ACTIVE else row.status
            )
            # Unit and holder were just read or built; the plan checked duplicates against the registry.
            account.full_clean(
                exclude=["unit", "holder", "onboarded_by"], validate_unique=False, validate_constraints=False
            )
        except ValidationError as error:
            report.errors += [(row.line, message) for message in error.messages]
            continue
        built.append((row.line, account, request))
        if row.status == Status.ACTIVE and (missing := missing_credentials(row.platform, {})):
            report.notices.append(
                (
                    row.line,
                    f"{row.handle} is imported as pending: {_platform_label(row.platform)} needs "
                    f"{', '.join(missing)} before it can be polled; enter it on the account page.",
                )
            )
    return built


def _insert(
    model: type[Member] | type[Training] | type[SocialAccount],
    items: Sequence[tuple[int, Member | Training | SocialAccount]],
    report: ImportReport,
    conflicts: Callable[[], set[int]],
) -> bool:
    """One COPY for all the items. A unique index refusing one of them means someone else wrote the same
    record after the plan looked: the report names those lines (or the first, if they cannot be told)."""
    if not items:
        return True
    try:
        with transaction.atomic():
            copy_insert(model, [item for _line, item in items])
    except IntegrityError:
        lines = conflicts() or {items[0][0]}
        report.errors += [(line, CONCURRENT_CHANGE) for line in sorted(lines)]
        return False
    return True


def _badges_taken(members: list[tuple[int, Member]]) -> set[int]:
    badges = {member.badge_number for _line, member in members}
    taken = set(Member.objects.filter(badge_number__in=badges).values_list("badge_number", flat=True))
    return {line for line, member in members if member.badge_number in taken}


def _completions_taken(trainings: list[tuple[int, Training]]) -> set[int]:
    keys = {(training.member_id, training.course, training.completed_on) for _line, training in trainings}
    on_record = Training.objects.filter(member_id__in={member_id for member_id, _, _ in keys})
    taken = {(training.member_id, training.course, training.completed_on) for training in on_record}
    return {line for line, t in trainings if (t.member_id, t.course, t.completed_on) in taken}


def _handles_taken(accounts: list[tuple[int, SocialAccount, OnboardingRequest]]) -> set[int]:
    """The lines whose handle or external id someone registered after the plan looked them up."""
    handles = {account.handle.lower() for _, account, _ in accounts}
    external = {account.external_id for _, account, _ in accounts if account.external_id}
    taken = list(
        SocialAccount.objects.annotate(handle_lower=Lower("handle"))
        .filter(Q(handle_lower__in=handles) | Q(external_id__in=external))
        .values_list("platform", "handle_lower", "external_id")
    )
    taken_handles = {(platform, handle) for platform, handle, _ in taken}
    taken_external = {(platform, external_id) for platform, _, external_id in taken if external_id}
    return {
        line
        for line, account, _ in accounts
        if (account.platform, account.handle.lower()) in taken_handles
        or (account.platform, account.external_id) in taken_external
    }
