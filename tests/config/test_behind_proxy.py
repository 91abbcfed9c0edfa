"""The production profile (CHORUS_HTTPS=true, ALLOWED_HOSTS = the public name) with the container probe.

These failed before the health probe middleware: the compose probe (`http://127.0.0.1:8000/healthz`) got a 400
(host not allowed) or a redirect to https, so the web container never became healthy; and X-Forwarded-Proto
was trusted by default, so any client reaching gunicorn directly could claim https.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "ALLOWED_HOSTS": ["chorus.example.org"],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": None,
    "SECURE_HSTS_SECONDS": 31_536_000,
}
BEHIND_PROXY = {**PRODUCTION, "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}


@override_settings(**PRODUCTION)
def test_the_compose_probe_gets_200_over_plain_http_with_a_loopback_host(client):
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@override_settings(**PRODUCTION)
def test_every_other_path_still_refuses_the_loopback_host(client):
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/healthz/", HTTP_HOST="127.0.0.1:8000").status_code == 400  # exactly /healthz
    assert client.post("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 400  # and only GET


@override_settings(**PRODUCTION)
def test_other_paths_on_the_public_name_are_still_redirected_to_https(client):
    response = client.get("/accounts/login/", HTTP_HOST="chorus.example.org")
    assert response.status_code == 301
    assert response["Location"] == "https://chorus.example.org/accounts/login/"


@override_settings(**PRODUCTION)
def test_x_forwarded_proto_is_not_trusted_unless_the_operator_says_a_proxy_sets_it(client):
    response = client.get("/accounts/login/", HTTP_HOST="chorus.example.org", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301


@override_settings(**BEHIND_PROXY)
def test_behind_the_documented_proxy_the_forwarded_https_request_is_served_with_hsts(client):
    response = client.get("/accounts/login/", HTTP_HOST="chorus.example.org", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def _proxy_setting(extra_env: dict[str, str]) -> str:
    env = {key: value for key, value in os.environ.items() if key != "CHORUS_BEHIND_PROXY"}
    env.update({"CHORUS_HTTPS": "true", "SECRET_KEY": "x", "DJANGO_SETTINGS_MODULE": "config.settings", **extra_env})
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    result = subprocess.run(  # our own interpreter, a fixed program
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    return result.stdout.strip()


def test_the_proxy_header_is_off_by_default_and_on_only_when_the_operator_sets_chorus_behind_proxy():
    assert _proxy_setting({}) == "None"
    assert _proxy_setting({"CHORUS_BEHIND_PROXY": "true"}) == "('HTTP_X_FORWARDED_PROTO', 'https')"
