"""docs/security.md §6: browsing the Django admin in chromium raises no CSP violation and no console error
(the admin's own scripts, django-treebeard's tree included, run under the enforced policy)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.clients import SignedInClient
from tests.factories import MemberFactory, enrol_totp

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_pages_raise_no_csp_violation(page, page_log, live_server, org):
    member = MemberFactory.create(unit=org["north"])
    root = User.objects.create_superuser("admin-root", "root@example.org", "x" * 24)
    enrol_totp(root)  # staff must hold a second factor; the session below has both factors
    client = SignedInClient()
    client.force_login(root)
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": live_server.url}]
    )  # fmt: skip
    for path in (
        "/admin/",
        "/admin/accounts_registry/orgunit/",
        f"/admin/accounts_registry/orgunit/{org['north'].pk}/change/",
        "/admin/accounts_registry/member/",
        f"/admin/accounts_registry/member/{member.pk}/change/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/admin/engagement/triageitem/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("#content")).to_be_visible()
        page.wait_for_load_state("networkidle")
    # The admin's templates link no favicon, so chromium asks for /favicon.ico (a 404, not a CSP matter).
    page_log.assert_clean(allowed_console_errors=("/favicon.ico",))
