"""The read-only JSON API: token auth, every endpoint and filter, scoping, pagination, errors, schema."""

import base64
import datetime
import json
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from accounts_registry.models import Role
from engagement.models import TriageItem
from engagement.services.tokens import api_token_create, api_token_revoke
from monitoring.connectors.base import NormalizedMessage
from monitoring.services.ingest import messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from tests.factories import FROZEN_NOW, SocialAccountFactory, UserFactory, grant, inbox_item, make_unit

pytestmark = pytest.mark.django_db

NOW = FROZEN_NOW
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
ENDPOINTS = ("triage-items", "accounts", "units", "metrics")
TRIAGE_FIELDS = {
    "id", "status", "platform", "external_id", "account", "unit_path", "author_handle", "text", "created_at",
    "category", "category_reason", "is_question", "first_response_seconds", "assignee",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def key_for(user):
    return api_token_create(user=user, name="test")[1]


def api(client, key, name, **params):
    url = reverse(f"api:{name}")
    if params:
        url += "?" + urlencode(params)
    return client.get(url, headers={"Authorization": f"Token {key}"} if key else {})


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def traffic_account(org):
    return SocialAccountFactory.create(platform="bluesky", handle="mpstraffic.bsky.social", unit=org["traffic"])


@pytest.fixture
def items(north_account, south_account, traffic_account, viewer):
    """North: four items on two accounts (one assigned, one answered, one question); South: two."""
    return {
        "n_question": inbox_item(
            north_account,
            "101",
            minutes_ago=10,
            text="Is the desk open?",
            is_question=True,
            category="question",
            category_reason="question: ends with '?'",
        ),
        "n_answered": inbox_item(
            north_account,
            "102",
            minutes_ago=300,
            status="answered",
            first_response_seconds=1800,
            assignee=viewer,
            answered_at=NOW - datetime.timedelta(minutes=270),
        ),
        "n_handled": inbox_item(north_account, "103", minutes_ago=60 * 24 * 3, status="handled"),
        "traffic": inbox_item(
            traffic_account, "104", minutes_ago=20, text=HOSTILE, author=("104", HOSTILE, HOSTILE), category="emergency"
        ),
        "s_waiting": inbox_item(south_account, "201", minutes_ago=5, text="South question?", is_question=True),
        "s_dismissed": inbox_item(south_account, "202", minutes_ago=50, status="dismissed"),
    }


def ids(rows):
    return {row["id"] for row in rows}


# --- Authentication ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_needs_a_token_and_answers_401_in_json(client, viewer, name):
    response = api(client, None, name)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "header",
    [
        "Token not-a-real-key",
        "Token",
        "Token two parts",
        "token " + "x" * 500,
        "Token ключ",
        "Bearer abc",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_wrong_or_malformed_tokens_are_401_json_never_500(client, viewer, header):
    key_for(viewer)
    response = client.get(reverse("api:triage-items"), headers={"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()) == {"detail"}
    assert "Traceback" not in response.content.decode()


def test_a_revoked_token_stops_working(client, viewer):
    token, key = api_token_create(user=viewer, name="script")
    assert api(client, key, "units").status_code == 200
    api_token_revoke(token=token, actor=viewer)
    response = api(client, key, "units")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_an_inactive_owner_token_is_rejected(client, viewer):
    key = key_for(viewer)
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    assert api(client, key, "units").status_code == 401


def test_a_browser_session_is_not_an_api_credential(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("api:units"))
    assert response.status_code == 401


def test_the_api_is_read_only(client, viewer):
    key = key_for(viewer)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(
            reverse("api:triage-items"),
            data={},
            content_type="application/json",
            headers={"Authorization": f"Token {key}"},
        )
        assert response.status_code == 405


# --- Triage items -------------------------------------------------------------------------------


def test_triage_item_shape(client, viewer, items):
    rows = results(api(client, key_for(viewer), "triage-items"))
    answered = next(row for row in rows if row["id"] == items["n_answered"].pk)
    assert set(answered) == TRIAGE_FIELDS
    assert answered == {
        "id": items["n_answered"].pk,
        "status": "answered",
        "platform": "x",
        "external_id": "102",
        "account": "TPS11Alex",
        "unit_path": "Metro Police Service/North Division/11 Station",
        "author_handle": "dana_k",
        "text": "hello there",
        "created_at": "2026-11-20T05:00:00-05:00",
        "category": "other",
        "category_reason": "",
        "is_question": False,
        "first_response_seconds": 1800,
        "assignee": "north-supervisor",
    }
    question = next(row for row in rows if row["id"] == items["n_question"].pk)
    assert (question["is_question"], question["assignee"], question["first_response_seconds"]) == (True, None, None)
    assert (question["category"], question["category_reason"]) == ("question", "question: ends with '?'")


def test_hostile_text_comes_back_verbatim_as_json_data(client, viewer, items):
    response = api(client, key_for(viewer), "triage-items", account=items["traffic"].account_id)
    assert response["Content-Type"] == "application/json"
    (row,) = results(response)
    assert row["text"] == HOSTILE and row["author_handle"] == HOSTILE
    assert row["unit_path"] == "Metro Police Service/North Division/Traffic Team"


def test_newest_first(client, admin_user, items):
    rows = results(api(client, key_for(admin_user), "triage-items"))
    created = [row["created_at"] for row in rows]
    assert len(rows) == 6
    assert rows[0]["id"] == items["s_waiting"].pk and rows[-1]["id"] == items["n_handled"].pk
    assert created == sorted(created, reverse=True)


def test_scoping_supervisors_see_only_their_subtree(client, viewer, outsider, admin_user, items):
    north = {items[name].pk for name in ("n_question", "n_answered", "n_handled", "traffic")}
    south = {items["s_waiting"].pk, items["s_dismissed"].pk}
    assert ids(results(api(client, key_for(viewer), "triage-items"))) == north
    assert ids(results(api(client, key_for(outsider), "triage-items"))) == south
    assert ids(results(api(client, key_for(admin_user), "triage-items"))) == north | south


def test_a_member_sees_the_items_of_the_accounts_they_hold(client, north_member, items):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    key = key_for(user)
    expected = {items[name].pk for name in ("n_question", "n_answered", "n_handled")}
    assert ids(results(api(client, key, "triage-items"))) == expected
    assert results(api(client, key, "units")) == []  # no role on any unit
    assert api(client, key, "triage-items", unit=north_member.unit_id).status_code == 404


def test_a_token_loses_what_its_owner_loses(client, items):
    user = UserFactory.create(username="temp")
    role = grant(user, Role.SUPERVISOR, items["traffic"].account.unit)
    key = key_for(user)
    assert ids(results(api(client, key, "triage-items"))) == {items["traffic"].pk}
    role.delete()
    assert results(api(client, key, "triage-items")) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "waiting"}, {"n_question", "traffic"}),
        ({"status": "answered"}, {"n_answered"}),
        ({"status": "handled"}, {"n_handled"}),
        ({"status": "dismissed"}, set()),
        ({"question": "true"}, {"n_question"}),
        ({"question": "false"}, {"n_answered", "n_handled", "traffic"}),
        ({"platform": "bluesky"}, {"traffic"}),
        ({"category": "emergency"}, {"traffic"}),
        ({"category": "question"}, {"n_question"}),
        ({"category": "other", "status": "waiting"}, set()),
        ({"category": "crime"}, set()),
        ({"platform": "x", "status": "waiting"}, {"n_question"}),
        ({"since": "2026-11-20T14:45:00Z"}, {"n_question"}),
        ({"since": "2026-11-20T14:35:00Z"}, {"n_question", "traffic"}),
        ({"since": "2026-11-20T09:35:00-05:00"}, {"n_question", "traffic"}),
        ({"since": "2026-11-20T09:35:00"}, {"n_question", "traffic"}),  # server time zone (Toronto)
        ({"since": "2026-11-20"}, {"n_question", "traffic", "n_answered"}),  # midnight, Toronto
        ({"status": ""}, {"n_question", "n_answered", "n_handled", "traffic"}),  # empty: not given
    ],
)
def test_triage_filters(client, viewer, items, params, expected):
    rows = results(api(client, key_for(viewer), "triage-items", **params))
    assert ids(rows) == {items[name].pk for name in expected}


