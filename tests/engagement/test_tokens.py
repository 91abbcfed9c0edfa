"""API tokens: only a hash is stored, the key is shown once, revocation, last use, the page, the command."""

import datetime
import hashlib
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts_registry.models import AuditEvent
from engagement.models import ApiToken
from engagement.services.tokens import api_token_authenticate, api_token_create, api_token_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)> hx-get=/x hx-trigger=load'
PAGE = "/account/tokens/"


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _everything_stored():
    """Every column of every token row and every audit row, as text, read with raw SQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM engagement_apitoken")
        tokens = cursor.fetchall()
        cursor.execute("SELECT * FROM accounts_registry_auditevent")
        audits = cursor.fetchall()
    return " ".join(str(value) for row in [*tokens, *audits] for value in row)


def _api(client, key):
    return client.get(reverse("api:units"), headers={"Authorization": f"Token {key}"})


# --- Service -------------------------------------------------------------------------------------


def test_only_the_hash_is_stored(viewer):
    token, key = api_token_create(user=viewer, name="report script", actor=viewer)
    assert len(key) >= 40
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    stored = _everything_stored()
    assert key not in stored
    assert key[8:] not in stored  # not even the secret part after the visible prefix
    assert token.key_hash in stored


def test_create_and_revoke_are_audited_without_the_key(viewer):
    token, key = api_token_create(user=viewer, name="report script", actor=viewer)
    api_token_revoke(token=token, actor=viewer)
    api_token_revoke(token=token, actor=viewer)  # idempotent: no second event
    events = list(AuditEvent.objects.filter(target_type="engagement.apitoken", target_id=str(token.pk)))
    assert sorted(event.verb for event in events) == ["api_token.create", "api_token.revoke"]
    assert {event.actor for event in events} == {viewer}
    assert all(key not in str((event.before, event.after, event.target_repr)) for event in events)


def test_keys_are_unique_and_random(viewer):
    keys = {api_token_create(user=viewer, name=f"t{number}")[1] for number in range(20)}
    assert len(keys) == 20


def test_a_name_is_required(viewer):
    with pytest.raises(ValidationError):
        api_token_create(user=viewer, name="   ")
    assert not ApiToken.objects.exists()


def test_last_used_is_recorded_at_most_once_a_minute(client, viewer, _frozen_time):
    token, key = api_token_create(user=viewer, name="t")
    assert token.last_used_at is None
    assert _api(client, key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == NOW
    _frozen_time.shift(datetime.timedelta(seconds=30))
    with CaptureQueriesContext(connection) as queries:
        assert api_token_authenticate(key=key) is not None
    assert len(queries) == 1  # the lookup only, no write
    token.refresh_from_db()
    assert token.last_used_at == NOW
    _frozen_time.shift(datetime.timedelta(seconds=31))
    assert _api(client, key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == NOW + datetime.timedelta(seconds=61)


def test_authenticate_rejects_unknown_revoked_and_inactive(viewer):
    token, key = api_token_create(user=viewer, name="t")
    assert api_token_authenticate(key="nope") is None
    authenticated = api_token_authenticate(key=key)
    assert authenticated is not None and authenticated.user == viewer
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    assert api_token_authenticate(key=key) is None
    viewer.is_active = True
    viewer.save(update_fields=["is_active"])
    api_token_revoke(token=token, actor=viewer)
    assert api_token_authenticate(key=key) is None


# --- The page ------------------------------------------------------------------------------------


def test_the_page_needs_a_login(client):
    response = client.get(PAGE)
    assertRedirects(response, f"{reverse('account_login')}?next={PAGE}", fetch_redirect_response=False)
    response = client.post(PAGE, {"name": "x"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_the_page_lists_only_my_tokens(client, viewer, outsider):
    mine, _ = api_token_create(user=viewer, name="my script")
    api_token_create(user=outsider, name="south script")
    client.force_login(viewer)
    response = client.get(PAGE)
    assertContains(response, "my script")
    assertContains(response, f"{mine.prefix}…")
    assertContains(response, "Never")
    assertNotContains(response, "south script")
    assertContains(response, reverse("tokens:revoke", args=[mine.pk]))
    assert "no-store" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


def test_creating_shows_the_key_once(client, viewer):
    client.force_login(viewer)
    response = client.post(PAGE, {"name": "weekly report"})
    assert response.status_code == 200
    key = response.context["new_key"]
    token = ApiToken.objects.get(user=viewer)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assertContains(response, key)
    assertContains(response, "shown only this once")
    assert "no-store" in response["Cache-Control"]
    assert _api(client, key).status_code == 200
    again = client.get(PAGE)
    assertNotContains(again, key)
    assertContains(again, "weekly report")
    assert ApiToken.objects.get().user == viewer
    assert AuditEvent.objects.filter(verb="api_token.create", actor=viewer).count() == 1


def test_creating_with_htmx_returns_the_fragment(client, viewer):
    client.force_login(viewer)
    response = client.post(PAGE, {"name": "htmx script"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'id="api-tokens"' in body
    assert response.context["new_key"] in body


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_an_invalid_name_re_renders_with_200(client, viewer, headers):
    client.force_login(viewer)
    response = client.post(PAGE, {"name": ""}, headers=headers)
    assert response.status_code == 200
    assertContains(response, "This field is required.")
    assert ("<html" in response.content.decode()) is not bool(headers)
    assert not ApiToken.objects.exists()


def test_hostile_names_are_escaped(client, viewer):
    client.force_login(viewer)
    response = client.post(PAGE, {"name": HOSTILE})
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert ApiToken.objects.get().name == HOSTILE


def test_revoking_my_token(client, viewer):
    token, key = api_token_create(user=viewer, name="old script")
    client.force_login(viewer)
    response = client.post(reverse("tokens:revoke", args=[token.pk]), follow=True)
    assertRedirects(response, PAGE)
    assertContains(response, "Token “old script” revoked")
    assertContains(response, "Revoked")
    assertNotContains(response, reverse("tokens:revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at == NOW
    assert _api(client, key).status_code == 401


def test_revoking_with_htmx_updates_the_list(client, viewer):
    token, _ = api_token_create(user=viewer, name="old script")
    client.force_login(viewer)
    response = client.post(reverse("tokens:revoke", args=[token.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "revoked: it no longer works" in body


def test_nobody_revokes_someone_elses_token(client, viewer, outsider, admin_user):
    token, key = api_token_create(user=viewer, name="north script")
    for user in (outsider, admin_user):
        client.force_login(user)
        assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _api(client, key).status_code == 200


def test_revoke_needs_post(client, viewer):
    token, _ = api_token_create(user=viewer, name="t")
    client.force_login(viewer)
    assert client.get(reverse("tokens:revoke", args=[token.pk])).status_code == 405


# --- The command ---------------------------------------------------------------------------------


def test_command_prints_a_working_key(client, viewer):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "north-supervisor", "--name", "cron job", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=viewer)
    assert token.name == "cron job"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert "not shown again" in err.getvalue()
    assert _api(client, key).status_code == 200
    event = AuditEvent.objects.get(verb="api_token.create")
    assert event.actor is None and key not in str(event.after)


def test_command_default_name(viewer):
    call_command("create_api_token", "north-supervisor", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiToken.objects.get().name == "created with manage.py"


def test_command_rejects_unknown_and_inactive_users(db):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("create_api_token", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    UserFactory.create(username="gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "gone", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()
