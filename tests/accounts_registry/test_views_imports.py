import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts_registry.forms.imports import MAX_UPLOAD_BYTES
from accounts_registry.models import AuditEvent, Member, OrgUnit, SocialAccount, Training
from accounts_registry.services.csv_io import REGISTRY_COLUMNS
from accounts_registry.services.units import unit_by_path
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("registry:import")
EXPORT = reverse("registry:export")
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
NORTH_11 = "Metro Police Service/North Division/11 Station"
SOUTH_51 = "Metro Police Service/South Division/51 Station"


def csv_text(*rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REGISTRY_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in REGISTRY_COLUMNS])
    return out.getvalue()


def personal(handle, badge, name, *, unit=NORTH_11, platform="x"):
    return {
        "unit_path": unit,
        "platform": platform,
        "handle": handle,
        "kind": "personal",
        "holder_badge": badge,
        "holder_name": name,
        "training_course": "Social Media Spokesperson",
        "training_completed_on": "2026-01-15",
        "training_expires_on": "2099-01-15",
    }


def upload(text, name="registry.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def registry_counts():
    return {model.__name__: model.objects.count() for model in (OrgUnit, Member, Training, SocialAccount, AuditEvent)}


# --- Import: access -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    for url in (IMPORT, EXPORT):
        response = client.get(url)
        assertRedirects(response, f"{reverse('account_login')}?next={url}", fetch_redirect_response=False)
    response = client.post(IMPORT, {"step": "confirm", "csv_text": "x"})
    assert response.status_code == 302


def test_users_who_administer_nothing_get_403_on_import(client, viewer, outsider):
    text = csv_text({"unit_path": NORTH_11, "platform": "x", "handle": "tps_sneaky", "kind": "unit"})
    for user in (viewer, outsider):
        client.force_login(user)
        assert client.get(IMPORT).status_code == 403
        assert client.post(IMPORT, {"step": "preview", "file": upload(text)}).status_code == 403
        assert client.post(IMPORT, {"step": "confirm", "csv_text": text}).status_code == 403
    assert not SocialAccount.objects.filter(handle="tps_sneaky").exists()


def test_admin_sees_the_upload_form(client, owner):
    client.force_login(owner)
    response = client.get(IMPORT)
    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, "unit_path")
    assertContains(response, 'name="file"')
    assertNotContains(response, 'name="csv_text"')


# --- Import: preview then confirm ------------------------------------------------------------------


def test_admin_previews_then_confirms(client, admin_user, north_member):
    text = csv_text(
        personal("tps_new_one", "N100", "Nora New"),
        personal("tps.new.one", "N100", "Nora New", platform="instagram"),
        {
            "unit_path": "Metro Police Service/North Division/Marine Unit",
            "platform": "x",
            "handle": "TPSMarine",
            "kind": "unit",
        },
    )
    client.force_login(admin_user)
    before = registry_counts()
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assert response.status_code == 200
    assertContains(response, "Preview")
    assertContains(response, '<dt>Accounts to create</dt><dd class="num">3</dd>', html=False)
    assertContains(response, "Metro Police Service/North Division/Marine Unit")
    assertContains(response, "tps.new.one")  # the first rows, in a table
    assertContains(response, "Line 3:")  # the instagram account starts pending: a note, not an error
    assertContains(response, 'name="csv_text"')
    assertContains(response, "Import 3 rows")
    assert registry_counts() == before  # the preview is a dry run

    response = client.post(IMPORT, {"step": "confirm", "csv_text": text})
    assertRedirects(response, IMPORT, fetch_redirect_response=False)
    assert Member.objects.get(accounts__handle="tps_new_one").full_name == "Nora New"
    assert SocialAccount.objects.get(handle="TPSMarine").unit.name == "Marine Unit"
    account = SocialAccount.objects.get(handle="tps.new.one")
    assert account.status == "pending"
    assert account.onboarded_by == admin_user
    event = AuditEvent.objects.filter(verb="account.onboard").latest("id")
    assert event.actor == admin_user
    response = client.get(IMPORT)
    assertContains(response, "3 account(s) created")

    # Confirming the same text again is harmless: everything is unchanged.
    counts = registry_counts()
    response = client.post(IMPORT, {"step": "confirm", "csv_text": text}, follow=True)
    assertContains(response, "0 account(s) created, 3 unchanged")
    assert registry_counts() == counts


