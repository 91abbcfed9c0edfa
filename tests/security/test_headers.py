"""docs/security.md §5: the enforced CSP on every HTML response of the URL matrix (pages, htmx
fragments, 403/404 pages, the admin), and the production transport headers and cookies."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from tests.security.access_matrix import MATRIX
from tests.security.matrix_runner import Clients, url_for
from tests.security.urlconf import all_routes
from tests.security.world import build_world

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def assert_enforced_csp(response, where):
    assert "Content-Security-Policy-Report-Only" not in response, f"{where}: report-only is not enforcement"
    policy = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, f"{where}: no script-src in {policy!r}"
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, f"{where}: {policy}"
    if b"<script" in response.content:  # a page with scripts runs them by nonce (a 405 has none to run)
        assert any(source.startswith("'nonce-") for source in script_src), f"{where}: no nonce in {policy}"
    assert directives.get("frame-ancestors") == ["'none'"], f"{where}: {policy}"
    assert directives.get("object-src") == ["'none'"], f"{where}: {policy}"
    assert "base-uri" in directives, f"{where}: {policy}"
    return policy


def test_every_html_response_of_the_matrix_carries_the_csp():
    """Every route, GET, htmx GET and POST, as the admin (pages, fragments), as the South supervisor (403
    and 404 pages for North's objects) and anonymously: each HTML response with a body is covered
    (redirects have none; their policy carries no nonce because nothing on them may run)."""
    world = build_world()
    clients = Clients(world)
    html = 0
    for name, row in MATRIX.items():
        if row.api:
            continue
        for role, relation in (("admin", "in"), ("supervisor_b", "out"), ("anonymous", "in")):
            for method in ("GET", "HX-GET", "POST"):
                url = url_for(world, name, row.kind, role, relation)
                response = clients.last_response(url, role, method)
                if response["Content-Type"].startswith("text/html") and not 300 <= response.status_code < 400:
                    assert_enforced_csp(response, f"{method} {url} as {role} ({response.status_code})")
                    html += 1
    assert html > 100


def test_the_admin_pages_carry_the_csp(client):
    """The Django admin: its index, and the list and add pages of every registered model."""
    client.force_login(User.objects.create_superuser("csp-root", "root@example.org", "x" * 20))
    urls = ["/admin/"] + ["/" + route.pattern for route in all_routes() if route.name.endswith(("_changelist", "_add"))]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 403), url  # 403: models the admin shows read-only
        assert_enforced_csp(response, url)
    assert len(urls) > 20


def test_the_nonce_differs_on_every_response(client):
    client.force_login(User.objects.create_superuser("csp-nonce", "n@example.org", "x" * 20))
    policies = {assert_enforced_csp(client.get(url), url) for url in ("/inbox/", "/inbox/", "/org/", "/admin/")}
    assert len(policies) == 4


@pytest.fixture(scope="module")
def production_settings():
    """The transport settings as `config.settings` computes them for production (CHORUS_HTTPS on),
    read in a fresh interpreter so that this test process keeps its own settings."""
    names = [
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
        "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY",
        "SECURE_CROSS_ORIGIN_OPENER_POLICY", "X_FRAME_OPTIONS",
    ]  # fmt: skip
    code = f"import json; from config import settings as s; print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    env = {**os.environ, "CHORUS_HTTPS": "true", "DEBUG": "false", "ALLOWED_HOSTS": "chorus.example.org"}
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.strip().splitlines()[-1])


def test_production_sends_hsts_and_the_hardening_headers(production_settings):
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert production_settings["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    with override_settings(**production_settings, ALLOWED_HOSTS=["chorus.example.org"]):
        response = Client().get(reverse("account_login"), secure=True, headers={"host": "chorus.example.org"})
        insecure = Client().get(reverse("account_login"), headers={"host": "chorus.example.org"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert insecure.status_code == 301 and insecure["Location"].startswith("https://")


def test_production_cookies_are_host_prefixed_secure_and_same_site(production_settings, admin_user):
    with override_settings(**production_settings, ALLOWED_HOSTS=["chorus.example.org"]):
        client = Client(enforce_csrf_checks=True)
        page = client.get(reverse("account_login"), secure=True, headers={"host": "chorus.example.org"})
        csrf = page.cookies["__Host-csrftoken"]
        response = client.post(
            reverse("account_login"),
            {
                "login": admin_user.username,
                "password": "correct horse battery staple",
                "csrfmiddlewaretoken": csrf.value,
            },
            secure=True,
            headers={"host": "chorus.example.org", "referer": "https://chorus.example.org/accounts/login/"},
        )
    assert response.status_code == 302, response.content[:500]
    session = response.cookies["__Host-sessionid"]
    for cookie in (csrf, session):
        assert cookie["secure"] is True and cookie["samesite"] == "Lax", cookie
        assert not cookie["domain"] and cookie["path"] == "/", cookie
    assert session["httponly"] is True
    assert "sessionid" not in response.cookies and "csrftoken" not in page.cookies
