"""The weekly digest and the monthly report: a planted week, compared with the week before, scoped to
the recipient's subtree (never an ancestor's or a sibling's numbers), sent once with an HTML part."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts_registry.models import Role
from alerts.models import AlertDelivery, AlertKind
from alerts.selectors import ReportKind, report_build, report_period
from alerts.services.deliveries import alert_deliveries_send
from alerts.services.reports import monthly_reports_send, report_text, weekly_digests_send
from engagement.models import TriageItem
from monitoring.models import DailyActivity
from overview.periods import Period
from overview.selectors.rollup import rollup
from tests.factories import (
    HOSTILE,
    SocialAccountFactory,
    UserFactory,
    flag_on,
    grant,
    inbox_item,
    make_message,
    make_rule,
)

pytestmark = pytest.mark.django_db

# Monday 23 November 2026, 08:00 in Toronto: the digest covers Mon 16 to Sun 22, compared with Mon 9 to Sun 15.
MONDAY = datetime.datetime(2026, 11, 23, 13, 0, tzinfo=datetime.UTC)
IN_WEEK = datetime.datetime(2026, 11, 18, 17, 0, tzinfo=datetime.UTC)
WEEK_BEFORE = IN_WEEK - datetime.timedelta(days=7)


def answered(account, when, seconds):
    return inbox_item(
        account, now=when, minutes_ago=0, status=TriageItem.Status.ANSWERED,
        answered_at=when + datetime.timedelta(seconds=seconds), first_response_seconds=seconds,
    )  # fmt: skip


def flag(rule, account):
    message = make_message(account, "a post", created_at=IN_WEEK)
    return flag_on(rule, account, created_at=IN_WEEK, message=message)


@pytest.fixture
def week(org, north_account, south_account):
    """North (11 Station and Traffic Team), South and the service's own account, with planted figures."""
    traffic = SocialAccountFactory.create(handle="TPSTraffic", unit=org["traffic"])
    corporate = SocialAccountFactory.create(handle="TorontoPolice", unit=org["root"], kind="corporate")
    day = IN_WEEK.date()
    for account, posts, replies in (
        (north_account, 3, 2),
        (traffic, 5, 0),
        (south_account, 100, 40),
        (corporate, 50, 9),
    ):
        DailyActivity.objects.create(account=account, day=day, posts=posts, replies=replies)
    DailyActivity.objects.create(account=north_account, day=WEEK_BEFORE.date(), posts=1, replies=1)
    for seconds in (600, 1200, 1800):
        answered(north_account, IN_WEEK, seconds)
    inbox_item(north_account, now=IN_WEEK, minutes_ago=0)  # still waiting
    for seconds in (3600, 3600):
        answered(traffic, WEEK_BEFORE, seconds)
    for _ in range(10):
        answered(south_account, IN_WEEK, 60)
    answered(corporate, IN_WEEK, 60)
    critical = make_rule("Operational details", severity="critical")
    mild = make_rule("Tone", severity="info")
    flag(critical, north_account)
    flag(mild, traffic)
    for _ in range(5):
        flag(critical, south_account)
    flag(critical, corporate)
    return {"traffic": traffic, "corporate": corporate}


def figures(report):
    return {line.label: (line.current, line.previous, line.change) for line in report.lines}


def test_the_weekly_period_is_last_monday_to_sunday():
    period = report_period(ReportKind.WEEKLY, now=MONDAY)
    assert (period.start.date(), period.last_day) == (datetime.date(2026, 11, 16), datetime.date(2026, 11, 22))
    before = period.previous()
    assert (before.start.date(), before.last_day) == (datetime.date(2026, 11, 9), datetime.date(2026, 11, 15))


def test_the_monthly_period_is_last_calendar_month():
    period = report_period(ReportKind.MONTHLY, now=datetime.datetime(2026, 12, 1, 13, 0, tzinfo=datetime.UTC))
    assert (period.start.date(), period.last_day) == (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    before = period.previous()
    assert (before.start.date(), before.last_day) == (datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))


def test_a_supervisors_digest_holds_their_subtree_compared_with_the_week_before(week, org, viewer):
    report = report_build(viewer, unit=org["north"], kind=ReportKind.WEEKLY, now=MONDAY)
    lines = figures(report)
    assert lines["Posts"] == ("8", "1", "+7")  # 11 Station 3 + Traffic 5; never South's 100 or the service's 50
    assert lines["Replies by our accounts"] == ("2", "1", "+1")
    assert lines["Inbound messages"] == ("4", "2", "+2")
    assert lines["Answered"] == ("3", "2", "+1")
    assert lines["Still waiting (of the period)"] == ("1", "0", "+1")
    assert lines["Policy flags"] == ("2", "0", "+2")
    assert lines["Critical policy flags"] == ("1", "0", "+1")
    assert lines["Response rate"] == ("75%", "100%", "-25 pts")
    assert lines["Median first response"] == ("20 min", "1 h 00 min", "-40 min")