def test_a_file_of_10000_rows_is_previewed_and_imported_in_the_page(client, owner):
    rows = [
        {"unit_path": f"{NORTH_11}/Squad {index % 7}", "platform": "x", "handle": f"tps_{index}", "kind": "unit"}
        for index in range(10_000)
    ]
    text = csv_text(*rows)
    client.force_login(owner)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assertContains(response, '<dt>Accounts to create</dt><dd class="num">10000</dd>', html=False)
    assert not SocialAccount.objects.filter(handle__startswith="tps_").exists()
    response = client.post(IMPORT, {"step": "confirm", "csv_text": text})
    assertRedirects(response, IMPORT, fetch_redirect_response=False)
    assert SocialAccount.objects.filter(handle__startswith="tps_", unit__name__startswith="Squad").count() == 10_000
    assert AuditEvent.objects.filter(verb="account.onboard", actor=owner).count() == 10_000


def test_preview_of_a_file_already_imported_offers_no_confirm(client, admin_user, north_account, north_member):
    text = csv_text(
        {
            "unit_path": NORTH_11,
            "platform": "x",
            "handle": "TPS11Alex",
            "kind": "personal",
            "holder_badge": north_member.badge_number,
        }
    )
    client.force_login(admin_user)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assertContains(response, "Nothing to import")
    assertNotContains(response, 'name="csv_text"')


def test_preview_lists_each_bad_line_and_offers_no_confirm(client, owner):
    text = csv_text(
        personal("tps_fine", "N1", "Fine Officer"),
        personal("bad handle", "N2", "Bad Handle"),
        {
            "unit_path": NORTH_11,
            "platform": "x",
            "handle": "tps_untrained",
            "kind": "personal",
            "holder_badge": "N3",
            "holder_name": "No Training",
        },
    )
    client.force_login(owner)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assert response.status_code == 200
    assertContains(response, "Line 3: “bad handle” is not a valid X handle")
    assertContains(response, "Line 4: The holder (badge N3) has no current training that authorizes X")
    assertContains(response, "Nothing was imported")
    assertNotContains(response, 'name="csv_text"')


def test_owner_importing_into_another_division_gets_an_outside_error_and_nothing_is_written(client, owner):
    text = csv_text(
        personal("tps_north_ok", "N1", "North Officer"),
        {"unit_path": SOUTH_51, "platform": "x", "handle": "tps_south_new", "kind": "unit"},
        {
            "unit_path": "Metro Police Service/South Division/New South Squad",
            "platform": "x",
            "handle": "tps_squad",
            "kind": "unit",
        },
    )
    client.force_login(owner)
    before = registry_counts()
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assertContains(response, f"Line 3: “{SOUTH_51}” is outside your part of the organization.")
    assertContains(response, "Line 4: “Metro Police Service/South Division/New South Squad” is outside")
    # Confirm re-validates the posted text in full: a hand-crafted post does not get past it.
    response = client.post(IMPORT, {"step": "confirm", "csv_text": text})
    assert response.status_code == 200
    assertContains(response, "is outside your part of the organization")
    assert registry_counts() == before
    assert unit_by_path("Metro Police Service/South Division/New South Squad") is None


def test_owner_may_create_units_inside_their_division(client, owner):
    text = csv_text(
        {
            "unit_path": "Metro Police Service/North Division/Bike Squad",
            "platform": "x",
            "handle": "tps_bikes",
            "kind": "unit",
        }
    )
    client.force_login(owner)
    response = client.post(IMPORT, {"step": "confirm", "csv_text": text})
    assertRedirects(response, IMPORT)
    unit = unit_by_path("Metro Police Service/North Division/Bike Squad")
    assert unit is not None
    assert SocialAccount.objects.get(handle="tps_bikes").unit == unit


def test_hostile_values_are_escaped_in_the_preview(client, admin_user):
    text = csv_text(personal("tps_hostile", "H1", SCRIPT), personal("tps_hostile2", "H2", IMG))
    client.force_login(admin_user)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    body = response.content.decode()
    assert SCRIPT not in body
    assert IMG not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_hostile_value_in_an_error_is_escaped(client, admin_user):
    text = csv_text({"unit_path": NORTH_11, "platform": "x", "handle": SCRIPT, "kind": "unit"})
    client.force_login(admin_user)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assertContains(response, "Line 2:")
    assert SCRIPT not in response.content.decode()


