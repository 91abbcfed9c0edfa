"""Each role's home, the tree's branches, the unit and account activity sections: content, scoping,
escaping and a constant query count."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from engagement.models import Feedback
from monitoring.models import DailyActivity
from tests.factories import HOSTILE, PolicyRuleFactory, SocialAccountFactory, flag_on, make_message, make_unit
from tests.overview.conftest import PERIOD, plant_item

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
QUERY = f"?start={PERIOD.start}&end={PERIOD.end}"


def test_comms_manager_home_is_the_organization_overview(client, comms_manager, org, planted):
    client.force_login(comms_manager)
    response = client.get(reverse("home") + QUERY)
    assertContains(response, "Needs attention now")
    assertContains(response, "Metro Police Service")
    assertContains(response, "North Division")
    assertContains(response, "South Division")
    # The planted figures: the service's posts, one emergency waiting, six questions past the target.
    assertContains(response, f"<dd>{111111 * PERIOD.days} ")
    assertContains(response, "<strong>1</strong> possible emergency waiting")
    assertContains(response, "<strong>6</strong> questions waiting past the target")
    assertContains(response, "<strong>1</strong> critical flag not reviewed")
    assertContains(response, f"?category=emergency&amp;unit={org['root'].pk}")


def test_supervisor_home_starts_at_their_unit_and_shows_nothing_above_or_beside(client, viewer, org, planted):
    client.force_login(viewer)
    response = client.get(reverse("home") + QUERY)
    assertContains(response, "North Division")
    assertContains(response, "11 Station")
    assertContains(response, f"<dd>{1110 * PERIOD.days} ")
    for hidden in ("Metro Police Service", "South Division", "51 Station", str(111111 * PERIOD.days)):
        assertNotContains(response, hidden)
    # The emergency waits in South: not North's.
    assertContains(response, "<strong>0</strong> possible emergencies waiting")


def test_expanding_a_branch_and_sorting_it(client, viewer, org, planted):
    client.force_login(viewer)
    url = reverse("overview:children", args=[org["north"].pk])
    response = client.get(url + QUERY + "&sort=posts&dir=desc", headers=HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.index("Traffic Team") < body.index("11 Station")  # 1000 posts a day before 100
    ascending = client.get(url + QUERY + "&sort=posts&dir=asc", headers=HX).content.decode()
    assert ascending.index("11 Station") < ascending.index("Traffic Team")
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]
    collapsed = client.get(url + "?collapse=1", headers=HX)
    assert collapsed.status_code == 200 and collapsed.content.strip() == b""
    # Without htmx: the unit's activity page, which has the same table.
    assert client.get(url).status_code == 302


def test_another_units_supervisor_gets_404_everywhere(client, outsider, org, planted):
    client.force_login(outsider)
    for name, pk in (
        ("overview:children", org["north"].pk),
        ("overview:unit", org["north"].pk),
        ("overview:children", org["root"].pk),
        ("overview:unit", org["root"].pk),
        ("overview:account", planted["11"].pk),
    ):
        assert client.get(reverse(name, args=[pk]), headers=HX).status_code == 404, name
        assert client.get(reverse(name, args=[pk])).status_code == 404, name


def test_unit_activity_has_charts_with_tables_top_posts_flags_and_health(client, viewer, org, planted):
    post = make_message(
        planted["11"], "Our open house on Saturday", created_at=datetime.datetime(2026, 11, 19, 15, tzinfo=datetime.UTC)
    )
    post.metrics = {"like_count": 40, "retweet_count": 2, "impression_count": 9000}
    post.save(update_fields=["metrics"])
    client.force_login(viewer)
    response = client.get(reverse("overview:unit", args=[org["north"].pk]) + QUERY)
    assertContains(response, 'role="img"')
    assertContains(response, "Posts as a table")
    assertContains(response, "Our open house on Saturday")
    assertContains(response, "42 interactions")  # impressions are reach, not engagement
    assertContains(response, "Open flags")
    assertContains(response, "Poll health")
    fragment = client.get(reverse("overview:unit", args=[org["north"].pk]), headers=HX)
    assert "<html" not in fragment.content.decode()


def test_account_activity_shows_feedback_and_metrics(client, viewer, org, planted, north_account, north_member):
    post = make_message(north_account, "A post")
    Feedback.objects.create(message=post, member=north_member, kind="kudos", text="Great tone")
    client.force_login(viewer)
    response = client.get(reverse("overview:account", args=[north_account.pk]))
    assertContains(response, "Great tone")
    assertContains(response, "Feedback given to the holder")


def test_member_home_shows_their_own_accounts_waiting_items_and_training(
    client, member_user, north_account, planted, org
):
    plant_item(north_account, days_ago=0.1, question=True)
    flag_on(PolicyRuleFactory.create(severity="critical", name="Personal information"), north_account)
    client.force_login(member_user)
    response = client.get(reverse("home"))
    assertContains(response, "Alex North")
    assertContains(response, "Waiting for you (1)")
    assertContains(response, "@TPS11Alex")
    assertContains(response, "Personal information")
    assertContains(response, "Social Media Spokesperson")
    assertNotContains(response, "Needs attention now")
    assertNotContains(response, "acct_11")  # the unit's account is not theirs


def test_hostile_text_is_escaped(client, member_user, north_account, viewer, org, planted):
    plant_item(north_account, days_ago=0.1).message.__class__.objects.filter(account=north_account).update(text=HOSTILE)
    make_message(
        north_account, HOSTILE, created_at=datetime.datetime(2026, 11, 19, tzinfo=datetime.UTC), metrics={"likes": 3}
    )
    flag_on(PolicyRuleFactory.create(), north_account, excerpt=HOSTILE)
    for user, url in (
        (member_user, reverse("home")),
        (viewer, reverse("overview:unit", args=[org["north"].pk]) + QUERY),
    ):
        client.force_login(user)
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;" in body


def test_roll_up_rows_escape_a_hostile_unit_name_and_link_its_branch(client, viewer, org, planted):
    """The rows are a Jinja2 fragment (overview/rollup_rows.py): its escaping is Django's, and the branch's
    links and expand button point at the unit."""
    hostile = make_unit(HOSTILE, org["north"])
    make_unit("Under the hostile one", hostile)
    client.force_login(viewer)
    body = client.get(reverse("overview:children", args=[org["north"].pk]) + QUERY, headers=HX).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert f'<a href="{reverse("registry:unit", args=[hostile.pk])}">&lt;script&gt;' in body
    assert 'aria-label="Show the sub-units of &lt;script&gt;' in body
    period = QUERY[1:].replace("&", "&amp;")
    assert f'hx-get="{reverse("overview:children", args=[hostile.pk])}?{period}"' in body
    assert f'<td colspan="11" id="sub-{hostile.pk}"></td>' in body


def test_a_user_without_a_role_is_told_so(client, django_user_model, db):
    user = django_user_model.objects.create_user("nobody", password="x")
    client.force_login(user)
    assertContains(client.get(reverse("home")), "no role in any unit")


def test_overview_query_count_is_constant(client, comms_manager, org, planted, django_assert_max_num_queries):
    client.force_login(comms_manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("home") + QUERY).status_code == 200
        return len(queries)

    before = count()
    for number in range(6):
        unit = make_unit(f"Extra {number}", org["north"])
        account = SocialAccountFactory.create(unit=unit)
        DailyActivity.objects.bulk_create(DailyActivity(account=account, day=day, posts=3) for day in PERIOD.day_list())
        plant_item(account, days_ago=1, response_seconds=100)
        plant_item(account, days_ago=1)
    assert count() == before
    with django_assert_max_num_queries(before):
        client.get(reverse("home") + QUERY)
