"""The printable unit report: the planted tree's figures, the period comparison, flags by severity, accounts
needing attention, training, scoping, escaping and a constant query count."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent, OrgUnit
from monitoring.models import DailyActivity, PollState
from tests.factories import (
    FROZEN_NOW,
    HOSTILE,
    MemberFactory,
    SocialAccountFactory,
    TrainingFactory,
    make_message,
    make_unit,
)
from tests.overview.conftest import PERIOD, plant_item

pytestmark = pytest.mark.django_db

QUERY = f"?start={PERIOD.start}&end={PERIOD.end}"
LONG_AGO = FROZEN_NOW - datetime.timedelta(days=400)


def report_url(unit: OrgUnit) -> str:
    return reverse("overview:report", args=[unit.pk]) + QUERY


def cell(body: str, row_id: str) -> list[str]:
    """The cells of the table row `row_id`, tags stripped."""
    row = re.search(rf'<tr id="{row_id}">(.*?)</tr>', body, re.S)
    assert row, row_id
    texts = [re.sub(r"<[^>]+>", " ", value).split() for value in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row[1], re.S)]
    return [words[0] if words else "" for words in texts]


def test_the_report_of_the_service_rolls_up_the_planted_tree_and_compares_periods(client, comms_manager, org, planted):
    client.force_login(comms_manager)
    response = client.get(report_url(org["root"]))
    assert response.status_code == 200
    body = response.content.decode()
    # Header: unit, period, the period compared with, generation time (America/Toronto).
    assertContains(response, "Unit report: Metro Police Service")
    assertContains(response, "Nov 11, 2026 \N{EN DASH} Nov 20, 2026 (10 days)")
    assertContains(response, "Nov 1, 2026 \N{EN DASH} Nov 10, 2026")
    assertContains(response, "Nov 20, 2026 10:00 EST")
    # Each account posts a power of ten a day, twice as much the period before: the digits tell the source.
    total = 111111 * PERIOD.days
    assertContains(response, f"<dd>{total} ")
    assert f"-{total} (-50%)" in body
    # The children's rows: North (10 + 100 + 1000 a day) and South (10000 + 100000 a day).
    north = cell(body, f"row-{org['north'].pk}")
    south = cell(body, f"row-{org['south'].pk}")
    assert north[2] == str(1110 * PERIOD.days) and south[2] == str(110000 * PERIOD.days)
    own = cell(body, f"row-{org['root'].pk}-own")
    assert own[2] == str(1 * PERIOD.days)
    # The charts, and their numbers as one table: a line per day (posts, messages received, replies).
    assert body.count('role="img"') >= 3
    [daily] = re.findall(r'<table class="compact daily-table">(.*?)</table>', body, re.S)
    lines = re.findall(r"<tr><td>(\w{3} \w{3} \d+)</td><td class=\"num\">(\d+)</td>", daily)
    assert len(lines) == PERIOD.days
    assert lines[0] == ("Wed Nov 11", "111111") and lines[-1] == ("Fri Nov 20", "111111")


def test_flags_by_severity_count_open_flags_and_those_raised_in_each_period(client, comms_manager, org, planted):
    client.force_login(comms_manager)
    body = client.get(report_url(org["root"])).content.decode()
    # Planted: critical open on 11, warning open on 11 and South, critical resolved on 51 (all raised today).
    assert cell(body, "severity-critical")[1:] == ["1", "2", "0"]
    assert cell(body, "severity-warning")[1:] == ["2", "2", "0"]
    assert cell(body, "severity-info")[1:] == ["0", "0", "0"]


def test_accounts_needing_attention_dormant_accounts_and_training(client, viewer, org, planted):
    failing = SocialAccountFactory.create(handle="broken_feed", unit=org["traffic"])
    PollState.objects.create(account=failing, consecutive_failures=3, last_error="HTTP 500")
    quiet = SocialAccountFactory.create(handle="quiet_one", unit=org["11"], onboarded_at=LONG_AGO)
    DailyActivity.objects.create(account=quiet, day=datetime.date(2026, 9, 1), posts=2)
    SocialAccountFactory.create(handle="quiet_south", unit=org["51"], onboarded_at=LONG_AGO)
    expiring = MemberFactory.create(full_name="Erin Expiring", unit=org["11"])
    TrainingFactory.create(
        member=expiring, completed_on=datetime.date(2025, 1, 1), expires_on=datetime.date(2026, 12, 1)
    )
    MemberFactory.create(full_name="Nora Nocourse", unit=org["traffic"])
    TrainingFactory.create(member=MemberFactory.create(full_name="Carl Current", unit=org["11"]))
    MemberFactory.create(full_name="Sid South", unit=org["51"])
    client.force_login(viewer)
    response = client.get(report_url(org["north"]))
    body = response.content.decode()
    assertContains(response, "Accounts needing attention (1)")
    assertContains(response, "@broken_feed")
    assertContains(response, "Dormant accounts (1)")
    assertContains(response, "@quiet_one")
    assertContains(response, "No post since 2026-09-01")
    assertNotContains(response, "quiet_south")
    assertNotContains(response, "Sid South")
    counts = {
        status: re.findall(rf'id="training-{status}">(\d+)<', body)[0]
        for status in ("current", "expiring", "expired", "none")
    }
    assert counts == {"current": "1", "expiring": "1", "expired": "0", "none": "1"}
    assert body.index("Nora Nocourse") < body.index("Erin Expiring")  # most worrying first
    assertNotContains(response, "Carl Current")  # current training: counted, not listed


def test_a_supervisor_sees_their_subtree_and_nothing_above_or_beside(client, viewer, outsider, org, planted):
    client.force_login(viewer)
    response = client.get(report_url(org["north"]))
    assert response.status_code == 200
    for hidden in ("South Division", "51 Station", "acct_south", str(111111 * PERIOD.days)):
        assertNotContains(response, hidden)
    assert client.get(report_url(org["root"])).status_code == 404
    assert client.get(report_url(org["south"])).status_code == 404
    client.force_login(outsider)
    for unit in ("north", "11", "root"):
        assert client.get(report_url(org[unit])).status_code == 404, unit
    assert client.get(report_url(org["south"])).status_code == 200


def test_the_unit_page_links_to_its_printable_report(client, viewer, org):
    client.force_login(viewer)
    response = client.get(reverse("registry:unit", args=[org["north"].pk]) + "?period=7")
    assertContains(response, f'href="{reverse("overview:report", args=[org["north"].pk])}?period=7"')
    assertContains(response, "Printable report")


def test_hostile_unit_account_member_and_post_text_are_escaped(client, viewer, org, planted):
    unit = make_unit(HOSTILE, org["north"])
    account = SocialAccountFactory.create(handle=HOSTILE[:30], unit=unit, onboarded_at=LONG_AGO)
    PollState.objects.create(account=account, consecutive_failures=1, last_error=HOSTILE)
    MemberFactory.create(full_name=HOSTILE, unit=unit)
    post = make_message(planted["11"], HOSTILE, created_at=datetime.datetime(2026, 11, 19, tzinfo=datetime.UTC))
    post.metrics = {"like_count": 5}
    post.save(update_fields=["metrics"])
    client.force_login(viewer)
    body = client.get(report_url(org["north"])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    body = client.get(report_url(unit)).content.decode()  # the hostile unit itself: header and title
    assert "<script>alert(1)</script>" not in body
    assert "Unit report: &lt;script&gt;" in body


def test_the_report_reads_a_constant_number_of_queries(client, comms_manager, org, planted):
    client.force_login(comms_manager)
    # One of each list's rows already (an empty list skips its unit-path query).
    SocialAccountFactory.create(handle="dormant_already", unit=org["11"], onboarded_at=LONG_AGO)
    MemberFactory.create(unit=org["11"])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(report_url(org["root"])).status_code == 200
        return len(queries)

    before = count()
    for number in range(5):
        unit = make_unit(f"Extra {number}", org["north"])
        account = SocialAccountFactory.create(unit=unit, onboarded_at=LONG_AGO)
        DailyActivity.objects.bulk_create(DailyActivity(account=account, day=day, posts=3) for day in PERIOD.day_list())
        plant_item(account, days_ago=1)
        TrainingFactory.create(member=MemberFactory.create(unit=unit))
        MemberFactory.create(unit=unit)
    assert count() == before


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_rollup_table_exports_as_csv_scoped_neutralised_and_recorded(client, viewer, outsider, org, planted):
    org["11"].name = "=11 Station"
    org["11"].save(update_fields=["name"])
    client.force_login(viewer)
    rows = read_csv(client.get(reverse("overview:rollup-export", args=[org["north"].pk]) + QUERY))
    assert [row["row"] for row in rows] == ["total", "sub-unit", "sub-unit", "own accounts"]
    total, station, traffic, own = rows
    assert station["unit"] == "Metro Police Service/North Division/=11 Station"
    assert (total["posts"], total["posts_before"]) == (str(1110 * PERIOD.days), str(2 * 1110 * PERIOD.days))
    assert (station["posts"], traffic["posts"], own["posts"]) == tuple(
        str(posts * PERIOD.days) for posts in (100, 1000, 10)
    )
    assert (station["open_flags_critical"], station["open_flags_warning"]) == ("1", "1")
    assert own["inbound"] == "" and total["inbound"] != ""
    assert (total["period_start"], total["period_end"]) == (str(PERIOD.start), str(PERIOD.end))
    assert list(
        AuditEvent.objects.filter(verb=AuditEvent.Verb.EXPORT, actor=viewer).values_list("target_id", flat=True)
    ) == ["rollup"]
    assert client.get(reverse("overview:rollup-export", args=[org["root"].pk])).status_code == 404
    client.force_login(outsider)
    assert client.get(reverse("overview:rollup-export", args=[org["north"].pk])).status_code == 404


def test_a_unit_named_like_a_formula_is_neutralised_in_the_export(client, comms_manager, org, planted):
    org["root"].name = "=HYPERLINK(1)"
    org["root"].save(update_fields=["name"])
    client.force_login(comms_manager)
    rows = read_csv(client.get(reverse("overview:rollup-export", args=[org["root"].pk]) + QUERY))
    assert rows[0]["unit"] == "'=HYPERLINK(1)"
    assert rows[1]["unit"] == "'=HYPERLINK(1)/North Division"
