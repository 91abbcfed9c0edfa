"""The alerts cast, beside the fixed one of tests/conftest.py (viewer: North's supervisor, outsider:
South's supervisor, owner: North's admin, admin_user: the service's admin)."""

import pytest

from accounts_registry.models import Role
from tests.factories import UserFactory, grant


def _user(username, role, unit):
    user = UserFactory.create(username=username, password=None)
    grant(user, role, unit)
    return user


@pytest.fixture
def north_comms(org):
    return _user("north-comms", Role.COMMS_MANAGER, org["north"])


@pytest.fixture
def service_comms(org):
    return _user("service-comms", Role.COMMS_MANAGER, org["root"])


@pytest.fixture
def south_comms(org):
    return _user("south-comms", Role.COMMS_MANAGER, org["south"])


@pytest.fixture
def officer(org, north_member):
    """North's officer with a login: the holder of north_account."""
    user = _user("alex-officer", Role.MEMBER, org["11"])
    north_member.user = user
    north_member.save(update_fields=["user"])
    return user
