"""Sibling unit names are unique on one key (case and whitespace folded), in the code and in the database,
and the CSV import authorizes on the units rows resolve to in the tree, never on names.

These failed before: the import authorized rows by folded unit names while sibling uniqueness used `iexact`
(whitespace kept), so the admin of one station could rename it `Traffic  Team` (two spaces) and import a row
for `…/North Division/Traffic Team`: the account and a training record landed in a unit whose pages
answered 404 to them.
"""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts_registry.models import OrgUnit, Role, SocialAccount, Training
from accounts_registry.services.accounts import OUT_OF_SCOPE_HINT
from accounts_registry.services.csv_io import registry_import
from accounts_registry.services.units import unit_create, unit_move, unit_rename
from tests.accounts_registry.registry_csv import csv_text, personal, unit_account
from tests.factories import SocialAccountFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

normalize_migration = importlib.import_module("accounts_registry.migrations.0002_normalize_unit_names")

TRAFFIC = "Metro Police Service/North Division/Traffic Team"


@pytest.fixture
def station_admin(org):
    user = UserFactory.create(username="station-11-admin")
    grant(user, Role.ADMIN, org["11"])
    return user


@pytest.mark.parametrize("name", ["Traffic  Team", " traffic team ", "TRAFFIC\tTEAM", "Traffic\u00a0Team"])
def test_a_unit_cannot_be_renamed_to_a_name_that_folds_to_a_siblings(org, station_admin, name):
    with pytest.raises(ValidationError, match="already exists at this level"):
        unit_rename(unit=org["11"], name=name, actor=station_admin)
    org["11"].refresh_from_db()
    assert org["11"].name == "11 Station"


def test_a_new_unit_cannot_take_a_name_that_folds_to_a_siblings(org):
    with pytest.raises(ValidationError, match="already exists at this level"):
        unit_create(name="traffic   TEAM", parent=org["north"], actor=None)
    assert unit_create(name="  Marine   Unit ", parent=org["north"], actor=None).name == "Marine Unit"


def test_a_unit_keeps_its_own_name_in_another_case(org):
    assert unit_rename(unit=org["traffic"], name="traffic team", actor=None).name == "traffic team"


def test_a_move_next_to_a_sibling_of_the_same_name_is_refused(org):
    twin = unit_create(name="TRAFFIC TEAM", parent=org["south"], actor=None)
    with pytest.raises(ValidationError):
        unit_move(unit=twin, new_parent=org["north"], actor=None)


def test_the_database_refuses_siblings_with_the_same_key_whatever_writes_them(org):
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.add_child(org["north"], create_kwargs={"name": "traffic team"})
    with pytest.raises(IntegrityError), transaction.atomic():
        OrgUnit.objects.filter(pk=org["11"].pk).update(name="TRAFFIC TEAM")
    # The same name under another parent is fine.
    OrgUnit.objects.add_child(org["south"], create_kwargs={"name": "Traffic Team"})


@pytest.mark.parametrize(
    "unit_path",
    [
        TRAFFIC,
        "metro police service/north  division/traffic   TEAM",
        " Metro Police Service / North Division / Traffic Team",
    ],
)
def test_a_station_admin_cannot_import_into_a_sibling_unit_however_it_is_spelled(org, station_admin, unit_path):
    text = csv_text(personal("tps_sneak", "N900", "Robin Hood", unit=unit_path))
    report = registry_import(source=text, actor=station_admin, dry_run=False, allowed_unit_paths=[org["11"].path])
    [(line, message)] = report.errors
    assert line == 2 and message.endswith("is outside your part of the organization.")
    assert not SocialAccount.objects.filter(handle="tps_sneak").exists()
    assert not Training.objects.exists()


def test_the_rename_attack_end_to_end(org, station_admin):
    with pytest.raises(ValidationError):
        unit_rename(unit=org["11"], name="Traffic  Team", actor=station_admin)
    text = csv_text(personal("tps_sneak", "N900", "Robin Hood", unit=TRAFFIC))
    report = registry_import(source=text, actor=station_admin, dry_run=False, allowed_unit_paths=[org["11"].path])
    assert not report.was_written
    assert SocialAccount.objects.filter(unit=org["traffic"]).count() == 0


def test_the_admins_own_unit_resolves_whatever_its_spelling_and_new_units_go_under_it(org, station_admin):
    text = csv_text(
        unit_account("tps_own", unit="metro police service/NORTH DIVISION/11  station"),
        unit_account("tps_new", unit="Metro Police Service/North Division/11 Station/Bike  Squad"),
    )
    report = registry_import(source=text, actor=station_admin, dry_run=False, allowed_unit_paths=[org["11"].path])
    assert report.errors == []
    assert SocialAccount.objects.get(handle="tps_own").unit == org["11"]
    bike = SocialAccount.objects.get(handle="tps_new").unit
    assert bike.name == "Bike Squad" and bike.path.startswith(org["11"].path)


def test_a_new_unit_whose_parent_resolves_outside_is_refused(org, station_admin):
    text = csv_text(unit_account("tps_new", unit="Metro Police Service/north division/Marine Unit"))
    report = registry_import(source=text, actor=station_admin, dry_run=False, allowed_unit_paths=[org["11"].path])
    assert len(report.errors) == 1 and "outside your part" in report.errors[0][1]
    assert not OrgUnit.objects.filter(name="Marine Unit").exists()


def test_an_existing_account_outside_the_importers_subtree_is_refused_without_details(org, owner, south_account):
    """Hole 8 too: the error neither names the unit, holder, kind or status nor differs by them."""
    row = unit_account(south_account.handle)
    report = registry_import(source=csv_text(row), actor=owner, dry_run=True, allowed_unit_paths=[org["north"].path])
    [(_line, message)] = report.errors
    assert message == f"X handle {south_account.handle} cannot be registered: {OUT_OF_SCOPE_HINT}"
    for leak in ("51 Station", "South", "personal", "holder", "unit", south_account.holder.badge_number):
        assert leak not in message


def test_an_external_id_outside_the_importers_subtree_is_refused_without_details(org, owner):
    SocialAccountFactory.create(platform="x", handle="SouthDesk", external_id="42", unit=org["51"])
    report = registry_import(
        source=csv_text(unit_account("tps_new", external_id="42")),
        actor=owner,
        dry_run=True,
        allowed_unit_paths=[org["north"].path],
    )
    assert report.errors == [(2, f"X external id 42 cannot be used: {OUT_OF_SCOPE_HINT}")]


# --- the data migration ------------------------------------------------------------------------------------


def test_the_data_migration_normalizes_names(org):
    OrgUnit.objects.filter(pk=org["51"].pk).update(name="  51   Station ")
    normalize_migration.normalize_names(django_apps, None)
    org["51"].refresh_from_db()
    assert org["51"].name == "51 Station"


def test_the_data_migration_stops_on_siblings_that_only_differ_by_spacing_and_names_them(org):
    # Possible before the unique index: "Traffic  Team" and "Traffic Team" have different lower() values.
    OrgUnit.objects.filter(pk=org["11"].pk).update(name="Traffic  Team")
    with pytest.raises(RuntimeError, match="under “North Division”: “Traffic  Team”, “Traffic Team”"):
        normalize_migration.normalize_names(django_apps, None)
    org["11"].refresh_from_db()
    assert org["11"].name == "Traffic  Team"  # nothing changed
