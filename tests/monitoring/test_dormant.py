"""The dormant accounts list: the governance definition of dormancy (monitoring.governance.dormant), the
list's filters (common.filters), scoping, and its CSV export (formula-safe, recorded as an export)."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent, SocialAccount
from monitoring.governance import dormant, last_active_days
from monitoring.models import DailyActivity
from monitoring.selectors import dormant_accounts
from overview.selectors.attention import attention
from tests.factories import FROZEN_NOW, HOSTILE, SocialAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("monitoring:dormant")
EXPORT = reverse("monitoring:dormant-export")
HX = {"HX-Request": "true"}
LONG_AGO = FROZEN_NOW - datetime.timedelta(days=400)
FORMULA = '=HYPERLINK("http://evil.example")'


@pytest.fixture
def quiet(org, frozen_now):
    """Dormant: never posted (onboarded long ago), or last posted 40 days ago; not dormant: posted 3 days
    ago, onboarded 5 days ago, or paused."""
    today = FROZEN_NOW.date()

    def account(handle, unit, *, last_post_days=None, onboarded=LONG_AGO, **fields):
        created = SocialAccountFactory.create(handle=handle, unit=org[unit], onboarded_at=onboarded, **fields)
        if last_post_days is not None:
            DailyActivity.objects.create(account=created, day=today - datetime.timedelta(days=last_post_days), posts=1)
        return created

    return {
        "never": account("NeverPosted", "11", platform="x", kind="unit"),
        "forty": account("FortyDays", "traffic", last_post_days=40, platform="bluesky", kind="corporate"),
        "busy": account("BusyOne", "11", last_post_days=3),
        "new": account("NewOne", "11", onboarded=FROZEN_NOW - datetime.timedelta(days=5)),
        "paused": account("PausedOne", "11", status=SocialAccount.Status.PAUSED),
        "south": account("SouthQuiet", "51"),
    }


def handles(response):
    body = response.content.decode()
    return {
        handle
        for handle in ("NeverPosted", "FortyDays", "BusyOne", "NewOne", "PausedOne", "SouthQuiet")
        if handle in body
    }


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_list_holds_exactly_the_governance_definitions_dormant_accounts(viewer, org, quiet):
    everything = last_active_days()
    today = FROZEN_NOW.date()
    expected = {
        a.handle
        for a in quiet.values()
        if a.unit.path.startswith(org["north"].path) and dormant(a, today=today, last_active=everything)
    }
    rows = dormant_accounts(viewer, today=today)
    assert {row.account.handle for row in rows} == expected == {"NeverPosted", "FortyDays"}
    forty = next(row for row in rows if row.account.handle == "FortyDays")
    assert forty.last_active == today - datetime.timedelta(days=40)
    assert forty.unit_path == "Metro Police Service/North Division/Traffic Team"
    assert forty.reason == f"No post since {forty.last_active} (40 days)."
    assert len(rows) == attention(org["north"]).accounts_dormant


def test_page_lists_filters_and_pages(client, viewer, org, quiet):
    client.force_login(viewer)
    response = client.get(URL)
    assert handles(response) == {"NeverPosted", "FortyDays"}
    assertContains(response, "2 dormant accounts")
    assert handles(client.get(URL, {"platform": "bluesky"}, headers=HX)) == {"FortyDays"}
    assert handles(client.get(URL, {"kind": "unit"}, headers=HX)) == {"NeverPosted"}
    assert handles(client.get(URL, {"unit": org["traffic"].pk}, headers=HX)) == {"FortyDays"}
    fragment = client.get(URL, {"unit": org["11"].pk}, headers=HX)
    assert "<html" not in fragment.content.decode()
    assert handles(fragment) == {"NeverPosted"}


def test_a_malformed_filter_is_named_on_the_page_and_refused_by_the_export(client, viewer, quiet):
    client.force_login(viewer)
    page = client.get(URL, {"platform": "myspace"})
    assert page.status_code == 200
    assertContains(page, "Some filters were not applied")
    assert handles(page) == {"NeverPosted", "FortyDays"}  # the invalid filter counts as not given
    export = client.get(EXPORT, {"platform": "myspace"})
    assert export.status_code == 400
    assert b"platform" in export.content
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORT, actor=viewer).exists()


def test_scoping_outsider_and_member(client, outsider, viewer, org, quiet, django_user_model):
    client.force_login(outsider)
    assert handles(client.get(URL)) == {"SouthQuiet"}
    assert client.get(URL, {"unit": org["11"].pk}).status_code == 404
    assert client.get(EXPORT, {"unit": org["11"].pk}).status_code == 404
    assert [row["account"] for row in read_csv(client.get(EXPORT))] == ["SouthQuiet"]
    nobody = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(nobody)
    assert client.get(URL).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_export_is_filtered_neutralised_and_recorded(client, viewer, org, quiet):
    quiet["never"].handle = FORMULA
    quiet["never"].save(update_fields=["handle"])
    client.force_login(viewer)
    rows = read_csv(client.get(EXPORT))
    assert [row["account"] for row in rows] == ["'" + FORMULA, "FortyDays"]
    never = rows[0]
    assert never["unit"] == "Metro Police Service/North Division/11 Station"
    assert never["last_active_on"] == ""
    assert never["onboarded_on"] == str(LONG_AGO.date())  # 10:00 in Toronto: the same day
    assert never["reason"].startswith("No post since it was onboarded")
    assert [row["account"] for row in read_csv(client.get(EXPORT, {"platform": "bluesky"}))] == ["FortyDays"]
    events = AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORT, actor=viewer).order_by("pk")
    assert list(events.values_list("target_id", flat=True)) == ["dormant", "dormant"]
    assert list(events)[-1].after["filters"] == "platform=bluesky"


def test_hostile_account_text_is_escaped(client, viewer, org, quiet):
    quiet["never"].handle = HOSTILE[:60]
    quiet["never"].save(update_fields=["handle"])
    client.force_login(viewer)
    body = client.get(URL).content.decode()
    assert "<script>" not in body.split("<main", 1)[1]
    assert "&lt;script&gt;" in body
    assertNotContains(client.get(URL), "<img src=x")
