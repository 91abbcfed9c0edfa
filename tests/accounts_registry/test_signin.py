"""Signing in: lockout, the second factor, the admin behind the same sign-in, session limits,
re-authentication before sensitive actions, and the security events they leave.

These tests use Django's plain test client and the real sign-in pages (not `force_login` with a
complete sign-in recorded, which the rest of the suite uses).
"""

import datetime

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import AuditEvent, Role
from accounts_registry.services.security import user_deactivate
from engagement.models import ApiToken
from tests.factories import UserFactory, enrol_totp, grant, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/accounts/login/"
TREE = "/org/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttling state and used codes live in the cache (this test run's own Redis database)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plain():
    return Client()


def _login(client, login, password=PASSWORD, **extra):
    return client.post(LOGIN, {"login": login, "password": password}, **extra)


def _events(verb):
    return AuditEvent.objects.filter(verb=verb)


# --- Throttling ---------------------------------------------------------------------------------


def test_after_five_failures_even_the_right_password_is_refused_with_a_message(plain, viewer):
    for _ in range(5):
        assert _login(plain, viewer.username, "wrong").status_code == 200
    response = _login(plain, viewer.username)
    assert response.status_code == 200  # the form again, not a redirect into the app
    assert "Too many failed sign-ins" in response.content.decode()
    assert plain.get(TREE).status_code == 302
    assert _events(AuditEvent.Verb.LOGIN_FAILED).count() == 5
    lockout = _events(AuditEvent.Verb.LOCKOUT).get()
    assert lockout.target_repr == viewer.username and lockout.after["ip"] == "127.0.0.1"
    assert lockout.unit is not None  # filed under the officer's unit, for that unit's admins


def test_the_lockout_ends_after_the_cool_off(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(5):
            _login(plain, viewer.username, "wrong")
        assert "Too many failed" in _login(plain, viewer.username).content.decode()
        traveller.shift(datetime.timedelta(minutes=16))
        assert _login(plain, viewer.username).status_code == 302


def test_an_attacker_cannot_lock_an_officer_out_from_another_address(plain, viewer):
    for _ in range(6):
        _login(plain, viewer.username, "wrong", REMOTE_ADDR="203.0.113.9")
    officer = Client()
    assert _login(officer, viewer.username, REMOTE_ADDR="198.51.100.20").status_code == 302


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_the_real_client_address_is_throttled_and_recorded(plain, viewer):
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(6):
        _login(plain, viewer.username, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)
    assert _events(AuditEvent.Verb.LOCKOUT).get().after["ip"] == "203.0.113.9"
    # Another client behind the same proxy is not caught by the attacker's lockout.
    officer = Client()
    assert _login(officer, viewer.username, HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy).status_code == 302


def test_username_or_email_signs_in_and_the_events_are_recorded(plain, viewer):
    assert _login(plain, viewer.email).status_code == 302
    assert plain.get(TREE).status_code == 200
    login = _events(AuditEvent.Verb.LOGIN).get()
    assert login.actor == viewer and login.after["methods"] == ["password"]
    plain.post(reverse("account_logout"))
    assert _events(AuditEvent.Verb.LOGOUT).get().actor == viewer
    assert plain.get(TREE).status_code == 302


def test_nobody_signs_themselves_up(plain):
    response = plain.post("/accounts/signup/", {"username": "new", "password1": PASSWORD, "password2": PASSWORD})
    assert not User.objects.filter(username="new").exists()
    assert response.status_code == 200 and "Sign Up Closed" in response.content.decode()


# --- The second factor --------------------------------------------------------------------------


def _login_with_code(client, user, code):
    response = _login(client, user.username)
    assert response["Location"] == reverse("mfa_authenticate")
    return client.post(reverse("mfa_authenticate"), {"code": code})


def test_an_enrolled_admin_signs_in_with_a_code_that_works_once(plain, owner):
    enrol_totp(owner)
    code = totp_code()
    with time_machine.travel(timezone.now(), tick=False):  # both attempts within the code's 30 seconds
        assert _login_with_code(plain, owner, code).status_code == 302
        assert plain.get(TREE).status_code == 200
        assert _events(AuditEvent.Verb.LOGIN).get().after["methods"] == ["mfa", "password"]
        plain.post(reverse("account_logout"))
        replay = _login_with_code(Client(), owner, code)
    assert replay.status_code == 200 and "Incorrect code" in replay.content.decode()
    assert _events(AuditEvent.Verb.MFA_FAILED).count() == 1


def test_the_password_alone_does_not_open_an_enrolled_account(plain, owner):
    enrol_totp(owner)
    _login(plain, owner.username)
    assert plain.get(TREE).status_code == 302
    assert plain.get("/admin/").status_code == 302


def test_a_recovery_code_signs_in_once(plain, owner):
    enrol_totp(owner)
    recovery = Authenticator.objects.get(user=owner, type=Authenticator.Type.RECOVERY_CODES)
    code = recovery.wrap().get_unused_codes()[0]
    assert _login_with_code(plain, owner, code).status_code == 302
    plain.post(reverse("account_logout"))
    assert _login_with_code(Client(), owner, code).status_code == 200


# Transactional: allauth announces the enrolment on commit, inside the request, as in production.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.COMMS_MANAGER])
def test_admins_and_comms_managers_must_enrol_before_any_page(plain, org, role):
    user = UserFactory.create(username=f"new-{role}")
    grant(user, role, org["north"])
    _login(plain, user.username)
    for url in (TREE, "/inbox/", "/account/tokens/", "/org/security/"):
        response = plain.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("mfa_activate_totp")), url
    page = plain.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200 and b"data:image/svg+xml" in page.content  # the QR code
    secret = page.context["form"].secret
    with time_machine.travel(timezone.now(), tick=False):  # the code is checked in the period it is made
        response = plain.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {"totp", "recovery_codes"}
    assert _events(AuditEvent.Verb.MFA_ENROL).filter(actor=user).exists()
    assert plain.get(TREE).status_code == 200  # enrolling proved a code: this session is through the gate


