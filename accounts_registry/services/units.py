"""The organization tree: create, rename, move, deactivate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.models import AuditEvent, OrgUnit, unit_name_key, unit_name_normalized
from accounts_registry.services.audit import audit_record

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


def unit_get_or_create_path(*, path: str, actor: User | None, created: list[OrgUnit] | None = None) -> OrgUnit:
    """Find the unit at "Root/Child/Grandchild", creating missing levels. Must run inside a transaction."""
    names = [part.strip() for part in path.split(PATH_SEPARATOR)]
    if not path.strip() or any(not name for name in names):
        raise ValidationError(f"“{path}” is not a unit path (levels separated by “/”, none empty).")
    parent: OrgUnit | None = None
    for depth, name in enumerate(names):
        unit = _sibling_named(parent, name)
        if unit is None:
            kind = OrgUnit.Kind.SERVICE if depth == 0 else OrgUnit.Kind.UNIT
            unit = unit_create(name=name, parent=parent, kind=kind, actor=actor)
            if created is not None:
                created.append(unit)
        parent = unit
    assert parent is not None
    return parent


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
