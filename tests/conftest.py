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

Each test also starts with no cached daily sums (`fresh_daily_statistics`).

Two test-only economies, both session-wide and autouse (they change no behaviour a test can observe):
- `fast_password_hashing`: passwords are hashed with MD5; production's PBKDF2 costs about a second per
  user on a loaded 2-core machine, and almost every test creates users with a password.
- `static_files_scanned_once`: every new test client loads the middleware, and WhiteNoise's middleware
  walks and stats the whole STATIC_ROOT (hundreds of files) each time; a server does it once per process.
"""

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from whitenoise.base import WhiteNoise  # type: ignore[import-untyped]  # no stubs; patched for tests only

from accounts_registry.models import Role
from doubles.oidc import OidcDouble
from monitoring.daily_sums import epoch_key, versions_renew
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


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing():
    """Tests only: a cheap hasher (sign-in, lockout and re-authentication behave the same with any hasher).
    The live server runs in this process, so the browser tests sign in against the same hashes."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session", autouse=True)
def static_files_scanned_once():
    """WhiteNoise's table of static files (URL → file and headers), built once per configuration and reused
    by every middleware instance of the session. The key holds everything the entries are computed from."""
    scan = WhiteNoise.update_files_dictionary
    tables: dict[tuple[object, ...], dict[str, object]] = {}

    def update_files_dictionary(self, root, prefix):
        key = (
            root, prefix, self.max_age, self.allow_all_origins, self.charset, self.index_file,
            self.add_headers_function, tuple(sorted(self.media_types.types_map.items())),
            settings.STATIC_URL, repr(settings.STORAGES), getattr(settings, "WHITENOISE_IMMUTABLE_FILE_TEST", None),
        )  # fmt: skip
        if key not in tables:
            files, self.files = self.files, {}
            try:
                scan(self, root, prefix)
                tables[key] = self.files
            finally:
                self.files = {**files, **self.files}
            return
        self.files.update(tables[key])

    WhiteNoise.update_files_dictionary = update_files_dictionary
    yield
    WhiteNoise.update_files_dictionary = scan


@pytest.fixture(autouse=True)
def fresh_daily_statistics():
    """Each test starts with no cached daily sums (monitoring/daily_sums.py): the database is rolled back
    between tests while the cache (Redis) is not, and tests write daily rows directly, not through the
    maintenance that bumps their versions."""
    versions_renew([epoch_key()])  # daily_statistics_reset without its after-commit part: no database here


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


OIDC_CLIENT_ID = "chorus-test"
OIDC_CLIENT_SECRET = "oidc-client-secret-for-tests-only"


@pytest.fixture(scope="session")
def _oidc_double():
    double = OidcDouble(client_id=OIDC_CLIENT_ID, client_secret=OIDC_CLIENT_SECRET, user={}).start()
    yield double
    double.stop()


@pytest.fixture
def oidc_provider(_oidc_double, settings):
    """The organization's OpenID Connect provider (doubles/oidc.py) on loopback, and single sign-on on.
    Set `oidc_provider.user` to the claims of the person who signs in there."""
    _oidc_double.user = {"sub": "idp-nobody"}
    _oidc_double.id_token_overrides = {}
    _oidc_double.issued.clear()
    _oidc_double.requests.clear()
    settings.CHORUS_OIDC_ISSUER = _oidc_double.issuer
    settings.CHORUS_OIDC_CLIENT_ID = OIDC_CLIENT_ID
    settings.CHORUS_OIDC_CLIENT_SECRET = OIDC_CLIENT_SECRET
    settings.CHORUS_OIDC_NAME = "Metro SSO"
    # As config/settings.py does for a configured issuer: the button's redirect to the provider is allowed.
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], _oidc_double.issuer],
    }
    return _oidc_double
