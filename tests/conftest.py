"""The fixed cast: an organization with two divisions, and users placed in it.

    Metro Police Service (root)
    ├── North Division
    │   ├── 11 Station
    │   └── Traffic Team
    └── South Division
        └── 51 Station

- `admin_user`: admin of the whole service
- `owner`: admin of North Division (may change it)
- `viewer`: supervisor of North Division (read-only there)
- `outsider`: supervisor of South Division (must see nothing of North)
- `frozen_now`: time stopped at FROZEN_NOW; request it first so the cast is built at that time too
"""

import pytest
import time_machine

from accounts_registry.models import Role
from tests.clients import SignedInClient
from tests.factories import (
    FROZEN_NOW,
    MemberFactory,
    SocialAccountFactory,
    TrainingFactory,
    UserFactory,
    grant,
    make_unit,
)


@pytest.fixture
def frozen_now():
    with time_machine.travel(FROZEN_NOW, tick=False):
        yield FROZEN_NOW


@pytest.fixture
def client():
    """`force_login` gives a session signed in with password and second factor (tests/clients.py)."""
    return SignedInClient()


@pytest.fixture
def client_factory():
    """More signed-in clients in one test (two people, or one person's two browsers)."""
    return SignedInClient


@pytest.fixture
def org(db):
    root = make_unit("Metro Police Service", kind="service")
    north = make_unit("North Division", root, kind="division")
    south = make_unit("South Division", root, kind="division")
    station_11 = make_unit("11 Station", north, kind="station")
    traffic = make_unit("Traffic Team", north, kind="team")
    station_51 = make_unit("51 Station", south, kind="station")
    for unit in (root, north, south, station_11, traffic, station_51):
        unit.refresh_from_db()
    return {"root": root, "north": north, "south": south, "11": station_11, "traffic": traffic, "51": station_51}


@pytest.fixture
def admin_user(org):
    user = UserFactory.create(username="service-admin")
    grant(user, Role.ADMIN, org["root"])
    return user


@pytest.fixture
def owner(org):
    user = UserFactory.create(username="north-admin")
    grant(user, Role.ADMIN, org["north"])
    return user


@pytest.fixture
def viewer(org):
    user = UserFactory.create(username="north-supervisor")
    grant(user, Role.SUPERVISOR, org["north"])
    return user


@pytest.fixture
def outsider(org):
    user = UserFactory.create(username="south-supervisor")
    grant(user, Role.SUPERVISOR, org["south"])
    return user


@pytest.fixture
def north_member(org):
    member = MemberFactory.create(full_name="Alex North", unit=org["11"])
    TrainingFactory.create(member=member)
    return member


@pytest.fixture
def south_member(org):
    member = MemberFactory.create(full_name="Sam South", unit=org["51"])
    TrainingFactory.create(member=member)
    return member


@pytest.fixture
def north_account(org, north_member):
    return SocialAccountFactory.create(
        handle="TPS11Alex", kind="personal", unit=org["11"], holder=north_member, platform="x"
    )


@pytest.fixture
def south_account(org, south_member):
    return SocialAccountFactory.create(
        handle="TPS51Sam", kind="personal", unit=org["51"], holder=south_member, platform="x"
    )
