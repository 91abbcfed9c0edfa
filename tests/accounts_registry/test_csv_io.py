import csv
import datetime
import io
import subprocess
import sys
import time
from typing import cast

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts_registry.models import AuditEvent, Member, OrgUnit, RoleGrant, SocialAccount, Training
from accounts_registry.services.accounts import OUT_OF_SCOPE_HINT
from accounts_registry.services.csv_io import (
    REGISTRY_COLUMNS,
    neutralise_cell,
    registry_export,
    registry_import,
    unneutralise_cell,
)
from accounts_registry.services.csv_io.plan import _Plan
from accounts_registry.services.units import unit_by_path, unit_create
from tests.accounts_registry.registry_csv import COURSE, NORTH_11, csv_text, personal, unit_account
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(REGISTRY_COLUMNS)


@pytest.fixture(autouse=True)
def mastodon_example_is_public(settings):
    """The generated Mastodon handles live on mastodon.example, which does not resolve (no DNS in tests):
    the operator allowlist stands in for a public instance. tests/common/test_outbound.py tests the guard."""
    settings.CHORUS_OUTBOUND_ALLOWLIST = ["https://mastodon.example"]


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (OrgUnit, Member, Training, SocialAccount, RoleGrant, AuditEvent)
    }


PLATFORM_HANDLES = {
    "x": lambda n: f"tpsx{n:04d}",
    "instagram": lambda n: f"tps.ig.{n:04d}",
    "facebook": lambda n: f"tpsfb{n:04d}",
    "bluesky": lambda n: f"tps{n:04d}.bsky.social",
    "mastodon": lambda n: f"tps{n:04d}@mastodon.example",
}


def generated_rows(count: int = 1000, members: int = 300) -> list[dict[str, str]]:
    """Deterministic registry: 1 service, 4 divisions, 15 units (20 units); mixed platforms and kinds."""
    units = [
        f"Toronto Police Service/Division {division}/Unit {division}{unit}"
        for division in range(1, 5)
        for unit in "ABCDE"[: 4 if division < 4 else 3]
    ]
    platforms = list(PLATFORM_HANDLES)
    rows = []
    personal_rows = 0
    for n in range(count):
        platform = platforms[n % len(platforms)]
        unit = units[n % len(units)]
        handle = PLATFORM_HANDLES[platform](n)
        if n % 10 < 7:  # 70% personal, held by one of `members` officers
            badge = personal_rows % members
            personal_rows += 1
            rows.append(
                personal(
                    handle, f"G{badge:05d}", f"Officer {badge:03d}", unit=units[badge % len(units)], platform=platform
                )
                | {"holder_email": f"officer{badge}@police.example"}
            )
        else:
            rows.append(unit_account(handle, unit=unit, platform=platform, external_id=f"ext-{n}"))
        if n % 50 == 0:
            rows[-1]["status"] = "paused"
    return rows


# --- Success, dry run, idempotence --------------------------------------------------------------


def test_import_of_1000_rows_creates_units_members_trainings_and_accounts():
    text = csv_text(*generated_rows())
    started, cpu_started = time.perf_counter(), time.process_time()
    report = registry_import(source=text, actor=None, dry_run=False)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"1,000-row import: {elapsed:.2f} s ({cpu:.2f} s of CPU in this process)")
    assert report.errors == []
    assert report.rows_read == 1000
    assert report.accounts_created == 1000
    assert report.accounts_unchanged == 0
    assert report.members_created == 300
    assert report.trainings_recorded == 300
    assert len(report.units_created) == 20
    assert "Toronto Police Service/Division 4/Unit 4C" in report.units_created
    assert SocialAccount.objects.count() == 1000
    assert Member.objects.count() == 300
    assert OrgUnit.objects.count() == 20
    # Members hold accounts on several platforms: one training row authorizes all of them.
    training = Training.objects.get(member__badge_number="G00000")
    held = set(SocialAccount.objects.filter(holder=training.member).values_list("platform", flat=True))
    assert len(held) > 1
    assert set(training.platforms) == held
    assert AuditEvent.objects.count() == 20 + 300 + 300 + 1000
    # X needs no credential: active. Other platforms wait for theirs, and the report says so.
    assert SocialAccount.objects.get(handle="tpsx0005").status == "active"
    pending = SocialAccount.objects.get(handle="tpsfb0002")
    assert pending.status == "pending"
    assert "access_token" in pending.status_reason
    assert any(line == 4 and "pending" in message for line, message in report.notices)
    assert SocialAccount.objects.get(handle="tpsx0050").status == "paused"
    assert Member.objects.get(badge_number="G00007").unit.name == "Unit 2D"


