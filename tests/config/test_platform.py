"""Project-wide behaviour: health probe, security headers, login, deployment checks."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import reverse

from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_login_page_has_enforced_csp_with_fresh_nonce(client):
    first = client.get(reverse("account_login"))
    second = client.get(reverse("account_login"))
    assert first.status_code == 200
    policy = first["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert policy != second["Content-Security-Policy"], "the nonce must differ per response"


def test_security_headers_on_html_and_error_pages(client):
    for url in (reverse("account_login"), "/no-such-page/"):
        response = client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in response


def test_htmx_is_served_from_the_project_not_a_cdn(client):
    body = client.get(reverse("account_login")).content.decode()
    assert "/static/django_htmx/htmx" in body
    assert "://" not in body.split("<body")[0].replace("http://www.w3.org", "")


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("registry:tree"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_login_and_logout(client, viewer):
    response = client.post(
        reverse("account_login"), {"login": viewer.username, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.get(reverse("registry:tree")).status_code == 200
    client.post(reverse("account_logout"))
    assert client.get(reverse("registry:tree")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, viewer):
    response = client.post(reverse("account_login"), {"login": viewer.username, "password": "wrong"})
    assert response.status_code == 200
    assert "username and/or password you specified are not correct" in response.content.decode()


def _deploy_check_ids(**overrides):
    with override_settings(**overrides):
        return {message.id for message in run_checks(include_deployment_checks=True, tags=["security"])}


def test_deploy_checks_flag_missing_keys_pickle_and_passwordless_redis():
    ids = _deploy_check_ids(
        FERNET_KEYS=[], CELERY_ACCEPT_CONTENT=["json", "pickle"], REDIS_URL="redis://127.0.0.1:6379/0"
    )
    assert {"chorus.E002", "chorus.E003", "chorus.W001"} <= ids


def test_deploy_checks_flag_missing_csp():
    from django.conf import settings

    middleware = [m for m in settings.MIDDLEWARE if "csp" not in m]
    assert "chorus.E001" in _deploy_check_ids(MIDDLEWARE=middleware)


def test_deploy_checks_flag_a_single_sign_on_provider_without_tls():
    assert "chorus.E004" in _deploy_check_ids(CHORUS_OIDC_ISSUER="http://sso.police.example/realms/police")
    assert "chorus.E004" not in _deploy_check_ids(CHORUS_OIDC_ISSUER="https://sso.police.example/realms/police")


def test_deploy_checks_pass_for_a_proper_configuration():
    ids = _deploy_check_ids(REDIS_URL="redis://:secret@127.0.0.1:6379/0")
    assert not {i for i in ids if i.startswith("chorus.")}