def test_unit_and_account_filters(client, viewer, org, items):
    key = key_for(viewer)
    assert ids(results(api(client, key, "triage-items", unit=org["traffic"].pk))) == {items["traffic"].pk}
    assert len(results(api(client, key, "triage-items", unit=org["north"].pk))) == 4
    by_account = results(api(client, key, "triage-items", account=items["n_question"].account_id, status="waiting"))
    assert ids(by_account) == {items["n_question"].pk}


def test_filters_outside_the_scope_are_404(client, outsider, org, items):
    key = key_for(outsider)
    for params in ({"unit": org["north"].pk}, {"unit": org["11"].pk}, {"account": items["n_question"].account_id}):
        response = api(client, key, "triage-items", **params)
        assert response.status_code == 404
        assert "North" not in response.content.decode()
    assert api(client, key, "triage-items", unit=999999).status_code == 404  # same answer as a missing unit


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": "WAITING"}, "status"),
        ({"unit": "north"}, "unit"),
        ({"unit": "-1"}, "unit"),
        ({"unit": "0"}, "unit"),
        ({"unit": "1" * 30}, "unit"),
        ({"account": "1.5"}, "account"),
        ({"platform": "myspace"}, "platform"),
        ({"category": "urgent"}, "category"),
        ({"question": "maybe"}, "question"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-45"}, "since"),
        ({"since": "2026-11-20T25:00:00"}, "since"),
    ],
)
def test_invalid_filters_are_400_naming_the_parameter(client, viewer, items, params, field):
    response = api(client, key_for(viewer), "triage-items", **params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field][0].startswith("Must be")