def test_dry_run_reports_the_same_and_writes_nothing(org):
    before = table_counts()
    report = registry_import(source=csv_text(*generated_rows(200, 60)), actor=None, dry_run=True)
    assert report.errors == []
    assert report.dry_run
    assert (report.accounts_created, report.members_created, report.trainings_recorded) == (200, 60, 60)
    assert len(report.units_created) == 20
    assert table_counts() == before
    assert unit_by_path("Toronto Police Service") is None


def test_reimporting_the_same_file_changes_nothing():
    text = csv_text(*generated_rows(150, 40))
    first = registry_import(source=text, actor=None, dry_run=False)
    assert first.errors == []
    assert first.accounts_created == 150
    counts = table_counts()
    last_change = max(SocialAccount.objects.values_list("updated_at", flat=True))
    second = registry_import(source=text, actor=None, dry_run=False)
    assert second.errors == []
    assert (second.accounts_created, second.accounts_unchanged) == (0, 150)
    assert (second.members_created, second.trainings_recorded, second.units_created) == (0, 0, [])
    assert table_counts() == counts
    assert max(SocialAccount.objects.values_list("updated_at", flat=True)) == last_change
    # Rows asked to be active but waiting for credentials are not flagged as different every time.
    assert not any("status" in message for _, message in second.notices)


# --- Statements: constant, whatever the number of rows --------------------------------------------


def import_statements(text: str, **kwargs) -> tuple[int, list[str]]:
    """SQL statements of a dry run (which writes everything, then rolls back), and their texts. The rows
    themselves go by COPY (common.bulk.copy_insert), after one statement taking their ids."""
    with CaptureQueriesContext(connection) as context:
        report = registry_import(source=text, actor=None, dry_run=True, **kwargs)
    assert report.errors == []
    return len(context), [query["sql"] for query in context.captured_queries]


