"""The organization tree: create, rename, move, deactivate."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.models import AuditEvent, OrgUnit, unit_name_key, unit_name_normalized
from accounts_registry.services.audit import audit_event, audit_record, audit_record_many

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PATH_SEPARATOR = "/"


def _check_name(name: str) -> str:
    name = unit_name_normalized(name)
    if not name:
        raise ValidationError("A unit needs a name.")
    if PATH_SEPARATOR in name:
        raise ValidationError(f"A unit name cannot contain “{PATH_SEPARATOR}” (it separates levels in unit paths).")
    return name


def _sibling_named(parent: OrgUnit | None, name: str) -> OrgUnit | None:
    """The sibling whose name has the same key (unit_name_key: case and whitespace folded), if any."""
    siblings = OrgUnit.objects.get_root_nodes() if parent is None else OrgUnit.objects.get_children(parent)
    return siblings.annotate(name_key=Lower("name")).filter(name_key=unit_name_key(name)).first()


def _refused_sibling(error: IntegrityError, name: str) -> ValidationError:
    """Only a concurrent write of the same sibling name gets past the checks to the unique index."""
    return ValidationError(f"“{name}” already exists at this level.")


@transaction.atomic
def unit_create(*, name: str, parent: OrgUnit | None, kind: str = OrgUnit.Kind.UNIT, actor: User | None) -> OrgUnit:
    name = _check_name(name)
    if _sibling_named(parent, name) is not None:
        raise ValidationError(f"“{name}” already exists at this level.")
    fields = {"name": name, "kind": kind}
    try:
        with transaction.atomic():
            unit = (
                OrgUnit.objects.add_root(create_kwargs=fields)
                if parent is None
                else OrgUnit.objects.add_child(parent, create_kwargs=fields)
            )
    except IntegrityError as error:
        raise _refused_sibling(error, name) from error
    audit_record(
        actor=actor, verb=AuditEvent.Verb.UNIT_CREATE, target=unit, unit=unit, after={"name": name, "kind": kind}
    )
    return unit


@dataclasses.dataclass(eq=False)
class NewUnit:
    """A unit to create with units_create_many, under an existing unit (or none: a root) or another NewUnit."""

    name: str
    parent: OrgUnit | NewUnit | None
    kind: str = OrgUnit.Kind.UNIT
    unit: OrgUnit | None = None  # once created
    errors: list[str] = dataclasses.field(default_factory=list)  # if it could not be
    children: int = 0


def units_create_many(new_units: list[NewUnit], *, actor: User | None) -> None:
    """Create units, each listed after its parent, in a number of statements that grows with the tree's depth,
    not with the number of units. Failures are left in each NewUnit's `errors` (and its subtree is skipped).

    A unit under an existing unit (or a new root) goes through unit_create: it takes its sorted place among
    the siblings already there. The units under a unit created here have no sibling but each other: they are
    inserted at once, a level at a time, their paths numbered in name order as the database collates names
    (the order treebeard's sorted insertion compares in), with the same audit events as unit_create.
    """
    generation: dict[NewUnit, int] = {}
    for new in new_units:
        if isinstance(new.parent, NewUnit):
            new.parent.children += 1
            generation[new] = generation[new.parent] + 1
        else:
            generation[new] = 0
    first = [new for new in new_units if generation[new] == 0]
    for new in first:
        try:
            new.unit = unit_create(name=new.name, parent=cast("OrgUnit | None", new.parent), kind=new.kind, actor=actor)
        except ValidationError as error:
            new.errors = list(error.messages)
    # A sorted insertion renumbers the siblings after it, those created just before among them: read the
    # paths again before numbering children under them.
    fresh = OrgUnit.objects.in_bulk([new.unit.pk for new in first if new.unit is not None and new.children])
    for new in first:
        if new.unit is not None and new.unit.pk in fresh:
            new.unit = fresh[new.unit.pk]
            new.unit.numchild = new.children
    OrgUnit.objects.bulk_update(fresh.values(), ["numchild"])
    events = []
    for depth in range(1, max(generation.values(), default=0) + 1):
        level = []
        for new in new_units:
            if generation[new] == depth and cast("NewUnit", new.parent).unit is not None:
                try:
                    new.name = _check_name(new.name)
                except ValidationError as error:
                    new.errors = list(error.messages)
                    continue
                level.append(new)
        rank = _collation_rank([new.name for new in level])
        steps: dict[NewUnit, int] = {}
        for new in sorted(level, key=lambda new: rank[new.name]):
            new_parent = cast("NewUnit", new.parent)
            parent = new_parent.unit
            assert parent is not None
            step = steps[new_parent] = steps.get(new_parent, 0) + 1
            new.unit = OrgUnit(
                name=new.name,
                kind=new.kind,
                path=OrgUnit._get_path(parent.path, parent.depth + 1, step),
                depth=parent.depth + 1,
                numchild=new.children,
            )
        created = OrgUnit.objects.bulk_create([new.unit for new in level if new.unit is not None])
        events += [
            audit_event(
                actor=actor,
                verb=AuditEvent.Verb.UNIT_CREATE,
                target=unit,
                unit=unit,
                after={"name": unit.name, "kind": unit.kind},
            )
            for unit in created
        ]
    audit_record_many(events)


def _collation_rank(names: list[str]) -> dict[str, int]:
    """Each name's place in the database's order of names (one query, whatever their number)."""
    if not names:
        return {}
    if connection.vendor != "postgresql":
        # SQLite (the demo) compares text as bytes of UTF-8 by default: the order of code points.
        return {name: place for place, name in enumerate(sorted(set(names)))}
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM unnest(%s::text[]) AS name GROUP BY name ORDER BY name", [names])
        return {name: place for place, (name,) in enumerate(cursor.fetchall())}


def unit_by_path(path: str) -> OrgUnit | None:
    parent: OrgUnit | None = None
    for name in (part.strip() for part in path.split(PATH_SEPARATOR)):
        parent = _sibling_named(parent, name)
        if parent is None:
            return None
    return parent


@transaction.atomic
def unit_rename(*, unit: OrgUnit, name: str, actor: User | None) -> OrgUnit:
    name = _check_name(name)
    if name == unit.name:
        return unit
    existing = _sibling_named(OrgUnit.objects.get_parent(unit), name)
    if existing is not None and existing.pk != unit.pk:
        raise ValidationError(f"“{name}” already exists at this level.")
    before = unit.name
    unit.name = name
    try:
        with transaction.atomic():
            unit.save(update_fields=["name", "updated_at"])
    except IntegrityError as error:
        unit.name = before
        raise _refused_sibling(error, name) from error
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.UNIT_RENAME,
        target=unit,
        unit=unit,
        before={"name": before},
        after={"name": name},
    )
    return unit


@transaction.atomic
def unit_move(*, unit: OrgUnit, new_parent: OrgUnit, actor: User | None) -> OrgUnit:
    """Move a unit and its whole subtree under `new_parent`. Grants on the subtree travel with it."""
    unit.refresh_from_db()
    new_parent.refresh_from_db()
    if new_parent.path.startswith(unit.path):
        raise ValidationError("A unit cannot be moved under itself or one of its own sub-units.")
    old_parent = OrgUnit.objects.get_parent(unit)
    if old_parent is not None and old_parent.pk == new_parent.pk:
        return unit
    if _sibling_named(new_parent, unit.name) is not None:
        raise ValidationError(f"“{new_parent.name}” already has a unit named “{unit.name}”.")
    OrgUnit.objects.move(unit, new_parent, pos="sorted-child")
    unit.refresh_from_db()
    # Paths of the whole subtree changed: mark it updated, so caches keyed on units (rule scopes) rebuild.
    unit.subtree().update(updated_at=timezone.now())
    unit.refresh_from_db()
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.UNIT_MOVE,
        target=unit,
        unit=unit,
        before={"parent": old_parent.name if old_parent else None},
        after={"parent": new_parent.name},
    )
    return unit


@transaction.atomic
def unit_set_active(*, unit: OrgUnit, is_active: bool, actor: User | None) -> OrgUnit:
    """Deactivate (or reactivate) a unit and its subtree. Its accounts and members stay as they are."""
    if unit.is_active == is_active:
        return unit
    unit.subtree().update(is_active=is_active)
    unit.refresh_from_db()
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.UNIT_ACTIVATE if is_active else AuditEvent.Verb.UNIT_DEACTIVATE,
        target=unit,
        unit=unit,
        before={"is_active": not is_active},
        after={"is_active": is_active},
    )
    return unit
