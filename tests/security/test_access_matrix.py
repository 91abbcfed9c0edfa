"""docs/security.md §1/§2: the access matrix. Every route of the URLconf has a row in access_matrix.py, and
every row holds: each role (anonymous, member, supervisor of unit A, supervisor of unit B, comms
manager, admin of unit A, admin of the service), an object inside and outside the role's subtree,
GET, POST and their htmx forms (or the API with the role's token) → the expected status.
"""

import fnmatch
import re

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.urls import reverse

from tests.clients import SignedInClient
from tests.security.access_matrix import MATRIX, PATTERN_ROWS, Row, expected_statuses
from tests.security.matrix_runner import OBJECT_COLUMNS, PLAIN_COLUMNS, Clients, url_for
from tests.security.urlconf import all_routes
from tests.security.world import ROLES, build_world

pytestmark = pytest.mark.django_db

WEBHOOK_SECRETS = {
    "CHORUS_X_CONSUMER_SECRET": "x-consumer-secret",
    "CHORUS_FACEBOOK_APP_SECRET": "meta-app-secret",
    "CHORUS_FACEBOOK_VERIFY_TOKEN": "meta-verify-token",
}


def _pattern_row(route):
    return next((row for pattern, row in PATTERN_ROWS.items() if fnmatch.fnmatch(route.pattern, pattern)), None)


def test_every_route_has_a_row():
    routes = all_routes()
    missing = [f"{r.name} ({r.pattern})" for r in routes if r.name not in MATRIX and _pattern_row(r) is None]
    assert not missing, "routes without a row in tests/security/access_matrix.py:\n" + "\n".join(missing)
    stale = set(MATRIX) - {r.name for r in routes}
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


def test_every_row_names_the_parameters_of_its_route():
    for route in all_routes():
        row = MATRIX.get(route.name)
        if row is not None:
            assert bool(route.params) == (row.kind is not None), f"{route.name}: kind must match {route.params}"


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """The world is built once for this module, in a transaction rolled back after its last test; each
    test runs in a savepoint inside it (pytest-django's `db`), and each request in its own savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(module_world, db, settings):
    for name, value in WEBHOOK_SECRETS.items():
        setattr(settings, name, value)
    # The matrix sends each route ~50 requests from one address: allauth's rate limits (tested in
    # tests/accounts_registry/test_signin.py) would answer 429 to the later cells.
    settings.ACCOUNT_RATE_LIMITS = False
    return module_world


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_answers_each_role_as_the_matrix_says(name, world):
    row: Row = MATRIX[name]
    clients = Clients(world)
    columns = OBJECT_COLUMNS if row.kind else PLAIN_COLUMNS
    login_url = resolve_url(settings.LOGIN_URL)
    mismatches = []
    for method, expected in expected_statuses(row, len(columns)).items():
        for (role, relation), status in zip(columns, expected, strict=True):
            url = url_for(world, name, row.kind, role, relation)
            got, location = clients.request(url, role, method, api=row.api)
            if got != status:
                mismatches.append(f"{method} {url} as {role} ({relation}): expected {status}, got {got}")
            elif role == "anonymous" and got == 302 and not row.public and not location.startswith(login_url):
                mismatches.append(f"{method} {url} as anonymous redirects to {location}, not to the login")
    assert not mismatches, f"{name}:\n" + "\n".join(mismatches)


def test_third_party_routes_are_closed_to_every_role_but_staff(world):
    """The Django admin (a pattern row): every route, GET, as each matrix role (none is staff) → login;
    allauth's legacy addresses (another pattern row) → their current ones."""
    clients = Clients(world)
    checked = 0
    for route in all_routes():
        row = _pattern_row(route)
        if row is None or route.name in MATRIX:
            continue
        url = "/" + route.pattern
        for param in route.params:
            url = re.sub(rf"<(?:\w+:)?{param}>|\(\?P<{param}>[^)]*\)", "1", url)
        url = url.replace("^", "").replace("$", "")
        for role in ROLES:
            status, location = clients.request(url, role, "GET", api=False)
            assert (status, row.expect_location in location) == (int(row.GET), True), (url, role, status, location)
        checked += 1
    assert checked > 50, "the admin's routes were not found"


def test_role_gated_pages_refuse_before_looking_anything_up(world):
    """Decision recorded in the matrix: rule pages answer 403 to a non-admin for ANY id, existing or not,
    so the 403 confirms nothing about other units' rules (no existence oracle)."""
    client = SignedInClient()
    client.force_login(world.users["supervisor_b"])
    for pk in (world.north.rule.pk, world.south.rule.pk, 999_999):
        assert client.get(reverse("policies:rule", kwargs={"pk": pk})).status_code == 403