def test_too_large_and_non_utf8_uploads_are_refused_clearly(client, owner):
    client.force_login(owner)
    big = csv_text() + "x" * (MAX_UPLOAD_BYTES + 1)
    response = client.post(IMPORT, {"step": "preview", "file": upload(big)})
    assert response.status_code == 200
    assertContains(response, "the limit is 2.0")
    latin = (csv_text() + f"{NORTH_11},x,Sûreté,unit,,,,,,,,\n").encode("latin-1")
    response = client.post(IMPORT, {"step": "preview", "file": upload(latin)})
    assertContains(response, "The file is not UTF-8 text")


def test_byte_order_mark_is_accepted(client, owner):
    text = "\ufeff" + csv_text({"unit_path": NORTH_11, "platform": "x", "handle": "tps_bom", "kind": "unit"})
    client.force_login(owner)
    response = client.post(IMPORT, {"step": "preview", "file": upload(text)})
    assertContains(response, "Import 1 row")


def test_confirm_without_text_asks_for_the_file_again(client, owner):
    client.force_login(owner)
    response = client.post(IMPORT, {"step": "confirm"})
    assert response.status_code == 200
    assertContains(response, "upload it again")


# --- Export -------------------------------------------------------------------------------------


def download(client):
    response = client.get(EXPORT)
    assert response.status_code == 200
    return response, response.content.decode("utf-8-sig")


def test_viewer_export_is_scoped_to_their_division(client, viewer, north_account, south_account):
    client.force_login(viewer)
    response, body = download(client)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="chorus-registry-{today}.csv"'
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["handle"] for row in rows] == ["TPS11Alex"]
    assert rows[0]["unit_path"] == NORTH_11
    assert "TPS51Sam" not in body
    assert "Sam South" not in body


def test_outsider_export_lacks_the_north_account(client, outsider, north_account, south_account):
    client.force_login(outsider)
    _, body = download(client)
    assert "TPS51Sam" in body
    assert "TPS11Alex" not in body
    assert "Alex North" not in body


def test_user_without_unit_visibility_gets_403_on_export(client, north_account):
    client.force_login(UserFactory())
    assert client.get(EXPORT).status_code == 403


def test_export_neutralises_formulas(client, viewer, org):
    member = MemberFactory(unit=org["11"], full_name='=HYPERLINK("http://evil.example","x")', email="a@b.example")
    TrainingFactory(member=member, course="@SUM(1)")
    SocialAccountFactory(handle="tps_formula", kind="personal", holder=member, unit=org["11"])
    client.force_login(viewer)
    _, body = download(client)
    row = next(row for row in csv.DictReader(io.StringIO(body)) if row["handle"] == "tps_formula")
    assert row["holder_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["training_course"] == "'@SUM(1)"


def test_export_query_count_does_not_grow_with_accounts(client, viewer, org, north_account, django_assert_num_queries):
    client.force_login(viewer)
    client.get(EXPORT)
    with CaptureQueriesContext(connection) as context:
        download(client)
    small = len(context)
    for index in range(8):
        member = MemberFactory(unit=org["traffic"])
        TrainingFactory(member=member)
        SocialAccountFactory(handle=f"tps_more_{index}", kind="personal", holder=member, unit=org["traffic"])
        SocialAccountFactory(handle=f"tps_page_{index}", unit=org["11"])
    with django_assert_num_queries(small):
        _, body = download(client)
    assert body.count("tps_more_") == 8


def test_downloaded_export_uploads_back_with_nothing_to_import(client, owner, north_account, org):
    SocialAccountFactory(handle="tpsnorthfb", platform="facebook", unit=org["north"], status="pending")
    client.force_login(owner)
    response = client.get(EXPORT)
    assert response.content.startswith("\ufeff".encode())
    before = registry_counts()
    response = client.post(IMPORT, {"step": "preview", "file": upload(response.content)})
    assertContains(response, "Nothing to import")
    assertContains(response, '<dt>Accounts already registered</dt><dd class="num">2</dd>', html=False)
    assert registry_counts() == before


def test_files_with_too_many_rows_are_sent_to_the_command(client, owner):
    rows = [
        {"unit_path": NORTH_11, "platform": "x", "handle": f"tps_{index}", "kind": "unit"} for index in range(10_001)
    ]
    client.force_login(owner)
    before = registry_counts()
    response = client.post(IMPORT, {"step": "preview", "file": upload(csv_text(*rows))})
    assertContains(response, "The file has 10,001 rows; the page imports at most 10,000.")
    response = client.post(IMPORT, {"step": "confirm", "csv_text": csv_text(*rows)})
    assertContains(response, "upload it again")
    assert registry_counts() == before