def test_staff_without_a_second_factor_cannot_reach_the_admin(plain):
    User.objects.create_superuser("root-admin", "root@example.org", PASSWORD)
    _login(plain, "root-admin")
    response = plain.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa_activate_totp"))


def test_supervisors_are_offered_a_second_factor_not_forced(plain, viewer):
    _login(plain, viewer.username)
    assert plain.get(TREE).status_code == 200
    assert plain.get(reverse("mfa_index")).status_code == 200


@pytest.mark.parametrize("url", [TREE, "/inbox/", "/policies/rules/", "/admin/", "/org/security/"])
def test_a_session_without_a_second_factor_reaches_no_protected_page(url, org):
    """force_login records no second factor: like a session that skipped the MFA stage."""
    admin = User.objects.create_superuser("root-admin", "root@example.org", PASSWORD)
    grant(admin, Role.ADMIN, org["root"])
    enrol_totp(admin)
    client = Client()
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))


def test_the_admin_has_no_password_form_of_its_own(plain):
    response = plain.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_the_qr_code_page_keeps_a_strict_policy(plain, owner):
    _login(plain, owner.username)
    response = plain.get(reverse("mfa_activate_totp"))
    policy = response["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src and "data:" not in script_src
    assert "data:" in next(part for part in policy.split(";") if part.strip().startswith("img-src"))


# --- Sessions -----------------------------------------------------------------------------------


def test_an_idle_session_ends_after_thirty_minutes(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        assert plain.get(TREE).status_code == 200
        traveller.shift(datetime.timedelta(minutes=29))
        assert plain.get(TREE).status_code == 200  # activity resets the idle clock
        traveller.shift(datetime.timedelta(minutes=31))
        response = plain.get(TREE)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        assert _events(AuditEvent.Verb.SESSION_EXPIRED).get().after["reason"] == "idle"
        assert "without activity" in plain.get(response["Location"]).content.decode()


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        for _ in range(35):  # every 20 minutes for 11 h 40 min
            traveller.shift(datetime.timedelta(minutes=20))
            assert plain.get(TREE).status_code == 200
        traveller.shift(datetime.timedelta(minutes=21))
        assert plain.get(TREE).status_code == 302
        assert _events(AuditEvent.Verb.SESSION_EXPIRED).get().after["reason"] == "lifetime"


def test_automatic_polls_do_not_keep_an_idle_session_alive(plain, viewer):
    poll = {"HX-Request": "true", "X-Chorus-Poll": "true", "HX-Current-URL": "http://testserver/inbox/?status=open"}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        for _ in range(3):  # the open inbox polls on its own for 30 minutes
            traveller.shift(datetime.timedelta(minutes=10))
            assert plain.get("/inbox/new/", headers=poll).status_code == 200
        traveller.shift(datetime.timedelta(minutes=1))
        response = plain.get("/inbox/new/", headers=poll)
    # htmx loads the sign-in page as a whole page, and comes back to the inbox afterwards.
    assert response["HX-Redirect"] == f"{LOGIN}?next=%2Finbox%2F%3Fstatus%3Dopen"


@override_settings(CHORUS_SESSION_IDLE_MINUTES=5)
def test_the_idle_timeout_is_configurable(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        traveller.shift(datetime.timedelta(minutes=6))
        assert plain.get(TREE).status_code == 302


def test_deactivating_a_user_ends_all_their_sessions(viewer, admin_user):
    browsers = [Client(), Client()]
    for browser in browsers:
        _login(browser, viewer.username)
    assert Session.objects.count() == 2
    user_deactivate(user=viewer, actor=admin_user)
    assert Session.objects.count() == 0
    assert all(browser.get(TREE).status_code == 302 for browser in browsers)


# --- Re-authentication before sensitive actions -------------------------------------------------


def test_creating_an_api_token_asks_for_the_password_again_after_five_minutes(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        traveller.shift(datetime.timedelta(minutes=6))
        response = plain.post("/account/tokens/", {"name": "weekly report"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
        assert not ApiToken.objects.exists()
        # The password again: the suspended POST is replayed and the token made.
        response = plain.post(response["Location"], {"password": PASSWORD})
        assert ApiToken.objects.filter(user=viewer, name="weekly report").exists()


def test_an_enrolled_user_gives_a_code_again_too(plain, viewer):
    enrol_totp(viewer)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login_with_code(plain, viewer, totp_code())
        traveller.shift(datetime.timedelta(minutes=6))
        response = plain.post("/account/tokens/", {"name": "weekly report"})
        response = plain.post(response["Location"], {"password": PASSWORD})
        assert not ApiToken.objects.exists()
        response = plain.post("/account/tokens/", {"name": "weekly report"})
        assert response["Location"].startswith(reverse("mfa_reauthenticate"))
        traveller.shift(datetime.timedelta(seconds=30))  # a fresh code
        plain.post(response["Location"], {"code": totp_code()})
    assert ApiToken.objects.filter(user=viewer).count() == 1


def test_replacing_account_credentials_asks_for_the_password_again(plain, owner, north_account):
    enrol_totp(owner)
    url = reverse("registry:account-credentials", args=[north_account.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login_with_code(plain, owner, totp_code())
        traveller.shift(datetime.timedelta(minutes=6))
        response = plain.post(url, {"access_token": "new-token"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_reauthenticate"))
    north_account.refresh_from_db()
    assert not north_account.has_credentials


def test_an_outsider_gets_404_not_a_password_prompt(outsider, north_account):
    client = Client()
    client.force_login(outsider)
    response = client.post(reverse("registry:account-credentials", args=[north_account.pk]), {"access_token": "x"})
    assert response.status_code == 404


def test_htmx_requests_are_sent_to_the_prompt_with_a_full_page_load(plain, viewer):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login(plain, viewer.username)
        traveller.shift(datetime.timedelta(minutes=6))
        response = plain.post(
            "/account/tokens/",
            {"name": "x"},
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/account/tokens/"},
        )
    assert response["HX-Redirect"].startswith(reverse("account_reauthenticate"))
    assert "next=%2Faccount%2Ftokens%2F" in response["HX-Redirect"]


def test_removing_the_second_factor_asks_for_the_password_again(plain, owner):
    enrol_totp(owner)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _login_with_code(plain, owner, totp_code())
        assert plain.get(reverse("mfa_deactivate_totp")).status_code == 200  # just signed in: no prompt
        traveller.shift(datetime.timedelta(minutes=6))
        response = plain.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()
