"""`/api/v1/policy-flags/`: token auth, scoping like the owner's queue, filters, invalid params, paging."""

import datetime

import pytest
from django.urls import Resolver404, path, resolve

from engagement.services.tokens import api_token_create
from policies.api import PolicyFlagList
from tests.factories import FROZEN_NOW, SocialAccountFactory, flag_on, make_message, make_rule


def _routes_mounted() -> bool:
    try:
        resolve("/api/v1/policy-flags/", urlconf="config.urls")
    except Resolver404:
        return False
    return True


# Until engagement/api/urls.py mounts the view, these tests mount it themselves at the same path.
urlpatterns = [path("api/v1/policy-flags/", PolicyFlagList.as_view(), name="policy-flags")]
T0 = FROZEN_NOW

pytestmark = [pytest.mark.django_db, *([] if _routes_mounted() else [pytest.mark.urls(__name__)])]

URL = "/api/v1/policy-flags/"


def api(client, user, **params):
    _token, key = api_token_create(user=user, name="test")
    return client.get(URL, params, headers={"Authorization": f"Token {key}"})


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def cast(org, north_account, south_account):
    critical = make_rule("No case details", severity="critical", config={"terms": ["case"]})
    info = make_rule("Dormant accounts", kind="governance", severity="info", config={"check": "dormant"})
    traffic = SocialAccountFactory.create(handle="MPSTraffic", unit=org["traffic"], platform="instagram")
    message = make_message(north_account, "case 2026-1234 details")
    return {
        "north": flag_on(critical, north_account, message=message, spans=[[0, 4]], excerpt="case 2026-1234"),
        "north_account": flag_on(info, north_account, excerpt="No post since 2026-09-01 (80 days).", minutes=5),
        "traffic": flag_on(critical, traffic, message=make_message(traffic, "case x"), status="resolved", minutes=10),
        "south": flag_on(critical, south_account, message=make_message(south_account, "case y"), minutes=15),
        "critical": critical,
        "info": info,
        "traffic_account": traffic,
    }


def test_needs_a_token(client, cast):
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Token nope"}).status_code == 401


def test_supervisor_sees_the_subtree_with_the_documented_fields(client, viewer, cast, north_account):
    response = api(client, viewer)
    assert ids(response) == {cast["north"].pk, cast["north_account"].pk, cast["traffic"].pk}
    rows = {row["id"]: row for row in response.json()["results"]}
    assert datetime.datetime.fromisoformat(rows[cast["north"].pk].pop("created_at")) == T0
    assert rows[cast["north"].pk] == {
        "id": cast["north"].pk,
        "rule": "No case details",
        "severity": "critical",
        "status": "open",
        "external_id": cast["north"].message.external_id,
        "platform": "x",
        "account": north_account.pk,
        "account_handle": "TPS11Alex",
        "account_platform": "x",
        "excerpt": "case 2026-1234",
    }
    account_level = rows[cast["north_account"].pk]
    assert (account_level["external_id"], account_level["platform"]) == (None, None)
    assert account_level["account_handle"] == "TPS11Alex"
    # Newest first.
    assert [row["id"] for row in response.json()["results"]] == [
        cast["traffic"].pk,
        cast["north_account"].pk,
        cast["north"].pk,
    ]


def test_outsider_sees_nothing_of_north_and_gets_404_for_its_unit_and_account(client, outsider, org, cast):
    assert ids(api(client, outsider)) == {cast["south"].pk}
    assert api(client, outsider, unit=org["north"].pk).status_code == 404
    assert api(client, outsider, account=cast["north"].account_id).status_code == 404
    assert ids(api(client, outsider, rule="No case details")) == {cast["south"].pk}


def test_member_sees_the_flags_of_the_accounts_they_hold(client, cast, north_member):
    from tests.factories import UserFactory

    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    assert ids(api(client, user)) == {cast["north"].pk, cast["north_account"].pk}


def test_filters(client, viewer, org, cast):
    assert ids(api(client, viewer, status="resolved")) == {cast["traffic"].pk}
    assert ids(api(client, viewer, severity="info")) == {cast["north_account"].pk}
    assert ids(api(client, viewer, rule=cast["info"].pk)) == {cast["north_account"].pk}
    assert ids(api(client, viewer, rule="No case details")) == {cast["north"].pk, cast["traffic"].pk}
    assert ids(api(client, viewer, rule="No such rule")) == set()
    assert ids(api(client, viewer, rule="999999")) == set()
    assert ids(api(client, viewer, unit=org["traffic"].pk)) == {cast["traffic"].pk}
    assert ids(api(client, viewer, unit=org["north"].pk)) == {
        cast["north"].pk,
        cast["north_account"].pk,
        cast["traffic"].pk,
    }
    assert ids(api(client, viewer, account=cast["traffic_account"].pk)) == {cast["traffic"].pk}
    since = (T0 + datetime.timedelta(minutes=5)).isoformat()
    assert ids(api(client, viewer, since=since)) == {cast["north_account"].pk, cast["traffic"].pk}
    assert ids(api(client, viewer, since="2026-11-21")) == set()
    assert ids(api(client, viewer, status="")) == {cast["north"].pk, cast["north_account"].pk, cast["traffic"].pk}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("status", "closed"),
        ("severity", "urgent"),
        ("unit", "north"),
        ("unit", "-1"),
        ("account", "1.5"),
        ("since", "yesterday"),
        ("since", "2026-13-45"),
        ("rule", "bad\x00name"),
        ("rule", "x" * 500),
    ],
)
def test_invalid_parameters_are_400_naming_the_parameter(client, viewer, cast, param, value):
    response = api(client, viewer, **{param: value})
    assert response.status_code == 400
    assert param in response.json()


def test_is_read_only(client, viewer, cast):
    _token, key = api_token_create(user=viewer, name="test")
    response = client.post(URL, {}, headers={"Authorization": f"Token {key}"}, content_type="application/json")
    assert response.status_code == 405


def test_pages_with_a_cursor_in_constant_queries(client, viewer, org, cast, north_account, django_assert_num_queries):
    _token, key = api_token_create(user=viewer, name="test")
    headers = {"Authorization": f"Token {key}"}
    client.get(URL, headers=headers)  # the token's last_used_at is written once a minute
    with django_assert_num_queries(4):
        first = client.get(URL, {"page_size": 2}, headers=headers)
    for index in range(30):
        flag_on(
            cast["critical"], north_account, message=make_message(north_account, f"case {index}"), minutes=20 + index
        )
    with django_assert_num_queries(4):
        assert client.get(URL, {"page_size": 50}, headers=headers).status_code == 200
    assert first.status_code == 200
    body = first.json()
    assert len(body["results"]) == 2
    second = client.get(body["next"], headers=headers).json()
    assert len(second["results"]) == 1
    assert not {row["id"] for row in second["results"]} & {row["id"] for row in body["results"]}
    assert client.get(URL, {"cursor": "forged"}, headers=headers).status_code == 404