def test_an_import_of_3n_rows_takes_as_many_statements_as_one_of_n(org, north_member):
    # Both files create the same 20 units, their members, trainings and accounts (N: 120 rows, 3N: 360).
    small, _ = import_statements(csv_text(*generated_rows(120, 40)))
    large, statements = import_statements(csv_text(*generated_rows(360, 120)))
    assert small == large
    # One batch of ids (and one COPY) for each bulk write: members, trainings, accounts, and the audit events
    # twice (the units' below the service, then the rest).
    assert sum("nextval" in statement for statement in statements) == 5
    # The units: the service through unit_create (its row and its audit event), then a level at a time below.
    assert sum(statement.startswith("INSERT") for statement in statements) == 2 + 2

    # Into an existing registry, within an admin's scope: the first file again (unchanged), new officers on
    # existing units, and five more accounts for an officer whose training on record gains platforms.
    first = generated_rows(120, 40)
    registry_import(source=csv_text(*first), actor=None, dry_run=False)
    scope = [cast("OrgUnit", unit_by_path("Toronto Police Service")).path]
    officer = next(row for row in first if row["holder_badge"] == "G00000")
    gains = [officer | {"platform": p, "handle": PLATFORM_HANDLES[p](9000)} for p in PLATFORM_HANDLES]

    def newcomers(count: int) -> list[dict[str, str]]:
        rows = generated_rows(count, count // 3)
        for row in rows:
            row["handle"] = row["handle"].replace("tps", "new", 1)
            if row.get("holder_badge"):
                row["holder_badge"] = row["holder_badge"].replace("G", "H")
            if row.get("external_id"):
                row["external_id"] = "new-" + row["external_id"]
        return rows

    small, _ = import_statements(csv_text(*first, *gains, *newcomers(120)), allowed_unit_paths=scope)
    large, _ = import_statements(csv_text(*first, *gains, *newcomers(360)), allowed_unit_paths=scope)
    assert small == large


def test_units_created_at_once_make_a_sound_tree_in_name_order(org):
    north = "Metro Police Service/North Division"
    text = csv_text(
        unit_account("tps_z", unit=f"{north}/Zulu Squad/Team B"),
        unit_account("tps_a", unit=f"{north}/Alpha Squad/Team B"),
        unit_account("tps_a2", unit=f"{north}/Alpha Squad/Team  A"),
        unit_account("tps_a3", unit=f"{north}/alpha squad/team c/Night"),
        unit_account("tps_new", unit="Zeta Service/Élan/Bravo"),
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == []
    assert len(report.units_created) == 10
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])  # paths, depths, numchild all consistent

    def children(path: str) -> list[str]:
        return [unit.name for unit in OrgUnit.objects.get_children(cast("OrgUnit", unit_by_path(path)))]

    # The new squads took their sorted places among the division's units; their teams are in name order.
    assert children(north) == ["11 Station", "Alpha Squad", "Traffic Team", "Zulu Squad"]
    assert children(f"{north}/Alpha Squad") == ["Team A", "Team B", "team c"]
    assert children("Zeta Service/Élan") == ["Bravo"]
    # A unit added later through the ordinary service takes its sorted place among them.
    unit_create(name="Team AB", parent=cast("OrgUnit", unit_by_path(f"{north}/Alpha Squad")), actor=None)
    assert children(f"{north}/Alpha Squad") == ["Team A", "Team AB", "Team B", "team c"]
    assert OrgUnit.objects.find_problems() == ([], [], [], [], [])
    audited = sorted(event.after["name"] for event in AuditEvent.objects.filter(verb="unit.create"))
    assert audited == sorted(["Team AB", *(" ".join(path.split("/")[-1].split()) for path in report.units_created)])


def test_an_account_registered_by_someone_else_during_the_import_names_its_line(org, monkeypatch):
    plan_rows = _Plan.__init__

    def someone_registers_after_the_plan_looked(self, **kwargs):
        plan_rows(self, **kwargs)
        SocialAccountFactory(handle="tps_race", platform="x", unit=org["south"])

    monkeypatch.setattr(_Plan, "__init__", someone_registers_after_the_plan_looked)
    text = csv_text(unit_account("tps_fine"), unit_account("TPS_Race"), unit_account("tps_fine_too"))
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == [(3, "Someone else changed the registry during the import; try again.")]
    assert not SocialAccount.objects.exists()
    assert not AuditEvent.objects.exists()


