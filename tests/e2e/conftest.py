"""Browser tests: Playwright drives Debian's headless chromium against pytest-django's live server.

- `live_server`: pytest-django's, except that static files come through WhiteNoise from STATIC_ROOT (the
  collected, hashed files of `make static`), as in production, instead of through the staticfiles finders.
- `browser`: one chromium for the whole session (never a downloaded browser build).
- `page`: a fresh browser context per test; everything it logs lands in `page_log`.
- `page_log`: console errors, uncaught page errors and Content-Security-Policy violations, so a test can
  assert that none happened (`page_log.assert_clean()`).

Every test under tests/e2e/ is marked `e2e` (`pytest -m "not e2e"` skips the browser).
Playwright's sync API runs an event loop in this thread; DJANGO_ALLOW_ASYNC_UNSAFE (pytest-env) lets
fixtures still use the ORM.
"""

import dataclasses
import os
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import sync_playwright
from pytest_django.live_server_helper import LiveServer

from accounts_registry.signin import has_second_factor, requires_second_factor
from tests.e2e.signin import sign_in
from tests.factories import enrol_totp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

# Runs in every document before its own scripts: reports CSP violations to the test through a binding.
# Playwright injects it over the DevTools protocol, so the page's CSP does not apply to it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__chorusCspViolation({
    directive: event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
  });
});
"""

E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if E2E_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@dataclasses.dataclass
class PageLog:
    console_errors: list[str] = dataclasses.field(default_factory=list)
    page_errors: list[str] = dataclasses.field(default_factory=list)
    csp_violations: list[dict[str, object]] = dataclasses.field(default_factory=list)

    def assert_clean(self, *, allowed_console_errors=()):
        """No CSP violation, no uncaught exception, no console error except the given expected ones."""
        console_errors = [
            error for error in self.console_errors if not any(allowed in error for allowed in allowed_console_errors)
        ]
        assert self.csp_violations == [], self.csp_violations
        assert self.page_errors == [], self.page_errors
        assert console_errors == [], console_errors


@pytest.fixture(scope="session")
def live_server(request):
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not settings.DEBUG and not manifest.exists():
        pytest.fail(f"{manifest} is missing: run `make static` (collectstatic) before the browser tests.")
    address = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    server = LiveServer(address, start=False)
    # The finders know only unhashed names; let every request reach the middleware (and WhiteNoise).
    server.thread.static_handler = lambda application: application  # type: ignore[assignment]  # any WSGI wrapper works
    server.start()
    # The first request imports the URLconf (allauth's included) and compiles the base templates: on a
    # loaded machine that alone can outlast a test's 10 s navigation timeout, so it happens here.
    with urllib.request.urlopen(f"{server.url}/accounts/login/", timeout=120) as response:  # noqa: S310 — our live server
        assert response.status == 200
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"The browser tests need Debian's chromium at {CHROMIUM}: run `make browser`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_log():
    return PageLog()


@pytest.fixture
def page(browser, page_log):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_binding("__chorusCspViolation", lambda _source, violation: page_log.csp_violations.append(violation))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()

    def on_console(message):
        if message.type == "error":
            location = message.location.get("url", "")
            page_log.console_errors.append(f"{message.text} ({location})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def login(page, live_server):
    """Sign in through the real sign-in pages; returns after the post-sign-in redirect.

    Users whose role requires a second factor (admins, comms managers) are enrolled with the test
    authenticator secret first, and the code step is completed in the browser like a person would.
    """

    def login_as(username, password):
        user = User.objects.get(username=username)
        if requires_second_factor(user) and not has_second_factor(user):
            enrol_totp(user)
        sign_in(page, live_server.url, username, password)

    return login_as
