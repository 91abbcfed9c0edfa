"""Security events: refused access, exports and tokens are recorded; admins see their units' events."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent, Role
from accounts_registry.services.security import security_event_record
from tests.factories import MemberFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

PAGE = reverse("registry:security")


def test_a_refused_object_is_recorded_with_who_asked(client, outsider, org, north_account):
    client.force_login(outsider)
    assert client.get(reverse("registry:unit", args=[org["north"].pk])).status_code == 404
    assert client.get(reverse("registry:account", args=[north_account.pk])).status_code == 404
    events = AuditEvent.objects.filter(verb=AuditEvent.Verb.ACCESS_REFUSED, actor=outsider)
    assert sorted((event.target_type, event.target_id) for event in events) == [
        ("account", str(north_account.pk)),
        ("unit", str(org["north"].pk)),
    ]


def test_a_refused_triage_item_is_recorded(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("inbox:item", args=[987654])).status_code == 404
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.ACCESS_REFUSED, target_type="triage_item").exists()


@pytest.mark.parametrize(("url", "export"), [("registry:export", "registry"), ("inbox:export", "inbox")])
def test_every_csv_export_is_recorded(client, viewer, north_account, url, export):
    client.force_login(viewer)
    response = client.get(reverse(url))
    assert response.status_code == 200
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.EXPORT)
    assert event.actor == viewer and event.target_id == export


def test_token_creation_and_revocation_are_security_events(client, viewer):
    client.force_login(viewer)
    client.post(reverse("tokens:list"), {"name": "report"})
    token_event = AuditEvent.objects.get(verb=AuditEvent.Verb.API_TOKEN_CREATE)
    client.post(reverse("tokens:revoke", args=[token_event.target_id]))
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.API_TOKEN_REVOKE).count() == 1


@pytest.fixture
def events(org, viewer, outsider):
    """A failed sign-in of a North supervisor and one of a South supervisor, and one of an unknown name."""
    MemberFactory.create(full_name="North Sup", unit=org["north"], user=viewer)
    MemberFactory.create(full_name="South Sup", unit=org["south"], user=outsider)
    for user in (viewer, outsider):
        security_event_record(
            verb=AuditEvent.Verb.LOGIN_FAILED, actor=None, subject=user, target_type="login",
            target_id=user.username, target_repr=user.username, ip="203.0.113.9",
        )  # fmt: skip
    security_event_record(
        verb=AuditEvent.Verb.LOGIN_FAILED, actor=None, target_type="login", target_id="nobody", target_repr="nobody"
    )
    security_event_record(verb=AuditEvent.Verb.LOGIN, actor=viewer, target=viewer)


def test_an_organization_admin_sees_every_security_event_and_filters_by_kind(client, admin_user, events):
    client.force_login(admin_user)
    response = client.get(PAGE)
    for name in ("north-supervisor", "south-supervisor", "nobody", "203.0.113.9"):
        assertContains(response, name)
    filtered = client.get(PAGE, {"kind": AuditEvent.Verb.LOGIN})
    assertContains(filtered, "<code>auth.login</code>")
    assertNotContains(filtered, "<code>auth.login_failed</code>")
    assertNotContains(filtered, "nobody")


def test_a_unit_admin_sees_only_their_units_people(client, owner, events):
    client.force_login(owner)
    response = client.get(PAGE)
    assertContains(response, "north-supervisor")
    assertNotContains(response, "south-supervisor")
    assertNotContains(response, "nobody")


def test_supervisors_and_members_are_refused_the_page(client, viewer, outsider, org):
    member = UserFactory.create(username="plain-member")
    grant(member, Role.MEMBER, org["north"])
    for user in (viewer, outsider, member):
        client.force_login(user)
        assert client.get(PAGE).status_code == 403


def test_untrusted_login_names_are_escaped(client, admin_user):
    security_event_record(
        verb=AuditEvent.Verb.LOGIN_FAILED, actor=None, target_type="login", target_id="x",
        target_repr="<script>alert(1)</script>",
    )  # fmt: skip
    client.force_login(admin_user)
    response = client.get(PAGE)
    assertNotContains(response, "<script>alert(1)</script>")
    assertContains(response, "&lt;script&gt;alert(1)&lt;/script&gt;")
