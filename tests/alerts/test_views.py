"""The new pages and exports: preferences, report preview, audit log, and the CSV exports of every table
shown (flags, leaderboard, health, audit log) — scoped, formula-safe, recorded as exports."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from alerts.models import AlertKind, AlertPreference, Timing
from monitoring.models import PollState
from tests.factories import SocialAccountFactory, flag_on, inbox_item, make_message, make_rule

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://evil.example","click")'


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def exports_recorded(user):
    return list(AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORT, actor=user).values_list("target_id", flat=True))


# --- Preferences ---------------------------------------------------------------------------------


def test_preferences_page_saves_a_choice(client, officer):
    client.force_login(officer)
    page = client.get(reverse("alerts:preferences"))
    assert page.status_code == 200
    assert b'value="off"' in page.content
    response = client.post(
        reverse("alerts:preferences"),
        {kind: Timing.IMMEDIATELY for kind in AlertKind.values[:4]} | {AlertKind.TRAINING: Timing.DAILY},
    )
    assert response.status_code == 302
    assert AlertPreference.objects.get(user=officer).timing == Timing.DAILY


def test_comms_managers_are_not_offered_to_turn_emergencies_off(client, north_comms):
    client.force_login(north_comms)
    page = client.get(reverse("alerts:preferences"))
    assert page.content.count(b'value="off"') == 3  # every kind but possible emergencies
    response = client.post(reverse("alerts:preferences"), {kind: Timing.OFF for kind in AlertKind.values[:4]})
    assert response.status_code == 200  # the form refuses it
    assert not AlertPreference.objects.exists()


# --- Report preview --------------------------------------------------------------------------------


def test_report_preview_of_the_own_unit_and_an_outsider_refused(client, org, viewer, outsider, north_account):
    north_account.handle = "<script>alert(1)</script>"
    north_account.status = "needs_reconnect"
    north_account.save()
    client.force_login(viewer)
    page = client.get(reverse("alerts:report", args=[org["north"].pk]), {"kind": "monthly"})
    assert page.status_code == 200
    assert b"Monthly report" in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content and b"<script>alert(1)" not in page.content
    client.force_login(outsider)
    assert client.get(reverse("alerts:report", args=[org["north"].pk])).status_code == 404
    assert client.get(reverse("alerts:report", args=[org["root"].pk])).status_code == 404  # an ancestor
    assert client.get(reverse("alerts:report", args=[org["south"].pk])).status_code == 200


def test_reports_list_shows_the_top_of_each_subtree(client, org, viewer):
    client.force_login(viewer)
    page = client.get(reverse("alerts:reports"))
    assert page.status_code == 200
    assert reverse("alerts:report", args=[org["north"].pk]).encode() in page.content
    assert reverse("alerts:report", args=[org["south"].pk]).encode() not in page.content


# --- Audit log -------------------------------------------------------------------------------------


@pytest.fixture
def audit_trail(org, north_account, south_account):
    start = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC)
    for number in range(60):
        event = audit_record(actor=None, verb=AuditEvent.Verb.ACCOUNT_STATUS, target=north_account,
                             unit=org["11"], after={"n": number})  # fmt: skip
        AuditEvent.objects.filter(pk=event.pk).update(created_at=start + datetime.timedelta(minutes=number))
    audit_record(actor=None, verb=AuditEvent.Verb.ACCOUNT_STATUS, target=south_account, unit=org["51"],
                 target_repr=FORMULA)  # fmt: skip
    AuditEvent.objects.filter(unit=org["51"]).update(target_repr=FORMULA)


def test_the_audit_log_pages_with_the_one_cursor(client, owner, audit_trail):
    client.force_login(owner)
    first = client.get(reverse("registry:audit"))
    assert first.status_code == 200
    assert first.content.count(b"<tr>") == 1 + 50
    assert b"{&#x27;n&#x27;: 59}" in first.content  # newest first
    next_link = first.context["next_query"]
    second = client.get(reverse("registry:audit") + "?" + next_link)
    assert second.content.count(b"<tr>") == 1 + 10
    assert b"{&#x27;n&#x27;: 0}" in second.content
    assert FORMULA.encode() not in first.content + second.content  # South is not the North admin's
    tampered = client.get(reverse("registry:audit"), {"after": next_link.split("after=")[1] + "x"})
    assert tampered.status_code == 200 and tampered.content.count(b"<tr>") == 1 + 50  # the first page


def test_the_audit_log_filters_by_action_and_date(client, owner, audit_trail):
    client.force_login(owner)
    page = client.get(reverse("registry:audit"), {"verb": "unit.rename"})
    assert b"No changes recorded" in page.content
    page = client.get(reverse("registry:audit"), {"since": "2026-11-01", "until": "2026-11-01"})
    assert page.content.count(b"<tr>") == 1 + 50


def test_a_malformed_audit_filter_is_named_on_the_page_and_refused_by_the_export(client, owner, audit_trail):
    client.force_login(owner)
    page = client.get(reverse("registry:audit"), {"since": "yesterday", "verb": "unit.rename"})
    assert page.status_code == 200
    assert b"Some filters were not applied" in page.content  # the bad date is named, the rest applied
    assert b"No changes recorded" in page.content
    export = client.get(reverse("registry:audit-export"), {"verb": "no.such.verb"})
    assert export.status_code == 400
    assert b"verb" in export.content
    assert exports_recorded(owner) == []  # nothing was exported


def test_the_audit_log_is_for_admins(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("registry:audit")).status_code == 403
    assert client.get(reverse("registry:audit-export")).status_code == 403


def test_audit_export_is_scoped_and_neutralised(client, owner, admin_user, audit_trail):
    client.force_login(owner)
    rows = read_csv(client.get(reverse("registry:audit-export")))
    assert len(rows) == 60 and all(row["unit"] == "11 Station" for row in rows)
    assert exports_recorded(owner) == ["audit"]
    client.force_login(admin_user)
    rows = read_csv(client.get(reverse("registry:audit-export")))
    [south] = [row for row in rows if row["unit"] == "51 Station"]
    assert south["target"] == "'" + FORMULA


# --- Flags, leaderboard and health exports -----------------------------------------------------------


def test_flags_export_is_scoped_and_neutralised(client, viewer, outsider, north_account, south_account):
    rule = make_rule("Operational details", severity="critical")
    for account in (north_account, south_account):
        flag_on(rule, account, message=make_message(account, FORMULA), excerpt=FORMULA)
    client.force_login(viewer)
    [row] = read_csv(client.get(reverse("policies:export"), {"status": ""}))
    assert row["account"] == "TPS11Alex"
    assert row["excerpt"] == "'" + FORMULA
    assert exports_recorded(viewer) == ["policy-flags"]
    client.force_login(outsider)
    [row] = read_csv(client.get(reverse("policies:export"), {"status": ""}))
    assert row["account"] == "TPS51Sam"
    assert client.get(reverse("policies:export"), {"unit": north_account.unit_id}).status_code == 404


def test_leaderboard_export_is_scoped_and_neutralised(client, org, viewer, north_account):
    org["root"].name = "=Metro Police Service"
    org["root"].save()
    traffic = SocialAccountFactory.create(unit=org["traffic"])
    inbox_item(traffic)
    inbox_item(north_account)
    client.force_login(viewer)
    rows = read_csv(client.get(reverse("insights:leaderboard-export"), {"period": "7d"}))
    assert [row["rank"] for row in rows] == ["1", "2"]
    assert {row["unit"] for row in rows} == {
        "'=Metro Police Service/North Division/11 Station",
        "'=Metro Police Service/North Division/Traffic Team",
    }  # South's station is not the North supervisor's
    assert exports_recorded(viewer) == ["leaderboard"]


def test_health_export_is_scoped_and_neutralised(client, viewer, outsider, north_account, south_account):
    PollState.objects.create(account=north_account, consecutive_failures=2, last_error=FORMULA)
    client.force_login(viewer)
    [row] = read_csv(client.get(reverse("monitoring:health-export")))
    assert row["account"] == "TPS11Alex"
    assert row["last_error"] == "'" + FORMULA
    assert row["consecutive_failures"] == "2"
    client.force_login(outsider)
    [row] = read_csv(client.get(reverse("monitoring:health-export")))
    assert row["account"] == "TPS51Sam"


def test_the_inbox_export_still_goes_through_the_one_writer(client, viewer, north_account):
    inbox_item(north_account, text=FORMULA)
    client.force_login(viewer)
    [row] = read_csv(client.get(reverse("inbox:export")))
    assert row["text"] == "'" + FORMULA
