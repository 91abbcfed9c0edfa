"""`manage.py seed_demo` and `manage.py demo --no-serve`: the demo organization's shape, its planted
governance problems, its logins, idempotency and determinism.

Seeding takes a few seconds, so one test seeds, re-seeds and resets instead of many tests seeding each.
"""

import io
import re
from collections import Counter

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from accounts_registry import selectors
from accounts_registry.crypto import decrypt_credentials
from accounts_registry.models import AuditEvent, Member, OrgUnit, Platform, RoleGrant, SocialAccount, Training
from alerts.models import AlertDelivery, AlertPreference
from demo import data as demo_data
from demo import seed as seed_demo

pytestmark = pytest.mark.django_db

LOGIN_LINE = re.compile(r"^\s+(?P<username>\S+)\s+(?P<password>\S+)\s+\S")


def _run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _snapshot():
    """Everything seeding writes, in a form two runs can be compared by."""
    return {
        "units": sorted(OrgUnit.objects.values_list("path", "name", "kind")),
        "members": sorted(Member.objects.values_list("badge_number", "full_name", "rank", "unit__name", "left_on")),
        "trainings": sorted(Training.objects.values_list("member__badge_number", "completed_on", "expires_on")),
        "accounts": sorted(SocialAccount.objects.values_list("platform", "handle", "kind", "status", "unit__name")),
        "grants": sorted(RoleGrant.objects.values_list("user__username", "role", "unit__name")),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
    }


def _printed_logins(output):
    table = output.split("Demo logins:", 1)[1].split("\n\n", 1)[0]  # the table ends at the first blank line
    return [match.groups() for line in table.splitlines()[2:] if (match := LOGIN_LINE.match(line))]


def _problem_kinds(user):
    kinds: Counter[str] = Counter()
    for problem in selectors.governance_problems(user):
        kinds[problem.check] += 1
    return kinds