# --- Errors: line numbers, reasons, nothing written ---------------------------------------------


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(org):
    before = table_counts()
    text = csv_text(
        unit_account("GoodOne", unit="Metro Police Service/North Division/Brand New Team"),  # line 2, good
        unit_account("bad handle!"),  # 3
        unit_account("tps_ok", platform="myspace"),  # 4
        personal("tps_dates", "N1", "Pat Dates", training_completed_on="15/01/2026"),  # 5
        personal("tps_order", "N2", "Pat Order", training_completed_on="2026-02-01", training_expires_on="2026-01-01"),
        unit_account("tps_kind", kind="gang"),  # 7
        {"unit_path": NORTH_11, "platform": "x", "handle": "tps_nobadge", "kind": "personal"},  # 8
        unit_account("tps_status", status="deleted"),  # 9
        unit_account("tps_path", unit="Metro Police Service//11 Station"),  # 10
        personal("tps_newbie", "N3", ""),  # 11: unknown badge without a name
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    lines = {line for line, _ in report.errors}
    assert lines == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    reasons = dict(report.errors)
    assert "not a valid X handle" in reasons[3]
    assert "not a supported platform" in reasons[4]
    assert "YYYY-MM-DD" in reasons[5]
    assert "before training_completed_on" in reasons[6]
    assert "not an account kind" in reasons[7]
    assert "needs holder_badge" in reasons[8]
    assert "not an account status" in reasons[9]
    assert "not a unit path" in reasons[10]
    assert "give holder_name" in reasons[11]
    assert report.accounts_created == 0
    assert report.units_created == []
    assert table_counts() == before
    assert unit_by_path("Metro Police Service/North Division/Brand New Team") is None


def test_a_holder_who_left_is_refused_and_the_good_rows_are_not_written(org):
    gone = cast("Member", MemberFactory(unit=org["11"], full_name="Gone Away", left_on=datetime.date(2025, 1, 1)))
    TrainingFactory(member=gone, expires_on=datetime.date(2099, 1, 1))
    before = table_counts()
    text = csv_text(
        personal("tps_fresh", "N10", "Fresh Officer"),
        unit_account("tps_gone", holder_badge=gone.badge_number),
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    assert [line for line, _ in report.errors] == [3]
    assert "left the organization" in report.errors[0][1]
    assert table_counts() == before


def test_header_errors_name_the_columns():
    report = registry_import(source="unit_path,platform,handle,colour\n", actor=None, dry_run=False)
    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 1
    assert "unknown column(s): colour" in message
    assert "missing column(s): kind, holder_badge, holder_name" in message

    report = registry_import(source=HEADER + ",handle\n", actor=None, dry_run=False)
    assert "repeated column(s): handle" in report.errors[0][1]

    assert "empty" in registry_import(source="", actor=None, dry_run=False).errors[0][1]
    assert "no rows" in registry_import(source=HEADER + "\n", actor=None, dry_run=False).errors[0][1]


def test_optional_columns_may_be_left_out_and_header_case_is_ignored(org):
    columns = [column.upper() for column in REGISTRY_COLUMNS if column not in {"external_id", "status"}]
    text = ",".join(columns) + f"\n{NORTH_11},x,tps_minimal,unit,,,,,,\n"
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == []
    assert SocialAccount.objects.get(handle="tps_minimal").status == "active"


def test_wrong_field_count_is_reported(org):
    text = HEADER + f"\n{NORTH_11},x,tps_short,unit\n"
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == [(2, "This row has 4 fields; the header has 12.")]


def test_duplicate_rows_in_the_file_name_both_lines(org):
    text = csv_text(
        unit_account("TPS_Dup"),
        unit_account("tps_other", external_id="42"),
        unit_account("tps_dup"),  # same handle, other case
        unit_account("tps_third", external_id="42"),
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == [
        (4, "X handle tps_dup is also on line 2: one row per account."),
        (5, "X external id 42 is also on line 3."),
    ]
    assert not SocialAccount.objects.exists()


def test_untrained_holder_is_refused_but_the_rows_own_training_counts(org):
    lapsed = cast("Member", MemberFactory(unit=org["11"], full_name="Lee Lapsed", badge_number="L1"))
    TrainingFactory(member=lapsed, completed_on=datetime.date(2020, 1, 1), expires_on=datetime.date(2021, 1, 1))
    no_training = {key: "" for key in ("training_course", "training_completed_on", "training_expires_on")}
    refused = registry_import(
        source=csv_text(personal("tps_lee", "L1", "Lee Lapsed") | no_training), actor=None, dry_run=False
    )
    assert refused.errors == [
        (2, "The holder (badge L1) has no current training that authorizes X: add it in the training columns.")
    ]
    # A training that authorizes another platform does not count either.
    other = registry_import(
        source=csv_text(
            personal("tps_lee", "L1", "Lee Lapsed", training_completed_on="2026-03-01"),
            personal(
                "tps.lee",
                "L1",
                "Lee Lapsed",
                platform="instagram",
                training_course="Instagram only",
                training_completed_on="2026-03-01",
            ),
        ),
        actor=None,
        dry_run=True,
    )
    assert other.errors == []  # each row brings its own training
    accepted = registry_import(
        source=csv_text(personal("tps_lee", "L1", "Lee Lapsed", training_completed_on="2026-03-01")),
        actor=None,
        dry_run=False,
    )
    assert accepted.errors == []
    assert (accepted.accounts_created, accepted.trainings_recorded, accepted.members_created) == (1, 1, 0)
    training = Training.objects.get(member=lapsed, completed_on=datetime.date(2026, 3, 1))
    assert training.platforms == ["x"]


def test_a_recorded_training_gains_the_platform_but_its_expiry_is_not_rewritten(org, north_member):
    training = north_member.trainings.get()
    training.platforms = ["x"]
    training.save()
    base = personal(
        "tps.alex",
        north_member.badge_number,
        north_member.full_name,
        platform="instagram",
        training_completed_on=training.completed_on.isoformat(),
        training_expires_on=training.expires_on.isoformat(),
    )
    report = registry_import(source=csv_text(base), actor=None, dry_run=False)
    assert report.errors == []
    assert report.trainings_recorded == 1
    training.refresh_from_db()
    assert training.platforms == ["instagram", "x"]

    changed = registry_import(
        source=csv_text(base | {"handle": "tps.alex2", "training_expires_on": "2099-12-31"}), actor=None, dry_run=False
    )
    assert len(changed.errors) == 1
    assert "Record a renewal as a new completion" in changed.errors[0][1]


def test_conflicts_with_the_registry_are_errors_and_identical_rows_are_unchanged(org, north_account, north_member):
    identical = personal(
        "tps11alex",
        north_member.badge_number,
        north_member.full_name,
        training_course="",
        training_completed_on="",
        training_expires_on="",
    )  # handles compare case-insensitively
    elsewhere = identical | {"unit_path": "Metro Police Service/North Division/Traffic Team"}
    renamed = identical | {"handle": "tps_alex_new", "holder_name": "Alexandra Nord"}
    report = registry_import(source=csv_text(identical), actor=None, dry_run=False)
    assert (report.errors, report.accounts_unchanged, report.accounts_created) == ([], 1, 0)

    before = table_counts()
    report = registry_import(source=csv_text(identical, elsewhere, renamed), actor=None, dry_run=False)
    assert [line for line, _ in report.errors] == [3, 3, 4]
    reasons = [message for _, message in report.errors]
    assert "is also on line 2" in reasons[0]
    assert "already registered with another unit" in reasons[1]
    assert f"is not the name registered for badge {north_member.badge_number}" in reasons[2]
    assert north_member.full_name not in reasons[2]  # the file never learns the registered name
    assert table_counts() == before


def test_two_rows_may_not_give_a_new_badge_two_names(org):
    text = csv_text(personal("tps_a", "N7", "Robin Hood"), personal("tps_b", "N7", "Robin Wood"))
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == [(3, "holder_name “Robin Wood” differs from line 2 for badge N7.")]


def test_allowed_unit_paths_confine_rows_and_new_units_to_the_subtree(org):
    allowed = [org["north"].path]
    text = csv_text(
        unit_account("tps_north", unit="Metro Police Service/North Division/New Squad"),
        unit_account("tps_south", unit="Metro Police Service/South Division/51 Station"),
        unit_account("tps_root", unit="Other Service/Anything"),
    )
    report = registry_import(source=text, actor=None, dry_run=False, allowed_unit_paths=allowed)
    assert report.errors == [
        (3, "“Metro Police Service/South Division/51 Station” is outside your part of the organization."),
        (4, "“Other Service/Anything” is outside your part of the organization."),
    ]
    ok = registry_import(
        source=csv_text(unit_account("tps_north", unit="metro police service/north division/New Squad")),
        actor=None,
        dry_run=False,
        allowed_unit_paths=allowed,
    )
    assert ok.errors == []
    assert ok.units_created == ["Metro Police Service/North Division/New Squad"]


def test_a_holder_outside_the_admins_subtree_is_refused(org, south_member):
    text = csv_text(personal("tps_borrow", south_member.badge_number, ""))
    report = registry_import(source=text, actor=None, dry_run=False, allowed_unit_paths=[org["north"].path])
    assert report.errors == [(2, f"Badge {south_member.badge_number} cannot be used: {OUT_OF_SCOPE_HINT}")]


def test_requested_status_is_kept_and_active_without_credentials_becomes_pending(org):
    text = csv_text(
        unit_account("tpsfbpage", platform="facebook"),
        unit_account("tps_paused", status="paused"),
        unit_account("tps_pending", status="pending"),
        unit_account("tps_retired", status="RETIRED"),
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == []
    statuses = dict(SocialAccount.objects.values_list("handle", "status"))
    assert statuses == {
        "tpsfbpage": "pending",
        "tps_paused": "paused",
        "tps_pending": "pending",
        "tps_retired": "retired",
    }
    assert report.notices == [
        (
            2,
            "tpsfbpage is imported as pending: Facebook needs access_token before it can be polled; "
            "enter it on the account page.",
        )
    ]


# --- Export, round trip, formula injection, encoding ---------------------------------------------


def exported(queryset=None) -> str:
    out = io.StringIO()
    registry_export(accounts_queryset=queryset if queryset is not None else SocialAccount.objects.all(), out=out)
    return out.getvalue()


def test_export_writes_one_row_per_account_with_unit_path_and_holder_training(
    frozen_now, org, north_account, south_account
):
    SocialAccountFactory(handle="tps_traffic", unit=org["traffic"], platform="x", external_id="99")
    rows = list(csv.DictReader(io.StringIO(exported())))
    assert [row["handle"] for row in rows] == ["TPS11Alex", "tps_traffic", "TPS51Sam"]
    alex = rows[0]
    assert alex["unit_path"] == NORTH_11
    assert alex["holder_name"] == "Alex North"
    assert alex["training_course"] == COURSE
    assert alex["training_completed_on"] == "2026-01-24"  # 300 days before the frozen now
    assert alex["training_expires_on"] == "2028-01-24"
    assert rows[1]["holder_badge"] == ""
    assert rows[1]["external_id"] == "99"
    assert list(rows[0]) == list(REGISTRY_COLUMNS)


def test_export_takes_constant_queries(org, django_assert_num_queries):
    def build(n):
        for index in range(n):
            member = MemberFactory(unit=org["11"])
            TrainingFactory(member=member)
            SocialAccountFactory(kind="personal", holder=member, unit=org["11"], handle=f"q{n}_{index}")

    build(2)
    with django_assert_num_queries(3):
        exported()
    build(10)
    with django_assert_num_queries(3):
        exported()


def test_export_then_import_round_trips_unchanged(org, north_account, south_account):
    lapsed = MemberFactory(unit=org["traffic"], full_name="Old Timer")
    TrainingFactory(member=lapsed, completed_on=datetime.date(2019, 1, 1), expires_on=datetime.date(2020, 1, 1))
    SocialAccountFactory(handle="tps.old", platform="instagram", kind="personal", holder=lapsed, unit=org["traffic"])
    SocialAccountFactory(handle="tpsnorthpage", platform="facebook", unit=org["north"], status="pending")
    SocialAccountFactory(handle="tps_gone", unit=org["51"], status="retired", external_id="123")
    SocialAccountFactory(handle="metro.bsky.social", platform="bluesky", unit=org["root"], kind="corporate")
    text = exported()
    before = table_counts()
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == []
    assert (report.accounts_unchanged, report.accounts_created, report.trainings_recorded) == (6, 0, 0)
    assert report.notices == []
    assert table_counts() == before


def test_formula_cells_are_neutralised_and_round_trip(org):
    hostile = '=HYPERLINK("http://evil.example","click")'
    text = csv_text(
        personal("tps_formula", "F1", hostile, holder_email="f1@police.example"),
        personal("tps_at", "F2", "'@SUM(A1:A9)"),  # quoted by a careful author: the quote is not part of the name
        personal("=cmd", "F3", "Handle Formula"),
    )
    report = registry_import(source=text, actor=None, dry_run=False)
    assert [line for line, _ in report.errors] == [4]  # a handle can never start with "="
    text = "\n".join(line for index, line in enumerate(text.splitlines()) if index != 3) + "\n"
    report = registry_import(source=text, actor=None, dry_run=False)
    assert report.errors == []
    assert Member.objects.get(badge_number="F1").full_name == hostile
    assert Member.objects.get(badge_number="F2").full_name == "@SUM(A1:A9)"

    out = exported()
    rows = {row[2]: row for row in csv.reader(io.StringIO(out))}
    assert rows["tps_formula"][6] == "'" + hostile
    assert rows["tps_at"][6] == "'@SUM(A1:A9)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows.values() for cell in row)
    before = table_counts()
    again = registry_import(source=out, actor=None, dry_run=False)
    assert (again.errors, again.accounts_unchanged) == ([], 2)
    assert table_counts() == before


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "'=x", "''-x", "plain", "it's", "'quoted'", "", "'"],
)
def test_neutralising_is_exactly_undone(value):
    assert unneutralise_cell(neutralise_cell(value)) == value
    assert not neutralise_cell(value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_byte_order_mark_is_ignored(org):
    text = "\ufeff" + csv_text(unit_account("tps_bom"))
    report = registry_import(source=io.StringIO(text), actor=None, dry_run=False)
    assert report.errors == []
    assert SocialAccount.objects.filter(handle="tps_bom").exists()


def test_quoted_fields_with_newlines_keep_line_numbers_right(org):
    text = csv_text(
        personal("tps_multi", "M1", "Multi\nLine"),  # line 2-3
        unit_account("bad!"),  # line 4
    )
    report = registry_import(source=text, actor=None, dry_run=True)
    assert [line for line, _ in report.errors] == [4]


# --- Commands ---------------------------------------------------------------------------------


def test_import_command_imports_and_reports(org, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(csv_text(unit_account("tps_cmd", unit=NORTH_11 + "/Night Shift")), encoding="utf-8-sig")
    out = io.StringIO()
    call_command("import_registry", str(path), stdout=out)
    output = out.getvalue()
    assert "Accounts created: 1" in output
    assert f"+ {NORTH_11}/Night Shift" in output
    assert SocialAccount.objects.filter(handle="tps_cmd").exists()

    out = io.StringIO()
    call_command("import_registry", str(path), stdout=out)
    assert "Accounts created: 0" in out.getvalue()
    assert "Accounts unchanged: 1" in out.getvalue()


def test_import_command_dry_run_writes_nothing(org, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(csv_text(unit_account("tps_dry")), encoding="utf-8")
    before = table_counts()
    out = io.StringIO()
    call_command("import_registry", str(path), "--dry-run", stdout=out)
    assert "Dry run: nothing was written." in out.getvalue()
    assert "Accounts would be created: 1" in out.getvalue()
    assert table_counts() == before


def test_import_command_fails_with_each_error_line(org, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_text(csv_text(unit_account("tps_fine"), unit_account("bad!"), unit_account("x", kind="?")))
    out, err = io.StringIO(), io.StringIO()
    before = table_counts()
    with pytest.raises(CommandError, match=r"2 error\(s\); nothing was imported"):
        call_command("import_registry", str(path), stdout=out, stderr=err)
    assert "line 3: “bad!” is not a valid X handle" in err.getvalue()
    assert "line 4: kind “?” is not an account kind" in err.getvalue()
    assert table_counts() == before


def test_import_command_missing_or_non_utf8_file(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_registry", str(tmp_path / "nope.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\nSûreté,x,abc,unit,,,,,,,,\n").encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_registry", str(latin))


def test_import_command_exits_with_status_1(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("nonsense\n")
    # A header error is found before anything is written (the system checks only ask the server its version),
    # so a separate process can run it.
    result = subprocess.run(
        [sys.executable, "manage.py", "import_registry", str(path), "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 1
    assert "line 1: Bad header" in result.stderr


def test_export_command_to_stdout_and_file(org, north_account, south_account, tmp_path):
    out = io.StringIO()
    call_command("export_registry", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {row["handle"] for row in rows} == {"TPS11Alex", "TPS51Sam"}  # the command exports everything

    target = tmp_path / "export.csv"
    call_command("export_registry", "-o", str(target), stdout=io.StringIO())
    assert target.read_bytes().decode() == out.getvalue()
    report = registry_import(source=out.getvalue(), actor=None, dry_run=True)
    assert (report.errors, report.accounts_unchanged) == ([], 2)