def test_the_digests_activity_is_the_overviews_for_the_same_days(week, org, viewer):
    """One definition: the digest's posts and replies are the roll-up's sums over the week's days."""
    report = report_build(viewer, unit=org["north"], kind=ReportKind.WEEKLY, now=MONDAY)
    for period, found in ((report.period, report.current_figures), (report.previous, report.previous_figures)):
        days = Period(start=timezone.localdate(period.start), end=period.last_day)
        counts = rollup(org["north"], days, now=MONDAY).root.figures.counts
        assert (found.posts, found.replies) == (counts.posts, counts.replies)
    assert (report.current_figures.posts, report.previous_figures.posts) == (8, 1)


def test_a_station_supervisors_digest_leaves_out_the_sibling_team_and_the_division(week, org):
    station_supervisor = UserFactory.create(username="station-supervisor", password=None)
    grant(station_supervisor, Role.SUPERVISOR, org["11"])
    lines = figures(report_build(station_supervisor, unit=org["11"], kind=ReportKind.WEEKLY, now=MONDAY))
    assert lines["Posts"][0] == "3"
    assert lines["Inbound messages"] == ("4", "0", "+4")  # Traffic's two of the week before are not theirs
    assert lines["Policy flags"][0] == "1"


def test_accounts_needing_attention_are_those_of_the_subtree(week, org, viewer, north_account, south_account):
    for account in (north_account, south_account):
        account.status = "needs_reconnect"
        account.save()
    report = report_build(viewer, unit=org["north"], kind=ReportKind.WEEKLY, now=MONDAY)
    assert [row.account for row in report.attention] == [north_account]


def test_nobody_gets_a_report_of_a_unit_they_cannot_see(week, org, outsider):
    from django.http import Http404

    with pytest.raises(Http404):
        report_build(outsider, unit=org["north"], kind=ReportKind.WEEKLY, now=MONDAY)


def test_weekly_digests_go_once_to_each_supervisor_with_an_html_part(week, org, viewer, outsider, north_comms):
    week["traffic"].handle = "TPS_<b>Traffic</b>"
    week["traffic"].save()
    week["traffic"].status = "needs_reconnect"
    week["traffic"].save()
    with time_machine.travel(MONDAY, tick=False):
        assert weekly_digests_send() == 2  # North's and South's supervisors; comms managers get the monthly
        assert weekly_digests_send() == 0  # a re-run of the beat entry sends nothing twice
    alert_deliveries_send(delivery_ids=list(AlertDelivery.objects.values_list("pk", flat=True)))
    by_recipient = {email.to[0]: email for email in mail.outbox}
    north = by_recipient[viewer.email]
    assert north.subject == "Chorus: Weekly digest, Nov 16 to Nov 22, 2026 — Metro Police Service/North Division"
    assert "Posts" in north.body and "(before: 1, +7)" in north.body  # the plain-text part
    assert isinstance(north, EmailMultiAlternatives)
    [(html, mimetype)] = north.alternatives
    assert mimetype == "text/html"
    assert "TPS_&lt;b&gt;Traffic&lt;/b&gt;" in str(html) and "<b>Traffic</b>" not in str(html)
    south = by_recipient[outsider.email]
    assert isinstance(south, EmailMultiAlternatives)
    assert "TPS_" not in south.body and "TPS_" not in str(south.alternatives[0][0])


def test_monthly_reports_go_to_comms_managers(week, org, north_comms, service_comms, viewer):
    with time_machine.travel(datetime.datetime(2026, 12, 1, 13, 0, tzinfo=datetime.UTC), tick=False):
        assert monthly_reports_send() == 2
    assert set(AlertDelivery.objects.values_list("kind", "user_id")) == {
        (AlertKind.MONTHLY_REPORT, north_comms.pk),
        (AlertKind.MONTHLY_REPORT, service_comms.pk),
    }
    service = AlertDelivery.objects.get(user=service_comms)
    assert "Monthly report, November 2026 — Metro Police Service" in service.subject


def test_the_plain_text_part_never_changes_the_text_it_quotes(week, org, viewer, north_account):
    north_account.handle = HOSTILE[:60]
    north_account.status = "needs_reconnect"
    north_account.save()
    text = report_text(report_build(viewer, unit=org["north"], kind=ReportKind.WEEKLY, now=MONDAY))
    assert HOSTILE[:60] in text