@pytest.fixture
def fast_hasher(settings):
    # PBKDF2 costs ~0.3 s per hash; the test hashes and checks the demo passwords a dozen times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_seed_demo_builds_the_documented_organization_idempotently_and_deterministically(fast_hasher):
    output = _run("seed_demo")

    # Shape.
    divisions = OrgUnit.objects.filter(kind=OrgUnit.Kind.DIVISION)
    assert 14 <= divisions.count() <= 20
    assert {"11 Division", "52 Division", "55 Division"} <= set(divisions.values_list("name", flat=True))
    root = OrgUnit.objects.get_root_nodes().get()
    assert (root.name, root.kind) == ("Metro Police Service", OrgUnit.Kind.SERVICE)
    specialized = OrgUnit.objects.get(name="Specialized Operations Command")
    specialist_names = set(OrgUnit.objects.get_children(specialized).values_list("name", flat=True))
    assert len(specialist_names) >= 9
    assert {"Traffic Services", "Marine Unit", "Emergency Task Force"} <= specialist_names
    traffic = OrgUnit.objects.get(name="Traffic Services")
    assert list(OrgUnit.objects.get_children(traffic).values_list("name", flat=True)) == ["Motor Squad"]
    for division in divisions:
        assert 1 <= OrgUnit.objects.get_children(division).count() <= 2, division.name
    assert 300 <= Member.objects.count() <= 400
    assert Member.objects.values("badge_number").distinct().count() == Member.objects.count()
    assert Member.objects.filter(trainings__isnull=False).distinct().count() >= 280
    assert {"Constable", "Sergeant", "Detective", "Civilian Communications Advisor"} <= set(
        Member.objects.values_list("rank", flat=True)
    )
    assert 400 <= SocialAccount.objects.count() <= 500
    assert set(SocialAccount.objects.values_list("platform", flat=True)) == set(Platform.values)
    statuses = Counter(SocialAccount.objects.values_list("status", flat=True))
    assert statuses[SocialAccount.Status.ACTIVE] > 0.9 * SocialAccount.objects.count()
    corporate = set(SocialAccount.objects.filter(kind="corporate", unit=root).values_list("platform", "handle"))
    assert corporate == set(demo_data.CORPORATE_ACCOUNTS)
    assert SocialAccount.objects.filter(platform="x", handle="MPS52Div", unit__name="52 Division").exists()
    assert f"{SocialAccount.objects.count()} accounts" in output

    # Credentials are stored encrypted; active Facebook/Instagram/Bluesky/Mastodon accounts have them.
    page = SocialAccount.objects.get(handle="MetroPolicePage")
    assert page.status == SocialAccount.Status.ACTIVE
    assert "demo-" not in page.credentials_ciphertext
    assert decrypt_credentials(page.credentials_ciphertext)["access_token"].startswith("demo-facebook-")
    assert not SocialAccount.objects.filter(status="active").exclude(platform="x").filter(credentials_ciphertext="")

    # Created through the services: every account and member left an audit row.
    assert AuditEvent.objects.filter(verb="account.onboard").count() == SocialAccount.objects.count()
    assert AuditEvent.objects.filter(verb="member.create").count() == Member.objects.count()

    # Planted governance problems, as the admin sees them; a supervisor sees only their subtree's.
    admin = get_user_model().objects.get(username="admin")
    kinds = _problem_kinds(admin)
    assert kinds["training_expired"] == seed_demo.HOLDERS_WITH_EXPIRED_TRAINING
    assert kinds["holder_left"] == seed_demo.HOLDERS_WHO_LEFT
    assert kinds["pending_too_long"] == seed_demo.STALE_PENDING
    assert kinds["needs_reconnect_too_long"] == len(seed_demo.NEEDS_RECONNECT_DIVISIONS)
    super52 = get_user_model().objects.get(username="super52")
    assert all(
        problem.account.unit.path.startswith(OrgUnit.objects.get(name="52 Division").path)
        for problem in selectors.governance_problems(super52)
    )

    # People at every stage (demo.people), each with their steps on the timeline.
    stage = {s.key: Member.objects.get(badge_number=s.badge) for s in demo_data.PEOPLE_STAGES}
    assert stage["invited"].user is not None and not stage["invited"].user.has_usable_password()
    assert stage["transferred"].unit.name == demo_data.TRANSFER_TO
    assert SocialAccount.objects.get(holder=stage["transferred"]).unit.name == demo_data.TRANSFER_TO
    assert stage["leaver"].left_on is not None
    assert SocialAccount.objects.filter(holder=stage["successor"], platform="x").exists()
    assert stage["expiring"].trainings.get().status() == "expiring"
    assert not stage["untrained"].trainings.exists()

    # Logins: every printed one authenticates and sees what its description says.
    logins = _printed_logins(output)
    assert [username for username, _ in logins] == [login.username for login in demo_data.DEMO_LOGINS]
    users = {}
    for username, password in logins:
        user = authenticate(username=username, password=password)
        assert user is not None, username
        users[username] = user
    assert users["admin"].is_staff and users["admin"].is_superuser
    # The admin is enrolled with the printed secret; `demo_totp` prints a code it accepts. The comms
    # manager enrols at first sign-in (the demo shows both flows).
    assert demo_data.totp_uri() in output
    code = _run("demo_totp").split()[0]
    assert Authenticator.objects.get(user=users["admin"], type=Authenticator.Type.TOTP).wrap().validate_code(code)
    assert Authenticator.objects.filter(user=users["admin"], type=Authenticator.Type.RECOVERY_CODES).exists()
    assert not Authenticator.objects.filter(user=users["comms"]).exists()
    assert not any(users[name].is_staff for name in ("comms", "super52", "supertraffic", "officer"))
    assert selectors.visible_accounts(users["comms"]).count() == SocialAccount.objects.count()
    division_52 = OrgUnit.objects.get(name="52 Division")
    assert set(selectors.visible_units(users["super52"])) == set(division_52.subtree())
    assert set(selectors.visible_units(users["supertraffic"]).values_list("name", flat=True)) == {
        "Traffic Services",
        "Motor Squad",
    }
    officer_accounts = selectors.visible_accounts(users["officer"])
    assert set(officer_accounts.values_list("handle", flat=True)) == {h for _, h in demo_data.DEMO_OFFICER.accounts}
    assert users["officer"].member.full_name == demo_data.DEMO_OFFICER.full_name

    # A second run changes nothing and says so.
    first = _snapshot()
    audit_rows = AuditEvent.objects.count()
    again = _run("seed_demo")
    assert "already seeded" in again
    assert _snapshot() == first
    assert AuditEvent.objects.count() == audit_rows

    # --reset starts over and builds exactly the same organization (fixed seed, no Faker). It resets the
    # registry only: a demo that installed policies or polled messages is reset with `make demo-reset`.
    reset_output = _run("seed_demo", "--reset")
    assert "Deleted the registry data" in reset_output
    assert _snapshot() == first
    assert all(authenticate(username=username, password=password) for username, password in _printed_logins(output))

    # `demo --no-serve` migrates, finds the data, installs the starter policy, prints the address and logins,
    # and serves nothing.
    demo_output = _run("demo", "--no-serve")
    assert "already seeded" in demo_output
    # It seeds the logins' alert preferences and alerts what the seed planted (accounts needing
    # reconnection: their unit admins; training expiring: members and supervisors); mail after commit.
    assert AlertPreference.objects.filter(user__username="comms", kind="training", timing="off").exists()
    assert "Alerts and reports:" in demo_output
    kinds = set(AlertDelivery.objects.values_list("kind", "user__username"))
    assert ("account_problem", "admin") in kinds
    assert any(kind == "training" for kind, _ in kinds)
    assert ("monthly_report", "comms") in kinds
    assert ("weekly_digest", "super52") in kinds
    assert "Chorus demo: http://127.0.0.1:8000/" in demo_output
    assert all(login.username in demo_output for login in demo_data.DEMO_LOGINS)
    assert _snapshot() == first
    # The logins come last; the starter policy is one line, not one per rule.
    assert demo_output.index("Chorus demo:") > demo_output.index("Starter policy")
    assert "created:" not in demo_output and "updated:" not in demo_output
    assert demo_output.rstrip().endswith("Quit with CONTROL-C.")


def test_seed_demo_refuses_to_run_without_a_fernet_key(settings):
    settings.FERNET_KEYS = []
    with pytest.raises(CommandError, match="CHORUS_FERNET_KEYS"):
        _run("seed_demo")
    assert not OrgUnit.objects.exists()
    assert not get_user_model().objects.exists()