# --- Pagination and query budget ------------------------------------------------------------------


def _walk(client, key, name, **params):
    """Follow `next` links to the end; returns every row and the number of pages."""
    rows, pages = [], 0
    url = reverse(f"api:{name}") + "?" + urlencode(params)
    while url:
        response = client.get(url, headers={"Authorization": f"Token {key}"})
        body = response.json()
        assert response.status_code == 200, body
        rows.extend(body["results"])
        pages += 1
        url = body["next"]
        assert pages < 50
    return rows, pages


def test_pagination_walks_every_item_once_in_scope(client, viewer, outsider, north_account, south_account):
    for number in range(23):
        inbox_item(north_account, f"n{number}", minutes_ago=number // 2)  # pairs share a timestamp
    for number in range(9):
        inbox_item(south_account, f"s{number}", minutes_ago=number)
    rows, pages = _walk(client, key_for(viewer), "triage-items", page_size=5)
    assert (len(rows), len(ids(rows)), pages) == (23, 23, 5)
    assert [row["created_at"] for row in rows] == sorted((row["created_at"] for row in rows), reverse=True)
    rows, pages = _walk(client, key_for(outsider), "triage-items", page_size=5)
    assert (len(rows), pages) == (9, 2)
    assert {row["account"] for row in rows} == {"TPS51Sam"}


def test_previous_link_goes_back(client, viewer, north_account):
    for number in range(6):
        inbox_item(north_account, f"n{number}", minutes_ago=number)
    key = key_for(viewer)
    first = api(client, key, "triage-items", page_size=4).json()
    second = client.get(first["next"], headers={"Authorization": f"Token {key}"}).json()
    back = client.get(second["previous"], headers={"Authorization": f"Token {key}"}).json()
    assert ids(back["results"]) == ids(first["results"])
    assert second["next"] is None


def test_page_size_is_capped(client, viewer, north_account):
    for number in range(3):
        inbox_item(north_account, f"n{number}", minutes_ago=number)
    assert len(results(api(client, key_for(viewer), "triage-items", page_size=100000))) == 3


def _count_queries(client, key, name, **params):
    with CaptureQueriesContext(connection) as queries:
        response = api(client, key, name, **params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["triage-items", "accounts", "units"])
def test_query_count_does_not_grow_with_the_page(client, admin_user, org, name, django_assert_num_queries):
    key = key_for(admin_user)

    def add(number):
        unit = make_unit(f"Team {number:02d}", org["11"] if number % 2 else org["51"], kind="team")
        account = SocialAccountFactory.create(handle=f"acct{number}", unit=unit)
        inbox_item(account, f"q{number}", minutes_ago=number, assignee=admin_user if number % 3 else None)

    add(0)
    api(client, key, name)  # first use records last_used_at (at most once a minute)
    few = _count_queries(client, key, name)
    for number in range(1, 40):
        add(number)
    many = _count_queries(client, key, name, page_size=100)
    assert few == many
    # token, scope (grants + member), page, unit paths (+ parent ids for units)
    with django_assert_num_queries(6 if name == "units" else 5):
        api(client, key, name, page_size=100)


# --- Accounts and units -------------------------------------------------------------------------------


def test_accounts_list_shape_and_scope(
    client, viewer, outsider, north_account, north_member, traffic_account, south_account
):
    rows = results(api(client, key_for(viewer), "accounts"))
    assert {row["handle"] for row in rows} == {"TPS11Alex", "mpstraffic.bsky.social"}
    alex = next(row for row in rows if row["handle"] == "TPS11Alex")
    assert alex == {
        "id": north_account.pk,
        "platform": "x",
        "handle": "TPS11Alex",
        "kind": "personal",
        "status": "active",
        "unit": north_account.unit_id,
        "unit_path": "Metro Police Service/North Division/11 Station",
        "holder_name": "Alex North",
        "holder_badge": north_member.badge_number,
    }
    traffic = next(row for row in rows if row["handle"] == "mpstraffic.bsky.social")
    assert (traffic["holder_name"], traffic["holder_badge"]) == (None, None)
    outsider_rows = results(api(client, key_for(outsider), "accounts"))
    assert [row["handle"] for row in outsider_rows] == ["TPS51Sam"]


def test_accounts_filters(client, viewer, org, north_account, traffic_account, south_account):
    key = key_for(viewer)
    assert [r["handle"] for r in results(api(client, key, "accounts", platform="bluesky"))] == [traffic_account.handle]
    assert [r["handle"] for r in results(api(client, key, "accounts", unit=org["11"].pk))] == ["TPS11Alex"]
    assert results(api(client, key, "accounts", status="retired")) == []
    assert api(client, key, "accounts", unit=org["south"].pk).status_code == 404
    assert api(client, key, "accounts", status="gone").status_code == 400


def test_units_list_shape_and_scope(client, viewer, outsider, org):
    rows = results(api(client, key_for(viewer), "units"))
    assert [row["name"] for row in rows] == ["North Division", "11 Station", "Traffic Team"]
    assert rows[0] == {
        "id": org["north"].pk,
        "name": "North Division",
        "kind": "division",
        "path": "Metro Police Service/North Division",
        "parent": org["root"].pk,
        "is_active": True,
    }
    assert {row["parent"] for row in rows[1:]} == {org["north"].pk}
    outsider_rows = results(api(client, key_for(outsider), "units"))
    assert [row["name"] for row in outsider_rows] == ["South Division", "51 Station"]
    key = key_for(outsider)
    assert api(client, key, "units", unit=org["north"].pk).status_code == 404
    assert [row["name"] for row in results(api(client, key, "units", unit=org["51"].pk))] == ["51 Station"]


def test_admin_sees_the_root_with_a_null_parent(client, admin_user, org):
    rows, _ = _walk(client, key_for(admin_user), "units", page_size=2)
    assert len(rows) == 6
    assert rows[0]["parent"] is None and rows[0]["path"] == "Metro Police Service"


# --- Metrics -------------------------------------------------------------------------------------


def test_metrics_for_a_unit(client, viewer, org, items):
    response = api(client, key_for(viewer), "metrics", unit=org["north"].pk, period="7d")
    assert response.status_code == 200
    body = response.json()
    assert body["unit"] == org["north"].pk and body["account"] is None
    assert (body["period"], body["period_days"]) == ("7d", 7)
    assert (body["inbound"], body["questions"], body["answered"], body["waiting"]) == (4, 1, 1, 2)
    assert (body["median_first_response_seconds"], body["response_rate"]) == (1800, 0.25)
    assert body["oldest_waiting_created_at"] == "2026-11-20T09:40:00-05:00"
    assert (body["p90_first_response_seconds"], body["within_target_share"]) == (1800, 0.25)


def test_metrics_default_to_everything_visible_over_30_days(client, outsider, items):
    body = api(client, key_for(outsider), "metrics").json()
    assert (body["period"], body["inbound"], body["waiting"]) == ("30d", 2, 1)


def test_metrics_outside_the_scope_are_404_and_bad_periods_400(client, outsider, org, items):
    key = key_for(outsider)
    assert api(client, key, "metrics", unit=org["north"].pk).status_code == 404
    assert api(client, key, "metrics", account=items["n_question"].account_id).status_code == 404
    response = api(client, key, "metrics", period="1y")
    assert response.status_code == 400
    assert list(response.json()) == ["period"]


# --- Schema ---------------------------------------------------------------------------------------


def test_schema_is_public_and_lists_endpoints_and_filters(client):
    response = client.get(reverse("api:schema"), {"format": "json"}, headers={"Authorization": "Token garbage"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    # policy-flags/ comes from the policies app (tests/policies/test_api.py covers it).
    assert set(paths) == {f"/api/v1/{name}/" for name in ENDPOINTS} | {"/api/v1/policy-flags/"}
    triage_params = {param["name"]: param for param in paths["/api/v1/triage-items/"]["get"]["parameters"]}
    assert set(triage_params) == {
        "status", "unit", "account", "platform", "category", "question", "since", "q", "cursor", "page_size"
    }  # fmt: skip
    assert triage_params["category"]["schema"]["enum"] == sorted(TriageItem.Category.values)
    assert "crime: Crime report" in triage_params["category"]["description"]
    assert triage_params["status"]["schema"]["enum"] == ["answered", "dismissed", "handled", "waiting"]
    assert triage_params["question"]["schema"]["type"] == "boolean"
    metrics_params = {param["name"] for param in paths["/api/v1/metrics/"]["get"]["parameters"]}
    assert metrics_params == {"unit", "account", "period"}
    assert schema["components"]["securitySchemes"]["TokenAuth"]["in"] == "header"


def test_schema_generator_describes_the_triage_item():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    item = schema["components"]["schemas"]["TriageItem"]["properties"]
    assert set(item) == TRIAGE_FIELDS
    assert item["assignee"]["nullable"] is True
    assert item["category"]["allOf"] == [{"$ref": "#/components/schemas/CategoryEnum"}]
    assert schema["components"]["schemas"]["CategoryEnum"]["enum"] == TriageItem.Category.values
    assert "PaginatedTriageItemList" in schema["components"]["schemas"]


# --- Fuzz: garbage never reaches a 500 ------------------------------------------------------------


def _cursor(query):
    return base64.b64encode(query.encode()).decode()


GARBAGE = [
    "",
    "\x00",
    "null",
    "-1",
    "1e309",
    "9" * 40,
    "[]",
    "{}",
    "' OR 1=1 --",
    "%00",
    "\u202e\ufeff",
    "true\x00",
    "0001-01-01",
    "9999-12-31T23:59:59+14:00",
    "2026-02-30",
    HOSTILE,
]
FORGED_CURSORS = [
    "garbage",
    _cursor("p=\x00"),
    _cursor("p=not-a-date"),
    _cursor("p=99999999999999999999999"),
    _cursor("o=-5&p=x"),
    _cursor("o=999999999"),
    _cursor("r=maybe"),
    _cursor("p=0001-01-01 00:00:00+00:00"),
]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_fuzzed_query_params_never_500(client, viewer, items, name):
    key = key_for(viewer)
    params = ("status", "unit", "account", "platform", "question", "since", "period", "page_size", "cursor", "x")
    for param in params:
        for value in GARBAGE:
            response = api(client, key, name, **{param: value})
            assert response.status_code < 500, (param, value, response.content)
            assert response["Content-Type"] == "application/json"
    for cursor in FORGED_CURSORS:
        response = api(client, key, name, cursor=cursor)
        assert response.status_code in {200, 404}, (cursor, response.content)
    response = client.get(reverse("api:schema"), {"format": "json", "lang": "\x00", "version": HOSTILE})
    assert response.status_code < 500


def test_real_cursors_for_every_list_are_accepted(client, admin_user, items):
    key = key_for(admin_user)
    for name in ("triage-items", "accounts", "units"):
        body = api(client, key, name, page_size=1).json()
        cursor = parse_qs(urlparse(body["next"]).query)["cursor"][0]
        assert api(client, key, name, page_size=1, cursor=cursor).status_code == 200


def test_ingested_items_show_up(client, viewer, org):
    """The realistic path: a poll stores a mention, ingest hooks open the item, the API lists it."""
    station = SocialAccountFactory.create(platform="x", handle="MPS11Div", external_id="150011", unit=org["11"])
    mention = NormalizedMessage(
        platform="x", external_id="777", direction="inbound", kind="mention", author_id="160011",
        author_handle="dana_k", author_name="Dana", text="@MPS11Div est-ce que le bureau est ouvert ?",
        created_at=NOW - datetime.timedelta(minutes=3), conversation_id="777", in_reply_to_id="",
    )  # fmt: skip
    result = messages_upsert(account_id=station.pk, messages=[mention])
    run_ingest_hooks(result.new_ids)
    (row,) = results(api(client, key_for(viewer), "triage-items", question="true"))
    assert (row["external_id"], row["account"], row["status"], row["is_question"]) == (
        "777",
        "MPS11Div",
        "waiting",
        True,
    )


def test_a_since_with_an_offset_postgresql_cannot_store_is_read_in_utc(client, viewer, items):
    """ISO 8601 admits offsets up to ±23:59; PostgreSQL only ±15:59 (found by the schema fuzzer: a 500)."""
    response = api(client, key_for(viewer), "triage-items", since="2026-11-20T09:35:00-21:03")
    assert response.status_code == 200, response.content[:300]
