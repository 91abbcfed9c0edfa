"""Single sign-on (accounts_registry/sso.py) against the loopback OpenID Connect provider (doubles/oidc.py).

Each sign-in runs the real protocol: Chorus's sign-in page POSTs to allauth, which redirects to the
double's authorization endpoint; the test follows that redirect over HTTP (the double consents at once as
`oidc_provider.user`) and brings the code back to allauth's callback, which exchanges it at the double's
token endpoint and reads userinfo, as a browser and a real provider would.
"""

import datetime
import json
import logging
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialAccount as ProviderAccount
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jwt.utils import base64url_encode

from accounts_registry.models import AuditEvent, Role, RoleGrant
from accounts_registry.services.security import user_deactivate
from tests.conftest import OIDC_CLIENT_ID, OIDC_CLIENT_SECRET
from tests.factories import MemberFactory, UserFactory, enrol_totp, grant

pytestmark = pytest.mark.django_db

START = "/accounts/oidc/sso/login/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # allauth remembers ID token ids (jti) there against replays
    yield
    cache.clear()


def authorize(client, *, data=None):
    """Start at Chorus and follow the provider's redirect: the callback URL (path and query) it sends back."""
    start = client.post(START, data or {})
    assert start.status_code == 302, start.content
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    return f"{back.path}?{back.query}"


def sign_in(client):
    return client.get(authorize(client))


def refusals(reason):
    return AuditEvent.objects.filter(verb=AuditEvent.Verb.SSO_REFUSED, after__reason=reason)


@pytest.fixture
def officer(org):
    user = UserFactory.create(username="pc-lee")
    member = MemberFactory.create(unit=org["north"], email="Jo.Lee@police.example", badge_number="4711", user=user)
    grant(user, Role.MEMBER, org["north"])
    return member


def test_off_by_default_no_button_and_no_route(client):
    page = Client().get("/accounts/login/")
    assert b"Sign in with" not in page.content
    assert Client().post(START).status_code == 404


def test_the_sign_in_page_offers_the_provider(oidc_provider):
    page = Client().get("/accounts/login/")
    assert b"Sign in with Metro SSO" in page.content
    assert f'action="{START}?process=login"'.encode() in page.content


