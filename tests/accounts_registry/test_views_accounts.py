import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts_registry.crypto import decrypt_credentials
from accounts_registry.models import AuditEvent, Role, SocialAccount
from accounts_registry.services.accounts import account_set_status
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

Status = SocialAccount.Status
TOKEN = "EAAB-very-secret-token-42"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.UTC), tick=True):
        yield


def _url(name, account):
    return reverse(f"registry:{name}", args=[account.pk])


def _body(response):
    return response.content.decode()


def _collect_messages(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


# --- Account page --------------------------------------------------------------------------------


def test_viewer_sees_the_account_page_read_only(client, viewer, north_account, north_member):
    client.force_login(viewer)
    response = client.get(_url("account", north_account))
    assertContains(response, "TPS11Alex")
    assertContains(response, north_member.full_name)
    assertContains(response, reverse("registry:member", args=[north_member.pk]))
    assertContains(response, reverse("registry:unit", args=[north_account.unit.pk]))
    assertContains(response, "Social Media Spokesperson")  # the holder's training for X
    assertContains(response, '<span class="badge badge-active">Active</span>', html=True)
    assertContains(response, "<dd>None</dd>", html=True)  # no credentials stored
    assertNotContains(response, _url("account-status", north_account))
    assertNotContains(response, _url("account-credentials", north_account))
    assert "HX-Request" in response["Vary"]


def test_outsider_gets_404_everywhere(client, outsider, north_account):
    client.force_login(outsider)
    assert client.get(_url("account", north_account)).status_code == 404
    assert client.post(_url("account-status", north_account), {"status": "paused"}).status_code == 404
    assert client.post(_url("account-credentials", north_account), {"access_token": TOKEN}).status_code == 404
    north_account.refresh_from_db()
    assert north_account.status == Status.ACTIVE
    assert north_account.credentials_ciphertext == ""


def test_viewer_gets_403_on_writes(client, viewer, north_account):
    client.force_login(viewer)
    assert client.post(_url("account-status", north_account), {"status": "paused"}).status_code == 403
    assert client.post(_url("account-credentials", north_account), {"access_token": TOKEN}).status_code == 403
    north_account.refresh_from_db()
    assert north_account.status == Status.ACTIVE
    assert north_account.credentials_ciphertext == ""
    assert not AuditEvent.objects.changes().exists()


def test_anonymous_is_sent_to_login(client, north_account):
    response = client.get(_url("account", north_account))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_writes_need_post(client, owner, north_account):
    client.force_login(owner)
    assert client.get(_url("account-status", north_account)).status_code == 405
    assert client.get(_url("account-credentials", north_account)).status_code == 405


def test_owner_sees_only_allowed_next_statuses(client, owner, north_account):
    client.force_login(owner)
    response = client.get(_url("account", north_account))
    form = response.context["status_form"]
    assert {value for value, _ in form.fields["status"].choices} == {"paused", "needs_reconnect", "retired"}
    assertContains(response, 'autocomplete="off"')
    assertContains(response, 'type="password"')


def test_detail_shows_activity_newest_first(client, owner, viewer, north_account):
    account_set_status(account=north_account, status=Status.PAUSED, reason="Leave", actor=owner)
    account_set_status(account=north_account, status=Status.ACTIVE, reason="Back", actor=owner)
    client.force_login(viewer)
    response = client.get(_url("account", north_account))
    rows = response.context["activity"]
    assert [row.event.after["status"] for row in rows] == ["active", "paused"]
    assertContains(response, "north-admin")


def test_detail_query_count_does_not_grow_with_activity_or_training(client, owner, north_account, north_member):
    client.force_login(owner)
    with CaptureQueriesContext(connection) as few:
        assert client.get(_url("account", north_account)).status_code == 200
    for number in range(5):
        TrainingFactory.create(member=north_member, course=f"Course {number}")
        account_set_status(account=north_account, status=Status.PAUSED, actor=owner)
        account_set_status(account=north_account, status=Status.ACTIVE, actor=owner)
    with CaptureQueriesContext(connection) as many:
        assert client.get(_url("account", north_account)).status_code == 200
    assert len(many) == len(few)
    assert len(few) <= 10


def test_hostile_handle_and_names_are_escaped(client, owner, org):
    member = MemberFactory.create(full_name=HOSTILE, unit=org["11"])
    TrainingFactory.create(member=member, course=HOSTILE_ATTR)
    account = SocialAccountFactory.create(
        handle=HOSTILE_ATTR, kind="personal", holder=member, unit=org["11"], status_reason=HOSTILE
    )
    client.force_login(owner)
    body = _body(client.get(_url("account", account)))
    assert HOSTILE not in body
    assert HOSTILE_ATTR not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in body


# --- Status --------------------------------------------------------------------------------------


def test_owner_changes_status(client, owner, north_account):
    client.force_login(owner)
    response = client.post(_url("account-status", north_account), {"status": "paused", "reason": "Officer on leave"})
    assertRedirects(response, _url("account", north_account), fetch_redirect_response=False)
    north_account.refresh_from_db()
    assert north_account.status == Status.PAUSED
    assert north_account.status_reason == "Officer on leave"
    event = AuditEvent.objects.get(verb="account.status")
    assert event.actor == owner
    assert event.before == {"status": "active", "reason": ""}
    assert event.after == {"status": "paused", "reason": "Officer on leave"}
    page = client.get(_url("account", north_account))
    assertContains(page, "TPS11Alex is now paused.")


def test_status_change_by_htmx_returns_the_fragment(client, owner, north_account):
    client.force_login(owner)
    response = client.post(_url("account-status", north_account), {"status": "paused"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = _body(response)
    assert "<html" not in body
    assert 'id="account-status"' in body
    assertContains(response, '<span class="badge badge-paused">Paused</span>', html=True)
    assert "HX-Request" in response["Vary"]
    north_account.refresh_from_db()
    assert north_account.status == Status.PAUSED


def test_refused_status_change_shows_the_reason_and_writes_nothing(client, owner, org):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.PENDING)
    client.force_login(owner)
    response = client.post(_url("account-status", account), {"status": "active"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in _body(response)
    assertContains(response, "missing credentials (access_token)")
    response = client.post(_url("account-status", account), {"status": "active"}, follow=True)
    assertContains(response, "missing credentials (access_token)")
    account.refresh_from_db()
    assert account.status == Status.PENDING
    assert not AuditEvent.objects.changes().exists()


def test_status_outside_the_lifecycle_is_refused(client, owner, north_account):
    account_set_status(account=north_account, status=Status.RETIRED, actor=owner)
    client.force_login(owner)
    response = client.post(_url("account-status", north_account), {"status": "active"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assertContains(response, "Choose one of the statuses offered")
    north_account.refresh_from_db()
    assert north_account.status == Status.RETIRED


def test_status_post_cannot_change_other_fields(client, owner, north_account, org):
    client.force_login(owner)
    client.post(
        _url("account-status", north_account),
        {"status": "paused", "handle": "Hijacked", "unit": org["south"].pk, "credentials_ciphertext": "x"},
    )
    north_account.refresh_from_db()
    assert (north_account.status, north_account.handle, north_account.unit) == (Status.PAUSED, "TPS11Alex", org["11"])
    assert north_account.credentials_ciphertext == ""


# --- Credentials ---------------------------------------------------------------------------------


def test_credentials_are_stored_and_never_shown(client, owner, org):
    account = SocialAccountFactory.create(
        unit=org["11"], platform="facebook", handle="NorthPage", status=Status.PENDING
    )
    client.force_login(owner)
    response = client.post(_url("account-credentials", account), {"access_token": TOKEN})
    assertRedirects(response, _url("account", account), fetch_redirect_response=False)
    assert TOKEN not in _body(response)
    account.refresh_from_db()
    assert account.status == Status.ACTIVE
    assert decrypt_credentials(account.credentials_ciphertext) == {"access_token": TOKEN}

    page = client.get(_url("account", account))
    body = _body(page)
    assert "Stored (encrypted)" in body
    assert "Credentials stored (encrypted) for NorthPage." in _collect_messages(page)
    assert TOKEN not in body
    assert account.credentials_ciphertext not in body
    assert all(TOKEN not in message for message in _collect_messages(page))
    assert TOKEN not in str(list(AuditEvent.objects.values("before", "after", "target_repr")))


def test_credentials_by_htmx_return_the_fragment_without_the_secret(client, owner, org):
    account = SocialAccountFactory.create(
        unit=org["11"], platform="bluesky", handle="north.bsky.social", status=Status.PENDING
    )
    client.force_login(owner)
    response = client.post(
        _url("account-credentials", account), {"app_password": TOKEN}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = _body(response)
    assert "<html" not in body
    assert TOKEN not in body
    assert "Stored (encrypted)" in body
    # The status block is swapped out of band: the account just became active.
    assert 'id="account-status" aria-labelledby="status-heading" hx-swap-oob="true"' in body
    assert "badge-active" in body


def test_refused_credentials_do_not_echo_the_secret(client, owner, org):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.RETIRED)
    client.force_login(owner)
    response = client.post(
        _url("account-credentials", account), {"access_token": TOKEN}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assertContains(response, "it takes no credentials")
    assert TOKEN not in _body(response)
    response = client.post(_url("account-credentials", account), {"access_token": TOKEN}, follow=True)
    assert TOKEN not in _body(response)
    account.refresh_from_db()
    assert account.credentials_ciphertext == ""


def test_missing_required_credential_is_refused(client, owner, org):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.PENDING)
    client.force_login(owner)
    response = client.post(_url("account-credentials", account), {"access_token": ""}, follow=True)
    assertContains(response, "Nothing was stored: enter access_token.")
    account.refresh_from_db()
    assert account.credentials_ciphertext == ""


def test_credential_fields_depend_on_the_platform(client, owner, org):
    client.force_login(owner)
    expected = {
        "x": ["access_token", "refresh_token"],
        "facebook": ["access_token"],
        "instagram": ["access_token"],
        "mastodon": ["access_token"],
        "bluesky": ["app_password"],
    }
    for platform, fields in expected.items():
        account = SocialAccountFactory.create(unit=org["11"], platform=platform, handle=f"north{platform}.bsky.social")
        form = client.get(_url("account", account)).context["credentials_form"]
        assert list(form.fields) == fields, platform


# --- Onboarding ----------------------------------------------------------------------------------

ONBOARD = reverse("registry:onboard")


def _details(member=None, **overrides):
    data = {
        "member": member.pk if member else "",
        "platform": "facebook",
        "handle": "@TPS11Casey",
        "kind": "personal",
        "unit": "",
        "external_id": "",
        "instance_url": "",
    }
    data.update(overrides)
    return data


def test_onboarding_end_to_end(client, owner, north_member):
    client.force_login(owner)
    assert client.get(ONBOARD).status_code == 200

    review = client.post(ONBOARD, {**_details(north_member), "step": "review"})
    assert review.status_code == 200
    assert review.context["step"] == "confirm"
    assertContains(review, "Alex North")
    assertContains(review, "Social Media Spokesperson")  # the training that authorizes it
    assertContains(review, "11 Station")
    assertContains(review, '<dd class="mono">TPS11Casey</dd>', html=True)  # normalized handle
    assertContains(review, "until access_token is entered")
    assertContains(review, '<input type="hidden" name="handle" value="@TPS11Casey">', html=True)
    assertContains(review, 'type="password"')
    assert not SocialAccount.objects.exists()

    confirm = client.post(ONBOARD, {**_details(north_member), "step": "confirm", "access_token": TOKEN})
    account = SocialAccount.objects.get()
    assertRedirects(confirm, _url("account", account), fetch_redirect_response=False)
    assert (account.handle, account.platform, account.kind, account.holder, account.unit) == (
        "TPS11Casey",
        "facebook",
        "personal",
        north_member,
        north_member.unit,
    )
    assert account.status == Status.ACTIVE
    assert account.onboarded_by == owner
    assert decrypt_credentials(account.credentials_ciphertext) == {"access_token": TOKEN}
    assert AuditEvent.objects.filter(verb="account.onboard").count() == 1

    page = client.get(_url("account", account))
    assertContains(page, "Facebook TPS11Casey is onboarded; status: active.")
    assert TOKEN not in _body(page) + _body(review) + _body(confirm)


def test_onboarding_without_credential_starts_pending(client, owner, north_member):
    client.force_login(owner)
    client.post(ONBOARD, {**_details(north_member), "step": "confirm", "access_token": ""})
    account = SocialAccount.objects.get()
    assert account.status == Status.PENDING
    assert account.status_reason == "Waiting for credentials: access_token."


def test_review_carries_no_secret(client, owner, north_member):
    client.force_login(owner)
    review = client.post(ONBOARD, {**_details(north_member), "step": "review", "access_token": TOKEN})
    assert review.context["step"] == "confirm"
    assert TOKEN not in _body(review)


def test_back_and_change_returns_to_the_details_with_the_values(client, owner, north_member):
    client.force_login(owner)
    response = client.post(ONBOARD, {**_details(north_member), "step": "edit", "access_token": TOKEN})
    assert response.context["step"] == "details"
    assertContains(response, 'value="@TPS11Casey"')
    assert TOKEN not in _body(response)
    assert not SocialAccount.objects.exists()


def test_member_is_preselected_from_the_query_string(client, owner, north_member):
    client.force_login(owner)
    response = client.get(f"{ONBOARD}?member={north_member.pk}")
    assertContains(response, f'<option value="{north_member.pk}" selected>', html=False)


def _untrained(org):
    member = MemberFactory.create(full_name="Casey Untrained", unit=org["11"])
    TrainingFactory.create(member=member, platforms=["instagram"])
    return member


def _leaver(org):
    member = MemberFactory.create(full_name="Lee Gone", unit=org["11"], left_on=datetime.date(2025, 6, 30))
    TrainingFactory.create(member=member)
    return member


@pytest.mark.parametrize(
    ("make_member", "overrides", "message"),
    [
        (_untrained, {}, "Casey Untrained has no current training that authorizes Facebook."),
        (lambda org: None, {}, "A personal account needs a holder"),
        (_leaver, {}, "Lee Gone left the organization on 2025-06-30; they cannot hold an account."),
        (None, {"handle": "tps11alex", "platform": "x"}, "tps11alex is already registered on X."),
        (None, {"handle": "has space"}, "is not a valid Facebook handle"),
    ],
)
@pytest.mark.parametrize("step", ["review", "confirm"])
def test_each_refusal_is_shown_and_nothing_is_written(
    client, owner, org, north_member, north_account, make_member, overrides, message, step
):
    member = make_member(org) if make_member else north_member
    count = SocialAccount.objects.count()
    client.force_login(owner)
    response = client.post(ONBOARD, {**_details(member, **overrides), "step": step, "access_token": TOKEN})
    assert response.status_code == 200
    assert response.context["step"] == "details"
    assertContains(response, message)
    assertContains(response, "Nothing was saved.")
    assert TOKEN not in _body(response)
    assert SocialAccount.objects.count() == count
    assert not AuditEvent.objects.changes().exists()


def test_leavers_are_offered_with_their_leaving_date(client, owner, org):
    leaver = _leaver(org)
    client.force_login(owner)
    response = client.get(ONBOARD)
    assertContains(response, f"{leaver.full_name} ({leaver.badge_number}), 11 Station, left on 2025-06-30")


def test_supervisor_and_outsider_get_403_on_onboard(client, viewer, outsider, north_member):
    for user in (viewer, outsider):
        client.force_login(user)
        assert client.get(ONBOARD).status_code == 403
        assert client.post(ONBOARD, {**_details(north_member), "step": "confirm"}).status_code == 403
    assert not SocialAccount.objects.exists()


def test_anonymous_onboard_redirects_to_login(client):
    response = client.get(ONBOARD)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_owner_is_offered_only_members_and_units_they_administer(client, owner, org, north_member, south_member):
    client.force_login(owner)
    form = client.get(ONBOARD).context["form"]
    assert list(form.fields["member"].queryset) == [north_member]
    assert {unit.name for unit in form.fields["unit"].queryset} == {"North Division", "11 Station", "Traffic Team"}


def test_mass_assignment_is_ignored(client, owner, org, north_member):
    intruder = UserFactory.create(username="someone-else")
    client.force_login(owner)
    extra = {"status": "active", "onboarded_by": intruder.pk, "credentials_ciphertext": "forged", "step": "confirm"}
    client.post(ONBOARD, {**_details(north_member), **extra})
    account = SocialAccount.objects.get()
    assert account.status == Status.PENDING  # facebook without a credential, whatever the POST says
    assert account.onboarded_by == owner
    assert account.credentials_ciphertext == ""


def test_units_and_members_outside_the_admins_scope_are_refused(client, owner, org, north_member, south_member):
    client.force_login(owner)
    response = client.post(ONBOARD, {**_details(north_member, unit=org["south"].pk), "step": "confirm"})
    assertContains(response, "Choose a unit you administer.")
    response = client.post(ONBOARD, {**_details(south_member), "step": "confirm"})
    assertContains(response, "Choose a member of a unit you administer.")
    assert not SocialAccount.objects.exists()


def test_unit_account_without_holder(client, owner, org):
    client.force_login(owner)
    data = _details(None, kind="unit", unit=org["traffic"].pk, platform="x", handle="TrafficNorth")
    review = client.post(ONBOARD, {**data, "step": "review"})
    assertContains(review, "No holder")
    assertContains(review, "Traffic Team")
    client.post(ONBOARD, {**data, "step": "confirm"})
    account = SocialAccount.objects.get()
    assert (account.holder, account.unit, account.status) == (None, org["traffic"], Status.ACTIVE)


def test_hostile_values_are_escaped_in_onboarding(client, owner, org):
    member = MemberFactory.create(full_name=HOSTILE, unit=org["11"])
    TrainingFactory.create(member=member)
    client.force_login(owner)
    form_page = _body(client.get(ONBOARD))
    assert HOSTILE not in form_page
    refused = _body(client.post(ONBOARD, {**_details(member, handle=HOSTILE_ATTR), "step": "review"}))
    assert HOSTILE not in refused
    assert HOSTILE_ATTR not in refused
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in refused
    assert "is not a valid Facebook handle" in refused
    assert not SocialAccount.objects.exists()


def test_comms_manager_cannot_onboard(client, org, north_member):
    user = UserFactory.create(username="comms")
    grant(user, Role.COMMS_MANAGER, org["north"])
    client.force_login(user)
    assert client.get(ONBOARD).status_code == 403
