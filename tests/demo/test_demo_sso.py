"""The demo's single sign-on: the provider `make demo` starts on the issuer's loopback port signs the demo
officer in through the real protocol."""

import socket
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from demo import data as demo_data
from demo.sso import start_demo_sso
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_sso_signs_the_demo_officer_in(settings, org):
    user = UserFactory.create(username="officer")
    MemberFactory.create(
        full_name=demo_data.DEMO_OFFICER.full_name,
        badge_number=demo_data.DEMO_OFFICER.badge_number,
        email="priya.raman@metropolice.example",
        unit=org["north"],
        user=user,
    )
    settings.CHORUS_OIDC_ISSUER = f"http://127.0.0.1:{_free_port()}"
    settings.CHORUS_OIDC_CLIENT_ID = "chorus-demo"
    settings.CHORUS_OIDC_CLIENT_SECRET = "demo-sso-client-secret"
    provider = start_demo_sso()
    assert provider is not None
    try:
        assert provider.url == settings.CHORUS_OIDC_ISSUER
        client = Client()
        start = client.post("/accounts/oidc/sso/login/")
        back = urlsplit(requests.get(start["Location"], allow_redirects=False, timeout=10).headers["Location"])
        assert client.get(f"{back.path}?{back.query}")["Location"] == "/"
        assert client.get("/").wsgi_request.user == user
    finally:
        provider.stop()


def test_nothing_starts_for_a_real_provider(settings):
    settings.CHORUS_OIDC_ISSUER = "https://login.example.org/realms/police"
    assert start_demo_sso() is None
    settings.CHORUS_OIDC_ISSUER = ""
    assert start_demo_sso() is None