def test_a_member_signs_in_by_e_mail_claim(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": "jo.lee@police.example", "email_verified": True}
    client = Client()
    done = sign_in(client)
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert client.get("/").wsgi_request.user == officer.user
    login = AuditEvent.objects.get(verb=AuditEvent.Verb.LOGIN)
    assert login.actor == officer.user
    assert login.after["methods"] == ["socialaccount"]
    # Nothing stored about the provider's account: the claim decides at every sign-in.
    assert not ProviderAccount.objects.exists()


def test_the_protocol_is_the_real_one(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    sign_in(Client())
    (authorize_request,) = oidc_provider.requests_to(r"^/authorize$")
    assert authorize_request.arg("code_challenge_method") == "S256"
    assert authorize_request.arg("state")
    assert len(authorize_request.arg("nonce")) >= 32
    # Only the configured scopes, whatever the start request asks for.
    assert set(authorize_request.arg("scope").split()) == {"openid", "profile", "email"}
    (token_request,) = oidc_provider.requests_to(r"^/token$")
    assert parse_qs(token_request.body.decode())["code_verifier"]
    assert oidc_provider.requests_to(r"^/userinfo$")


def test_a_member_signs_in_by_badge_claim(oidc_provider, officer, settings):
    settings.CHORUS_OIDC_MATCH = "badge"
    settings.CHORUS_OIDC_CLAIM = "employee_number"
    # The e-mail address the provider sends is somebody else's: only the badge claim counts.
    oidc_provider.user = {"sub": "idp-2", "employee_number": "4711", "email": "other@police.example"}
    client = Client()
    assert sign_in(client)["Location"] == "/"
    assert client.get("/").wsgi_request.user == officer.user


def test_an_unknown_person_is_refused_and_nobody_is_created(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-3", "email": "stranger@police.example", "email_verified": True}
    users_before = User.objects.count()
    client = Client()
    refused = sign_in(client)
    assert refused.status_code == 403
    assert b"No member of Chorus has the e-mail address stranger@police.example" in refused.content
    assert User.objects.count() == users_before
    assert not client.get("/").wsgi_request.user.is_authenticated
    event = refusals("unknown").get()
    assert event.target_repr == "stranger@police.example"
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.LOGIN).exists()


def test_a_departed_member_is_refused(oidc_provider, officer):
    officer.left_on = timezone.localdate() - datetime.timedelta(days=1)
    officer.save(update_fields=["left_on"])
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    client = Client()
    refused = sign_in(client)
    assert refused.status_code == 403
    assert b"you have left the organization" in refused.content
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("left").get().target_id == str(officer.pk)


def test_a_deactivated_login_is_refused(oidc_provider, officer):
    user_deactivate(user=officer.user, actor=None)
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    client = Client()
    assert sign_in(client).status_code == 403
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("inactive").exists()


def test_a_member_without_a_login_is_refused(oidc_provider, org):
    MemberFactory.create(unit=org["north"], email="new@police.example", user=None)
    oidc_provider.user = {"sub": "idp-4", "email": "new@police.example", "email_verified": True}
    refused = sign_in(Client())
    assert refused.status_code == 403
    assert b"no login yet" in refused.content
    assert refusals("no_login").exists()


def test_two_members_with_the_address_or_no_claim_at_all_are_refused(oidc_provider, officer, org):
    MemberFactory.create(unit=org["south"], email="JO.LEE@police.example")
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    assert sign_in(Client()).status_code == 403
    assert refusals("ambiguous").exists()
    oidc_provider.user = {"sub": "idp-1", "name": "Jo Lee"}
    assert sign_in(Client()).status_code == 403
    assert refusals("claim_missing").exists()


def test_an_unverified_e_mail_address_is_refused(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": False}
    client = Client()
    assert sign_in(client).status_code == 403
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("email_unverified").exists()


def test_an_id_token_with_another_nonce_is_refused(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    oidc_provider.id_token_overrides = {"nonce": "a-nonce-from-another-sign-in"}
    client = Client()
    refused = sign_in(client)
    assert refused.status_code == 403
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("nonce").exists()


def test_an_id_token_for_another_client_is_refused(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    oidc_provider.id_token_overrides = {"aud": "some-other-app"}
    client = Client()
    sign_in(client)
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("protocol").exists()


def test_a_forged_or_replayed_state_is_refused(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    client = Client()
    callback = authorize(client)
    path, query = callback.split("?", 1)
    params = {name: values[0] for name, values in parse_qs(query).items()}
    forged = client.get(f"{path}?{urlencode({**params, 'state': 'forged-state'})}")
    assert b"Third-Party Login Failure" in forged.content
    assert not client.get("/").wsgi_request.user.is_authenticated
    assert refusals("protocol").count() == 1
    # The right state once; the same callback again (its state was used) signs nobody in.
    assert client.get(callback)["Location"] == "/"
    other = Client()
    assert b"Third-Party Login Failure" in other.get(callback).content
    assert not other.get("/").wsgi_request.user.is_authenticated


def test_a_callback_without_a_sign_in_started_here_is_refused(oidc_provider, officer):
    """Login CSRF: somebody else's code and state, delivered to this browser, sign it into nothing."""
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    callback = authorize(Client())
    victim = Client()
    assert b"Third-Party Login Failure" in victim.get(callback).content
    assert not victim.get("/").wsgi_request.user.is_authenticated


def test_connecting_a_provider_account_to_a_signed_in_user_is_refused(oidc_provider, officer):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    other = UserFactory.create(username="someone-else")
    client = Client()
    client.force_login(other)
    refused = client.get(authorize(client, data={"process": "connect"}))
    assert refused.status_code == 403
    assert refusals("process").exists()
    assert not ProviderAccount.objects.exists()


def test_roles_come_from_chorus_never_from_the_provider(oidc_provider, officer):
    oidc_provider.user = {
        "sub": "idp-1",
        "email": officer.email,
        "email_verified": True,
        "roles": ["admin"],
        "groups": ["Chorus Admins"],
    }
    client = Client()
    sign_in(client)
    assert set(RoleGrant.objects.filter(user=officer.user).values_list("role", flat=True)) == {Role.MEMBER}
    assert client.get("/org/audit/").status_code == 403


def test_a_comms_manager_still_gives_the_chorus_second_factor(oidc_provider, org):
    user = UserFactory.create(username="comms-sso")
    MemberFactory.create(unit=org["north"], email="comms@police.example", user=user)
    grant(user, Role.COMMS_MANAGER, org["north"])
    enrol_totp(user)
    oidc_provider.user = {"sub": "idp-5", "email": "comms@police.example", "email_verified": True, "amr": ["mfa"]}
    client = Client()
    assert sign_in(client)["Location"] == "/accounts/2fa/authenticate/"
    assert not client.get("/inbox/").wsgi_request.user.is_authenticated


def test_a_comms_manager_without_a_second_factor_must_enrol_first(oidc_provider, org):
    user = UserFactory.create(username="comms-new")
    MemberFactory.create(unit=org["north"], email="comms-new@police.example", user=user)
    grant(user, Role.COMMS_MANAGER, org["north"])
    oidc_provider.user = {"sub": "idp-6", "email": "comms-new@police.example", "email_verified": True}
    client = Client()
    sign_in(client)
    assert client.get("/inbox/")["Location"].startswith("/accounts/2fa/totp/activate/")


def test_tokens_and_the_client_secret_appear_in_no_log_page_or_session(oidc_provider, officer, caplog):
    caplog.set_level(logging.DEBUG)
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    client = Client()
    pages = [client.get("/accounts/login/")]
    pages.append(client.post(START))
    pages.append(sign_in(client))
    pages.append(client.get("/", follow=True))
    (issued,) = oidc_provider.issued
    secrets = {issued["access_token"], issued["id_token"], OIDC_CLIENT_SECRET}
    seen = "\n".join(
        [
            caplog.text,
            *(page.content.decode() + str(page.headers) for page in pages),
            *(str(session.get_decoded()) for session in Session.objects.all()),
            *(str(event.after) + event.target_repr for event in AuditEvent.objects.all()),
        ]
    )
    assert caplog.records, "nothing was logged: the check would prove nothing"
    for secret in secrets:
        assert secret not in seen


def test_the_provider_is_reached_only_through_the_outbound_guard(oidc_provider, officer, settings):
    settings.CHORUS_OUTBOUND_ALLOWLIST = []  # the loopback double is no longer allowlisted
    requests_before = len(oidc_provider.requests)
    failed = Client().post(START)
    assert b"Third-Party Login Failure" in failed.content
    assert len(oidc_provider.requests) == requests_before  # refused before any traffic
    assert refusals("protocol").get().after["exception"] == "UnsafeDestination"


def test_hostile_claims_render_as_text(oidc_provider, officer):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>@police.example'
    oidc_provider.user = {"sub": "idp-7", "email": payload, "email_verified": True}
    refused = sign_in(Client())
    assert refused.status_code == 403
    assert b"<script>alert(1)</script>" not in refused.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in refused.content


def test_the_provider_signs_its_id_tokens_with_the_published_key(oidc_provider, officer):
    """allauth skips the signature of an ID token it got straight from the token endpoint (OpenID Connect
    Core 3.1.3.7, over TLS); its JWKS check (used for tokens from elsewhere) holds on the double's tokens."""
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    sign_in(Client())
    (issued,) = oidc_provider.issued
    check = {
        "keys_url": f"{oidc_provider.issuer}/jwks",
        "issuer": oidc_provider.issuer,
        "audience": OIDC_CLIENT_ID,
        "lookup_kid": jwtkit.lookup_kid_jwk,
    }
    cache.clear()  # the sign-in spent the token's jti
    claims = jwtkit.verify_and_decode(credential=issued["id_token"], **check)
    assert claims["sub"] == "idp-1"
    header, _payload, signature = issued["id_token"].split(".")
    forged = base64url_encode(json.dumps({**claims, "sub": "idp-admin"}).encode()).decode()
    with pytest.raises(OAuth2Error):
        jwtkit.verify_and_decode(credential=f"{header}.{forged}.{signature}", **check)


def test_a_single_sign_on_session_ends_when_idle_like_any_other(oidc_provider, officer, settings):
    oidc_provider.user = {"sub": "idp-1", "email": officer.email, "email_verified": True}
    client = Client()
    sign_in(client)
    assert client.get("/").status_code == 200
    later = timezone.now() + datetime.timedelta(minutes=settings.CHORUS_SESSION_IDLE_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        expired = client.get("/")
    assert expired.status_code == 302
    assert expired["Location"].startswith("/accounts/login/")
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.SESSION_EXPIRED, actor=officer.user).exists()


def test_the_button_costs_the_sign_in_page_no_query(settings, _oidc_double):
    """The provider is built from the settings: no database row is read to show the button."""
    client = Client()
    client.get("/accounts/login/")  # warm: sessions, templates
    with CaptureQueriesContext(connection) as off:
        client.get("/accounts/login/")
    settings.CHORUS_OIDC_ISSUER = _oidc_double.issuer
    settings.CHORUS_OIDC_CLIENT_ID = OIDC_CLIENT_ID
    settings.CHORUS_OIDC_CLIENT_SECRET = OIDC_CLIENT_SECRET
    with CaptureQueriesContext(connection) as on:
        page = client.get("/accounts/login/")
    assert b"Sign in with" in page.content
    assert len(on) == len(off)
